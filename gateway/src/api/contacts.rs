//! `/api/users/me/contacts`: my address book, with my own names for people.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::auth::Authed;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::wire::rest::*;
use crate::wire::validate;

fn contact_name(raw: Option<&str>) -> ApiResult<Option<String>> {
    raw.map(|n| validate::name("name", n, 64)).transpose()
}

#[utoipa::path(get, path = "/api/users/me/contacts", tag = "contacts", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ContactPage), (status = 400, description = "invalid_query / invalid_cursor", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_contacts(
    state: web::Data<AppState>,
    me: Authed,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .engine
        .contacts(me.user_id, validate::page(query.into_inner())?)
        .await?;
    Ok(HttpResponse::Ok().json(ContactPage {
        items: page
            .items
            .into_iter()
            .map(|(contact, user)| ContactView::new(contact, &user))
            .collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/api/users/me/contacts", tag = "contacts", security(("bearer" = [])),
    request_body = AddContactRequest,
    responses((status = 201, body = ContactView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "no such user", body = ErrorBody),
        (status = 409, description = "contact_exists", body = ErrorBody),
        (status = 422, description = "cannot add yourself", body = ErrorBody)))]
pub async fn add_contact(
    state: web::Data<AppState>,
    me: Authed,
    body: JsonBody<AddContactRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let name = contact_name(body.name.as_deref())?;
    let (contact, user) = state
        .engine
        .add_contact(me.user_id, body.user_id, name)
        .await?;
    Ok(HttpResponse::Created().json(ContactView::new(contact, &user)))
}

#[utoipa::path(patch, path = "/api/users/me/contacts/{user_id}", tag = "contacts", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)), request_body = RenameContactRequest,
    responses((status = 200, body = ContactView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn rename_contact(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    body: JsonBody<RenameContactRequest>,
) -> ApiResult<HttpResponse> {
    let name = contact_name(body.into_inner().name.as_deref())?;
    let (contact, user) = state
        .engine
        .rename_contact(me.user_id, path.into_inner(), name)
        .await?;
    Ok(HttpResponse::Ok().json(ContactView::new(contact, &user)))
}

#[utoipa::path(delete, path = "/api/users/me/contacts/{user_id}", tag = "contacts", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_contact(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .engine
        .remove_contact(me.user_id, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
