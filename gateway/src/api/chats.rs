//! `/api/chats/`: open 1:1 chats, create groups, list my chats, read a chat and its history,
//! move my read pointer.

use actix_web::{web, HttpResponse};
use confab_engine::chats::HistoryFrom;
use confab_engine::model::ReceiptKind;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::clock;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::chat::*;

#[utoipa::path(post, path = "/api/chats/direct", tag = "chats", security(("bearer" = [])),
    request_body = OpenDirectRequest,
    responses((status = 201, description = "Created", body = ChatView),
        (status = 200, description = "The pair's existing chat", body = ChatView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "blocked", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "a chat with yourself", body = ErrorBody)))]
pub async fn open_direct(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<OpenDirectRequest>,
) -> ApiResult<HttpResponse> {
    let (view, created) = state
        .engine
        .open_direct(me.user_id, body.into_inner().user_id)
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(ChatView::from(&view)))
}

#[utoipa::path(post, path = "/api/chats/groups", tag = "chats", security(("bearer" = [])),
    request_body = CreateGroupRequest,
    responses((status = 201, body = ChatView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "a member has blocked you", body = ErrorBody),
        (status = 404, description = "unknown member", body = ErrorBody)))]
pub async fn create_group(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<CreateGroupRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let view = state
        .engine
        .create_group(me.user_id, &body.title, &body.member_ids)
        .await?;
    Ok(HttpResponse::Created().json(ChatView::from(&view)))
}

#[utoipa::path(get, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    responses((status = 200, description = "My chats, most recent activity first", body = ChatList),
        (status = 401, body = ErrorBody)))]
pub async fn list(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let chats = state.engine.chat_list(me.user_id).await?;
    Ok(HttpResponse::Ok().json(ChatList {
        items: chats.iter().map(ChatSummaryView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = ChatView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "no such chat, or not a member", body = ErrorBody)))]
pub async fn get(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = state
        .engine
        .chat_view(me.user_id, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(ChatView::from(&view)))
}

pub const DEFAULT_HISTORY: usize = 50;
pub const MAX_HISTORY: usize = 100;

#[utoipa::path(get, path = "/api/chats/{chat_id}/messages", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = HistoryPage),
        (status = 400, description = "invalid_query: `limit` outside 1..=100, or both `after_seq` and `before_seq`", body = ErrorBody),
        (status = 404, description = "no such chat, or not a member", body = ErrorBody)))]
pub async fn history(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_HISTORY);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ApiError::InvalidQuery(format!(
            "limit: must be 1 to {MAX_HISTORY}"
        )));
    }
    let from = match (q.after_seq, q.before_seq) {
        (Some(after), None) => HistoryFrom::After(after),
        (None, Some(before)) => HistoryFrom::Before(before),
        (None, None) => HistoryFrom::Latest,
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidQuery(
                "give after_seq or before_seq, not both".into(),
            ))
        }
    };
    let page = state
        .engine
        .history(me.user_id, path.into_inner(), from, limit)
        .await?;
    Ok(HttpResponse::Ok().json(HistoryPage {
        items: page.events.iter().map(EventView::from).collect(),
        has_more: page.has_more,
    }))
}

#[utoipa::path(post, path = "/api/chats/{chat_id}/read", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), request_body = ReadRequest,
    responses((status = 204, description = "Read up to seq"),
        (status = 404, description = "no such chat, or not a member", body = ErrorBody)))]
pub async fn read(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<ReadRequest>,
) -> ApiResult<HttpResponse> {
    let seq = body.into_inner().seq;
    state
        .engine
        .mark(
            me.user_id,
            path.into_inner(),
            ReceiptKind::Read,
            seq,
            clock::now_millis(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
