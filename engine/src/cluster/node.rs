//! The cluster's background tasks: registry heartbeat, bus subscriber, push publisher.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::bus::{self, BusMessage, ChatReply, WireError};
use super::Cluster;
use crate::clock::now_millis;
use crate::push::{Push, PushKind};

/// Sorted set of live nodes: member = node id, score = when the entry expires (ms).
pub(super) const REGISTRY: &str = "confab:nodes";

/// Most pushes one published `Deliver` carries.
const BATCH: usize = 256;

pub(super) async fn heartbeat(cluster: Arc<Cluster>) {
    let mut tick = tokio::time::interval(cluster.config.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let me = cluster.node_id.to_string();
    loop {
        tick.tick().await;
        let now = now_millis();
        let expires = now + cluster.config.node_ttl.as_millis() as i64;
        let mut conn = cluster.conn.clone();
        let live: redis::RedisResult<(i64, i64, Vec<String>)> = redis::pipe()
            .atomic()
            .cmd("ZADD")
            .arg(REGISTRY)
            .arg(expires)
            .arg(&me)
            .cmd("ZREMRANGEBYSCORE")
            .arg(REGISTRY)
            .arg("-inf")
            .arg(now)
            .cmd("ZRANGEBYSCORE")
            .arg(REGISTRY)
            .arg(now)
            .arg("+inf")
            .query_async(&mut conn)
            .await;
        match live {
            Ok((_, _, members)) => {
                let mut nodes: Vec<Uuid> = members.iter().filter_map(|m| m.parse().ok()).collect();
                if !nodes.contains(&cluster.node_id) {
                    nodes.push(cluster.node_id);
                }
                nodes.sort_unstable();
                let changed = {
                    let mut current = cluster.nodes.write().unwrap_or_else(|p| p.into_inner());
                    let changed = **current != nodes;
                    cluster.others.store(nodes.len() > 1, Ordering::Relaxed);
                    *current = Arc::new(nodes);
                    changed
                };
                if changed {
                    tracing::info!(nodes = ?cluster.live_nodes(), "cluster: live nodes changed");
                    if let Some(engine) = cluster.engine() {
                        engine.release_moved_chats();
                    }
                }
            }
            // Keep the last known view: the bus is down too, and chats stay where they are.
            Err(e) => tracing::warn!(error = %e, "cluster: heartbeat failed"),
        }
    }
}

/// Listens on the broadcast channel and this node's own; reconnects and resubscribes when
/// the connection drops (a pub/sub stream just ends then).
/// Connecting and subscribing to the bus must finish within this.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) async fn subscribe(cluster: Arc<Cluster>) {
    let own = bus::node_channel(cluster.node_id);
    loop {
        // Bounded: a connection that dies while subscribing (Redis restarting) must not leave
        // the node waiting for an answer that never comes, deaf to the bus.
        let connected = tokio::time::timeout(SUBSCRIBE_TIMEOUT, async {
            let mut pubsub = cluster.client.get_async_pubsub().await?;
            pubsub.subscribe(bus::BROADCAST).await?;
            pubsub.subscribe(&own).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match connected {
            Ok(Ok(mut pubsub)) => {
                tracing::info!("cluster: subscribed to the bus");
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    match serde_json::from_slice::<BusMessage>(msg.get_payload_bytes()) {
                        Ok(m) => handle(&cluster, m),
                        Err(e) => tracing::warn!(error = %e, "cluster: bad bus message"),
                    }
                }
                tracing::warn!("cluster: bus connection lost; resubscribing");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cluster: cannot subscribe to the bus"),
            Err(_) => tracing::warn!("cluster: subscribing to the bus timed out; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn handle(cluster: &Arc<Cluster>, message: BusMessage) {
    let Some(engine) = cluster.engine() else {
        return;
    };
    let me = cluster.node_id;
    match message {
        BusMessage::Deliver { from, users, push } if from != me => {
            let push = Push::new(push);
            for user in users {
                engine.router.deliver_local(user, &push, None);
            }
        }
        BusMessage::Presence {
            from,
            user,
            online,
            last_seen,
        } if from != me => {
            actix::spawn(async move {
                engine.announce_here(user, online, last_seen).await;
            });
        }
        BusMessage::Close {
            from,
            user,
            device_session,
            code,
            reason,
        } if from != me => {
            let reason = crate::push::close::reason_of(code, &reason);
            match device_session {
                Some(d) => engine
                    .router
                    .close_device_session_local(user, d, code, reason),
                None => engine.router.close_user_local(user, code, reason),
            }
        }
        BusMessage::Ask {
            id,
            reply_to,
            chat_id,
            command,
        } => {
            let cluster = cluster.clone();
            actix::spawn(async move {
                let result = if cluster.owner_of(chat_id) != cluster.node_id {
                    Err(WireError::NotOwner)
                } else {
                    engine
                        .run_here(chat_id, command)
                        .await
                        .map_err(|e| WireError::from(&e))
                };
                reply(&cluster, reply_to, id, result).await;
            });
        }
        BusMessage::Reply { id, result } => {
            let waiting = cluster
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            if let Some(tx) = waiting {
                let _ = tx.send(result);
            }
        }
        _ => {}
    }
}

async fn reply(cluster: &Cluster, to: Uuid, id: u64, result: Result<ChatReply, WireError>) {
    let Ok(json) = serde_json::to_string(&BusMessage::Reply { id, result }) else {
        return;
    };
    let mut conn = cluster.conn.clone();
    let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
        .arg(bus::node_channel(to))
        .arg(json)
        .query_async(&mut conn)
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "cluster: reply lost");
    }
}

/// Publishes queued pushes, one `Deliver` per push (its users gathered), in queue order.
pub(super) async fn publish(cluster: Arc<Cluster>, mut rx: mpsc::Receiver<(Uuid, Arc<Push>)>) {
    let mut items: Vec<(Uuid, Arc<Push>)> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut items, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut start = 0;
        while start < items.len() {
            let push = &items[start].1;
            let mut end = start + 1;
            while end < items.len() && Arc::ptr_eq(&items[end].1, push) {
                end += 1;
            }
            let users: Vec<Uuid> = items[start..end].iter().map(|(u, _)| *u).collect();
            if let Some(json) = deliver_json(cluster.node_id, users, &push.kind) {
                pipe.cmd("PUBLISH").arg(bus::BROADCAST).arg(json).ignore();
            }
            start = end;
        }
        items.clear();
        let mut conn = cluster.conn.clone();
        let sent: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cluster: pushes to other nodes lost (clients resync)");
        }
    }
}

fn deliver_json(from: Uuid, users: Vec<Uuid>, push: &PushKind) -> Option<String> {
    #[derive(serde::Serialize)]
    struct DeliverRef<'a> {
        t: &'static str,
        from: Uuid,
        users: Vec<Uuid>,
        push: &'a PushKind,
    }
    serde_json::to_string(&DeliverRef {
        t: "deliver",
        from,
        users,
        push,
    })
    .ok()
}
