//! `/api/users/`: my profile and privacy settings, other users' profiles as privacy allows,
//! and search.

use actix_web::{web, HttpResponse};
use confab_engine::privacy::{visible_profile, Relation};
use confab_storage::{PrivacySettings, ProfileUpdate, User};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::rest::*;
use crate::wire::validate;

/// `owner`'s profile as `viewer` may see it.
pub async fn profile_for(state: &AppState, viewer: Uuid, owner: User) -> ApiResult<Profile> {
    let store = &state.store;
    let privacy = store.privacy(owner.id).await?;
    let relation = Relation {
        is_self: viewer == owner.id,
        in_owners_contacts: store.contact(owner.id, viewer).await?.is_some(),
        blocked_by_owner: store.is_blocked(owner.id, viewer).await?,
    };
    let visible = visible_profile(&owner, &privacy, relation);
    Ok(Profile {
        id: owner.id,
        is_contact: store.contact(viewer, owner.id).await?.is_some(),
        blocked: store.is_blocked(viewer, owner.id).await?,
        username: owner.username,
        display_name: owner.display_name,
        about: visible.about,
        photo: visible.photo,
    })
}

#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    let user = state
        .store
        .user(me.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
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
    let user = state.store.update_profile(me.user_id, update).await?;
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
    let owner = state
        .store
        .user(path.into_inner())
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(profile_for(&state, me.user_id, owner).await?))
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
    let found = if q.starts_with('+') {
        state.store.user_by_phone(q).await?
    } else {
        state
            .store
            .user_by_username(&q.to_ascii_lowercase())
            .await?
    };
    let mut items = Vec::new();
    if let Some(user) = found.filter(|u| !u.disabled) {
        items.push(profile_for(&state, me.user_id, user).await?);
    }
    Ok(HttpResponse::Ok().json(ProfileList { items }))
}

#[utoipa::path(get, path = "/api/users/me/privacy", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Privacy), (status = 401, body = ErrorBody)))]
pub async fn privacy(state: web::Data<AppState>, me: Authed) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Privacy::from(state.store.privacy(me.user_id).await?)))
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
    let current = state.store.privacy(me.user_id).await?;
    let next = PrivacySettings {
        last_seen: body.last_seen.map_or(current.last_seen, Into::into),
        profile_photo: body.profile_photo.map_or(current.profile_photo, Into::into),
        about: body.about.map_or(current.about, Into::into),
    };
    state.store.set_privacy(me.user_id, next).await?;
    Ok(HttpResponse::Ok().json(Privacy::from(next)))
}
