//! `/api/calls`: my call history, and the settings a client needs to place calls. Calls
//! themselves are signalled over the WebSocket (docs/PROTOCOL.md, "Calls").

use actix_web::{web, HttpResponse};

use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::call::*;
use crate::wire::rest::PageQuery;
use crate::wire::validate;

#[utoipa::path(get, path = "/api/calls", tag = "calls", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "My calls, newest first", body = CallPage),
        (status = 400, description = "invalid_query / invalid_cursor", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .engine
        .call_history(me.user_id, validate::page(query.into_inner())?)
        .await?;
    Ok(HttpResponse::Ok().json(CallPage {
        items: page
            .items
            .iter()
            .map(|r| CallView::new(me.user_id, r))
            .collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(get, path = "/api/calls/config", tag = "calls", security(("bearer" = [])),
    responses((status = 200, description = "STUN/TURN servers and call timings", body = CallSettings),
        (status = 401, body = ErrorBody)))]
pub async fn settings(state: web::Data<AppState>, _me: Authed) -> ApiResult<HttpResponse> {
    let calls = &state.config.calls;
    Ok(HttpResponse::Ok().json(CallSettings {
        ice_servers: state
            .calls
            .ice_servers()
            .iter()
            .map(|s| IceServerView {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect(),
        ring_timeout_secs: calls.ring_timeout_secs,
        reconnect_grace_secs: calls.reconnect_grace_secs,
    }))
}
