//! `/api/messages/`: send without a socket, and per-member receipts of a message.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::chat::*;

#[utoipa::path(post, path = "/api/messages", tag = "messages", security(("bearer" = [])),
    request_body = SendMessageRequest,
    responses((status = 201, description = "Stored (sent)", body = SentView),
        (status = 200, description = "A retry of an earlier client_id: the original", body = SentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not_a_member / blocked", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, description = "the store failed: nothing stored, retry", body = ErrorBody)))]
pub async fn send(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let sent = state
        .engine
        .send(me.user_id, body.chat_id, body.client_id, body.content)
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
