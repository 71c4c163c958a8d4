//! `/api/broadcasts`: my broadcast lists, and sending to one (each recipient gets the message
//! in their 1:1 chat with me, if they have me as a contact).

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::chat::*;

#[utoipa::path(get, path = "/api/broadcasts", tag = "broadcasts", security(("bearer" = [])),
    responses((status = 200, body = BroadcastList)))]
pub async fn list(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let lists = state.engine.broadcast_lists(me.user_id).await?;
    Ok(HttpResponse::Ok().json(BroadcastList {
        items: lists.into_iter().map(BroadcastView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/broadcasts", tag = "broadcasts", security(("bearer" = [])),
    request_body = CreateBroadcastRequest,
    responses((status = 201, body = BroadcastView), (status = 400, body = ErrorBody), (status = 404, description = "unknown recipient", body = ErrorBody),
        (status = 422, description = "yourself as a recipient, or too many lists", body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<CreateBroadcastRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let list = state
        .engine
        .create_broadcast_list(me.user_id, &b.name, &b.recipients)
        .await?;
    Ok(HttpResponse::Created().json(BroadcastView::from(list)))
}

#[utoipa::path(get, path = "/api/broadcasts/{list_id}", tag = "broadcasts", security(("bearer" = [])),
    params(("list_id" = Uuid, Path)), responses((status = 200, body = BroadcastView), (status = 404, body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(BroadcastView::from(
        state
            .engine
            .broadcast_list(me.user_id, path.into_inner())
            .await?,
    )))
}

#[utoipa::path(patch, path = "/api/broadcasts/{list_id}", tag = "broadcasts", security(("bearer" = [])),
    params(("list_id" = Uuid, Path)), request_body = UpdateBroadcastRequest,
    responses((status = 200, body = BroadcastView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<UpdateBroadcastRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let list = state
        .engine
        .update_broadcast_list(
            me.user_id,
            path.into_inner(),
            b.name.as_deref(),
            b.recipients.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(BroadcastView::from(list)))
}

#[utoipa::path(delete, path = "/api/broadcasts/{list_id}", tag = "broadcasts", security(("bearer" = [])),
    params(("list_id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .delete_broadcast_list(me.user_id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/broadcasts/{list_id}/messages", tag = "broadcasts", security(("bearer" = [])),
    params(("list_id" = Uuid, Path)), request_body = BroadcastSendRequest,
    responses((status = 200, description = "One result per recipient", body = BroadcastResults), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn send(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<BroadcastSendRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let results = state
        .engine
        .broadcast(me.user_id, path.into_inner(), b.client_id, b.content)
        .await?;
    let results = results
        .iter()
        .map(|(user, d)| BroadcastResult::new(*user, d))
        .collect();
    Ok(HttpResponse::Ok().json(BroadcastResults { results }))
}
