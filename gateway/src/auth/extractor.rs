//! `Authed`: the caller of a protected endpoint, proven by a valid access token whose device
//! session is still live and whose account is enabled, checked on every request (and at every
//! WebSocket upgrade) so logout and revocation take effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use uuid::Uuid;

use crate::clock;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct Authed {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

impl FromRequest for Authed {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or(ApiError::Internal)?;
            authenticate(&state, &token?).await
        })
    }
}

/// Checks an access token, its device session and its account.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Authed, ApiError> {
    let claims = state.tokens.verify_access(token)?;
    let session = state.store.session(claims.sid).await?;
    let live = session.is_some_and(|s| s.user_id == claims.sub && s.is_live(clock::now_millis()));
    if !live {
        return Err(ApiError::Unauthorized(
            "this session has been logged out or revoked",
        ));
    }
    match state.store.user(claims.sub).await? {
        Some(user) if !user.disabled => Ok(Authed {
            user_id: claims.sub,
            session_id: claims.sid,
        }),
        _ => Err(ApiError::Unauthorized("this account is disabled")),
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "missing Authorization: Bearer <access token>",
        ))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(ApiError::Unauthorized(
            "Authorization must be 'Bearer <access token>'",
        ))?;
    Ok(token.trim().to_owned())
}
