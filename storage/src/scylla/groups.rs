//! Group changes, atomic with the timeline event that records them, and invite links.
//!
//! A group change is an append whose write-ahead record (`chat_state.pending`, see `timeline`)
//! also carries the rows the change writes, as an [`Effect`]. In order:
//! 1. the chat's previous append is written out if its writer left it pending;
//! 2. the change is checked against the rows as they now stand (`NotFound("member")` for a
//!    missing member; members already present are dropped from an addition): a refused
//!    change has written nothing;
//! 3. **commit point**: the compare-and-set on `chat_state` that assigns the event its seq and
//!    stores event and effect as `pending`. If anything was appended since step 1 it fails
//!    and everything is checked again, so a check can never be stale;
//! 4. the effect's rows (chat row, `chat_members`, `user_chats`), then the event row, all
//!    written `USING TIMESTAMP` the append's write timestamp; then `pending` is cleared.
//!
//! A crash before step 3 leaves nothing; a crash after it leaves `pending`, which the next
//! append or state read writes out, effect included: the change and its event are never seen
//! one without the other for longer than that (between them, readers may briefly see the
//! change without its event). Because later appends of the chat carry higher timestamps, a
//! late or repeated write-out of an older change can never undo a newer one (a removal
//! re-adding a member, an old role coming back).
//!
//! Invite links: `invites` (by code) holds the link, `chat_invites` (by chat) points at the
//! group's live code and is the truth. The pointer only changes by compare-and-set from the
//! code it was read as, so of concurrent replacements each knows which code it replaced and
//! deletes that row; a code is live only while its chat's pointer names it, so a row a crash
//! left behind (written before its pointer, or not deleted after) is never served.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::chats::{info_json, role_name};
use super::rows::{self, required};
use super::ScyllaStore;
use crate::model::*;
use crate::{ChatStore, StoreError, StoreResult};

/// Compare-and-set retries on an invite pointer that keeps changing under us.
const MAX_ATTEMPTS: usize = 8;

/// The rows a group change writes, as recorded in the append's write-ahead record. Only what
/// was checked: an addition lists only the members that were not in the chat.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Effect {
    Info { title: String, info: GroupInfo },
    AddMembers { members: Vec<Member> },
    RemoveMember { user_id: Uuid },
    SetRole { user_id: Uuid, role: Role },
}

type InviteRow = (String, Option<Uuid>, Option<Uuid>, Option<i64>, Option<i64>);

fn invite_from_row(
    (code, chat_id, created_by, created_at, expires_at): InviteRow,
) -> StoreResult<Invite> {
    Ok(Invite {
        code,
        chat_id: required(chat_id, "invites.chat_id")?,
        created_by: required(created_by, "invites.created_by")?,
        created_at: required(created_at, "invites.created_at")?,
        expires_at,
    })
}

impl ScyllaStore {
    /// Checks `change` against the chat's rows and returns what to write.
    pub(super) async fn plan_change(
        &self,
        chat_id: Uuid,
        change: &GroupChange,
    ) -> StoreResult<Effect> {
        Ok(match change {
            GroupChange::Info { title, info } => Effect::Info {
                title: title.clone(),
                info: info.clone(),
            },
            GroupChange::AddMembers(members) => {
                let mut new: Vec<Member> = Vec::new();
                for m in members {
                    if new.iter().any(|n| n.user_id == m.user_id) {
                        continue;
                    }
                    if self.member(chat_id, m.user_id).await?.is_none() {
                        new.push(m.clone());
                    }
                }
                Effect::AddMembers { members: new }
            }
            GroupChange::RemoveMember(user_id) => {
                if self.member(chat_id, *user_id).await?.is_none() {
                    return Err(StoreError::NotFound("member"));
                }
                Effect::RemoveMember { user_id: *user_id }
            }
            GroupChange::SetRole(user_id, role) => {
                if self.member(chat_id, *user_id).await?.is_none() {
                    return Err(StoreError::NotFound("member"));
                }
                Effect::SetRole {
                    user_id: *user_id,
                    role: *role,
                }
            }
        })
    }

    /// Writes an effect's rows with the append's write timestamp `ts`. Idempotent: the same
    /// cells with the same timestamp.
    pub(super) async fn apply_effect(
        &self,
        chat_id: Uuid,
        ts: i64,
        effect: &Effect,
    ) -> StoreResult<()> {
        let st = self.st();
        match effect {
            Effect::Info { title, info } => {
                self.run(
                    &st.update_chat_info,
                    (ts, title.as_str(), info_json(info)?, chat_id),
                )
                .await?;
            }
            Effect::AddMembers { members } => {
                // Members first, chat lists last: as at creation.
                let rows = members
                    .iter()
                    .map(|m| (chat_id, m.user_id, role_name(m.role), m.joined_at, ts))
                    .collect();
                self.run_all(|st| &st.insert_member, rows).await?;
                let lists = members.iter().map(|m| (m.user_id, chat_id, ts)).collect();
                self.run_all(|st| &st.insert_user_chat, lists).await?;
            }
            Effect::RemoveMember { user_id } => {
                self.run(&st.delete_member, (ts, chat_id, *user_id)).await?;
                self.run(&st.delete_user_chat, (ts, *user_id, chat_id))
                    .await?;
            }
            Effect::SetRole { user_id, role } => {
                self.run(&st.set_role, (ts, role_name(*role), chat_id, *user_id))
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn change_group_impl(
        &self,
        chat_id: Uuid,
        change: GroupChange,
        event: NewEvent,
    ) -> StoreResult<StoredEvent> {
        if self.load_chat(chat_id).await?.is_none() {
            return Err(StoreError::NotFound("chat"));
        }
        let outcomes = self
            .append_chunk(chat_id, std::slice::from_ref(&event), Some(&change))
            .await?;
        match outcomes.into_iter().next() {
            Some(AppendOutcome::Stored(e)) => Ok(e),
            _ => Err(StoreError::Corrupt("group change event not stored".into())),
        }
    }

    /// The code the chat's pointer names, if any.
    async fn chat_invite_code(&self, chat_id: Uuid) -> StoreResult<Option<String>> {
        let row = rows::first::<(Option<String>,)>(
            self.run(&self.st().select_chat_invite, (chat_id,)).await?,
        )?;
        Ok(row.and_then(|(code,)| code))
    }

    async fn load_invite(&self, code: &str) -> StoreResult<Option<Invite>> {
        let row = rows::first::<InviteRow>(self.run(&self.st().select_invite, (code,)).await?)?;
        row.map(invite_from_row).transpose()
    }

    /// Best effort: a row left behind is dead anyway (no pointer names it).
    async fn delete_invite_row(&self, code: &str) {
        if let Err(e) = self.run(&self.st().delete_invite, (code,)).await {
            tracing::warn!(error = %e, "could not delete a dead invite link");
        }
    }

    /// The link row first (dead until pointed at), then the pointer (the commit point), then
    /// the replaced link's row.
    pub(super) async fn set_invite_impl(&self, invite: Invite) -> StoreResult<()> {
        let st = self.st();
        let code = invite.code.as_str();
        self.run(
            &st.insert_invite,
            (
                code,
                invite.chat_id,
                invite.created_by,
                invite.created_at,
                invite.expires_at,
            ),
        )
        .await?;
        let mut current = self.chat_invite_code(invite.chat_id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let cas = match current.as_deref() {
                None => {
                    self.lwt(&st.claim_chat_invite, (invite.chat_id, code))
                        .await?
                }
                Some(old) => {
                    self.lwt(&st.replace_chat_invite, (code, invite.chat_id, old))
                        .await?
                }
            };
            if cas.applied {
                if let Some(old) = current.filter(|old| old != code) {
                    self.delete_invite_row(&old).await;
                }
                return Ok(());
            }
            // Changed since read: go again from what it is now.
            current = cas.column("code").and_then(|v| v.as_text()).cloned();
        }
        Err(StoreError::Unavailable(format!(
            "chat {}: its invite link keeps changing; retry",
            invite.chat_id
        )))
    }

    pub(super) async fn revoke_invite_impl(&self, chat_id: Uuid) -> StoreResult<()> {
        let mut current = self.chat_invite_code(chat_id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let Some(code) = current else {
                return Err(StoreError::NotFound("invite"));
            };
            let cas = self
                .lwt(&self.st().drop_chat_invite, (chat_id, code.as_str()))
                .await?;
            if cas.applied {
                self.delete_invite_row(&code).await;
                return Ok(());
            }
            current = cas.column("code").and_then(|v| v.as_text()).cloned();
        }
        Err(StoreError::Unavailable(format!(
            "chat {chat_id}: its invite link keeps changing; retry"
        )))
    }

    pub(super) async fn invite_by_code_impl(&self, code: &str) -> StoreResult<Option<Invite>> {
        let Some(invite) = self.load_invite(code).await? else {
            return Ok(None);
        };
        let live = self.chat_invite_code(invite.chat_id).await?;
        Ok((live.as_deref() == Some(code)).then_some(invite))
    }

    pub(super) async fn invite_of_impl(&self, chat_id: Uuid) -> StoreResult<Option<Invite>> {
        let Some(code) = self.chat_invite_code(chat_id).await? else {
            return Ok(None);
        };
        Ok(self
            .load_invite(&code)
            .await?
            .filter(|invite| invite.chat_id == chat_id))
    }
}
