//! The OpenAPI document, generated from the handlers' annotations, and the Swagger UI that
//! renders it. The UI's assets are compiled into the binary (utoipa-swagger-ui `vendored`), so
//! `/api/docs/` works with no internet access.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "Confab", description = "Realtime messaging backend: REST API. Errors are always \
        `{\"error\": {\"code\", \"message\"}}`; see docs/REST.md for the codes."),
    paths(
        api::auth::register, api::auth::login, api::auth::refresh, api::auth::logout,
        api::auth::sessions, api::auth::revoke_session,
        api::users::me, api::users::update_me, api::users::profile, api::users::search,
        api::users::privacy, api::users::update_privacy,
        api::contacts::list_contacts, api::contacts::add_contact, api::contacts::rename_contact,
        api::contacts::remove_contact,
        api::blocks::list_blocked, api::blocks::block, api::blocks::unblock,
        api::chats::open_direct, api::chats::create_group, api::chats::list, api::chats::get,
        api::chats::history, api::chats::read, api::messages::send, api::messages::info,
        api::groups::update, api::groups::add_members, api::groups::remove_member, api::groups::promote,
        api::groups::demote, api::groups::leave, api::groups::create_invite, api::groups::get_invite,
        api::groups::revoke_invite, api::groups::join,
        api::messages::edit, api::messages::delete_for_everyone, api::messages::hide, api::messages::react,
        api::messages::unreact, api::messages::forward, api::messages::star, api::messages::unstar,
        api::messages::starred, api::settings::update_chat, api::settings::get_user, api::settings::put_user,
        api::broadcasts::list, api::broadcasts::create, api::broadcasts::get, api::broadcasts::update,
        api::broadcasts::delete, api::broadcasts::send,
        api::notifications::list, api::notifications::read,
        api::statuses::post, api::statuses::feed, api::statuses::mine, api::statuses::get_privacy,
        api::statuses::put_privacy, api::statuses::view, api::statuses::viewers, api::statuses::delete,
        api::calls::list, api::calls::settings,
        api::media::upload, api::media::download, api::media::thumbnail, api::media::gallery,
        api::moderation::report, api::moderation::reports, api::moderation::disable, api::moderation::enable,
        crate::health::healthz, crate::health::readyz,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts, login, token refresh and device sessions"),
        (name = "users", description = "Profiles, privacy settings and search"),
        (name = "contacts", description = "My address book"),
        (name = "blocks", description = "People I blocked"),
        (name = "chats", description = "Chats, history and read pointers (live events: WebSocket /ws, docs/PROTOCOL.md)"),
        (name = "messages", description = "Sending without a socket, and receipts per member"),
        (name = "groups", description = "Group administration and invite links"),
        (name = "broadcasts", description = "Broadcast lists: send once, each recipient gets it in their 1:1 chat"),
        (name = "notifications", description = "My notification inbox (the default notification provider)"),
        (name = "statuses", description = "Status stories: 24-hour posts to my contacts (live pushes: WebSocket `status`, `status_deleted`)"),
        (name = "calls", description = "Call history and call settings (signalling: WebSocket /ws, docs/PROTOCOL.md)"),
        (name = "media", description = "Uploads (images, video, audio, voice notes, documents, stickers), authorized downloads with ranges, chat galleries"),
        (name = "moderation", description = "Reports, and account review by server admins"),
        (name = "ops", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// Swagger UI at `/api/docs/`, reading the spec from `/api/openapi.json`.
pub fn ui() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}").config(utoipa_swagger_ui::Config::new(["/api/openapi.json"]))
}

/// `GET /api/openapi.json`
pub async fn spec(doc: actix_web::web::Data<utoipa::openapi::OpenApi>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(doc.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_the_error_shape() {
        let doc = ApiDoc::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        for path in [
            "/api/auth/register",
            "/api/users/me",
            "/api/users/me/contacts",
            "/api/users/me/blocked/{user_id}",
        ] {
            assert!(json["paths"][path].is_object(), "{path} missing");
        }
        assert!(json["components"]["schemas"]["ErrorBody"].is_object());
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
    }
}
