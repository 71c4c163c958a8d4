//! Chats and their members.
//!
//! Creating a chat touches several partitions, written so that the last write makes it visible:
//! the chat row, its members and its state row first (all under a fresh chat id nobody knows),
//! then, for a 1:1 chat, the pair claim (`INSERT ... IF NOT EXISTS`: one chat per pair whatever
//! the race), and last the members' chat lists. A lost pair race deletes what it wrote; a chat
//! found through its pair has its members' list entries written again, which repairs a creator
//! that died just before that last step.
//!
//! All of a new chat's rows are written `USING TIMESTAMP` the write timestamp its state row
//! starts with, below that of any later append (see `timeline`), so a group change always
//! wins over a creator that writes late.

use uuid::Uuid;

use super::rows::{self, required};
use super::timeline::{next_write_ts, to_i64, Batch};
use super::ScyllaStore;
use crate::model::*;
use crate::{ChatStore, StoreError, StoreResult};

type ChatRow = (
    Uuid,
    Option<String>,
    Option<String>,
    Option<Uuid>,
    Option<i64>,
    Option<String>,
);
type MemberRow = (Uuid, Option<String>, Option<i64>);

fn kind_name(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Direct => "direct",
        ChatKind::Group => "group",
    }
}

pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
    }
}

/// `chats.info`: JSON, null for the defaults (and for every 1:1 chat).
pub(super) fn info_json(info: &GroupInfo) -> StoreResult<Option<String>> {
    if *info == GroupInfo::default() {
        return Ok(None);
    }
    serde_json::to_string(info).map(Some).map_err(rows::corrupt)
}

fn chat_from_row((id, kind, title, created_by, created_at, info): ChatRow) -> StoreResult<Chat> {
    let kind = match kind.as_deref() {
        Some("direct") => ChatKind::Direct,
        Some("group") => ChatKind::Group,
        other => return Err(StoreError::Corrupt(format!("chat kind {other:?}"))),
    };
    Ok(Chat {
        id,
        kind,
        title,
        created_by: required(created_by, "chats.created_by")?,
        created_at: required(created_at, "chats.created_at")?,
        info: match info {
            Some(json) => serde_json::from_str(&json).map_err(rows::corrupt)?,
            None => GroupInfo::default(),
        },
    })
}

fn member_from_row((user_id, role, joined_at): MemberRow) -> StoreResult<Member> {
    let role = match role.as_deref() {
        Some("member") => Role::Member,
        Some("admin") => Role::Admin,
        other => return Err(StoreError::Corrupt(format!("member role {other:?}"))),
    };
    Ok(Member {
        user_id,
        role,
        joined_at: required(joined_at, "chat_members.joined_at")?,
    })
}

impl ScyllaStore {
    /// The chat row, its members and its state row: everything keyed by the (fresh) chat id,
    /// all written with the write timestamp `ts` the state row starts with. `first` is the
    /// group's first event, recorded as the state's pending batch.
    async fn write_chat(
        &self,
        chat: &Chat,
        members: &[Member],
        first: Option<&StoredEvent>,
        ts: i64,
    ) -> StoreResult<()> {
        let st = self.st();
        self.run(
            &st.insert_chat,
            (
                chat.id,
                kind_name(chat.kind),
                chat.title.as_deref(),
                chat.created_by,
                chat.created_at,
                info_json(&chat.info)?,
                ts,
            ),
        )
        .await?;
        for m in members {
            self.run(
                &st.insert_member,
                (chat.id, m.user_id, role_name(m.role), m.joined_at, ts),
            )
            .await?;
        }
        let (last_seq, activity, last_message, pending) = match first {
            None => (0, chat.created_at, 0, None),
            Some(e) => {
                let batch = Batch {
                    ts,
                    events: vec![e.clone()],
                    rewrites: Vec::new(),
                    effect: None,
                };
                (
                    e.seq,
                    chat.created_at.max(e.at),
                    if e.is_message() { e.seq } else { 0 },
                    Some(serde_json::to_string(&batch).map_err(rows::corrupt)?),
                )
            }
        };
        let created = self
            .lwt(
                &st.create_state,
                (
                    chat.id,
                    to_i64(last_seq),
                    activity,
                    to_i64(last_message),
                    pending.as_deref(),
                    ts,
                ),
            )
            .await?;
        if !created.applied {
            return Err(StoreError::Conflict("chat"));
        }
        if let (Some(e), Some(p)) = (first, pending.as_deref()) {
            self.roll_forward(chat.id, e.seq, p, Some(ts)).await?;
        }
        Ok(())
    }

    async fn list_chat_for(
        &self,
        chat_id: Uuid,
        users: impl IntoIterator<Item = Uuid>,
        ts: i64,
    ) -> StoreResult<()> {
        for user in users {
            self.run(&self.st().insert_user_chat, (user, chat_id, ts))
                .await?;
        }
        Ok(())
    }

    /// Removes a chat that lost its pair race (nobody saw it). Best effort.
    async fn discard_chat(&self, chat_id: Uuid) {
        let st = self.st();
        let result = async {
            self.lwt(&st.delete_state, (chat_id,)).await?;
            self.run(&st.delete_members, (chat_id,)).await?;
            self.run(&st.delete_chat, (chat_id,)).await
        };
        if let Err(e) = result.await {
            tracing::warn!(chat = %chat_id, error = %e, "could not delete an unused chat");
        }
    }

    pub(super) async fn load_chat(&self, id: Uuid) -> StoreResult<Option<Chat>> {
        let row = rows::first::<ChatRow>(self.run(&self.st().select_chat, (id,)).await?)?;
        row.map(chat_from_row).transpose()
    }
}

#[async_trait::async_trait]
impl ChatStore for ScyllaStore {
    async fn get_or_create_direct(
        &self,
        chat: Chat,
        a: Uuid,
        b: Uuid,
    ) -> StoreResult<(Chat, bool)> {
        let (low, high) = if a.as_u128() <= b.as_u128() {
            (a, b)
        } else {
            (b, a)
        };
        // The common case: the pair has its chat already.
        let existing =
            rows::first::<(Option<Uuid>,)>(self.run(&self.st().select_pair, (low, high)).await?)?;
        if let Some((Some(id),)) = existing {
            return self.found_direct(id, a, b).await;
        }
        let members: Vec<Member> = [a, b]
            .into_iter()
            .map(|user_id| Member {
                user_id,
                role: Role::Member,
                joined_at: chat.created_at,
            })
            .collect();
        let ts = next_write_ts(None);
        self.write_chat(&chat, &members, None, ts).await?;
        let claim = match self.lwt(&self.st().claim_pair, (low, high, chat.id)).await {
            Ok(claim) => claim,
            Err(e) => {
                // Unknown outcome: keep the rows (the claim may point at them).
                return Err(e);
            }
        };
        if !claim.applied {
            self.discard_chat(chat.id).await;
            let id = claim
                .column("chat_id")
                .and_then(|v| v.as_uuid())
                .ok_or_else(|| StoreError::Corrupt("direct pair without chat id".into()))?;
            return self.found_direct(id, a, b).await;
        }
        self.list_chat_for(chat.id, [a, b], ts).await?;
        Ok((chat, true))
    }

    async fn create_group(
        &self,
        chat: Chat,
        members: Vec<Member>,
        first: NewEvent,
    ) -> StoreResult<StoredEvent> {
        let event = StoredEvent {
            chat_id: chat.id,
            seq: 1,
            sender: first.sender,
            at: first.at,
            client_id: first.client_id,
            kind: first.kind,
            body: first.body,
        };
        let ts = next_write_ts(None);
        self.write_chat(&chat, &members, Some(&event), ts).await?;
        let users: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        self.list_chat_for(chat.id, users, ts).await?;
        Ok(event)
    }

    async fn chat(&self, id: Uuid) -> StoreResult<Option<Chat>> {
        self.load_chat(id).await
    }

    async fn members(&self, chat_id: Uuid) -> StoreResult<Vec<Member>> {
        self.all_pages::<MemberRow, _>(&self.st().select_members, (chat_id,))
            .await?
            .into_iter()
            .map(member_from_row)
            .collect()
    }

    async fn member(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        let row = rows::first::<MemberRow>(
            self.run(&self.st().select_member, (chat_id, user_id))
                .await?,
        )?;
        row.map(member_from_row).transpose()
    }

    async fn user_chats(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        Ok(self
            .all_pages::<(Uuid,), _>(&self.st().select_user_chats, (user_id,))
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }

    async fn chat_state(&self, chat_id: Uuid) -> StoreResult<ChatState> {
        self.current_state(chat_id)
            .await?
            .ok_or(StoreError::NotFound("chat"))
    }

    async fn change_group(
        &self,
        chat_id: Uuid,
        change: GroupChange,
        event: NewEvent,
    ) -> StoreResult<StoredEvent> {
        self.change_group_impl(chat_id, change, event).await
    }

    async fn set_invite(&self, invite: Invite) -> StoreResult<()> {
        self.set_invite_impl(invite).await
    }

    async fn revoke_invite(&self, chat_id: Uuid) -> StoreResult<()> {
        self.revoke_invite_impl(chat_id).await
    }

    async fn invite_by_code(&self, code: &str) -> StoreResult<Option<Invite>> {
        self.invite_by_code_impl(code).await
    }

    async fn invite_of(&self, chat_id: Uuid) -> StoreResult<Option<Invite>> {
        self.invite_of_impl(chat_id).await
    }
}

impl ScyllaStore {
    async fn found_direct(&self, id: Uuid, a: Uuid, b: Uuid) -> StoreResult<(Chat, bool)> {
        let chat = self.load_chat(id).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("direct pair points at missing chat {id}"))
        })?;
        // The chat's own rows carry its creation timestamp; a 1:1 chat's list entries are
        // never removed, so the time of this repair is as good.
        self.list_chat_for(id, [a, b], next_write_ts(None)).await?;
        Ok((chat, false))
    }
}
