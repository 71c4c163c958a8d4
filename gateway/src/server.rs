//! Builds the application from the configuration and runs it until SIGTERM or Ctrl-C. On
//! either, it stops accepting, tells every socket the server is going away (close 1001), and
//! gives in-flight requests `http.shutdown_timeout_secs` to finish.

use std::time::Duration;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use confab_engine::cluster::Cluster;
use confab_engine::push::close;
use confab_engine::{Engine, EngineConfig};
use confab_storage::StoreError;
use utoipa::OpenApi;

use crate::auth::{secret, TokenService};
use crate::config::Config;
use crate::ratelimit::Limits;
use crate::state::AppState;
use crate::{api, health, http, metrics, openapi, ws};

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
    #[error("cluster: {0}")]
    Cluster(#[from] confab_engine::cluster::ClusterError),
    #[error("media: {0}")]
    Media(String),
    #[error("server: {0}")]
    Serve(#[from] std::io::Error),
}

pub async fn run(config: Config) -> Result<(), StartError> {
    // Register every metric now, so a naming bug fails at start, not on a request.
    metrics::Metrics::global();
    confab_engine::metrics::get();
    let store = crate::store::open(&config).await?;
    let key = secret::load_or_create(config.auth.jwt_secret.as_deref(), &config.data_dir)?;
    let cluster = match config.cluster.engine() {
        Some(c) => {
            tracing::info!(node_id = %c.node_id, redis = %c.redis_url, "joining the cluster");
            Some(Cluster::new(c)?)
        }
        None => None,
    };
    let engine = Engine::start_clustered(
        store.clone(),
        EngineConfig {
            chat_threads: config.chat.threads,
            chat_idle: Duration::from_secs(config.chat.idle_secs),
            max_group_members: config.chat.max_group_members,
            edit_window: Duration::from_secs(config.chat.edit_window_secs),
            delete_window: Duration::from_secs(config.chat.delete_window_secs),
            notify: config.notifications.engine(),
            status_ttl: Duration::from_secs(config.status.ttl_secs),
            status_sweep_interval: Duration::from_secs(config.status.sweep_interval_secs),
        },
        cluster,
    );
    engine.start_status_sweeper();
    let sfu = match confab_signalling::sfu::Sfu::start(config.sfu()) {
        Ok(sfu) => Some(sfu),
        Err(e) => {
            tracing::error!(error = %e, "the SFU did not start: calls are unavailable");
            None
        }
    };
    let calls = confab_signalling::call::Calls::new(
        engine.clone(),
        sfu,
        config.call_config(),
        std::sync::Arc::new(confab_signalling::call::NotifyObserver(
            engine.notifier.clone(),
        )),
    );
    let media = crate::media::open(&config, store.clone())?;
    let state = web::Data::new(AppState {
        store,
        engine: engine.clone(),
        calls: calls.clone(),
        tokens: TokenService::new(
            &key,
            config.auth.access_ttl_secs,
            config.auth.refresh_ttl_secs,
        ),
        limits: std::sync::Arc::new(Limits::new(
            &config.rate_limit,
            &config.http.trusted_proxies,
            engine.cluster.clone(),
        )),
        config: config.clone(),
        media,
    });
    let (path, query) = api::extractor_config();
    let doc = web::Data::new(openapi::ApiDoc::openapi());
    let payload = web::PayloadConfig::new(config.http.max_body_bytes);

    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        use web::{get, resource};
        App::new()
            .app_data(app_state.clone())
            .app_data(doc.clone())
            .app_data(path.clone())
            .app_data(query.clone())
            .app_data(payload.clone())
            .wrap(api::json_error_pages())
            .wrap(middleware::from_fn(metrics::track))
            .wrap(middleware::from_fn(http::head_as_get))
            .configure(api::routes)
            .service(resource("/ws").route(get().to(ws::endpoint)))
            .service(resource("/api/openapi.json").route(get().to(openapi::spec)))
            .service(resource("/api/docs").route(get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/api/docs/"))
                    .finish()
            })))
            .service(openapi::ui())
            .service(resource("/healthz").route(get().to(health::healthz)))
            .service(resource("/readyz").route(get().to(health::readyz)))
            .service(resource("/metrics").route(get().to(metrics::endpoint)))
    })
    .shutdown_timeout(config.http.shutdown_timeout_secs)
    // Small frames must leave at once: Nagle plus delayed ACKs adds ~40 ms per message.
    .tcp_nodelay(true)
    .client_request_timeout(Duration::from_secs(10))
    .disable_signals();
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
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        if let Some(cluster) = &engine.cluster {
            // Leave the registry first: the chats this node orders move at once.
            cluster.leave().await;
        }
        tracing::info!("shutting down: ending calls, closing sockets, finishing requests");
        calls.shutdown();
        engine
            .router
            .close_all(close::SHUTDOWN, "server shutting down");
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("shut down");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
