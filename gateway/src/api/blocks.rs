//! `/api/users/me/blocked`: people I blocked. A block hides my private profile fields from them
//! now, and (from the realtime core on) stops their messages, calls and presence.

use actix_web::{web, HttpResponse};
use confab_storage::Block;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::clock;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::rest::*;
use crate::wire::validate;

#[utoipa::path(get, path = "/api/users/me/blocked", tag = "blocks", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = BlockedPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_blocked(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .store
        .blocked(me.user_id, validate::page(query.into_inner())?)
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for block in page.items {
        if let Some(user) = state.store.user(block.blocked).await? {
            items.push(BlockedView::new(block, &user));
        }
    }
    Ok(HttpResponse::Ok().json(BlockedPage {
        items,
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/users/me/blocked", tag = "blocks", security(("bearer" = [])),
    request_body = BlockRequest,
    responses((status = 201, description = "Blocked", body = BlockedView),
        (status = 200, description = "Was already blocked", body = BlockedView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "cannot block yourself", body = ErrorBody)))]
pub async fn block(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<BlockRequest>,
) -> ApiResult<HttpResponse> {
    let target = body.into_inner().user_id;
    if target == me.user_id {
        return Err(ApiError::Unprocessable("you cannot block yourself"));
    }
    let user = state
        .store
        .user(target)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let block = Block {
        blocker: me.user_id,
        blocked: target,
        blocked_at: clock::now_millis(),
    };
    match state.store.block(block.clone()).await? {
        None => {
            tracing::info!(user_id = %me.user_id, blocked = %target, "user blocked");
            Ok(HttpResponse::Created().json(BlockedView::new(block, &user)))
        }
        Some(existing) => Ok(HttpResponse::Ok().json(BlockedView::new(existing, &user))),
    }
}

#[utoipa::path(delete, path = "/api/users/me/blocked/{user_id}", tag = "blocks", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "not blocked", body = ErrorBody)))]
pub async fn unblock(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state.store.unblock(me.user_id, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
