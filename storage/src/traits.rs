//! The store traits, one per concern. Each method is one atomic operation: a backend must never
//! leave half of it applied.

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::*;
use crate::StoreResult;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user with their credentials. `Conflict("username")` / `Conflict("phone")`
    /// when either is taken; then nothing is written.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// `username` must already be lower-case.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>>;
    /// The PHC string of the user's password.
    async fn password_hash(&self, id: Uuid) -> StoreResult<Option<String>>;
    async fn update_profile(&self, id: Uuid, update: ProfileUpdate) -> StoreResult<User>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new device session whose live refresh token hashes to `refresh_hash`.
    async fn create_session(&self, session: DeviceSession, refresh_hash: &[u8]) -> StoreResult<()>;
    async fn session(&self, id: Uuid) -> StoreResult<Option<DeviceSession>>;
    /// Live (not revoked, not expired) sessions of a user, oldest first.
    async fn live_sessions(&self, user_id: Uuid, now: Millis) -> StoreResult<Vec<DeviceSession>>;
    /// Spends the refresh token hashing to `presented`, making `new_hash` live; see
    /// [`RefreshOutcome`]. `refresh_expires_at` is the new token's expiry.
    async fn rotate_refresh(
        &self,
        presented: &[u8],
        new_hash: &[u8],
        now: Millis,
        refresh_expires_at: Millis,
    ) -> StoreResult<RefreshOutcome>;
    /// Revokes one of `user_id`'s sessions. `NotFound` if it is not theirs or not live.
    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: Millis)
        -> StoreResult<()>;
}

#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// The user's settings, or the defaults if they never changed them.
    async fn privacy(&self, user_id: Uuid) -> StoreResult<PrivacySettings>;
    async fn set_privacy(&self, user_id: Uuid, settings: PrivacySettings) -> StoreResult<()>;
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// `Conflict("contact")` if `contact.user_id` is already in the owner's contacts.
    async fn add_contact(&self, contact: Contact) -> StoreResult<()>;
    async fn contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<Option<Contact>>;
    async fn rename_contact(
        &self,
        owner: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> StoreResult<Contact>;
    /// `NotFound("contact")` if it was not there.
    async fn remove_contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<()>;
    /// Contacts ordered by their user id.
    async fn contacts(&self, owner: Uuid, page: PageRequest) -> StoreResult<Page<Contact>>;
}

#[async_trait]
pub trait BlockStore: Send + Sync {
    /// `None` when newly blocked; `Some(original)` when it was blocked already (kept as it was).
    async fn block(&self, block: Block) -> StoreResult<Option<Block>>;
    /// `NotFound("block")` if it was not blocked.
    async fn unblock(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<()>;
    async fn is_blocked(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<bool>;
    async fn blocked(&self, blocker: Uuid, page: PageRequest) -> StoreResult<Page<Block>>;
}

/// Every concern at once: what the server holds.
#[async_trait]
pub trait Store: UserStore + SessionStore + PrivacyStore + ContactStore + BlockStore {
    /// `"embedded"` or `"scylla"`, for metrics and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Succeeds when the store can serve reads and writes.
    async fn ping(&self) -> StoreResult<()>;
}
