//! `Engine`: the one entry point the gateway uses for everything live and every chat rule.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::{Addr, MailboxError, Message};
use confab_storage::{Millis, ReceiptKind, Store};
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::chat::{
    ChatActor, ChatDirectory, ChatRules, GroupOp, Mark, Op, Post, Sent, Typing, Windows,
};
use crate::cluster::{ChatCommand, ChatReply, Cluster, WireError};
use crate::content::{validate_client_id, MessageContent};
use crate::error::{EngineError, EngineResult};
use crate::message::{validate_emoji, MessageBody};
use crate::notify::{Notifier, NotifyConfig};
use crate::router::Router;
use crate::status::media::{StatusMediaCheck, StoreMediaCheck};

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
    pub notify: NotifyConfig,
    /// A status expires this long after it is posted.
    pub status_ttl: Duration,
    /// How often expired statuses are purged from stores without a TTL of their own.
    pub status_sweep_interval: Duration,
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
            notify: NotifyConfig::default(),
            status_ttl: Duration::from_secs(24 * 3600),
            status_sweep_interval: Duration::from_secs(60),
        }
    }
}

pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    /// Account and device-session records (also usable without an engine: `confab admin`).
    pub accounts: Accounts,
    pub router: Arc<Router>,
    pub notifier: Arc<Notifier>,
    /// The other nodes, with Redis configured.
    pub cluster: Option<Arc<Cluster>>,
    pub(crate) chats: Arc<ChatDirectory>,
    pub config: EngineConfig,
    /// Run on the media of image and video statuses (see `status::media`).
    pub(crate) status_media: RwLock<Arc<dyn StatusMediaCheck>>,
}

/// Forwarded commands retry this often while a chat moves between nodes, backing off.
const FORWARD_RETRIES: u32 = 20;
const FORWARD_BACKOFF: Duration = Duration::from_millis(100);

/// A chat actor can stop (idle) between being looked up and being asked; asking again starts
/// a fresh one. A message that met a stopped mailbox was never handled, so retrying is safe.
const MAILBOX_RETRIES: usize = 3;

impl Engine {
    /// Must be called inside an actix system (it starts the chat arbiters).
    pub fn start(store: Arc<dyn Store>, config: EngineConfig) -> Arc<Self> {
        Self::start_clustered(store, config, None)
    }

    /// [`Engine::start`] as one node of several sharing `cluster` (Redis).
    pub fn start_clustered(
        store: Arc<dyn Store>,
        config: EngineConfig,
        cluster: Option<Arc<Cluster>>,
    ) -> Arc<Self> {
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
        if let Some(c) = &cluster {
            router.set_cluster(c.clone());
        }
        let notifier = Notifier::start(
            store.clone(),
            router.clone(),
            cluster.clone(),
            Notifier::providers(&store, &config.notify),
            config.notify.coalesce,
        );
        let chats = ChatDirectory::new(
            store.clone(),
            router.clone(),
            notifier.clone(),
            threads,
            rules,
        );
        let status_media = RwLock::new(Arc::new(StoreMediaCheck::new(store.clone())) as Arc<_>);
        let engine = Arc::new(Engine {
            accounts: Accounts::new(store.clone()),
            store,
            router,
            notifier,
            cluster,
            chats,
            config,
            status_media,
        });
        if let Some(c) = &engine.cluster {
            c.attach(Arc::downgrade(&engine));
        }
        engine
    }

    /// Asks the chat's actor: here, or on the node that orders the chat (cluster).
    async fn ask<M>(&self, chat_id: Uuid, make: impl Fn() -> M) -> EngineResult<M::Result>
    where
        M: Message + Remote + Send + 'static,
        M::Result: Send,
        ChatActor: actix::Handler<M>,
    {
        if let Some(cluster) = &self.cluster {
            for attempt in 0..FORWARD_RETRIES {
                let owner = cluster.owner_of(chat_id);
                if owner == cluster.node_id {
                    break;
                }
                match cluster.ask(owner, chat_id, make().command()).await {
                    Ok(reply) => return Ok(M::answer(Ok(reply))),
                    Err(WireError::NotOwner) => {
                        // Moving (a node joined, left or died): look again shortly.
                        tokio::time::sleep(FORWARD_BACKOFF * (attempt + 1)).await;
                    }
                    Err(e) => return Ok(M::answer(Err(e.into_engine()))),
                }
            }
            if cluster.owner_of(chat_id) != cluster.node_id {
                return Err(EngineError::Unavailable);
            }
        }
        self.ask_here(chat_id, make).await
    }

    /// Asks the chat's actor on this node (starting it if needed).
    async fn ask_here<M>(&self, chat_id: Uuid, make: impl Fn() -> M) -> EngineResult<M::Result>
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

    /// Runs a command another node forwarded for a chat this node orders.
    pub(crate) async fn run_here(
        &self,
        chat_id: Uuid,
        command: ChatCommand,
    ) -> EngineResult<ChatReply> {
        match command {
            ChatCommand::Post { sender, op } => self
                .ask_here(chat_id, || Post {
                    sender,
                    op: op.clone(),
                })
                .await?
                .map(ChatReply::Sent),
            ChatCommand::Mark {
                user,
                kind,
                seq,
                at,
            } => self
                .ask_here(chat_id, || Mark {
                    user,
                    kind,
                    seq,
                    at,
                })
                .await?
                .map(|()| ChatReply::Done),
            ChatCommand::Typing { user, typing } => self
                .ask_here(chat_id, || Typing { user, typing })
                .await?
                .map(|()| ChatReply::Done),
        }
    }

    /// The live nodes changed: stop the actors of chats another node orders now.
    pub(crate) fn release_moved_chats(&self) {
        if let Some(cluster) = &self.cluster {
            self.chats
                .stop_where(|chat_id| cluster.owner_of(chat_id) != cluster.node_id);
        }
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
    /// Which store backend serves, and whether it answers now (readiness).
    pub async fn store_ready(&self) -> (&'static str, EngineResult<()>) {
        let backend = self.store.backend();
        (backend, self.store.ping().await.map_err(Into::into))
    }

    pub fn live_chats(&self) -> usize {
        self.chats.running()
    }
}

/// A chat actor message that can travel to the node ordering the chat.
trait Remote: Message {
    fn command(&self) -> ChatCommand;
    fn answer(reply: EngineResult<ChatReply>) -> Self::Result;
}

impl Remote for Post {
    fn command(&self) -> ChatCommand {
        ChatCommand::Post {
            sender: self.sender,
            op: self.op.clone(),
        }
    }
    fn answer(reply: EngineResult<ChatReply>) -> EngineResult<Sent> {
        match reply? {
            ChatReply::Sent(sent) => Ok(sent),
            ChatReply::Done => Err(EngineError::Internal),
        }
    }
}

impl Remote for Mark {
    fn command(&self) -> ChatCommand {
        ChatCommand::Mark {
            user: self.user,
            kind: self.kind,
            seq: self.seq,
            at: self.at,
        }
    }
    fn answer(reply: EngineResult<ChatReply>) -> EngineResult<()> {
        reply.map(|_| ())
    }
}

impl Remote for Typing {
    fn command(&self) -> ChatCommand {
        ChatCommand::Typing {
            user: self.user,
            typing: self.typing,
        }
    }
    fn answer(reply: EngineResult<ChatReply>) -> EngineResult<()> {
        reply.map(|_| ())
    }
}
