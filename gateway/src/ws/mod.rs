//! `GET /ws`: the WebSocket endpoint. The access token is checked at the upgrade (query
//! parameter `access_token`, or `Authorization: Bearer`); then a [`session::WsSession`] actor
//! owns the socket.
//!
//! Why not actix-web-actors: its `WebsocketContext` buffers outbound frames without bound
//! (actix-web#3367), so a client that stops reading grows server memory. Here the engine and the
//! session share one bounded queue per socket, drained straight into the response body.

mod io;
pub mod session;

use std::sync::atomic::{AtomicU64, Ordering};

use actix::{Actor, AsyncContext};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use confab_engine::push::{SessionHandle, OUTBOUND_QUEUE};
use tokio::sync::mpsc;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

fn token(req: &HttpRequest) -> Result<String, ApiError> {
    let from_query = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("access_token="));
    match from_query {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        _ => auth::bearer(req),
    }
}

pub async fn endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let authed = auth::authenticate(&state, &token(&req)?).await?;
    actix_http::ws::verify_handshake(req.head())
        .map_err(|e| ApiError::Validation(format!("websocket handshake: {e}")))?;
    let accept = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| actix_http::ws::hash_key(key.as_bytes()))
        .ok_or_else(|| ApiError::Validation("websocket handshake: no Sec-WebSocket-Key".into()))?;
    let (out, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let engine = state.engine.clone();
    let calls = state.calls.clone();
    let limits = state.limits.clone();
    let ip = state.limits.client_ip(&req);
    let conn_id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    session::WsSession::create(move |ctx| {
        ctx.add_stream(io::Incoming::new(payload));
        let handle = SessionHandle {
            conn_id,
            user_id: authed.user_id,
            device_session: authed.session_id,
            out,
            control: ctx.address().recipient(),
        };
        session::WsSession::new(engine, calls, limits, ip, handle)
    });
    tracing::debug!(conn_id, user_id = %authed.user_id, "websocket open");
    Ok(HttpResponse::SwitchingProtocols()
        .upgrade("websocket")
        .insert_header((header::SEC_WEBSOCKET_ACCEPT, accept.as_slice()))
        .streaming(io::Outgoing::new(rx)))
}
