//! The OpenAPI document, generated from the handlers' annotations, and the Swagger UI that
//! renders it. The UI's assets are compiled into the binary (utoipa-swagger-ui `vendored`), so
//! `/api/docs/` works with no internet access.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "Confab", description = "Realtime messaging backend: REST API. Errors are always \
        `{\"error\": {\"code\", \"message\"}}`; see docs/REST.md for the codes. Every operation \
        answers 400 for a path or query parameter that does not parse (`invalid_path`, \
        `invalid_query`) and for a body outside its schema (`malformed_json`, \
        `validation_failed`); 401 without a valid access token; 413 and 415 for a JSON body \
        that is too large or not `application/json`. A user who is not a member of a chat gets \
        404 for it, as for a chat that does not exist. In JSON bodies an integer may be \
        written as a whole number with a fraction or exponent (`1588.0`, `1.588e3`); \
        `1588.5` is refused. `HEAD` is answered wherever `GET` is; a 405 carries `Allow`."),
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
    modifiers(&BearerAuth, &SharedResponses),
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

/// The answers every operation shares, by its shape, so no handler can forget one: 400 for an
/// operation with path or query parameters or a JSON body, 401 for one that needs a token,
/// 413 and 415 for a JSON body. An answer a handler declares itself (with its own
/// description) stays as it is.
struct SharedResponses;

const SHARED: [(&str, &str, &str); 4] = [
    (
        "400",
        "BadRequest",
        "`invalid_path` / `invalid_query`: a path or query parameter that does not parse or is \
         out of range; `malformed_json` / `validation_failed`: a body that is not the JSON \
         object expected, or a field outside its rules (the message names it)",
    ),
    (
        "401",
        "Unauthorized",
        "`unauthorized` / `token_expired`: no valid access token (`WWW-Authenticate: Bearer`)",
    ),
    (
        "413",
        "PayloadTooLarge",
        "`payload_too_large`: the body exceeds `http.max_body_bytes`",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "`unsupported_media_type`: the body is not `application/json`",
    ),
];

/// The shared answers that fit `op`'s shape.
fn shared_for(
    op: &Operation,
) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    let params = op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query),
        RefOr::Ref(_) => true,
    });
    let json_body = matches!(&op.request_body,
        Some(RefOr::T(b)) if b.content.contains_key("application/json"));
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    SHARED.iter().filter(move |(status, _, _)| match *status {
        "400" => params || json_body,
        "401" => secured,
        _ => json_body,
    })
}

/// Every response has a description (OpenAPI requires one): a shared error answer that a
/// handler listed without one becomes the shared definition; any other gets the status's
/// reason phrase.
fn describe(status: &str, response: &mut RefOr<Response>) {
    let RefOr::T(r) = response else { return };
    if !r.description.is_empty() {
        return;
    }
    if let Some((_, name, _)) = SHARED.iter().find(|(s, _, _)| *s == status) {
        *response = RefOr::Ref(Ref::from_response_name(*name));
    } else if let Some(reason) = status
        .parse::<u16>()
        .ok()
        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
    {
        r.description = reason.to_owned();
    }
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (_, name, description) in SHARED {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(error_response(description)));
        }
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                for (status, name, _) in shared_for(op).collect::<Vec<_>>() {
                    op.responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    describe(status, response);
                }
            }
        }
    }
}

/// Swagger UI at `/api/docs/`, reading the spec from `/api/openapi.json`. The page calls
/// nobody else: its validator badge (which would send the spec's URL to
/// `validator.swagger.io`) is off.
pub fn ui() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}")
        .config(utoipa_swagger_ui::Config::new(["/api/openapi.json"]).validator_url("none"))
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
