//! Which sockets each user has open on this node, and who watches whose presence.
//!
//! Chat actors on every arbiter fan out through the router concurrently, so it is sharded
//! read-mostly maps rather than an actor: a delivery is a shard read lock and a queue push.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use uuid::Uuid;

use crate::cluster::Cluster;
use crate::push::{CloseSession, Offer, Outbound, Push, SessionHandle};

const SHARDS: usize = 64;

/// The sockets watching one user, by connection id, each with its viewer's user id.
type Watchers = HashMap<u64, (Uuid, SessionHandle)>;

#[derive(Default)]
pub struct Router {
    sessions: Vec<RwLock<HashMap<Uuid, Vec<SessionHandle>>>>,
    /// watched user -> the sockets subscribed to their presence.
    watchers: Mutex<HashMap<Uuid, Watchers>>,
    /// socket -> the users it watches, to clean up on disconnect.
    watching: Mutex<HashMap<u64, HashSet<Uuid>>>,
    /// The other nodes, when there are any: pushes and closes go to them too.
    cluster: OnceLock<Arc<Cluster>>,
}

/// Most users one socket may watch.
pub const MAX_WATCHED: usize = 1024;

impl Router {
    pub fn new() -> Arc<Self> {
        Arc::new(Router {
            sessions: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            ..Default::default()
        })
    }

    /// Makes pushes and closes reach the other nodes too.
    pub fn set_cluster(&self, cluster: Arc<Cluster>) {
        let _ = self.cluster.set(cluster);
    }

    fn shard(&self, user: Uuid) -> &RwLock<HashMap<Uuid, Vec<SessionHandle>>> {
        &self.sessions[(user.as_u128() % SHARDS as u128) as usize]
    }

    /// Adds a socket; `true` if it is the user's first on this node (they came online).
    pub fn register(&self, handle: SessionHandle) -> bool {
        let mut map = self
            .shard(handle.user_id)
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let list = map.entry(handle.user_id).or_default();
        list.push(handle);
        crate::metrics::get().live_sessions.inc();
        list.len() == 1
    }

    /// Removes a socket; `true` if it was the user's last (they went offline).
    pub fn unregister(&self, user: Uuid, conn_id: u64) -> bool {
        self.unwatch_all(conn_id);
        let mut map = self.shard(user).write().unwrap_or_else(|p| p.into_inner());
        let Some(list) = map.get_mut(&user) else {
            return false;
        };
        let before = list.len();
        list.retain(|h| h.conn_id != conn_id);
        if list.len() < before {
            crate::metrics::get().live_sessions.dec();
        }
        if list.is_empty() {
            map.remove(&user);
            return before > 0;
        }
        false
    }

    pub fn is_online(&self, user: Uuid) -> bool {
        self.shard(user)
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&user)
    }

    /// Queues `push` on every socket of `user` except `skip_conn`; returns how many took it.
    /// Also hands it to the other nodes, which queue it on `user`'s sockets there.
    pub fn deliver(&self, user: Uuid, push: &Arc<Push>, skip_conn: Option<u64>) -> usize {
        if let Some(cluster) = self.cluster.get() {
            cluster.forward_push(user, push);
        }
        self.deliver_local(user, push, skip_conn)
    }

    /// Queues `push` on this node's sockets of `user` except `skip_conn`; how many took it.
    pub fn deliver_local(&self, user: Uuid, push: &Arc<Push>, skip_conn: Option<u64>) -> usize {
        let map = self.shard(user).read().unwrap_or_else(|p| p.into_inner());
        let Some(list) = map.get(&user) else { return 0 };
        let mut delivered = 0;
        for handle in list.iter().filter(|h| Some(h.conn_id) != skip_conn) {
            match handle.offer(Outbound::Push(push.clone())) {
                Offer::Queued => delivered += 1,
                Offer::SlowConsumer => crate::metrics::get().outbound_dropped.inc(),
                Offer::Closed => {}
            }
        }
        delivered
    }

    /// Closes every socket of one device session (logout, revocation), on every node.
    pub fn close_device_session(
        &self,
        user: Uuid,
        device_session: Uuid,
        code: u16,
        reason: &'static str,
    ) {
        if let Some(cluster) = self.cluster.get() {
            cluster.forward_close(user, Some(device_session), code, reason);
        }
        self.close_device_session_local(user, device_session, code, reason);
    }

    pub fn close_device_session_local(
        &self,
        user: Uuid,
        device_session: Uuid,
        code: u16,
        reason: &'static str,
    ) {
        let map = self.shard(user).read().unwrap_or_else(|p| p.into_inner());
        for h in map
            .get(&user)
            .into_iter()
            .flatten()
            .filter(|h| h.device_session == device_session)
        {
            h.control.do_send(CloseSession { code, reason });
        }
    }

    /// Closes every socket of a user (account disabled), on every node.
    pub fn close_user(&self, user: Uuid, code: u16, reason: &'static str) {
        if let Some(cluster) = self.cluster.get() {
            cluster.forward_close(user, None, code, reason);
        }
        self.close_user_local(user, code, reason);
    }

    pub fn close_user_local(&self, user: Uuid, code: u16, reason: &'static str) {
        let map = self.shard(user).read().unwrap_or_else(|p| p.into_inner());
        for h in map.get(&user).into_iter().flatten() {
            h.control.do_send(CloseSession { code, reason });
        }
    }

    /// Closes every socket on this node (shutdown).
    pub fn close_all(&self, code: u16, reason: &'static str) {
        for shard in &self.sessions {
            let map = shard.read().unwrap_or_else(|p| p.into_inner());
            for h in map.values().flatten() {
                let _ = h.out.try_send(Outbound::Close(code, reason));
                h.control.do_send(CloseSession { code, reason });
            }
        }
    }

    /// Subscribes `viewer`'s socket to `watched`'s presence. `false` if the socket is at its limit.
    pub fn watch(&self, watched: Uuid, viewer: Uuid, handle: &SessionHandle) -> bool {
        let mut watching = self.watching.lock().unwrap_or_else(|p| p.into_inner());
        let set = watching.entry(handle.conn_id).or_default();
        if !set.contains(&watched) && set.len() >= MAX_WATCHED {
            return false;
        }
        set.insert(watched);
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        watchers
            .entry(watched)
            .or_default()
            .insert(handle.conn_id, (viewer, handle.clone()));
        true
    }

    /// How many users a socket watches.
    pub fn watched_by(&self, conn_id: u64) -> usize {
        self.watching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&conn_id)
            .map_or(0, HashSet::len)
    }

    pub fn unwatch(&self, watched: Uuid, conn_id: u64) {
        let mut watching = self.watching.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = watching.get_mut(&conn_id) {
            set.remove(&watched);
        }
        drop(watching);
        self.drop_watcher(watched, conn_id);
    }

    fn unwatch_all(&self, conn_id: u64) {
        let watched = self
            .watching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&conn_id);
        for w in watched.into_iter().flatten() {
            self.drop_watcher(w, conn_id);
        }
    }

    fn drop_watcher(&self, watched: Uuid, conn_id: u64) {
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = watchers.get_mut(&watched) {
            m.remove(&conn_id);
            if m.is_empty() {
                watchers.remove(&watched);
            }
        }
    }

    /// The sockets watching `user`, with each viewer's user id.
    pub fn watchers_of(&self, user: Uuid) -> Vec<(Uuid, SessionHandle)> {
        let watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        watchers
            .get(&user)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use actix::{Actor, Context, Handler};
    use tokio::sync::mpsc;

    use super::*;
    use crate::push::{close, PushKind, OUTBOUND_QUEUE};

    /// Stands in for a session actor: counts close requests.
    struct Closes(Arc<AtomicUsize>);
    impl Actor for Closes {
        type Context = Context<Self>;
    }
    impl Handler<CloseSession> for Closes {
        type Result = ();
        fn handle(&mut self, msg: CloseSession, _: &mut Context<Self>) {
            assert_eq!(msg.code, close::SLOW_CONSUMER);
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn socket(
        user: Uuid,
        conn_id: u64,
        cap: usize,
    ) -> (SessionHandle, mpsc::Receiver<Outbound>, Arc<AtomicUsize>) {
        let closes = Arc::new(AtomicUsize::new(0));
        let control = Closes(closes.clone()).start().recipient();
        let (out, rx) = mpsc::channel(cap);
        (
            SessionHandle {
                conn_id,
                user_id: user,
                device_session: Uuid::now_v7(),
                out,
                control,
            },
            rx,
            closes,
        )
    }

    fn typing() -> Arc<Push> {
        Push::new(PushKind::Typing {
            chat_id: Uuid::nil(),
            user_id: Uuid::nil(),
            typing: true,
        })
    }

    #[actix::test]
    async fn every_device_gets_the_same_push_and_presence_follows_sockets() {
        let router = Router::new();
        let user = Uuid::now_v7();
        let (a, mut rx_a, _) = socket(user, 1, OUTBOUND_QUEUE);
        let (b, mut rx_b, _) = socket(user, 2, OUTBOUND_QUEUE);
        assert!(router.register(a), "first socket: came online");
        assert!(!router.register(b));
        let push = typing();
        assert_eq!(router.deliver(user, &push, None), 2);
        assert_eq!(
            router.deliver(user, &push, Some(1)),
            1,
            "skips the given socket"
        );
        for rx in [&mut rx_a, &mut rx_b] {
            assert!(
                matches!(rx.try_recv(), Ok(Outbound::Push(p)) if Arc::ptr_eq(&p, &push)),
                "shared, not copied"
            );
        }
        assert!(!router.unregister(user, 1));
        assert!(router.is_online(user));
        assert!(router.unregister(user, 2), "last socket: went offline");
        assert!(!router.is_online(user));
        assert_eq!(router.deliver(user, &push, None), 0);
    }

    #[actix::test]
    async fn a_full_queue_closes_the_socket_instead_of_growing() {
        let router = Router::new();
        let user = Uuid::now_v7();
        let (h, mut rx, closes) = socket(user, 7, 16);
        router.register(h);
        let push = typing();
        let delivered: usize = (0..100).map(|_| router.deliver(user, &push, None)).sum();
        assert!(
            delivered <= 16,
            "never more than the queue holds: {delivered}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            closes.load(Ordering::SeqCst) >= 1,
            "the session was told to close"
        );
        let mut last = None;
        while let Ok(item) = rx.try_recv() {
            last = Some(item);
        }
        assert!(
            matches!(last, Some(Outbound::Close(close::SLOW_CONSUMER, _))),
            "{last:?}"
        );
    }

    #[actix::test]
    async fn watchers_are_bounded_and_cleaned_up() {
        let router = Router::new();
        let (viewer, _rx, _) = socket(Uuid::now_v7(), 3, 8);
        router.register(viewer.clone());
        let watched = Uuid::now_v7();
        assert!(router.watch(watched, viewer.user_id, &viewer));
        assert_eq!(router.watchers_of(watched).len(), 1);
        for _ in 1..MAX_WATCHED {
            assert!(router.watch(Uuid::now_v7(), viewer.user_id, &viewer));
        }
        assert!(
            !router.watch(Uuid::now_v7(), viewer.user_id, &viewer),
            "limit per socket"
        );
        router.unregister(viewer.user_id, 3);
        assert!(
            router.watchers_of(watched).is_empty(),
            "disconnect drops subscriptions"
        );
    }
}
