//! Builds the application from the configuration and runs it until SIGTERM or Ctrl-C, after
//! which in-flight requests get `http.shutdown_timeout_secs` to finish.

use std::time::Duration;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use confab_storage::StoreError;
use utoipa::OpenApi;

use crate::auth::{secret, TokenService};
use crate::config::Config;
use crate::ratelimit::RateLimiter;
use crate::state::{AppState, Limits};
use crate::{api, health, metrics, openapi};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("JWT key: {0}")]
    Secret(#[from] secret::SecretError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Serve(#[from] std::io::Error),
}

pub async fn run(config: Config) -> Result<(), StartError> {
    let store = crate::store::open(&config).await?;
    let key = secret::load_or_create(config.auth.jwt_secret.as_deref(), &config.data_dir)?;
    let rl = &config.rate_limit;
    let state = web::Data::new(AppState {
        store,
        tokens: TokenService::new(
            &key,
            config.auth.access_ttl_secs,
            config.auth.refresh_ttl_secs,
        ),
        limits: Limits {
            register_per_ip: RateLimiter::new(rl.register_per_ip_per_min),
            login_per_ip: RateLimiter::new(rl.login_per_ip_per_min),
            login_per_account: RateLimiter::new(rl.login_per_account_per_min),
        },
        config: config.clone(),
    });
    let (json, path, query) = api::extractor_config(config.http.max_body_bytes);
    let doc = openapi::ApiDoc::openapi();
    let payload = web::PayloadConfig::new(config.http.max_body_bytes);

    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(json.clone())
            .app_data(path.clone())
            .app_data(query.clone())
            .app_data(payload.clone())
            .wrap(api::json_error_pages())
            .wrap(middleware::from_fn(metrics::track))
            .configure(api::routes)
            .route(
                "/api/docs",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("Location", "/api/docs/"))
                        .finish()
                }),
            )
            .service(openapi::service(doc.clone()))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(metrics::endpoint))
    })
    .shutdown_timeout(config.http.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(10));
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    let server = server
        .bind(config.listen)
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    for addr in server.addrs() {
        tracing::info!(%addr, "listening; API docs at http://{addr}/api/docs/");
    }
    server.run().await?;
    tracing::info!("shut down");
    Ok(())
}
