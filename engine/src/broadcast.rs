//! Broadcast lists: I send once, each recipient receives the message in their 1:1 chat with
//! me. As WhatsApp does, only recipients who have me in their contacts get it (a broadcast is
//! not a way to reach strangers), and never across a block.

use confab_storage::BroadcastList;
use uuid::Uuid;

use crate::chat::Sent;
use crate::clock::now_millis;
use crate::content::{validate_client_id, MessageContent};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

pub const MAX_RECIPIENTS: usize = 256;
pub const MAX_LISTS: usize = 100;

/// What happened for one recipient of a broadcast.
#[derive(Debug)]
pub enum Delivery {
    Sent(Sent),
    /// Left out: the recipient does not have me as a contact, or a block stands between us.
    Skipped(&'static str),
    Failed(EngineError),
}

impl Engine {
    async fn check_recipients(&self, me: Uuid, recipients: &[Uuid]) -> EngineResult<Vec<Uuid>> {
        let mut out = recipients.to_vec();
        out.sort_unstable();
        out.dedup();
        if out.is_empty() || out.len() > MAX_RECIPIENTS {
            return Err(EngineError::Validation(format!(
                "recipients: 1 to {MAX_RECIPIENTS} users"
            )));
        }
        if out.contains(&me) {
            return Err(EngineError::Unprocessable(
                "you cannot broadcast to yourself",
            ));
        }
        for id in &out {
            if self.store.user(*id).await?.is_none() {
                return Err(EngineError::NotFound("user"));
            }
        }
        Ok(out)
    }

    fn list_name(name: &str) -> EngineResult<String> {
        let n = name.trim();
        if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
            return Err(EngineError::Validation("name: 1 to 64 characters".into()));
        }
        Ok(n.to_owned())
    }

    pub async fn create_broadcast_list(
        &self,
        me: Uuid,
        name: &str,
        recipients: &[Uuid],
    ) -> EngineResult<BroadcastList> {
        let name = Self::list_name(name)?;
        let recipients = self.check_recipients(me, recipients).await?;
        if self.store.broadcast_lists(me).await?.len() >= MAX_LISTS {
            return Err(EngineError::Unprocessable(
                "you have too many broadcast lists",
            ));
        }
        let list = BroadcastList {
            id: Uuid::now_v7(),
            owner: me,
            name,
            recipients,
            created_at: now_millis(),
        };
        self.store.save_broadcast_list(list.clone()).await?;
        Ok(list)
    }

    pub async fn broadcast_lists(&self, me: Uuid) -> EngineResult<Vec<BroadcastList>> {
        Ok(self.store.broadcast_lists(me).await?)
    }

    pub async fn broadcast_list(&self, me: Uuid, id: Uuid) -> EngineResult<BroadcastList> {
        self.store
            .broadcast_list(me, id)
            .await?
            .ok_or(EngineError::NotFound("broadcast list"))
    }

    pub async fn update_broadcast_list(
        &self,
        me: Uuid,
        id: Uuid,
        name: Option<&str>,
        recipients: Option<&[Uuid]>,
    ) -> EngineResult<BroadcastList> {
        let mut list = self.broadcast_list(me, id).await?;
        if let Some(n) = name {
            list.name = Self::list_name(n)?;
        }
        if let Some(r) = recipients {
            list.recipients = self.check_recipients(me, r).await?;
        }
        self.store.save_broadcast_list(list.clone()).await?;
        Ok(list)
    }

    pub async fn delete_broadcast_list(&self, me: Uuid, id: Uuid) -> EngineResult<()> {
        Ok(self.store.delete_broadcast_list(me, id).await?)
    }

    /// Sends `content` to each recipient's 1:1 chat with me. `client_id` makes each copy
    /// idempotent (it is per chat), so a retried broadcast sends nothing twice.
    pub async fn broadcast(
        &self,
        me: Uuid,
        list_id: Uuid,
        client_id: String,
        content: MessageContent,
    ) -> EngineResult<Vec<(Uuid, Delivery)>> {
        validate_client_id(&client_id)?;
        content.validate()?;
        let list = self.broadcast_list(me, list_id).await?;
        let mut out = Vec::with_capacity(list.recipients.len());
        for recipient in list.recipients {
            if self.store.contact(recipient, me).await?.is_none() {
                out.push((recipient, Delivery::Skipped("not_a_contact")));
                continue;
            }
            if self.store.is_blocked(recipient, me).await?
                || self.store.is_blocked(me, recipient).await?
            {
                out.push((recipient, Delivery::Skipped("blocked")));
                continue;
            }
            let delivery = match self.open_direct(me, recipient).await {
                Ok((view, _)) => match self
                    .send(me, view.chat.id, client_id.clone(), content.clone())
                    .await
                {
                    Ok(sent) => Delivery::Sent(sent),
                    Err(e) => Delivery::Failed(e),
                },
                Err(e) => Delivery::Failed(e),
            };
            out.push((recipient, delivery));
        }
        Ok(out)
    }
}
