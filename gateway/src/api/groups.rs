//! Group administration under `/api/chats/{chat_id}`: info and settings, members, admins,
//! leaving, invite links; and joining by a link (`/api/invites/{code}/join`). Every change
//! is a timeline event, live to every member over the WebSocket.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use confab_engine::chat::GroupOp;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::chat::*;

async fn change(
    state: &AppState,
    me: Authed,
    chat_id: Uuid,
    op: GroupOp,
) -> ApiResult<HttpResponse> {
    let sent = state.engine.group(me.user_id, chat_id, op).await?;
    Ok(HttpResponse::Ok().json(ChangeView::from(sent)))
}

#[utoipa::path(patch, path = "/api/chats/{chat_id}", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), request_body = UpdateGroupRequest,
    responses((status = 200, description = "Recorded as a group_info_changed event", body = ChangeView),
        (status = 400, body = ErrorBody), (status = 403, description = "not an admin where one is needed", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "not a group", body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<UpdateGroupRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let op = GroupOp::Info {
        title: b.title,
        description: b.description,
        photo: b.photo,
        only_admins_send: b.only_admins_send,
        only_admins_edit_info: b.only_admins_edit_info,
    };
    change(&state, me, path.into_inner(), op).await
}

#[utoipa::path(post, path = "/api/chats/{chat_id}/members", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), request_body = AddMembersRequest,
    responses((status = 200, description = "A members_added event", body = ChangeView), (status = 403, description = "not an admin / blocked", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "all members already, or over the limit", body = ErrorBody)))]
pub async fn add_members(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<AddMembersRequest>,
) -> ApiResult<HttpResponse> {
    change(
        &state,
        me,
        path.into_inner(),
        GroupOp::Add(body.into_inner().user_ids),
    )
    .await
}

#[utoipa::path(delete, path = "/api/chats/{chat_id}/members/{user_id}", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, description = "A member_removed event", body = ChangeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, user) = path.into_inner();
    change(&state, me, chat_id, GroupOp::Remove(user)).await
}

#[utoipa::path(put, path = "/api/chats/{chat_id}/admins/{user_id}", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, description = "An admin_promoted event", body = ChangeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn promote(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, user) = path.into_inner();
    change(&state, me, chat_id, GroupOp::Promote(user)).await
}

#[utoipa::path(delete, path = "/api/chats/{chat_id}/admins/{user_id}", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, description = "An admin_demoted event", body = ChangeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "the last admin", body = ErrorBody)))]
pub async fn demote(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, user) = path.into_inner();
    change(&state, me, chat_id, GroupOp::Demote(user)).await
}

#[utoipa::path(post, path = "/api/chats/{chat_id}/leave", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, description = "A member_left event (and admin_promoted if the last admin left)", body = ChangeView),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn leave(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    change(&state, me, path.into_inner(), GroupOp::Leave).await
}

#[utoipa::path(post, path = "/api/chats/{chat_id}/invite", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), request_body = CreateInviteRequest,
    responses((status = 201, description = "A new link; any earlier one stops working", body = InviteView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create_invite(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<CreateInviteRequest>,
) -> ApiResult<HttpResponse> {
    let ttl = body.into_inner().expires_in_secs;
    if ttl == Some(0) {
        return Err(crate::error::ApiError::Validation(
            "expires_in_secs: at least 1".into(),
        ));
    }
    let invite = state
        .engine
        .create_invite(me.user_id, path.into_inner(), ttl.map(Duration::from_secs))
        .await?;
    Ok(HttpResponse::Created().json(InviteView::from(invite)))
}

#[utoipa::path(get, path = "/api/chats/{chat_id}/invite", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = InviteView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_invite(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let invite = state.engine.invite(me.user_id, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(InviteView::from(invite)))
}

#[utoipa::path(delete, path = "/api/chats/{chat_id}/invite", tag = "groups", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_invite(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .revoke_invite(me.user_id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/invites/{code}/join", tag = "groups", security(("bearer" = [])),
    params(("code" = String, Path)),
    responses((status = 200, description = "Joined (a member_joined event)", body = ChatView),
        (status = 404, description = "unknown, revoked or expired link", body = ErrorBody), (status = 422, description = "already a member, or the group is full", body = ErrorBody)))]
pub async fn join(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let view = state.engine.join(me.user_id, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ChatView::from(&view)))
}
