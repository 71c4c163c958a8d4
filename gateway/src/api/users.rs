//! `/api/users/`: my profile and privacy settings, other users' profiles as privacy allows,
//! and search.

use actix_web::{web, HttpResponse};
use confab_engine::model::ProfileUpdate;
use confab_engine::people::PrivacyChange;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::rest::*;
use crate::wire::validate;

#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let user = state.engine.user(me.user_id).await?;
    Ok(HttpResponse::Ok().json(Me::from(user)))
}

#[utoipa::path(patch, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = Me), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn update_me(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<UpdateProfileRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.display_name.is_none() && body.about.is_none() && body.photo.is_none() {
        return Err(ApiError::Validation(
            "body: give at least one of display_name, about, photo".into(),
        ));
    }
    let update = ProfileUpdate {
        display_name: body
            .display_name
            .as_deref()
            .map(validate::display_name)
            .transpose()?,
        about: body.about.as_deref().map(validate::about).transpose()?,
        photo: match body.photo {
            None => None,
            Some(None) => Some(None),
            Some(Some(p)) => Some(Some(validate::photo(&p)?)),
        },
    };
    let user = state.engine.update_profile(me.user_id, update).await?;
    Ok(HttpResponse::Ok().json(Me::from(user)))
}

#[utoipa::path(get, path = "/api/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 200, description = "The profile, filtered by its owner's privacy settings", body = Profile),
        (status = 400, description = "invalid_path", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn profile(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let owner = state.engine.user(path.into_inner()).await?;
    let view = state.engine.profile(me.user_id, owner).await?;
    Ok(HttpResponse::Ok().json(Profile::from(view)))
}

#[utoipa::path(get, path = "/api/users/search", tag = "users", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, description = "Users whose username or phone is exactly `q`", body = ProfileList),
        (status = 400, description = "invalid_query", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner().q;
    let too_long = q.chars().count() > 64;
    let q = q.trim();
    if q.is_empty() || too_long {
        return Err(ApiError::InvalidQuery(
            "q: must be 1 to 64 characters".into(),
        ));
    }
    let found = state.engine.search_people(me.user_id, q).await?;
    let items = found.into_iter().map(Profile::from).collect();
    Ok(HttpResponse::Ok().json(ProfileList { items }))
}

#[utoipa::path(get, path = "/api/users/me/privacy", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Privacy), (status = 401, body = ErrorBody)))]
pub async fn privacy(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Privacy::from(state.engine.privacy(me.user_id).await?)))
}

#[utoipa::path(patch, path = "/api/users/me/privacy", tag = "users", security(("bearer" = [])),
    request_body = UpdatePrivacyRequest,
    responses((status = 200, body = Privacy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn update_privacy(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<UpdatePrivacyRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let change = PrivacyChange {
        last_seen: body.last_seen.map(Into::into),
        profile_photo: body.profile_photo.map(Into::into),
        about: body.about.map(Into::into),
    };
    let next = state.engine.set_privacy(me.user_id, change).await?;
    Ok(HttpResponse::Ok().json(Privacy::from(next)))
}
