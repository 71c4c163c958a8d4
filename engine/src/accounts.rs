//! Accounts and their device sessions: registration, credentials, sessions and refresh-token
//! rotation. The records and their rules live here; issuing tokens and hashing passwords are
//! the gateway's (they are how HTTP proves who you are, not what an account is).
//!
//! [`Accounts`] needs only the store, so tools without a running engine (`confab admin`) use
//! it too; the [`Engine`] methods add what needs live sessions (closing a revoked device's
//! sockets).

use std::sync::Arc;

use confab_storage::{DeviceSession, NewUser, RefreshOutcome, Store, StoreError, User};
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::push::close;

/// How a person names their account when logging in.
#[derive(Debug, Clone, Copy)]
pub enum AccountKey<'a> {
    /// Lower-case.
    Username(&'a str),
    /// E.164.
    Phone(&'a str),
}

/// What a refresh token bought.
#[derive(Debug)]
pub enum Refreshed {
    /// The token was live: it is spent and the session's new one is live.
    Rotated(DeviceSession),
    /// The token had been spent before: its session is now revoked (theft is assumed).
    Reused,
    /// Unknown, expired or revoked, or the account is disabled.
    Invalid,
}

/// Where a device session stands, checked on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live,
    /// Logged out, revoked, expired, or not this user's.
    Ended,
    AccountDisabled,
}

/// The account records, over the store alone.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Accounts { store }
    }

    /// Fails with the `username` conflict when the name is taken: a cheap check before a
    /// password is hashed (registration re-checks atomically).
    pub async fn check_username_free(&self, username: &str) -> EngineResult<()> {
        match self.store.user_by_username(username).await? {
            Some(_) => Err(EngineError::Conflict("username")),
            None => Ok(()),
        }
    }

    /// Creates an account (the `username` / `phone` conflicts when either is taken).
    pub async fn register(&self, new: NewUser) -> EngineResult<User> {
        let user = self.store.create_user(new).await?;
        tracing::info!(user_id = %user.id, "user registered");
        Ok(user)
    }

    /// Creates the account, or returns the one that already has this username (tools).
    pub async fn register_or_get(&self, new: NewUser) -> EngineResult<User> {
        let username = new.user.username.clone();
        match self.store.create_user(new).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict("username")) => self
                .store
                .user_by_username(&username)
                .await?
                .ok_or(EngineError::NotFound("user")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find(&self, key: AccountKey<'_>) -> EngineResult<Option<User>> {
        Ok(match key {
            AccountKey::Username(u) => self.store.user_by_username(u).await?,
            AccountKey::Phone(p) => self.store.user_by_phone(p).await?,
        })
    }

    /// The account and its password hash (PHC string), for a login to verify.
    pub async fn credentials(
        &self,
        key: AccountKey<'_>,
    ) -> EngineResult<Option<(User, Option<String>)>> {
        let Some(user) = self.find(key).await? else {
            return Ok(None);
        };
        let hash = self.store.password_hash(user.id).await?;
        Ok(Some((user, hash)))
    }

    /// Records a new device session whose live refresh token hashes to `refresh_hash`.
    pub async fn open_session(
        &self,
        session: &DeviceSession,
        refresh_hash: &[u8],
    ) -> EngineResult<()> {
        self.store
            .create_session(session.clone(), refresh_hash)
            .await?;
        tracing::info!(user_id = %session.user_id, session_id = %session.id, "session opened");
        Ok(())
    }

    pub async fn session_state(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> EngineResult<SessionState> {
        let session = self.store.session(session_id).await?;
        if !session.is_some_and(|s| s.user_id == user_id && s.is_live(now_millis())) {
            return Ok(SessionState::Ended);
        }
        Ok(match self.store.user(user_id).await? {
            Some(user) if !user.disabled => SessionState::Live,
            _ => SessionState::AccountDisabled,
        })
    }

    pub async fn live_sessions(&self, user_id: Uuid) -> EngineResult<Vec<DeviceSession>> {
        Ok(self.store.live_sessions(user_id, now_millis()).await?)
    }

    pub async fn set_server_admin(&self, username: &str, grant: bool) -> EngineResult<()> {
        let user = self
            .store
            .user_by_username(username)
            .await?
            .ok_or(EngineError::NotFound("user"))?;
        Ok(self.store.set_server_admin(user.id, grant).await?)
    }
}

impl Engine {
    /// Spends `presented_hash` for `next_hash`. A replayed (already spent) token revokes its
    /// session and closes that device's sockets; a disabled account refreshes nothing.
    pub async fn refresh_session(
        &self,
        presented_hash: &[u8],
        next_hash: &[u8],
        refresh_ttl_ms: i64,
    ) -> EngineResult<Refreshed> {
        let now = now_millis();
        let outcome = self
            .store
            .rotate_refresh(presented_hash, next_hash, now, now + refresh_ttl_ms)
            .await?;
        let session = match outcome {
            RefreshOutcome::Rotated(session) => session,
            RefreshOutcome::Reused { session_id } => {
                tracing::warn!(%session_id, "spent refresh token presented again: session revoked");
                if let Some(s) = self.store.session(session_id).await? {
                    self.router.close_device_session(
                        s.user_id,
                        session_id,
                        close::REVOKED,
                        "session revoked",
                    );
                }
                return Ok(Refreshed::Reused);
            }
            RefreshOutcome::Invalid => return Ok(Refreshed::Invalid),
        };
        match self.store.user(session.user_id).await? {
            Some(u) if !u.disabled => Ok(Refreshed::Rotated(session)),
            _ => Ok(Refreshed::Invalid),
        }
    }

    /// Ends one of `user_id`'s device sessions (logout, or revoking another device): its
    /// tokens stop working and its sockets close.
    pub async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        reason: &'static str,
    ) -> EngineResult<()> {
        self.store
            .revoke_session(user_id, session_id, now_millis())
            .await?;
        self.router
            .close_device_session(user_id, session_id, close::REVOKED, reason);
        Ok(())
    }
}
