//! My settings of a chat (pin, archive, mute, notifications) and my chat-wide settings.

use actix_web::{web, HttpResponse};
use confab_engine::model::{NotificationLevel, UserSettings};
use confab_engine::personal::{MuteFor, PrefsChange};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::chat::*;

#[utoipa::path(patch, path = "/api/chats/{chat_id}/settings", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)), request_body = ChatSettingsRequest,
    responses((status = 200, body = ChatSettingsView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "a 4th pinned chat", body = ErrorBody)))]
pub async fn update_chat(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<ChatSettingsRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let change = PrefsChange {
        pinned: b.pinned,
        archived: b.archived,
        mute: b.mute.map(|m| match m {
            MuteDto::Hours8 => MuteFor::Hours8,
            MuteDto::Week => MuteFor::Week,
            MuteDto::Always => MuteFor::Always,
            MuteDto::Off => MuteFor::Off,
        }),
        notifications: b.notifications.map(|n| match n {
            NotificationsDto::All => NotificationLevel::All,
            NotificationsDto::None => NotificationLevel::None,
        }),
    };
    let prefs = state
        .engine
        .set_chat_prefs(me.user_id, path.into_inner(), change)
        .await?;
    Ok(HttpResponse::Ok().json(ChatSettingsView::new(&prefs, prefs.archived_at.is_some())))
}

#[utoipa::path(get, path = "/api/users/me/settings", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserSettingsView)))]
pub async fn get_user(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let s = state.engine.user_settings(me.user_id).await?;
    Ok(HttpResponse::Ok().json(UserSettingsView {
        keep_chats_archived: s.keep_chats_archived,
    }))
}

#[utoipa::path(put, path = "/api/users/me/settings", tag = "users", security(("bearer" = [])),
    request_body = UserSettingsView, responses((status = 200, body = UserSettingsView), (status = 400, body = ErrorBody)))]
pub async fn put_user(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<UserSettingsView>,
) -> ApiResult<HttpResponse> {
    let keep = body.into_inner().keep_chats_archived;
    state
        .engine
        .set_user_settings(
            me.user_id,
            UserSettings {
                keep_chats_archived: keep,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(UserSettingsView {
        keep_chats_archived: keep,
    }))
}
