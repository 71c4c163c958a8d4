//! Reports (any user) and their review by server admins, who can disable accounts.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::chat::*;
use crate::wire::rest::PageQuery;

#[utoipa::path(post, path = "/api/reports", tag = "moderation", security(("bearer" = [])),
    request_body = ReportRequest,
    responses((status = 201, description = "Filed, with the chat's last messages attached when a message is reported", body = ReportView),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<ReportRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let at = match (b.chat_id, b.seq) {
        (Some(c), Some(s)) => Some((c, s)),
        (None, None) => None,
        _ => {
            return Err(ApiError::Validation(
                "chat_id, seq: give both or neither".into(),
            ))
        }
    };
    let report = state
        .engine
        .report(me.user_id, b.user_id, at, b.reason)
        .await?;
    Ok(HttpResponse::Created().json(ReportView::from(&report)))
}

#[utoipa::path(get, path = "/api/admin/reports", tag = "moderation", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "Newest first", body = ReportPage), (status = 403, description = "not a server admin", body = ErrorBody)))]
pub async fn reports(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .engine
        .reports(me.user_id, crate::wire::validate::page(query.into_inner())?)
        .await?;
    Ok(HttpResponse::Ok().json(ReportPage {
        items: page.items.iter().map(ReportView::from).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/admin/users/{user_id}/disable", tag = "moderation", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204, description = "Disabled: every session and socket stops at once"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn disable(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .set_account_disabled(me.user_id, path.into_inner(), true)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/admin/users/{user_id}/enable", tag = "moderation", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204, description = "Enabled again"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn enable(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .set_account_disabled(me.user_id, path.into_inner(), false)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
