//! `Authed`: the caller of a protected endpoint, proven by a valid access token whose device
//! session is still live and whose account is enabled, checked on every request (and at every
//! WebSocket upgrade) so logout and revocation take effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use confab_engine::accounts::SessionState;

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
    match state
        .engine
        .accounts
        .session_state(claims.sub, claims.sid)
        .await?
    {
        SessionState::Live => Ok(Authed {
            user_id: claims.sub,
            session_id: claims.sid,
        }),
        SessionState::Ended => Err(ApiError::Unauthorized(
            "this session has been logged out or revoked",
        )),
        SessionState::AccountDisabled => Err(ApiError::Unauthorized("this account is disabled")),
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
