//! `/healthz` (the process serves) and `/readyz` (the store answers too).

use actix_web::{web, HttpResponse};

use crate::state::AppState;
use crate::wire::rest::{ClusterHealth, Health};

#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        store: None,
        cluster: None,
    })
}

#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The store does not answer", body = Health)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (backend, ready) = state.engine.store_ready().await;
    let store = Some(backend);
    let cluster = state.engine.cluster.as_ref().map(|c| ClusterHealth {
        node_id: c.node_id,
        nodes: c.live_nodes().to_vec(),
    });
    match ready {
        Ok(()) => HttpResponse::Ok().json(Health {
            status: "ready",
            store,
            cluster,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: store ping failed");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "unavailable",
                store,
                cluster,
            })
        }
    }
}
