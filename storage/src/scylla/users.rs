//! Users, credentials and device sessions.

use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use uuid::Uuid;

use super::rows::{self, required, Lwt};
use super::ScyllaStore;
use crate::model::*;
use crate::{SessionStore, StoreError, StoreResult, UserStore};

/// `users` columns as read by `select_user`.
type UserRow = (
    Uuid,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
);

fn user_from_row(r: UserRow) -> StoreResult<User> {
    let (id, username, phone, display_name, about, photo, created_at, disabled, server_admin) = r;
    Ok(User {
        id,
        username: required(username, "users.username")?,
        phone,
        display_name: display_name.unwrap_or_default(),
        about: about.unwrap_or_default(),
        photo,
        created_at: required(created_at, "users.created_at")?,
        disabled: disabled.unwrap_or(false),
        server_admin: server_admin.unwrap_or(false),
    })
}

/// `sessions_by_user` columns as read by `select_session` and `user_sessions`.
type SessionRow = (
    Uuid,
    Uuid,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn session_from_row(r: SessionRow) -> StoreResult<DeviceSession> {
    let (user_id, id, device_name, created_at, last_refreshed_at, revoked_at, expires) = r;
    let created_at = required(created_at, "sessions_by_user.created_at")?;
    Ok(DeviceSession {
        id,
        user_id,
        device_name: device_name.unwrap_or_default(),
        created_at,
        last_refreshed_at: last_refreshed_at.unwrap_or(created_at),
        revoked_at,
        refresh_expires_at: required(expires, "sessions_by_user.refresh_expires_at")?,
    })
}

/// How long a refresh-token row lives: past the token's expiry (after which presenting it is
/// `Invalid` anyway) by a margin that keeps a spent token recognisable as reuse while its
/// session could still be refreshed. Bounded well under Cassandra's 20-year TTL limit.
fn token_ttl(now: Millis, expires_at: Millis) -> i32 {
    const MARGIN_SECS: i64 = 7 * 24 * 3600;
    const MAX_SECS: i64 = 10 * 365 * 24 * 3600;
    let secs = (expires_at.saturating_sub(now) / 1000).saturating_add(MARGIN_SECS);
    // Clamped into i32 range just above.
    secs.clamp(60, MAX_SECS) as i32
}

impl ScyllaStore {
    /// Runs a lightweight transaction and reads its outcome.
    pub(super) async fn lwt(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<Lwt> {
        Lwt::from_result(self.run(statement, values).await?)
    }

    async fn load_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        let row = rows::first::<UserRow>(self.run(&self.st().select_user, (id,)).await?)?;
        row.map(user_from_row).transpose()
    }

    /// The user id a claim table maps `key` to.
    async fn owner_of(
        &self,
        statement: &PreparedStatement,
        key: &str,
    ) -> StoreResult<Option<Uuid>> {
        let row = rows::first::<(Option<Uuid>,)>(self.run(statement, (key,)).await?)?;
        Ok(row.and_then(|(id,)| id))
    }

    /// Gives back what a refused registration took, newest first: its claims (only if still
    /// ours), then the user row. The row goes only when every claim is known released, so a
    /// claim can never point at a missing user. Best effort: the caller reports its own error.
    async fn undo_registration(&self, user: &User, username: bool, phone: bool) {
        let st = self.st();
        let mut released = true;
        if phone {
            if let Some(p) = &user.phone {
                if let Err(e) = self.lwt(&st.release_phone, (p.as_str(), user.id)).await {
                    tracing::warn!(error = %e, user = %user.id, "could not release a phone claim");
                    released = false;
                }
            }
        }
        if username {
            if let Err(e) = self
                .lwt(&st.release_username, (user.username.as_str(), user.id))
                .await
            {
                tracing::warn!(error = %e, user = %user.id, "could not release a username claim");
                released = false;
            }
        }
        if released {
            if let Err(e) = self.run(&st.delete_user, (user.id,)).await {
                // An orphan row under a fresh id nobody knows: invisible, harmless.
                tracing::warn!(error = %e, user = %user.id, "could not delete a refused user row");
            }
        }
    }

    async fn load_session(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<DeviceSession>> {
        let row =
            rows::first::<SessionRow>(self.run(&self.st().select_session, (user_id, id)).await?)?;
        row.map(session_from_row).transpose()
    }

    async fn delete_token(&self, hash: &[u8]) {
        if let Err(e) = self.lwt(&self.st().delete_token, (hash,)).await {
            tracing::warn!(error = %e, "could not delete an unused refresh token");
        }
    }
}

#[async_trait::async_trait]
impl UserStore for ScyllaStore {
    /// Three partitions, no cross-partition batch: (1) the user row, invisible while no claim
    /// points at it (its id is fresh); (2) the username claim and (3) the phone claim, each an
    /// `INSERT ... IF NOT EXISTS`, the last of which makes the user findable. A refused or
    /// failed claim undoes the earlier steps, so a taken username or phone leaves nothing
    /// behind.
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let st = self.st();
        let user = new.user;
        self.run(
            &st.insert_user,
            (
                user.id,
                user.username.as_str(),
                user.phone.as_deref(),
                user.display_name.as_str(),
                user.about.as_str(),
                user.photo.as_deref(),
                user.created_at,
                user.disabled,
                user.server_admin,
                new.password_hash.as_str(),
            ),
        )
        .await?;
        match self
            .lwt(&st.claim_username, (user.username.as_str(), user.id))
            .await
        {
            Ok(claim) if claim.applied => {}
            Ok(_) => {
                self.undo_registration(&user, false, false).await;
                return Err(StoreError::Conflict("username"));
            }
            Err(e) => {
                // The outcome is unknown: release conditionally (only if it is ours).
                self.undo_registration(&user, true, false).await;
                return Err(e);
            }
        }
        if let Some(phone) = &user.phone {
            match self.lwt(&st.claim_phone, (phone.as_str(), user.id)).await {
                Ok(claim) if claim.applied => {}
                Ok(_) => {
                    self.undo_registration(&user, true, false).await;
                    return Err(StoreError::Conflict("phone"));
                }
                Err(e) => {
                    self.undo_registration(&user, true, true).await;
                    return Err(e);
                }
            }
        }
        Ok(user)
    }

    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.load_user(id).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        match self.owner_of(&self.st().username_owner, username).await? {
            Some(id) => self.load_user(id).await,
            None => Ok(None),
        }
    }

    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>> {
        match self.owner_of(&self.st().phone_owner, phone).await? {
            Some(id) => self.load_user(id).await,
            None => Ok(None),
        }
    }

    async fn password_hash(&self, id: Uuid) -> StoreResult<Option<String>> {
        let row = rows::first::<(Option<String>,)>(
            self.run(&self.st().select_password_hash, (id,)).await?,
        )?;
        Ok(row.and_then(|(h,)| h))
    }

    /// Writes only the given fields (unset bind values leave the others untouched, so
    /// concurrent updates of different fields do not undo each other), then reads the row.
    async fn update_profile(&self, id: Uuid, update: ProfileUpdate) -> StoreResult<User> {
        if self.load_user(id).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        let set = |v: Option<String>| v.map_or(MaybeUnset::Unset, MaybeUnset::Set);
        let photo = update.photo.map_or(MaybeUnset::Unset, MaybeUnset::Set);
        self.run(
            &self.st().update_profile,
            (set(update.display_name), set(update.about), photo, id),
        )
        .await?;
        self.load_user(id)
            .await?
            .ok_or(StoreError::NotFound("user"))
    }

    /// Like `update_profile`: the row is read first so that an unknown id is `NotFound`
    /// rather than a partial row holding only the flag.
    async fn set_disabled(&self, id: Uuid, disabled: bool) -> StoreResult<()> {
        if self.load_user(id).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        self.run(&self.st().set_disabled, (disabled, id)).await?;
        Ok(())
    }

    async fn set_server_admin(&self, id: Uuid, admin: bool) -> StoreResult<()> {
        if self.load_user(id).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        self.run(&self.st().set_server_admin, (admin, id)).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for ScyllaStore {
    /// Written leaf first: the token (pointing at a session nobody can see yet), the id index,
    /// then the session row, which makes it live. A failure part way leaves nothing usable.
    async fn create_session(&self, session: DeviceSession, refresh_hash: &[u8]) -> StoreResult<()> {
        let st = self.st();
        let ttl = token_ttl(session.created_at, session.refresh_expires_at);
        let token = self
            .lwt(
                &st.insert_token,
                (refresh_hash, session.id, session.user_id, ttl),
            )
            .await?;
        if !token.applied {
            return Err(StoreError::Corrupt(
                "a new refresh token's hash is already stored".into(),
            ));
        }
        let rest = async {
            self.run(&st.insert_session_owner, (session.id, session.user_id))
                .await?;
            self.run(
                &st.insert_session,
                (
                    session.user_id,
                    session.id,
                    session.device_name.as_str(),
                    session.created_at,
                    session.last_refreshed_at,
                    session.revoked_at,
                    session.refresh_expires_at,
                ),
            )
            .await
        };
        if let Err(e) = rest.await {
            self.delete_token(refresh_hash).await;
            return Err(e);
        }
        Ok(())
    }

    async fn session(&self, id: Uuid) -> StoreResult<Option<DeviceSession>> {
        match self.owner_of_session(id).await? {
            Some(user_id) => self.load_session(user_id, id).await,
            None => Ok(None),
        }
    }

    /// Reads the user's partition page by page (a user has few sessions, but the list is not
    /// bounded by the schema, so it is never read unpaged).
    async fn live_sessions(&self, user_id: Uuid, now: Millis) -> StoreResult<Vec<DeviceSession>> {
        let rows = self
            .all_pages::<SessionRow, _>(&self.st().user_sessions, (user_id,))
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let s = session_from_row(row)?;
            if s.is_live(now) {
                out.push(s);
            }
        }
        out.sort_by_key(|s| s.created_at);
        Ok(out)
    }

    /// The commit point is `UPDATE refresh_tokens ... IF spent = false`: of two concurrent
    /// presentations of one token exactly one wins; the other sees it spent and treats it as
    /// reuse, as it would one presented later. The new token is stored (unknown to anyone)
    /// and the session's times moved before it, so nothing is left to do once it applied.
    async fn rotate_refresh(
        &self,
        presented: &[u8],
        new_hash: &[u8],
        now: Millis,
        refresh_expires_at: Millis,
    ) -> StoreResult<RefreshOutcome> {
        let st = self.st();
        let token = rows::first::<(Option<Uuid>, Option<Uuid>, Option<bool>)>(
            self.run(&st.select_token, (presented,)).await?,
        )?;
        let Some((Some(session_id), Some(user_id), spent)) = token else {
            return Ok(RefreshOutcome::Invalid);
        };
        let Some(mut session) = self.load_session(user_id, session_id).await? else {
            return Ok(RefreshOutcome::Invalid);
        };
        if spent == Some(true) {
            return self.reused(session, now).await;
        }
        if !session.is_live(now) {
            return Ok(RefreshOutcome::Invalid);
        }
        let ttl = token_ttl(now, refresh_expires_at);
        let fresh = self
            .lwt(&st.insert_token, (new_hash, session_id, user_id, ttl))
            .await?;
        if !fresh.applied {
            return Err(StoreError::Corrupt(
                "a new refresh token's hash is already stored".into(),
            ));
        }
        let spend = async {
            self.run(
                &st.touch_session,
                (now, refresh_expires_at, user_id, session_id),
            )
            .await?;
            self.lwt(&st.spend_token, (ttl, session_id, user_id, presented))
                .await
        };
        match spend.await {
            Ok(outcome) if outcome.applied => {
                session.last_refreshed_at = now;
                session.refresh_expires_at = refresh_expires_at;
                Ok(RefreshOutcome::Rotated(session))
            }
            Ok(outcome) => {
                self.delete_token(new_hash).await;
                match outcome.column("spent").and_then(|v| v.as_boolean()) {
                    // Spent by a concurrent presentation of the same token: reuse.
                    Some(true) => self.reused(session, now).await,
                    // The token row expired in between.
                    _ => Ok(RefreshOutcome::Invalid),
                }
            }
            Err(e) => {
                self.delete_token(new_hash).await;
                Err(e)
            }
        }
    }

    async fn revoke_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: Millis,
    ) -> StoreResult<()> {
        // The session is looked up in `user_id`'s own partition: another user's session id
        // finds nothing there.
        match self.load_session(user_id, session_id).await? {
            Some(s) if s.is_live(now) => {
                self.run(&self.st().revoke_session, (now, user_id, session_id))
                    .await?;
                Ok(())
            }
            _ => Err(StoreError::NotFound("session")),
        }
    }
}

impl ScyllaStore {
    async fn owner_of_session(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        let row = rows::first::<(Option<Uuid>,)>(self.run(&self.st().session_owner, (id,)).await?)?;
        Ok(row.and_then(|(u,)| u))
    }

    /// A spent token came back: theft is assumed and the session dies (its first revocation
    /// time is kept).
    async fn reused(&self, session: DeviceSession, now: Millis) -> StoreResult<RefreshOutcome> {
        if session.revoked_at.is_none() {
            self.run(
                &self.st().revoke_session,
                (now, session.user_id, session.id),
            )
            .await?;
        }
        Ok(RefreshOutcome::Reused {
            session_id: session.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ttl_is_bounded() {
        assert_eq!(token_ttl(0, 0), 7 * 24 * 3600);
        assert_eq!(token_ttl(10_000, 0), 7 * 24 * 3600 - 10);
        assert_eq!(token_ttl(0, i64::MAX), 10 * 365 * 24 * 3600);
        assert_eq!(token_ttl(i64::MAX, i64::MIN), 60);
    }
}
