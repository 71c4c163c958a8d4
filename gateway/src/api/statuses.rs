//! `/api/statuses`: status stories. Posting, my contacts' statuses grouped by person with
//! seen/unseen, marking seen, who viewed mine, early deletion, and my default audience. New and
//! deleted statuses are also pushed over the WebSocket (`status`, `status_deleted`).

use actix_web::{web, HttpResponse};
use confab_engine::status::MyStatus;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::status::*;

#[utoipa::path(post, path = "/api/statuses", tag = "statuses", security(("bearer" = [])),
    request_body = PostStatusRequest,
    responses((status = 201, body = MyStatusView),
        (status = 400, description = "validation_failed: bad colour, text length, caption, nil media id, an upload of another kind, unknown user in `privacy.users`; malformed_json: unknown font, kind or audience", body = ErrorBody),
        (status = 403, description = "forbidden: an upload that is not mine and was not shared in a chat I am in", body = ErrorBody),
        (status = 404, description = "not_found: no such upload", body = ErrorBody),
        (status = 422, description = "too many active statuses", body = ErrorBody)))]
pub async fn post(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<PostStatusRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let post = state
        .engine
        .post_status(me.user_id, b.content.into(), b.privacy.map(Into::into))
        .await?;
    Ok(HttpResponse::Created().json(MyStatusView::from(MyStatus { post, views: 0 })))
}

#[utoipa::path(get, path = "/api/statuses", tag = "statuses", security(("bearer" = [])),
    responses((status = 200, description = "Active statuses shared with me, grouped by person: people with unseen statuses first, then by newest", body = StatusFeed),
        (status = 401, body = ErrorBody)))]
pub async fn feed(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let groups = state.engine.status_feed(me.user_id).await?;
    let owners = state.engine.users(groups.iter().map(|g| g.owner)).await?;
    let items = groups
        .into_iter()
        .filter_map(|g| {
            let owner = owners.get(&g.owner)?;
            Some(StatusGroupView::new(g, owner))
        })
        .collect();
    Ok(HttpResponse::Ok().json(StatusFeed { items }))
}

#[utoipa::path(get, path = "/api/statuses/me", tag = "statuses", security(("bearer" = [])),
    responses((status = 200, description = "My active statuses, oldest first, with view counts", body = MyStatusList),
        (status = 401, body = ErrorBody)))]
pub async fn mine(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let items = state
        .engine
        .my_statuses(me.user_id)
        .await?
        .into_iter()
        .map(MyStatusView::from)
        .collect();
    Ok(HttpResponse::Ok().json(MyStatusList { items }))
}

#[utoipa::path(get, path = "/api/statuses/privacy", tag = "statuses", security(("bearer" = [])),
    responses((status = 200, description = "My default audience for new statuses", body = StatusPrivacyDto),
        (status = 401, body = ErrorBody)))]
pub async fn get_privacy(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let privacy = state.engine.status_privacy(me.user_id).await?;
    Ok(HttpResponse::Ok().json(StatusPrivacyDto::from(privacy)))
}

#[utoipa::path(put, path = "/api/statuses/privacy", tag = "statuses", security(("bearer" = [])),
    request_body = StatusPrivacyDto,
    responses((status = 200, body = StatusPrivacyDto),
        (status = 400, description = "validation_failed: a list on my_contacts, an empty only_share_with, myself or an unknown user in `users`", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn put_privacy(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<StatusPrivacyDto>,
) -> ApiResult<HttpResponse> {
    let privacy = state
        .engine
        .set_status_privacy(me.user_id, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(StatusPrivacyDto::from(privacy)))
}

#[utoipa::path(post, path = "/api/statuses/{status_id}/view", tag = "statuses", security(("bearer" = [])),
    params(("status_id" = Uuid, Path)),
    responses((status = 204, description = "Seen (idempotent; the first time counts)"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such active status shared with me", body = ErrorBody)))]
pub async fn view(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .view_status(me.user_id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/statuses/{status_id}/viewers", tag = "statuses", security(("bearer" = [])),
    params(("status_id" = Uuid, Path)),
    responses((status = 200, body = StatusViewerList),
        (status = 401, body = ErrorBody),
        (status = 403, description = "a status shared with me, but not mine", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn viewers(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let views = state
        .engine
        .status_viewers(me.user_id, path.into_inner())
        .await?;
    let mut users = state.engine.users(views.iter().map(|v| v.viewer)).await?;
    let items = views
        .into_iter()
        .filter_map(|v| {
            let user = users.remove(&v.viewer)?;
            Some(StatusViewerView {
                user_id: v.viewer,
                username: user.username,
                display_name: user.display_name,
                viewed_at: v.viewed_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(StatusViewerList { items }))
}

#[utoipa::path(delete, path = "/api/statuses/{status_id}", tag = "statuses", security(("bearer" = [])),
    params(("status_id" = Uuid, Path)),
    responses((status = 204, description = "Deleted; its audience's live sessions get `status_deleted`"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "not one of my statuses", body = ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .delete_status(me.user_id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
