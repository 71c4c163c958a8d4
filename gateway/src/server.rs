//! Builds the application from the configuration and runs it until SIGTERM or Ctrl-C. On
//! either, it stops accepting, tells every socket the server is going away (close 1001), and
//! gives in-flight requests `http.shutdown_timeout_secs` to finish.

use std::time::Duration;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use confab_engine::push::close;
use confab_engine::{Engine, EngineConfig};
use confab_storage::StoreError;
use utoipa::OpenApi;

use crate::auth::{secret, TokenService};
use crate::config::Config;
use crate::ratelimit::RateLimiter;
use crate::state::{AppState, Limits};
use crate::{api, health, metrics, openapi, ws};

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
    let engine = Engine::start(
        store.clone(),
        EngineConfig {
            chat_threads: config.chat.threads,
            chat_idle: Duration::from_secs(config.chat.idle_secs),
            max_group_members: config.chat.max_group_members,
            edit_window: Duration::from_secs(config.chat.edit_window_secs),
            delete_window: Duration::from_secs(config.chat.delete_window_secs),
        },
    );
    let media = crate::media::open(&config, store.clone())?;
    let rl = &config.rate_limit;
    let state = web::Data::new(AppState {
        store,
        engine: engine.clone(),
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
        tracing::info!("shutting down: closing sockets, finishing requests");
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
