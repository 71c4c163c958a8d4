//! `/api/notifications`: my notification inbox (the default notification provider), newest
//! first, and marking notifications read.

use actix_web::{web, HttpResponse};
use confab_engine::inbox::MarkRead;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;
/// Most ids one `read` request may name.
const MAX_READ_IDS: usize = 500;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// 1..=100, default 50.
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub limit: Option<usize>,
    /// `next_before` from the previous page: notifications older than this id.
    #[serde(default)]
    #[param(nullable = false)]
    pub before: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `message`, `reaction`, `group_added`, `group_admin`, `incoming_call`, `missed_call`.
    pub kind: String,
    pub chat_id: Option<Uuid>,
    /// Who caused it; absent when several people did (a coalesced group burst).
    pub actor_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    /// Events it stands for ("5 new messages in Family" has 5).
    pub count: u32,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

impl From<confab_engine::model::Notification> for NotificationView {
    fn from(n: confab_engine::model::Notification) -> Self {
        NotificationView {
            id: n.id,
            kind: n.kind,
            chat_id: n.chat_id,
            actor_id: n.actor_id,
            title: n.title,
            body: n.body,
            count: n.count,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Inbox {
    pub items: Vec<NotificationView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<Uuid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// These notifications (mine; others are ignored).
    #[serde(default)]
    pub ids: Option<Vec<Uuid>>,
    /// Every notification I have now.
    #[serde(default)]
    pub all: Option<bool>,
}

crate::wire::schema::schema_from!(MarkReadRequest => crate::wire::schema::mark_read);

#[derive(Serialize, ToSchema)]
pub struct MarkReadResult {
    /// How many of `ids` were unread and are now read (0 for `all`).
    pub marked: usize,
}

#[utoipa::path(get, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    params(InboxQuery),
    responses((status = 200, body = Inbox), (status = 400, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<InboxQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Validation(format!(
            "limit: must be 1 to {MAX_LIMIT}"
        )));
    }
    let (items, more) = state
        .engine
        .notifications(me.user_id, query.before, limit)
        .await?;
    let next_before = if more {
        items.last().map(|n| n.id)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Inbox {
        items: items.into_iter().map(NotificationView::from).collect(),
        next_before,
    }))
}

#[utoipa::path(post, path = "/api/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkReadRequest,
    responses((status = 200, body = MarkReadResult), (status = 400, body = ErrorBody)))]
pub async fn read(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<MarkReadRequest>,
) -> ApiResult<HttpResponse> {
    let which = match body.into_inner() {
        MarkReadRequest {
            ids: Some(ids),
            all: None | Some(false),
        } => {
            if ids.is_empty() || ids.len() > MAX_READ_IDS {
                return Err(ApiError::Validation(format!(
                    "ids: give 1 to {MAX_READ_IDS} notification ids"
                )));
            }
            MarkRead::Ids(ids)
        }
        MarkReadRequest {
            ids: None,
            all: Some(true),
        } => MarkRead::All,
        _ => {
            return Err(ApiError::Validation(
                "give either `ids` or `\"all\": true`".into(),
            ))
        }
    };
    let marked = state
        .engine
        .mark_notifications_read(me.user_id, which)
        .await?;
    Ok(HttpResponse::Ok().json(MarkReadResult { marked }))
}
