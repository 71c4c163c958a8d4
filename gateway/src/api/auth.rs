//! `/api/auth/`: register, login, refresh, logout, and the device sessions of my account.

use actix_web::{web, HttpRequest, HttpResponse};
use confab_engine::accounts::{AccountKey, Refreshed};
use confab_engine::model::{DeviceSession, NewUser, User};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::{password, Authed};
use crate::clock;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ratelimit::Rule;
use crate::state::AppState;
use crate::wire::rest::*;
use crate::wire::validate;

/// Opens a new device session for `user` and issues its first token pair.
async fn open_session(state: &AppState, user: &User, device_name: String) -> ApiResult<Tokens> {
    let now = clock::now_millis();
    let refresh = state.tokens.issue_refresh()?;
    let session = DeviceSession {
        id: Uuid::now_v7(),
        user_id: user.id,
        device_name,
        created_at: now,
        last_refreshed_at: now,
        revoked_at: None,
        refresh_expires_at: now + state.tokens.refresh_ttl_secs as i64 * 1000,
    };
    state
        .engine
        .accounts
        .open_session(&session, &refresh.hash)
        .await?;
    Ok(Tokens {
        access_token: state
            .tokens
            .issue_access(user.id, session.id, clock::now_secs())?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs,
        refresh_token: refresh.token,
        session_id: session.id,
    })
}

#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and logged in", body = AuthResponse),
        (status = 400, description = "malformed_json / validation_failed", body = ErrorBody),
        (status = 409, description = "username_taken / phone_taken", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    state
        .limits
        .admit(&[(Rule::RegisterPerIp, &state.limits.client_ip(&req))])
        .await?;
    let body = body.into_inner();
    let username = validate::username(&body.username)?;
    validate::password(&body.password)?;
    let display_name = validate::display_name(&body.display_name)?;
    let phone = body.phone.as_deref().map(validate::phone).transpose()?;
    let device_name = validate::device_name(body.device_name.as_deref())?;
    // Fail fast before spending a password hash; the store re-checks atomically.
    state.engine.accounts.check_username_free(&username).await?;
    let password_hash = password::hash(body.password).await?;
    let user = User {
        id: Uuid::now_v7(),
        username,
        phone,
        display_name,
        about: String::new(),
        photo: None,
        created_at: clock::now_millis(),
        disabled: false,
        server_admin: false,
    };
    let user = state
        .engine
        .accounts
        .register(NewUser {
            user,
            password_hash,
        })
        .await?;
    let tokens = open_session(&state, &user, device_name).await?;
    Ok(HttpResponse::Created().json(AuthResponse {
        user: user.into(),
        tokens,
    }))
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = AuthResponse),
        (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "the account is disabled", body = ErrorBody),
        (status = 429, description = "rate_limited (per IP and per account), with Retry-After", body = ErrorBody)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let account = match (&body.username, &body.phone) {
        (Some(u), None) => u.to_ascii_lowercase(),
        (None, Some(p)) => p.clone(),
        _ => {
            return Err(ApiError::Validation(
                "username, phone: give exactly one of them".into(),
            ))
        }
    };
    if account.chars().count() > 64 || body.password.chars().count() > 1024 {
        return Err(ApiError::Validation(
            "username, phone, password: too long".into(),
        ));
    }
    let device_name = validate::device_name(body.device_name.as_deref())?;
    state
        .limits
        .admit(&[
            (Rule::LoginPerIp, &state.limits.client_ip(&req)),
            (Rule::LoginPerAccount, &account),
        ])
        .await?;
    let key = match &body.username {
        Some(_) => AccountKey::Username(&account),
        None => AccountKey::Phone(&account),
    };
    let (user, phc) = match state.engine.accounts.credentials(key).await? {
        Some((user, phc)) => (Some(user), phc),
        None => (None, None),
    };
    // Verified even for an unknown account, so timing does not tell which accounts exist.
    let matches = password::verify(body.password, phc).await?;
    let user = match user {
        Some(user) if matches => user,
        _ => return Err(ApiError::InvalidCredentials),
    };
    if user.disabled {
        return Err(ApiError::Forbidden("this account is disabled"));
    }
    let tokens = open_session(&state, &user, device_name).await?;
    Ok(HttpResponse::Ok().json(AuthResponse {
        user: user.into(),
        tokens,
    }))
}

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = Tokens),
        (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_refresh_token, or refresh_token_reused (the session is now revoked)", body = ErrorBody)))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let presented = body.into_inner().refresh_token;
    if presented.is_empty() || presented.len() > 256 {
        return Err(ApiError::InvalidRefreshToken);
    }
    let next = state.tokens.issue_refresh()?;
    let ttl_ms = state.tokens.refresh_ttl_secs as i64 * 1000;
    let refreshed = state
        .engine
        .refresh_session(&crate::auth::refresh_hash(&presented), &next.hash, ttl_ms)
        .await?;
    let session = match refreshed {
        Refreshed::Rotated(session) => session,
        Refreshed::Reused => return Err(ApiError::RefreshTokenReused),
        Refreshed::Invalid => return Err(ApiError::InvalidRefreshToken),
    };
    Ok(HttpResponse::Ok().json(Tokens {
        access_token: state
            .tokens
            .issue_access(session.user_id, session.id, clock::now_secs())?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs,
        refresh_token: next.token,
        session_id: session.id,
    }))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "This session is revoked"), (status = 401, body = ErrorBody)))]
pub async fn logout(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    state
        .engine
        .end_session(me.user_id, me.session_id, "logged out")
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "My live device sessions, oldest first", body = SessionList),
        (status = 401, body = ErrorBody)))]
pub async fn sessions(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let live = state.engine.accounts.live_sessions(me.user_id).await?;
    let items = live
        .into_iter()
        .map(|s| SessionInfo::new(s, me.session_id))
        .collect();
    Ok(HttpResponse::Ok().json(SessionList { items }))
}

#[utoipa::path(delete, path = "/api/auth/sessions/{session_id}", tag = "auth", security(("bearer" = [])),
    params(("session_id" = Uuid, Path, description = "One of my live sessions")),
    responses((status = 204, description = "Revoked: its tokens stop working at once"),
        (status = 400, description = "invalid_path", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let session_id = path.into_inner();
    state
        .engine
        .end_session(me.user_id, session_id, "session revoked")
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
