//! `Engine`: the one entry point the gateway uses for everything live and every chat rule.

use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, MailboxError, Message};
use confab_storage::{Millis, ReceiptKind, Store};
use uuid::Uuid;

use crate::chat::{
    ChatActor, ChatDirectory, ChatRules, GroupOp, Mark, Op, Post, Sent, Typing, Windows,
};
use crate::content::{validate_client_id, MessageContent};
use crate::error::{EngineError, EngineResult};
use crate::message::{validate_emoji, MessageBody};
use crate::router::Router;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Threads (arbiters) running chat actors; 0 = one per core.
    pub chat_threads: usize,
    /// A chat actor with nothing to do for this long stops (it is rebuilt from the store).
    pub chat_idle: Duration,
    /// Most members of a group, creator included.
    pub max_group_members: usize,
    /// A sender may edit a text message for this long.
    pub edit_window: Duration,
    /// A sender may delete a message for everyone for this long (group admins: always).
    pub delete_window: Duration,
}

/// Most chats one forward may target.
pub const MAX_FORWARD_TARGETS: usize = 20;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            chat_threads: 0,
            chat_idle: Duration::from_secs(300),
            max_group_members: 1024,
            edit_window: Duration::from_secs(15 * 60),
            delete_window: Duration::from_secs(48 * 3600),
        }
    }
}

pub struct Engine {
    pub store: Arc<dyn Store>,
    pub router: Arc<Router>,
    pub(crate) chats: Arc<ChatDirectory>,
    pub config: EngineConfig,
}

/// A chat actor can stop (idle) between being looked up and being asked; asking again starts
/// a fresh one. A message that met a stopped mailbox was never handled, so retrying is safe.
const MAILBOX_RETRIES: usize = 3;

impl Engine {
    /// Must be called inside an actix system (it starts the chat arbiters).
    pub fn start(store: Arc<dyn Store>, config: EngineConfig) -> Arc<Self> {
        let threads = match config.chat_threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        };
        let router = Router::new();
        let rules = ChatRules {
            idle_after: config.chat_idle,
            windows: Windows {
                edit: config.edit_window,
                delete: config.delete_window,
            },
            max_members: config.max_group_members,
        };
        let chats = ChatDirectory::new(store.clone(), router.clone(), threads, rules);
        Arc::new(Engine {
            store,
            router,
            chats,
            config,
        })
    }

    async fn ask<M>(&self, chat_id: Uuid, make: impl Fn() -> M) -> EngineResult<M::Result>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        ChatActor: actix::Handler<M>,
    {
        for _ in 0..MAILBOX_RETRIES {
            let addr: Addr<ChatActor> = self.chats.get(chat_id);
            match addr.send(make()).await {
                Ok(result) => return Ok(result),
                Err(MailboxError::Closed) => continue,
                Err(MailboxError::Timeout) => return Err(EngineError::Unavailable),
            }
        }
        Err(EngineError::Unavailable)
    }

    async fn post(&self, sender: Uuid, chat_id: Uuid, op: Op) -> EngineResult<Sent> {
        self.ask(chat_id, || Post {
            sender,
            op: op.clone(),
        })
        .await?
    }

    /// Sends a message; answers once it is durable ("sent").
    pub async fn send(
        &self,
        sender: Uuid,
        chat_id: Uuid,
        client_id: String,
        content: MessageContent,
    ) -> EngineResult<Sent> {
        self.send_reply(sender, chat_id, client_id, content, None)
            .await
    }

    /// Sends a message, optionally quoting message `reply_to` of the same chat.
    pub async fn send_reply(
        &self,
        sender: Uuid,
        chat_id: Uuid,
        client_id: String,
        content: MessageContent,
        reply_to: Option<u64>,
    ) -> EngineResult<Sent> {
        validate_client_id(&client_id)?;
        content.validate()?;
        self.post(
            sender,
            chat_id,
            Op::Message {
                client_id,
                content,
                reply_to,
                forwarded: 0,
            },
        )
        .await
    }

    /// Forwards message `seq` of `from` to each of `to` (marked forwarded). One result per
    /// target, in order; `client_id` makes each target's copy idempotent.
    pub async fn forward(
        &self,
        sender: Uuid,
        from: Uuid,
        seq: u64,
        to: &[Uuid],
        client_id: String,
    ) -> EngineResult<Vec<(Uuid, EngineResult<Sent>)>> {
        validate_client_id(&client_id)?;
        let mut targets = to.to_vec();
        targets.dedup();
        if targets.is_empty() || targets.len() > MAX_FORWARD_TARGETS {
            return Err(EngineError::Validation(format!(
                "chat_ids: 1 to {MAX_FORWARD_TARGETS} chats"
            )));
        }
        self.chat_view(sender, from).await?;
        let source = self
            .store
            .event(from, seq)
            .await?
            .filter(|e| e.is_message())
            .ok_or(EngineError::NotFound("message"))?;
        let body = MessageBody::parse(&source.body)?;
        let Some(content) = body.content() else {
            return Err(EngineError::Unprocessable("this message was deleted"));
        };
        let mut out = Vec::with_capacity(targets.len());
        for chat_id in targets {
            let op = Op::Message {
                client_id: client_id.clone(),
                content: content.clone(),
                reply_to: None,
                forwarded: body.forwarded.saturating_add(1),
            };
            out.push((chat_id, self.post(sender, chat_id, op).await));
        }
        Ok(out)
    }

    /// Edits my own text message (within the edit window).
    pub async fn edit(
        &self,
        sender: Uuid,
        chat_id: Uuid,
        seq: u64,
        content: MessageContent,
    ) -> EngineResult<Sent> {
        content.validate()?;
        self.post(
            sender,
            chat_id,
            Op::Edit {
                target: seq,
                content,
            },
        )
        .await
    }

    /// Deletes a message for everyone: its sender within the window, or a group admin.
    pub async fn delete_for_everyone(
        &self,
        sender: Uuid,
        chat_id: Uuid,
        seq: u64,
    ) -> EngineResult<Sent> {
        self.post(sender, chat_id, Op::Delete { target: seq }).await
    }

    /// Sets (`Some`) or removes (`None`) my reaction to a message.
    pub async fn react(
        &self,
        sender: Uuid,
        chat_id: Uuid,
        seq: u64,
        emoji: Option<String>,
    ) -> EngineResult<Sent> {
        if let Some(e) = &emoji {
            validate_emoji(e)?;
        }
        self.post(sender, chat_id, Op::React { target: seq, emoji })
            .await
    }

    /// A group administration change (see [`GroupOp`]).
    pub async fn group(&self, sender: Uuid, chat_id: Uuid, op: GroupOp) -> EngineResult<Sent> {
        self.post(sender, chat_id, Op::Group(op)).await
    }

    pub async fn mark(
        &self,
        user: Uuid,
        chat_id: Uuid,
        kind: ReceiptKind,
        seq: u64,
        at: Millis,
    ) -> EngineResult<()> {
        self.ask(chat_id, || Mark {
            user,
            kind,
            seq,
            at,
        })
        .await?
    }

    pub async fn typing(&self, user: Uuid, chat_id: Uuid, typing: bool) -> EngineResult<()> {
        self.ask(chat_id, || Typing { user, typing }).await?
    }

    /// Chat actors running on this node.
    pub fn live_chats(&self) -> usize {
        self.chats.running()
    }
}
