//! `/api/users/me/blocked`: people I blocked. A block hides my private profile fields from them
//! now, and (from the realtime core on) stops their messages, calls and presence.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
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
        .engine
        .blocked_people(me.user_id, validate::page(query.into_inner())?)
        .await?;
    Ok(HttpResponse::Ok().json(BlockedPage {
        items: page
            .items
            .into_iter()
            .map(|(block, user)| BlockedView::new(block, &user))
            .collect(),
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
    let (block, user, created) = state.engine.block(me.user_id, target).await?;
    let view = BlockedView::new(block, &user);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
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
    state.engine.unblock(me.user_id, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
