//! The REST API under `/api/`: routes, and the extractor settings that turn every malformed
//! request into a typed [`ApiError`](crate::error::ApiError).

pub mod auth;
pub mod blocks;
pub mod body;
pub mod broadcasts;
pub mod calls;
pub mod chats;
pub mod contacts;
pub mod groups;
pub mod media;
pub mod messages;
pub mod moderation;
pub mod notifications;
pub mod settings;
pub mod statuses;
pub mod users;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, ResponseError};

use crate::error::ApiError;

/// Registers every `/api/` route. One `resource` per path, so a known path with the wrong
/// method answers 405, not 404.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{delete, get, patch, post, resource};
    cfg.service(
        web::scope("/api/auth")
            .service(resource("/register").route(post().to(auth::register)))
            .service(resource("/login").route(post().to(auth::login)))
            .service(resource("/refresh").route(post().to(auth::refresh)))
            .service(resource("/logout").route(post().to(auth::logout)))
            .service(resource("/sessions").route(get().to(auth::sessions)))
            .service(resource("/sessions/{session_id}").route(delete().to(auth::revoke_session))),
    )
    .service(
        web::scope("/api/users")
            .service(
                resource("/me")
                    .route(get().to(users::me))
                    .route(patch().to(users::update_me)),
            )
            .service(
                resource("/me/privacy")
                    .route(get().to(users::privacy))
                    .route(patch().to(users::update_privacy)),
            )
            .service(
                resource("/me/contacts")
                    .route(get().to(contacts::list_contacts))
                    .route(post().to(contacts::add_contact)),
            )
            .service(
                resource("/me/contacts/{user_id}")
                    .route(patch().to(contacts::rename_contact))
                    .route(delete().to(contacts::remove_contact)),
            )
            .service(
                resource("/me/blocked")
                    .route(get().to(blocks::list_blocked))
                    .route(post().to(blocks::block)),
            )
            .service(resource("/me/blocked/{user_id}").route(delete().to(blocks::unblock)))
            .service(resource("/search").route(get().to(users::search)))
            .service(resource("/me/starred").route(get().to(messages::starred)))
            .service(
                resource("/me/settings")
                    .route(get().to(settings::get_user))
                    .route(web::put().to(settings::put_user)),
            )
            .service(resource("/{user_id}").route(get().to(users::profile))),
    )
    .service(resource("/api/chats").route(get().to(chats::list)))
    .service(
        web::scope("/api/chats")
            .service(resource("/direct").route(post().to(chats::open_direct)))
            .service(resource("/groups").route(post().to(chats::create_group)))
            .service(
                resource("/{chat_id}")
                    .route(get().to(chats::get))
                    .route(patch().to(groups::update)),
            )
            .service(resource("/{chat_id}/messages").route(get().to(chats::history)))
            .service(resource("/{chat_id}/media").route(get().to(media::gallery)))
            .service(resource("/{chat_id}/read").route(post().to(chats::read)))
            .service(resource("/{chat_id}/settings").route(patch().to(settings::update_chat)))
            .service(resource("/{chat_id}/members").route(post().to(groups::add_members)))
            .service(
                resource("/{chat_id}/members/{user_id}").route(delete().to(groups::remove_member)),
            )
            .service(
                resource("/{chat_id}/admins/{user_id}")
                    .route(web::put().to(groups::promote))
                    .route(delete().to(groups::demote)),
            )
            .service(resource("/{chat_id}/leave").route(post().to(groups::leave)))
            .service(
                resource("/{chat_id}/invite")
                    .route(post().to(groups::create_invite))
                    .route(get().to(groups::get_invite))
                    .route(delete().to(groups::revoke_invite)),
            ),
    )
    .service(resource("/api/media").route(post().to(media::upload)))
    .service(resource("/api/media/{media_id}").route(get().to(media::download)))
    .service(resource("/api/media/{media_id}/thumbnail").route(get().to(media::thumbnail)))
    .service(resource("/api/invites/{code}/join").route(post().to(groups::join)))
    .service(resource("/api/messages").route(post().to(messages::send)))
    .service(
        web::scope("/api/messages")
            .service(resource("/forward").route(post().to(messages::forward)))
            .service(resource("/{chat_id}/hide").route(post().to(messages::hide)))
            .service(
                resource("/{chat_id}/{seq}")
                    .route(patch().to(messages::edit))
                    .route(delete().to(messages::delete_for_everyone)),
            )
            .service(resource("/{chat_id}/{seq}/info").route(get().to(messages::info)))
            .service(
                resource("/{chat_id}/{seq}/reaction")
                    .route(web::put().to(messages::react))
                    .route(delete().to(messages::unreact)),
            )
            .service(
                resource("/{chat_id}/{seq}/star")
                    .route(web::put().to(messages::star))
                    .route(delete().to(messages::unstar)),
            ),
    )
    .service(resource("/api/calls").route(get().to(calls::list)))
    .service(resource("/api/calls/config").route(get().to(calls::settings)))
    .service(
        resource("/api/broadcasts")
            .route(get().to(broadcasts::list))
            .route(post().to(broadcasts::create)),
    )
    .service(
        resource("/api/broadcasts/{list_id}")
            .route(get().to(broadcasts::get))
            .route(patch().to(broadcasts::update))
            .route(delete().to(broadcasts::delete)),
    )
    .service(resource("/api/broadcasts/{list_id}/messages").route(post().to(broadcasts::send)))
    .service(resource("/api/notifications").route(get().to(notifications::list)))
    .service(resource("/api/notifications/read").route(post().to(notifications::read)))
    .service(
        resource("/api/statuses")
            .route(get().to(statuses::feed))
            .route(post().to(statuses::post)),
    )
    .service(
        web::scope("/api/statuses")
            .service(resource("/me").route(get().to(statuses::mine)))
            .service(
                resource("/privacy")
                    .route(get().to(statuses::get_privacy))
                    .route(web::put().to(statuses::put_privacy)),
            )
            .service(resource("/{status_id}").route(delete().to(statuses::delete)))
            .service(resource("/{status_id}/view").route(post().to(statuses::view)))
            .service(resource("/{status_id}/viewers").route(get().to(statuses::viewers))),
    )
    .service(resource("/api/reports").route(post().to(moderation::report)))
    .service(resource("/api/admin/reports").route(get().to(moderation::reports)))
    .service(resource("/api/admin/users/{user_id}/disable").route(post().to(moderation::disable)))
    .service(resource("/api/admin/users/{user_id}/enable").route(post().to(moderation::enable)));
}

/// Extractor configuration: paths and queries that do not parse become typed errors (bodies
/// are read by [`body::JsonBody`]).
pub fn extractor_config() -> (web::PathConfig, web::QueryConfig) {
    let path = web::PathConfig::default().error_handler(|err: PathError, _req: &HttpRequest| {
        ApiError::InvalidPath(format!("invalid path parameter: {err}")).into()
    });
    let query =
        web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req: &HttpRequest| {
            ApiError::InvalidQuery(format!("invalid query: {err}")).into()
        });
    (path, query)
}

/// Rewrites the framework's own bare 404 and 405 responses (no route, wrong method) into the
/// JSON error shape, and gives every 405 its `Allow` header. Responses that are already JSON
/// (ours) pass through.
pub fn json_error_pages<B: 'static>() -> ErrorHandlers<B> {
    fn rewrite<B>(
        res: ServiceResponse<B>,
        error: ApiError,
    ) -> actix_web::Result<ErrorHandlerResponse<B>> {
        let is_json = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let mut res = if is_json {
            res.map_into_left_body()
        } else {
            let (req, _) = res.into_parts();
            let body: actix_web::HttpResponse<BoxBody> = error.error_response();
            ServiceResponse::new(req, body)
                .map_into_right_body::<B>()
                .map_body(|_, b: EitherBody<B, BoxBody>| b)
        };
        if res.status() == StatusCode::METHOD_NOT_ALLOWED {
            let allow = crate::http::allowed_methods(res.request());
            if let Ok(value) = HeaderValue::from_str(&allow) {
                res.headers_mut().insert(ALLOW, value);
            }
        }
        Ok(ErrorHandlerResponse::Response(res))
    }
    ErrorHandlers::new()
        .handler(StatusCode::NOT_FOUND, |res| {
            rewrite(res, ApiError::NotFound("route"))
        })
        .handler(StatusCode::METHOD_NOT_ALLOWED, |res| {
            rewrite(res, ApiError::MethodNotAllowed)
        })
}
