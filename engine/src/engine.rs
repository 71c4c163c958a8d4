//! `Engine`: the one entry point the gateway uses for everything live and every chat rule.

use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, MailboxError, Message};
use confab_storage::{Millis, ReceiptKind, Store};
use uuid::Uuid;

use crate::chat::{ChatActor, ChatDirectory, Mark, Post, Sent, Typing};
use crate::content::{kind, validate_client_id, MessageContent};
use crate::error::{EngineError, EngineResult};
use crate::router::Router;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Threads (arbiters) running chat actors; 0 = one per core.
    pub chat_threads: usize,
    /// A chat actor with nothing to do for this long stops (it is rebuilt from the store).
    pub chat_idle: Duration,
    /// Most members of a group, creator included.
    pub max_group_members: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            chat_threads: 0,
            chat_idle: Duration::from_secs(300),
            max_group_members: 1024,
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
        let chats = ChatDirectory::new(store.clone(), router.clone(), threads, config.chat_idle);
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

    /// Sends a message; answers once it is durable ("sent").
    pub async fn send(
        &self,
        sender: Uuid,
        chat_id: Uuid,
        client_id: String,
        content: MessageContent,
    ) -> EngineResult<Sent> {
        validate_client_id(&client_id)?;
        content.validate()?;
        let body = content.to_json()?;
        self.ask(chat_id, || Post {
            sender,
            client_id: Some(client_id.clone()),
            kind: kind::MESSAGE,
            body: body.clone(),
        })
        .await?
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
