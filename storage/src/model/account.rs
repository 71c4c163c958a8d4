//! Accounts: users, device sessions, privacy, contacts, blocks, paging.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A registered account and its public profile fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    /// Lower-case, unique.
    pub username: String,
    /// E.164, unique when present.
    pub phone: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub about: String,
    /// A media reference, not a URL.
    #[serde(default)]
    pub photo: Option<String>,
    pub created_at: Millis,
    #[serde(default)]
    pub disabled: bool,
    /// May review reports and disable accounts (granted by `confab admin`).
    #[serde(default)]
    pub server_admin: bool,
}

/// What registration writes: the user and their password hash (PHC string), atomically.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user: User,
    pub password_hash: String,
}

/// A partial profile update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub about: Option<String>,
    /// `Some(None)` clears the photo.
    pub photo: Option<Option<String>>,
}

/// One logged-in device. Its refresh token rotates; only the newest one is live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_name: String,
    pub created_at: Millis,
    pub last_refreshed_at: Millis,
    /// Set when logged out, revoked, or when a spent refresh token was replayed.
    pub revoked_at: Option<Millis>,
    /// Refresh tokens expire this long after they are issued.
    pub refresh_expires_at: Millis,
}

impl DeviceSession {
    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && now < self.refresh_expires_at
    }
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was the session's live one; it is now spent and `new_hash` is live.
    Rotated(DeviceSession),
    /// The token had already been rotated: the session is now revoked (theft is assumed).
    Reused { session_id: Uuid },
    /// Unknown token, or its session is revoked or expired.
    Invalid,
}

/// Who may see a piece of a user's information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Everyone,
    /// People the owner has in their own contacts.
    Contacts,
    Nobody,
}

/// Who sees my last seen, photo and about. Status stories have their own audience setting
/// ([`StatusPrivacy`](super::StatusPrivacy)): my contacts, except some, or only some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    pub last_seen: Visibility,
    pub profile_photo: Visibility,
    pub about: Visibility,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            last_seen: Visibility::Everyone,
            profile_photo: Visibility::Everyone,
            about: Visibility::Everyone,
        }
    }
}

/// An entry in `owner`'s address book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub owner: Uuid,
    pub user_id: Uuid,
    /// The owner's own name for this contact.
    pub name: Option<String>,
    pub added_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub blocker: Uuid,
    pub blocked: Uuid,
    pub blocked_at: Millis,
}

/// Which page of a list to read. `after` is the `next` of the previous [`Page`].
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page; `None` on the last page.
    pub next: Option<String>,
}
