//! Several nodes as one service, over Redis (docs/ARCHITECTURE.md "Scaling out").
//!
//! - **Registry**: each node heartbeats into the sorted set `confab:nodes` (member: node id,
//!   score: when its entry expires); the live nodes are those not expired. A node that stops
//!   heartbeating drops out after `node_ttl`; a node shutting down leaves at once.
//! - **Bus**: pub/sub. `confab:bus` reaches every node (pushes for users whose sockets may be
//!   elsewhere, presence changes, socket closes); `confab:node:<id>` reaches one node (commands
//!   for the chats it orders, and the replies). The subscriber reconnects and resubscribes by
//!   itself after Redis restarts.
//! - **Ordering**: the node that orders a chat (runs its chat actor) is chosen by rendezvous
//!   hashing over the live nodes; other nodes forward the chat's commands to it. The store's
//!   fencing (`TimelineStore::claim_chat`) makes sure a node that lost a chat cannot write to it.
//! - **Presence**: `confab:online:<user>` holds the nodes where the user has sockets.

mod bus;
mod limits;
mod node;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use bus::BusMessage;
pub use bus::{ChatCommand, ChatReply, WireError};
pub use limits::Bucket;

use crate::engine::Engine;
use crate::push::Push;

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://host:port/db`.
    pub redis_url: String,
    /// This node's id; random per process start unless configured.
    pub node_id: Uuid,
    pub heartbeat: Duration,
    /// A node whose heartbeat is this old is dead: its chats move.
    pub node_ttl: Duration,
    /// How long a forwarded command may take before it is retried.
    pub forward_timeout: Duration,
}

/// Pushes waiting to be published, in order.
const OUTBOX: usize = 65_536;

/// One push for one user's sockets on the other nodes.
type Outgoing = (Uuid, Arc<Push>);

pub struct Cluster {
    pub node_id: Uuid,
    config: ClusterConfig,
    client: redis::Client,
    conn: ConnectionManager,
    /// Live nodes, sorted; starts as just this node.
    nodes: RwLock<Arc<Vec<Uuid>>>,
    /// Whether other nodes are live: read on every push, so kept apart from `nodes`.
    others: std::sync::atomic::AtomicBool,
    outbox: mpsc::Sender<Outgoing>,
    outbox_rx: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Result<ChatReply, WireError>>>>,
    next_ask: AtomicU64,
    engine: OnceLock<Weak<Engine>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct ClusterError(#[from] redis::RedisError);

impl Cluster {
    /// Connects lazily: the node starts even while Redis is down and catches up when it answers.
    pub fn new(config: ClusterConfig) -> Result<Arc<Cluster>, ClusterError> {
        let client = redis::Client::open(config.redis_url.as_str())?;
        let manager = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager)?;
        let (outbox, rx) = mpsc::channel(OUTBOX);
        Ok(Arc::new(Cluster {
            node_id: config.node_id,
            nodes: RwLock::new(Arc::new(vec![config.node_id])),
            others: std::sync::atomic::AtomicBool::new(false),
            config,
            client,
            conn,
            outbox,
            outbox_rx: Mutex::new(Some(rx)),
            waiting: Mutex::new(HashMap::new()),
            next_ask: AtomicU64::new(1),
            engine: OnceLock::new(),
        }))
    }

    /// Starts the heartbeat, the subscriber and the publisher (on the current arbiter).
    pub(crate) fn attach(self: &Arc<Self>, engine: Weak<Engine>) {
        if self.engine.set(engine).is_err() {
            return;
        }
        let rx = self
            .outbox_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        actix::spawn(node::heartbeat(self.clone()));
        actix::spawn(node::subscribe(self.clone()));
        if let Some(rx) = rx {
            actix::spawn(node::publish(self.clone(), rx));
        }
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.get().and_then(Weak::upgrade)
    }

    pub fn live_nodes(&self) -> Arc<Vec<Uuid>> {
        self.nodes.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The node that orders `chat_id`: highest rendezvous score among the live nodes.
    pub fn owner_of(&self, chat_id: Uuid) -> Uuid {
        let nodes = self.live_nodes();
        nodes
            .iter()
            .copied()
            .max_by_key(|n| rendezvous(*n, chat_id))
            .unwrap_or(self.node_id)
    }

    /// Queues a push for `user`'s sockets on the other nodes.
    pub(crate) fn forward_push(&self, user: Uuid, push: &Arc<Push>) {
        if !self.others.load(Ordering::Relaxed) {
            return;
        }
        if self.outbox.try_send((user, push.clone())).is_err() {
            crate::metrics::get().outbound_dropped.inc();
        }
    }

    /// Tells the other nodes to close sockets (`device_session: None`: all of the user's).
    pub(crate) fn forward_close(
        &self,
        user: Uuid,
        device_session: Option<Uuid>,
        code: u16,
        reason: &str,
    ) {
        self.broadcast(BusMessage::Close {
            from: self.node_id,
            user,
            device_session,
            code,
            reason: reason.to_owned(),
        });
    }

    pub(crate) fn forward_presence(
        &self,
        user: Uuid,
        online: bool,
        last_seen: Option<confab_storage::Millis>,
    ) {
        self.broadcast(BusMessage::Presence {
            from: self.node_id,
            user,
            online,
            last_seen,
        });
    }

    fn broadcast(&self, message: BusMessage) {
        let this = self.conn.clone();
        let Ok(json) = serde_json::to_string(&message) else {
            return;
        };
        actix::spawn(async move {
            let mut conn = this;
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(bus::BROADCAST)
                .arg(json)
                .query_async(&mut conn)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "cluster: broadcast failed");
            }
        });
    }

    /// Records that `user` has sockets on this node (or no longer has).
    pub(crate) async fn set_online_here(&self, user: Uuid, online: bool) {
        let mut conn = self.conn.clone();
        let key = online_key(user);
        let cmd = if online { "SADD" } else { "SREM" };
        let done: redis::RedisResult<i64> = redis::cmd(cmd)
            .arg(&key)
            .arg(self.node_id.to_string())
            .query_async(&mut conn)
            .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "cluster: presence update failed");
        }
    }

    /// Whether `user` has sockets on another live node.
    pub async fn online_elsewhere(&self, user: Uuid) -> bool {
        let mut conn = self.conn.clone();
        let members: redis::RedisResult<Vec<String>> = redis::cmd("SMEMBERS")
            .arg(online_key(user))
            .query_async(&mut conn)
            .await;
        let Ok(members) = members else { return false };
        let live = self.live_nodes();
        members
            .iter()
            .filter_map(|m| m.parse::<Uuid>().ok())
            .any(|n| n != self.node_id && live.contains(&n))
    }

    /// Sends `command` to the node that orders `chat_id` and waits for its answer.
    pub async fn ask(
        &self,
        node: Uuid,
        chat_id: Uuid,
        command: ChatCommand,
    ) -> Result<ChatReply, WireError> {
        let id = self.next_ask.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let message = BusMessage::Ask {
            id,
            reply_to: self.node_id,
            chat_id,
            command,
        };
        let result = async {
            let json = serde_json::to_string(&message).map_err(|_| WireError::NotOwner)?;
            let mut conn = self.conn.clone();
            let receivers: i64 = redis::cmd("PUBLISH")
                .arg(bus::node_channel(node))
                .arg(json)
                .query_async(&mut conn)
                .await
                .map_err(|_| WireError::NotOwner)?;
            if receivers == 0 {
                // Nobody listens there: that node is gone.
                return Err(WireError::NotOwner);
            }
            match tokio::time::timeout(self.config.forward_timeout, rx).await {
                Ok(Ok(reply)) => reply,
                _ => Err(WireError::NotOwner),
            }
        }
        .await;
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        result
    }

    /// Leaves the registry at once (shutdown), so the chats move without waiting for expiry.
    pub async fn leave(&self) {
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<i64> = redis::cmd("ZREM")
            .arg(node::REGISTRY)
            .arg(self.node_id.to_string())
            .query_async(&mut conn)
            .await;
    }
}

fn online_key(user: Uuid) -> String {
    format!("confab:online:{user}")
}

/// A stable 64-bit score of (node, chat): FNV-1a over both ids, then a SplitMix64 finaliser.
/// Stable across builds and Rust versions, so every node computes the same owner.
fn rendezvous(node: Uuid, chat: Uuid) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.as_bytes().iter().chain(chat.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_spreads_and_moves_only_the_dead_nodes_chats() {
        let nodes: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let owner =
            |live: &[Uuid], chat: Uuid| *live.iter().max_by_key(|n| rendezvous(**n, chat)).unwrap();
        let chats: Vec<Uuid> = (0..3000).map(|_| Uuid::now_v7()).collect();
        let mut per_node = HashMap::new();
        for c in &chats {
            *per_node.entry(owner(&nodes, *c)).or_insert(0) += 1;
        }
        assert!(per_node.values().all(|n| *n > 700), "{per_node:?}");
        // Node 0 dies: only its chats move.
        for c in &chats {
            let before = owner(&nodes, *c);
            let after = owner(&nodes[1..], *c);
            if before != nodes[0] {
                assert_eq!(before, after);
            }
        }
    }
}
