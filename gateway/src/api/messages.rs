//! `/api/messages/`: send without a socket, and per-member receipts of a message.

use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::ratelimit::Rule;
use crate::state::AppState;
use crate::wire::chat::*;

#[utoipa::path(post, path = "/api/messages", tag = "messages", security(("bearer" = [])),
    request_body = SendMessageRequest,
    responses((status = 201, description = "Stored (sent)", body = SentView),
        (status = 200, description = "A retry of an earlier client_id: the original", body = SentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "blocked: a block stands between the two of a 1:1 chat; forbidden: only admins may send, or an upload the sender may not read", body = ErrorBody),
        (status = 404, description = "no such chat, or not a member (the same answer); no such upload or quoted message", body = ErrorBody),
        (status = 429, description = "rate_limited (sends per user and per IP), with Retry-After", body = ErrorBody),
        (status = 503, description = "the store failed: nothing stored, retry", body = ErrorBody)))]
pub async fn send(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: Authed,
    body: JsonBody<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    admit_send(&state, &req, me.user_id).await?;
    let sent = state
        .engine
        .send_reply(
            me.user_id,
            body.chat_id,
            body.client_id,
            body.content,
            body.reply_to,
        )
        .await?;
    let mut response = if sent.duplicate {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(response.json(SentView::from(sent)))
}

#[utoipa::path(get, path = "/api/messages/{chat_id}/{seq}/info", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)),
    responses((status = 200, description = "Delivery and read time per member", body = MessageInfoView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn info(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    let (event, members) = state.engine.message_info(me.user_id, chat_id, seq).await?;
    Ok(HttpResponse::Ok().json(MessageInfoView {
        chat_id: event.chat_id,
        seq: event.seq,
        members: members.iter().map(MemberReceiptView::from).collect(),
    }))
}

#[utoipa::path(patch, path = "/api/messages/{chat_id}/{seq}", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)), request_body = EditRequest,
    responses((status = 200, description = "An edit event; the message now shows the new text and edited_at", body = ChangeView),
        (status = 400, body = ErrorBody), (status = 403, description = "not my message, or the edit window passed", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "deleted", body = ErrorBody)))]
pub async fn edit(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
    body: JsonBody<EditRequest>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    let sent = state
        .engine
        .edit(me.user_id, chat_id, seq, body.into_inner().content)
        .await?;
    Ok(HttpResponse::Ok().json(ChangeView::from(sent)))
}

#[utoipa::path(delete, path = "/api/messages/{chat_id}/{seq}", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)),
    responses((status = 200, description = "Deleted for everyone: a delete event; the content is purged", body = ChangeView),
        (status = 403, description = "not the sender within the window, nor a group admin", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "already deleted", body = ErrorBody)))]
pub async fn delete_for_everyone(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    let sent = state
        .engine
        .delete_for_everyone(me.user_id, chat_id, seq)
        .await?;
    Ok(HttpResponse::Ok().json(ChangeView::from(sent)))
}

#[utoipa::path(post, path = "/api/messages/{chat_id}/hide", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), request_body = HideRequest,
    responses((status = 204, description = "Deleted for me, on all my devices"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn hide(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<HideRequest>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .delete_for_me(me.user_id, path.into_inner(), &body.into_inner().seqs)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/api/messages/{chat_id}/{seq}/reaction", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)), request_body = ReactionRequest,
    responses((status = 200, description = "A reaction event; replaces my earlier reaction", body = ChangeView),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn react(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
    body: JsonBody<ReactionRequest>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    let sent = state
        .engine
        .react(me.user_id, chat_id, seq, Some(body.into_inner().emoji))
        .await?;
    Ok(HttpResponse::Ok().json(ChangeView::from(sent)))
}

#[utoipa::path(delete, path = "/api/messages/{chat_id}/{seq}/reaction", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)),
    responses((status = 200, description = "A reaction event with emoji null", body = ChangeView), (status = 404, body = ErrorBody)))]
pub async fn unreact(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    let sent = state.engine.react(me.user_id, chat_id, seq, None).await?;
    Ok(HttpResponse::Ok().json(ChangeView::from(sent)))
}

#[utoipa::path(post, path = "/api/messages/forward", tag = "messages", security(("bearer" = [])),
    request_body = ForwardRequest,
    responses((status = 200, description = "One result per target chat", body = ForwardResults),
        (status = 400, body = ErrorBody), (status = 404, description = "no such source message", body = ErrorBody),
        (status = 429, description = "rate_limited (sends per user and per IP), with Retry-After", body = ErrorBody)))]
pub async fn forward(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: Authed,
    body: JsonBody<ForwardRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    admit_send(&state, &req, me.user_id).await?;
    let results = state
        .engine
        .forward(me.user_id, b.chat_id, b.seq, &b.to, b.client_id)
        .await?;
    let results = results
        .into_iter()
        .map(|(chat_id, r)| match r {
            Ok(sent) => ForwardResult {
                chat_id,
                seq: Some(sent.seq),
                error: None,
            },
            Err(e) => ForwardResult {
                chat_id,
                seq: None,
                error: Some(e.code()),
            },
        })
        .collect();
    Ok(HttpResponse::Ok().json(ForwardResults { results }))
}

#[utoipa::path(put, path = "/api/messages/{chat_id}/{seq}/star", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)),
    responses((status = 201, description = "Starred"), (status = 200, description = "Was starred already"), (status = 404, body = ErrorBody)))]
pub async fn star(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    let new = state.engine.star(me.user_id, chat_id, seq).await?;
    Ok(if new {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::Ok().finish()
    })
}

#[utoipa::path(delete, path = "/api/messages/{chat_id}/{seq}/star", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), ("seq" = u64, Path)),
    responses((status = 204, description = "Unstarred"), (status = 404, body = ErrorBody)))]
pub async fn unstar(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<(Uuid, u64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, seq) = path.into_inner();
    state.engine.unstar(me.user_id, chat_id, seq).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/users/me/starred", tag = "messages", security(("bearer" = [])),
    params(crate::wire::rest::PageQuery),
    responses((status = 200, description = "My starred messages across chats, newest star first", body = StarredPage),
        (status = 400, body = ErrorBody)))]
pub async fn starred(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<crate::wire::rest::PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = crate::wire::validate::page(query.into_inner())?;
    let (events, next) = state.engine.starred(me.user_id, page).await?;
    Ok(HttpResponse::Ok().json(StarredPage {
        items: events.iter().map(EventView::from).collect(),
        next_cursor: next,
    }))
}

/// The send limits (per user and per IP) that WebSocket sends share.
async fn admit_send(state: &AppState, req: &HttpRequest, user: Uuid) -> ApiResult<()> {
    let user = user.to_string();
    state
        .limits
        .admit(&[
            (Rule::SendPerUser, &user),
            (Rule::SendPerIp, &state.limits.client_ip(req)),
        ])
        .await
}
