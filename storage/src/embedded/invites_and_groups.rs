//! Group changes (atomic with their timeline event) and invite links.

use redb::ReadableTable;
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::timeline::append_in;
use super::EmbeddedStore;
use crate::model::*;
use crate::{StoreError, StoreResult};

impl EmbeddedStore {
    pub(super) async fn change_group_impl(
        &self,
        chat_id: Uuid,
        change: GroupChange,
        event: NewEvent,
    ) -> StoreResult<StoredEvent> {
        let claim = self.claim_of(chat_id);
        self.write(move |txn| {
            super::timeline::check_fence(txn, chat_id, claim)?;
            let id = chat_id.as_u128();
            let mut chats = txn.open_table(CHATS)?;
            let mut chat: Chat = match chats.get(id)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound("chat")),
            };
            let mut members = txn.open_table(CHAT_MEMBERS)?;
            let mut by_user = txn.open_table(USER_CHATS)?;
            match change {
                GroupChange::Info { title, info } => {
                    chat.title = Some(title);
                    chat.info = info;
                    chats.insert(id, encode(&chat)?.as_slice())?;
                }
                GroupChange::AddMembers(new) => {
                    for m in new {
                        let key = (id, m.user_id.as_u128());
                        if members.get(key)?.is_none() {
                            members.insert(key, encode(&m)?.as_slice())?;
                            by_user.insert((m.user_id.as_u128(), id), ())?;
                        }
                    }
                }
                GroupChange::RemoveMember(user) => {
                    if members.remove((id, user.as_u128()))?.is_none() {
                        return Err(StoreError::NotFound("member"));
                    }
                    by_user.remove((user.as_u128(), id))?;
                }
                GroupChange::SetRole(user, role) => {
                    let key = (id, user.as_u128());
                    let mut m: Member = match members.get(key)? {
                        Some(v) => decode(v.value())?,
                        None => return Err(StoreError::NotFound("member")),
                    };
                    m.role = role;
                    members.insert(key, encode(&m)?.as_slice())?;
                }
            }
            drop((chats, members, by_user));
            match append_in(txn, chat_id, vec![event])?.pop() {
                Some(AppendOutcome::Stored(e)) => Ok(e),
                _ => Err(StoreError::Corrupt("group change event not stored".into())),
            }
        })
        .await
    }

    pub(super) async fn set_invite_impl(&self, invite: Invite) -> StoreResult<()> {
        self.write(move |txn| {
            let id = invite.chat_id.as_u128();
            let mut by_chat = txn.open_table(CHAT_INVITES)?;
            let mut by_code = txn.open_table(INVITES)?;
            let old: Option<String> = by_chat.get(id)?.map(|v| v.value().to_owned());
            if let Some(old) = old {
                by_code.remove(old.as_str())?;
            }
            by_code.insert(invite.code.as_str(), encode(&invite)?.as_slice())?;
            by_chat.insert(id, invite.code.as_str())?;
            Ok(())
        })
        .await
    }

    pub(super) async fn revoke_invite_impl(&self, chat_id: Uuid) -> StoreResult<()> {
        self.write(move |txn| {
            let mut by_chat = txn.open_table(CHAT_INVITES)?;
            let code: Option<String> = by_chat
                .remove(chat_id.as_u128())?
                .map(|v| v.value().to_owned());
            let Some(code) = code else {
                return Err(StoreError::NotFound("invite"));
            };
            txn.open_table(INVITES)?.remove(code.as_str())?;
            Ok(())
        })
        .await
    }

    pub(super) async fn invite_by_code_impl(&self, code: &str) -> StoreResult<Option<Invite>> {
        let code = code.to_owned();
        self.read(
            move |txn| match txn.open_table(INVITES)?.get(code.as_str())? {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            },
        )
        .await
    }

    pub(super) async fn invite_of_impl(&self, chat_id: Uuid) -> StoreResult<Option<Invite>> {
        self.read(move |txn| {
            let code: Option<String> = txn
                .open_table(CHAT_INVITES)?
                .get(chat_id.as_u128())?
                .map(|v| v.value().to_owned());
            match code {
                Some(code) => match txn.open_table(INVITES)?.get(code.as_str())? {
                    Some(v) => Ok(Some(decode(v.value())?)),
                    None => Ok(None),
                },
                None => Ok(None),
            }
        })
        .await
    }
}
