//! Chats and their members.

use redb::{ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::timeline::append_in;
use super::EmbeddedStore;
use crate::model::*;
use crate::{ChatStore, StoreError, StoreResult};

fn insert_chat(txn: &WriteTransaction, chat: &Chat, members: &[Member]) -> StoreResult<()> {
    let id = chat.id.as_u128();
    txn.open_table(CHATS)?
        .insert(id, encode(chat)?.as_slice())?;
    let mut by_chat = txn.open_table(CHAT_MEMBERS)?;
    let mut by_user = txn.open_table(USER_CHATS)?;
    for m in members {
        by_chat.insert((id, m.user_id.as_u128()), encode(m)?.as_slice())?;
        by_user.insert((m.user_id.as_u128(), id), ())?;
    }
    let state = ChatState {
        last_activity_at: chat.created_at,
        ..Default::default()
    };
    txn.open_table(CHAT_STATE)?
        .insert(id, encode(&state)?.as_slice())?;
    Ok(())
}

#[async_trait::async_trait]
impl ChatStore for EmbeddedStore {
    async fn get_or_create_direct(
        &self,
        chat: Chat,
        a: Uuid,
        b: Uuid,
    ) -> StoreResult<(Chat, bool)> {
        self.write(move |txn| {
            let pair = (a.as_u128().min(b.as_u128()), a.as_u128().max(b.as_u128()));
            let mut pairs = txn.open_table(DIRECT_PAIRS)?;
            if let Some(existing) = pairs.get(pair)? {
                let existing = existing.value();
                let chat = match txn.open_table(CHATS)?.get(existing)? {
                    Some(v) => decode(v.value())?,
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "direct pair points at missing chat {existing}"
                        )))
                    }
                };
                return Ok((chat, false));
            }
            pairs.insert(pair, chat.id.as_u128())?;
            drop(pairs);
            let members: Vec<Member> = [a, b]
                .into_iter()
                .map(|user_id| Member {
                    user_id,
                    role: Role::Member,
                    joined_at: chat.created_at,
                })
                .collect();
            insert_chat(txn, &chat, &members)?;
            Ok((chat, true))
        })
        .await
    }

    async fn create_group(
        &self,
        chat: Chat,
        members: Vec<Member>,
        first: NewEvent,
    ) -> StoreResult<StoredEvent> {
        self.write(move |txn| {
            insert_chat(txn, &chat, &members)?;
            match append_in(txn, chat.id, vec![first])?.pop() {
                Some(AppendOutcome::Stored(e)) => Ok(e),
                _ => Err(StoreError::Corrupt(
                    "group creation event not stored".into(),
                )),
            }
        })
        .await
    }

    async fn chat(&self, id: Uuid) -> StoreResult<Option<Chat>> {
        self.read(move |txn| match txn.open_table(CHATS)?.get(id.as_u128())? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        })
        .await
    }

    async fn members(&self, chat_id: Uuid) -> StoreResult<Vec<Member>> {
        self.read(move |txn| {
            let id = chat_id.as_u128();
            let table = txn.open_table(CHAT_MEMBERS)?;
            let mut out = Vec::new();
            for entry in table.range((id, 0)..=(id, u128::MAX))? {
                out.push(decode(entry?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn member(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        self.read(move |txn| {
            match txn
                .open_table(CHAT_MEMBERS)?
                .get((chat_id.as_u128(), user_id.as_u128()))?
            {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn user_chats(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        self.read(move |txn| {
            let uid = user_id.as_u128();
            let table = txn.open_table(USER_CHATS)?;
            let mut out = Vec::new();
            for entry in table.range((uid, 0)..=(uid, u128::MAX))? {
                out.push(Uuid::from_u128(entry?.0.value().1));
            }
            Ok(out)
        })
        .await
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

    async fn chat_state(&self, chat_id: Uuid) -> StoreResult<ChatState> {
        self.read(
            move |txn| match txn.open_table(CHAT_STATE)?.get(chat_id.as_u128())? {
                Some(v) => decode(v.value()),
                None => Err(StoreError::NotFound("chat")),
            },
        )
        .await
    }
}
