//! Users, credentials and device sessions.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{SessionStore, StoreError, StoreResult, UserStore};

/// What a stored refresh-token hash points at.
#[derive(Serialize, Deserialize)]
struct RefreshRecord {
    session_id: Uuid,
    /// Set once this token was exchanged for a new one; presenting it again is reuse.
    spent: bool,
}

fn load_user(
    txn_table: &impl ReadableTable<u128, &'static [u8]>,
    id: u128,
) -> StoreResult<Option<User>> {
    match txn_table.get(id)? {
        Some(v) => Ok(Some(decode(v.value())?)),
        None => Ok(None),
    }
}

#[async_trait::async_trait]
impl UserStore for EmbeddedStore {
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        self.write(move |txn| {
            let user = new.user;
            let id = user.id.as_u128();
            let mut names = txn.open_table(USERNAMES)?;
            if names.get(user.username.as_str())?.is_some() {
                return Err(StoreError::Conflict("username"));
            }
            if let Some(phone) = &user.phone {
                let mut phones = txn.open_table(PHONES)?;
                if phones.get(phone.as_str())?.is_some() {
                    return Err(StoreError::Conflict("phone"));
                }
                phones.insert(phone.as_str(), id)?;
            }
            names.insert(user.username.as_str(), id)?;
            txn.open_table(CREDENTIALS)?
                .insert(id, new.password_hash.as_str())?;
            txn.open_table(USERS)?
                .insert(id, encode(&user)?.as_slice())?;
            Ok(user)
        })
        .await
    }

    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.read(move |txn| load_user(&txn.open_table(USERS)?, id.as_u128()))
            .await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.read(
            move |txn| match txn.open_table(USERNAMES)?.get(username.as_str())? {
                Some(id) => load_user(&txn.open_table(USERS)?, id.value()),
                None => Ok(None),
            },
        )
        .await
    }

    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>> {
        let phone = phone.to_owned();
        self.read(
            move |txn| match txn.open_table(PHONES)?.get(phone.as_str())? {
                Some(id) => load_user(&txn.open_table(USERS)?, id.value()),
                None => Ok(None),
            },
        )
        .await
    }

    async fn password_hash(&self, id: Uuid) -> StoreResult<Option<String>> {
        self.read(move |txn| {
            Ok(txn
                .open_table(CREDENTIALS)?
                .get(id.as_u128())?
                .map(|v| v.value().to_owned()))
        })
        .await
    }

    async fn set_disabled(&self, id: Uuid, disabled: bool) -> StoreResult<()> {
        self.set_disabled_impl(id, disabled).await
    }

    async fn set_server_admin(&self, id: Uuid, admin: bool) -> StoreResult<()> {
        self.set_server_admin_impl(id, admin).await
    }

    async fn update_profile(&self, id: Uuid, update: ProfileUpdate) -> StoreResult<User> {
        self.write(move |txn| {
            let mut users = txn.open_table(USERS)?;
            let mut user = load_user(&users, id.as_u128())?.ok_or(StoreError::NotFound("user"))?;
            if let Some(name) = update.display_name {
                user.display_name = name;
            }
            if let Some(about) = update.about {
                user.about = about;
            }
            if let Some(photo) = update.photo {
                user.photo = photo;
            }
            users.insert(id.as_u128(), encode(&user)?.as_slice())?;
            Ok(user)
        })
        .await
    }
}

fn load_session(txn: &WriteTransaction, id: Uuid) -> StoreResult<Option<DeviceSession>> {
    match txn.open_table(SESSIONS)?.get(id.as_u128())? {
        Some(v) => Ok(Some(decode(v.value())?)),
        None => Ok(None),
    }
}

fn save_session(txn: &WriteTransaction, session: &DeviceSession) -> StoreResult<()> {
    txn.open_table(SESSIONS)?
        .insert(session.id.as_u128(), encode(session)?.as_slice())?;
    Ok(())
}

#[async_trait::async_trait]
impl SessionStore for EmbeddedStore {
    async fn create_session(&self, session: DeviceSession, refresh_hash: &[u8]) -> StoreResult<()> {
        let hash = refresh_hash.to_vec();
        self.write(move |txn| {
            save_session(txn, &session)?;
            txn.open_table(USER_SESSIONS)?
                .insert((session.user_id.as_u128(), session.id.as_u128()), ())?;
            let record = RefreshRecord {
                session_id: session.id,
                spent: false,
            };
            txn.open_table(REFRESH_TOKENS)?
                .insert(hash.as_slice(), encode(&record)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: Uuid) -> StoreResult<Option<DeviceSession>> {
        self.read(
            move |txn| match txn.open_table(SESSIONS)?.get(id.as_u128())? {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            },
        )
        .await
    }

    async fn live_sessions(&self, user_id: Uuid, now: Millis) -> StoreResult<Vec<DeviceSession>> {
        self.read(move |txn| {
            let index = txn.open_table(USER_SESSIONS)?;
            let sessions = txn.open_table(SESSIONS)?;
            let uid = user_id.as_u128();
            let mut out = Vec::new();
            for entry in index.range((uid, 0)..=(uid, u128::MAX))? {
                let (key, _) = entry?;
                if let Some(v) = sessions.get(key.value().1)? {
                    let s: DeviceSession = decode(v.value())?;
                    if s.is_live(now) {
                        out.push(s);
                    }
                }
            }
            out.sort_by_key(|s| s.created_at);
            Ok(out)
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        presented: &[u8],
        new_hash: &[u8],
        now: Millis,
        refresh_expires_at: Millis,
    ) -> StoreResult<RefreshOutcome> {
        let presented = presented.to_vec();
        let new_hash = new_hash.to_vec();
        self.write(move |txn| {
            let mut tokens = txn.open_table(REFRESH_TOKENS)?;
            let record: RefreshRecord = match tokens.get(presented.as_slice())? {
                Some(v) => decode(v.value())?,
                None => return Ok(RefreshOutcome::Invalid),
            };
            let Some(mut session) = load_session(txn, record.session_id)? else {
                return Ok(RefreshOutcome::Invalid);
            };
            if record.spent {
                if session.revoked_at.is_none() {
                    session.revoked_at = Some(now);
                    save_session(txn, &session)?;
                }
                return Ok(RefreshOutcome::Reused {
                    session_id: session.id,
                });
            }
            if !session.is_live(now) {
                return Ok(RefreshOutcome::Invalid);
            }
            let spent = RefreshRecord {
                session_id: session.id,
                spent: true,
            };
            tokens.insert(presented.as_slice(), encode(&spent)?.as_slice())?;
            let fresh = RefreshRecord {
                session_id: session.id,
                spent: false,
            };
            tokens.insert(new_hash.as_slice(), encode(&fresh)?.as_slice())?;
            session.last_refreshed_at = now;
            session.refresh_expires_at = refresh_expires_at;
            save_session(txn, &session)?;
            Ok(RefreshOutcome::Rotated(session))
        })
        .await
    }

    async fn revoke_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: Millis,
    ) -> StoreResult<()> {
        self.write(move |txn| match load_session(txn, session_id)? {
            Some(mut s) if s.user_id == user_id && s.is_live(now) => {
                s.revoked_at = Some(now);
                save_session(txn, &s)
            }
            _ => Err(StoreError::NotFound("session")),
        })
        .await
    }
}
