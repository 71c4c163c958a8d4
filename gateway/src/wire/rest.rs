//! REST request and response bodies (see docs/REST.md).

use confab_engine::model::{
    Block, Contact, DeviceSession, Millis, PrivacySettings, User, Visibility,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Refuses an explicit `null` where a field may only be absent or a value.
fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(schema_with = crate::wire::schema::username, example = "ana")]
    pub username: String,
    #[schema(schema_with = crate::wire::schema::password, example = "correct horse battery")]
    pub password: String,
    #[schema(schema_with = crate::wire::schema::name, example = "Ana Lima")]
    pub display_name: String,
    /// E.164, e.g. `+14155550100`.
    #[serde(default)]
    #[schema(schema_with = crate::wire::schema::phone_or_null)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(schema_with = crate::wire::schema::name_or_null, example = "Ana's phone")]
    pub device_name: Option<String>,
}

/// Log in with exactly one of `username` or `phone`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub password: String,
    #[serde(default)]
    pub device_name: Option<String>,
}

crate::wire::schema::schema_from!(LoginRequest => crate::wire::schema::login);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct Tokens {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single-use: exchange it at `/api/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub session_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: Me,
    pub tokens: Tokens,
}

/// My own account, every field.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub phone: Option<String>,
    pub display_name: String,
    pub about: String,
    pub photo: Option<String>,
    pub created_at: Millis,
}

impl From<User> for Me {
    fn from(u: User) -> Self {
        Me {
            id: u.id,
            username: u.username,
            phone: u.phone,
            display_name: u.display_name,
            about: u.about,
            photo: u.photo,
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    pub device_name: String,
    pub created_at: Millis,
    pub last_refreshed_at: Millis,
    /// The session making this request.
    pub current: bool,
}

impl SessionInfo {
    pub fn new(s: DeviceSession, current: Uuid) -> Self {
        SessionInfo {
            id: s.id,
            device_name: s.device_name,
            created_at: s.created_at,
            last_refreshed_at: s.last_refreshed_at,
            current: s.id == current,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionInfo>,
}

/// At least one field (an empty object is refused: 400). `display_name` and `about` take a
/// string (`null` is refused); `photo: null` clears the photo.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateProfileRequest {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(schema_with = crate::wire::schema::name)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(schema_with = crate::wire::schema::about)]
    pub about: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::wire::schema::photo_or_null)]
    pub photo: Option<Option<String>>,
}

/// Another user as the viewer may see them: `about` and `photo` appear only when the owner's
/// privacy settings allow it.
#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// The viewer has this user in their contacts.
    pub is_contact: bool,
    /// The viewer has blocked this user.
    pub blocked: bool,
}

impl From<confab_engine::people::ProfileView> for Profile {
    fn from(p: confab_engine::people::ProfileView) -> Self {
        Profile {
            id: p.user.id,
            is_contact: p.is_contact,
            blocked: p.blocked,
            username: p.user.username,
            display_name: p.user.display_name,
            about: p.visible.about,
            photo: p.visible.photo,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProfileList {
    pub items: Vec<Profile>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// An exact username (any case) or an exact E.164 phone number: 1..=64 characters, not
    /// only spaces (surrounding spaces are ignored).
    #[param(min_length = 1, max_length = 64, pattern = r"\S")]
    pub q: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum VisibilityDto {
    Everyone,
    Contacts,
    Nobody,
}

impl From<Visibility> for VisibilityDto {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Everyone => Self::Everyone,
            Visibility::Contacts => Self::Contacts,
            Visibility::Nobody => Self::Nobody,
        }
    }
}

impl From<VisibilityDto> for Visibility {
    fn from(v: VisibilityDto) -> Self {
        match v {
            VisibilityDto::Everyone => Self::Everyone,
            VisibilityDto::Contacts => Self::Contacts,
            VisibilityDto::Nobody => Self::Nobody,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Privacy {
    pub last_seen: VisibilityDto,
    pub profile_photo: VisibilityDto,
    pub about: VisibilityDto,
}

impl From<PrivacySettings> for Privacy {
    fn from(p: PrivacySettings) -> Self {
        Privacy {
            last_seen: p.last_seen.into(),
            profile_photo: p.profile_photo.into(),
            about: p.about.into(),
        }
    }
}

/// Any subset of the settings, none included (then it answers the current settings); the
/// rest stay as they are. A field given must be a value: `null` is refused (400), leave the
/// field out to keep it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePrivacyRequest {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub last_seen: Option<VisibilityDto>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub profile_photo: Option<VisibilityDto>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub about: Option<VisibilityDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddContactRequest {
    pub user_id: Uuid,
    /// My own name for them.
    #[serde(default)]
    #[schema(schema_with = crate::wire::schema::name_or_null)]
    pub name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameContactRequest {
    /// `null` clears the custom name.
    #[schema(schema_with = crate::wire::schema::name_or_null)]
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub user_id: Uuid,
    pub name: Option<String>,
    pub username: String,
    pub display_name: String,
    pub added_at: Millis,
}

impl ContactView {
    pub fn new(c: Contact, user: &User) -> Self {
        ContactView {
            user_id: c.user_id,
            name: c.name,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            added_at: c.added_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactPage {
    pub items: Vec<ContactView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    pub user_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct BlockedView {
    pub user_id: Uuid,
    pub username: String,
    pub blocked_at: Millis,
}

impl BlockedView {
    pub fn new(b: Block, user: &User) -> Self {
        BlockedView {
            user_id: b.blocked,
            username: user.username.clone(),
            blocked_at: b.blocked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BlockedPage {
    pub items: Vec<BlockedView>,
    pub next_cursor: Option<String>,
}

/// `?limit=&cursor=` on every list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1..=100, default 50.
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub limit: Option<usize>,
    /// `next_cursor` from the previous page (an opaque string; one this server did not hand
    /// out answers 400 `invalid_cursor`).
    #[serde(default)]
    #[param(min_length = 1, max_length = 512, nullable = false)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<&'static str>,
    /// With Redis configured: this node and the live nodes it sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterHealth>,
}

#[derive(Serialize, ToSchema)]
pub struct ClusterHealth {
    pub node_id: uuid::Uuid,
    pub nodes: Vec<uuid::Uuid>,
}
