//! The chat actor: it orders a chat's events, makes them durable, acknowledges them and fans
//! them out to every member's live sockets.
//!
//! Sends are appended in arrival order. While one append is in flight, new sends queue up and
//! go to the store together as the next batch: one durable write acknowledges many messages,
//! and a chat's order is exactly the order its actor received them. The store assigns the
//! sequence numbers inside the same transaction, so a retried send (same client id) can never
//! leave a gap.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use actix::prelude::*;
use confab_storage::{
    AppendOutcome, Chat, ChatKind, GroupChange, Member, Millis, NewEvent, ReceiptKind, Role, Store,
    StoredEvent,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::group;
use super::ops::{GroupOp, Op, Scratch, Windows};
use super::ChatDirectory;
use crate::error::{EngineError, EngineResult};
use crate::metrics;
use crate::notify::{self, Notifier};
use crate::privacy::blocked_either_way;
use crate::push::{Push, PushKind};
use crate::router::Router;

/// How many recent (seq, sender) pairs a chat remembers to route receipts to senders.
const RECENT_SENDERS: usize = 4096;
/// The refusal of anything live in a 1:1 chat across a block.
const BLOCKED: &str = "you cannot message this user";
/// A chat that does not exist is forgotten quickly.
const MISSING_IDLE: Duration = Duration::from_secs(5);

/// A change to the timeline (a message, an edit, a group change, ...) from `sender`.
#[derive(Message)]
#[rtype(result = "EngineResult<Sent>")]
pub struct Post {
    pub sender: Uuid,
    pub op: Op,
}

/// The ack of a post: its event is durable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sent {
    pub chat_id: Uuid,
    pub seq: u64,
    pub at: Millis,
    pub client_id: Option<String>,
    pub duplicate: bool,
}

/// Move `user`'s receipt pointer.
#[derive(Message)]
#[rtype(result = "EngineResult<()>")]
pub struct Mark {
    pub user: Uuid,
    pub kind: ReceiptKind,
    pub seq: u64,
    pub at: Millis,
}

/// Another node orders this chat now: stop (new commands go there).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release;

impl Handler<Release> for ChatActor {
    type Result = ();

    fn handle(&mut self, _: Release, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// `user` started or stopped typing: ephemeral, never stored.
#[derive(Message)]
#[rtype(result = "EngineResult<()>")]
pub struct Typing {
    pub user: Uuid,
    pub typing: bool,
}

struct Pending {
    post: Post,
    at: Millis,
    received: Instant,
    reply: oneshot::Sender<EngineResult<Sent>>,
}

/// A request as the write future checks it: sender, change, time, the sender's group role.
type Request = (Uuid, Op, Millis, Option<Role>);

/// The part of a pending request that waits for its answer once the request itself has
/// been handed to the write (so the request is moved, not copied).
struct Waiter {
    received: Instant,
    reply: oneshot::Sender<EngineResult<Sent>>,
}

enum Phase {
    Loading,
    Missing,
    Ready,
}

/// Limits a chat actor enforces.
#[derive(Debug, Clone, Copy)]
pub struct ChatRules {
    pub idle_after: Duration,
    pub windows: Windows,
    pub max_members: usize,
}

pub struct ChatActor {
    chat_id: Uuid,
    store: Arc<dyn Store>,
    router: Arc<Router>,
    notifier: Arc<Notifier>,
    directory: Weak<ChatDirectory>,
    rules: ChatRules,
    /// This node's claim on the chat (`claim_chat`); 0 until loaded.
    epoch: u64,
    phase: Phase,
    chat: Option<Chat>,
    /// Sorted by user id.
    members: Vec<Member>,
    /// The members' user ids, kept with `members`: every event fans out to them, so they are
    /// not collected again per event.
    member_ids: Vec<Uuid>,
    last_seq: u64,
    pending: VecDeque<Pending>,
    writing: bool,
    recent: VecDeque<(u64, Uuid)>,
    last_used: Instant,
}

impl ChatActor {
    pub fn new(
        chat_id: Uuid,
        store: Arc<dyn Store>,
        router: Arc<Router>,
        notifier: Arc<Notifier>,
        directory: Weak<ChatDirectory>,
        rules: ChatRules,
    ) -> Self {
        ChatActor {
            chat_id,
            store,
            router,
            notifier,
            directory,
            rules,
            epoch: 0,
            phase: Phase::Loading,
            chat: None,
            members: Vec::new(),
            member_ids: Vec::new(),
            last_seq: 0,
            pending: VecDeque::new(),
            writing: false,
            recent: VecDeque::new(),
            last_used: Instant::now(),
        }
    }

    fn role(&self, user: Uuid) -> Option<Role> {
        self.members
            .binary_search_by_key(&user, |m| m.user_id)
            .ok()
            .map(|i| self.members[i].role)
    }

    fn check_member(&self, user: Uuid) -> EngineResult<()> {
        match self.phase {
            _ if self.role(user).is_some() => Ok(()),
            _ => Err(EngineError::no_chat()),
        }
    }

    /// The checks a request can pass or fail on the actor's state alone, before queueing.
    fn admit(&self, post: &Post) -> EngineResult<()> {
        if matches!(self.phase, Phase::Missing) {
            return Err(EngineError::NotFound("chat"));
        }
        if !matches!(post.op, Op::Group(GroupOp::Join)) {
            self.check_member(post.sender)?;
        }
        let only_admins = self.chat.as_ref().is_some_and(|c| c.info.only_admins_send);
        if only_admins
            && matches!(post.op, Op::Message { .. })
            && self.role(post.sender) != Some(Role::Admin)
        {
            return Err(EngineError::Forbidden(
                "only admins may send messages in this group",
            ));
        }
        Ok(())
    }

    /// The two members of a 1:1 chat.
    fn direct_pair(&self) -> Option<(Uuid, Uuid)> {
        match (&self.chat, self.members.as_slice()) {
            (Some(c), [a, b]) if c.kind == ChatKind::Direct => Some((a.user_id, b.user_id)),
            _ => None,
        }
    }

    /// Writes what is queued, unless a write is in flight: a group change alone, otherwise
    /// every queued timeline request up to the next group change, as one append.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.writing {
            return;
        }
        let Some(first) = self.pending.front() else {
            return;
        };
        self.writing = true;
        if matches!(first.post.op, Op::Group(_)) {
            if let Some(p) = self.pending.pop_front() {
                self.write_group(p, ctx);
            }
            return;
        }
        let n = self
            .pending
            .iter()
            .take_while(|p| !matches!(p.post.op, Op::Group(_)))
            .count();
        let batch: Vec<Pending> = self.pending.drain(..n).collect();
        self.write_batch(batch, ctx);
    }

    fn write_batch(&mut self, batch: Vec<Pending>, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        let chat_id = self.chat_id;
        let pair = self.direct_pair();
        let windows = self.rules.windows;
        let (requests, waiters): (Vec<Request>, Vec<Waiter>) = batch
            .into_iter()
            .map(|p| {
                let role = if pair.is_some() {
                    None
                } else {
                    self.role(p.post.sender)
                };
                let waiter = Waiter {
                    received: p.received,
                    reply: p.reply,
                };
                ((p.post.sender, p.post.op, p.at, role), waiter)
            })
            .unzip();
        let write = async move {
            if let Some((a, b)) = pair {
                if blocked_either_way(store.as_ref(), a, b).await? {
                    return Err(EngineError::Blocked(BLOCKED));
                }
            }
            let mut scratch = Scratch::new(store.as_ref(), chat_id);
            let mut prepared = Vec::with_capacity(requests.len());
            for (sender, op, at, role) in &requests {
                prepared.push(scratch.prepare(*sender, op, *at, windows, *role).await);
            }
            let events = prepared
                .iter()
                .filter_map(|p| p.as_ref().ok().cloned())
                .collect::<Vec<_>>();
            let started = Instant::now();
            let mut outcomes = if events.is_empty() {
                Vec::new()
            } else {
                store.append(chat_id, events).await?
            };
            metrics::get()
                .store_write
                .with_label_values(&["append"])
                .observe(started.elapsed().as_secs_f64());
            crate::media::shares::record(store.as_ref(), &outcomes).await?;
            for outcome in &mut outcomes {
                if let AppendOutcome::Stored(e) = outcome {
                    crate::chats::decorate(store.as_ref(), std::slice::from_mut(e)).await?;
                }
            }
            Ok((prepared, outcomes))
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
            act.writing = false;
            let failed = result.is_err();
            act.complete(waiters, result);
            if failed && act.lost_claim(ctx) {
                return;
            }
            act.flush(ctx);
        }));
    }

    /// After a failed write: if the store fenced this node off (another node claimed the
    /// chat), stop: queued and later commands go to the chat's new owner.
    fn lost_claim(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.epoch == 0 || self.store.holds_claim(self.chat_id, self.epoch) {
            return false;
        }
        tracing::info!(chat_id = %self.chat_id, "fenced off: another node orders this chat");
        if let Some(directory) = self.directory.upgrade() {
            directory.forget(self.chat_id, &ctx.address());
        }
        ctx.stop();
        true
    }

    fn complete(
        &mut self,
        batch: Vec<Waiter>,
        result: EngineResult<(Vec<EngineResult<NewEvent>>, Vec<AppendOutcome>)>,
    ) {
        let (prepared, outcomes) = match result {
            Ok(r) => r,
            Err(e) => {
                batch
                    .into_iter()
                    .for_each(|p| drop(p.reply.send(Err(e.clone()))));
                return;
            }
        };
        let mut outcomes = outcomes.into_iter();
        let m = metrics::get();
        for (pending, prep) in batch.into_iter().zip(prepared) {
            if let Err(e) = prep {
                let _ = pending.reply.send(Err(e));
                continue;
            }
            let Some(outcome) = outcomes.next() else {
                tracing::error!(chat_id = %self.chat_id, "store returned fewer outcomes than events");
                let _ = pending.reply.send(Err(EngineError::Internal));
                continue;
            };
            let duplicate = matches!(outcome, AppendOutcome::Duplicate(_));
            let event = match outcome {
                AppendOutcome::Stored(e) | AppendOutcome::Duplicate(e) => e,
            };
            let sent = Sent {
                chat_id: self.chat_id,
                seq: event.seq,
                at: event.at,
                client_id: event.client_id.clone(),
                duplicate,
            };
            let _ = pending.reply.send(Ok(sent));
            m.send_to_ack
                .observe(pending.received.elapsed().as_secs_f64());
            if !duplicate {
                let to = std::mem::take(&mut self.member_ids);
                self.fan_out(event, &to);
                self.member_ids = to;
            }
        }
    }

    fn write_group(&mut self, pending: Pending, ctx: &mut Context<Self>) {
        let Some(chat) = self.chat.clone() else {
            let _ = pending.reply.send(Err(EngineError::NotFound("chat")));
            self.writing = false;
            return;
        };
        let (store, chat_id, members, max) = (
            self.store.clone(),
            self.chat_id,
            self.members.clone(),
            self.rules.max_members,
        );
        let Pending {
            post: Post { sender, op },
            at,
            reply,
            ..
        } = pending;
        let Op::Group(op) = op else {
            let _ = reply.send(Err(EngineError::Internal));
            self.writing = false;
            return;
        };
        let write = async move {
            let planned =
                group::plan(store.as_ref(), &chat, &members, sender, &op, at, max).await?;
            let mut done = Vec::new();
            let event = store
                .change_group(chat_id, planned.change.clone(), planned.event)
                .await?;
            done.push((planned.change, event));
            if matches!(op, GroupOp::Leave) {
                let after: Vec<Member> = members
                    .iter()
                    .filter(|m| m.user_id != sender)
                    .cloned()
                    .collect();
                if let Some(next) = group::successor(&after, sender, at) {
                    let event = store
                        .change_group(chat_id, next.change.clone(), next.event)
                        .await?;
                    done.push((next.change, event));
                }
            }
            Ok::<_, EngineError>(done)
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
            act.writing = false;
            match result {
                Ok(done) => {
                    let mut first = None;
                    for (change, event) in done {
                        first.get_or_insert(Sent {
                            chat_id: act.chat_id,
                            seq: event.seq,
                            at: event.at,
                            client_id: None,
                            duplicate: false,
                        });
                        act.apply_group(change, event);
                    }
                    let _ = reply.send(first.ok_or(EngineError::Internal));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                    if act.lost_claim(ctx) {
                        return;
                    }
                }
            }
            act.flush(ctx);
        }));
    }

    /// Applies a stored group change to the actor's state and tells everyone it concerns:
    /// the members before and after (so a removed member learns of the removal, and a new
    /// member of the addition).
    fn apply_group(&mut self, change: GroupChange, event: StoredEvent) {
        let mut to: Vec<Uuid> = self.members.iter().map(|m| m.user_id).collect();
        if let Some(chat) = self.chat.as_mut() {
            group::apply(chat, &mut self.members, &change);
        }
        self.member_ids = self.members.iter().map(|m| m.user_id).collect();
        to.extend(self.members.iter().map(|m| m.user_id));
        to.sort_unstable();
        to.dedup();
        self.fan_out(event, &to);
    }

    /// Queues a stored event on every socket of `to`.
    fn fan_out(&mut self, event: StoredEvent, to: &[Uuid]) {
        let started = Instant::now();
        self.last_seq = self.last_seq.max(event.seq);
        if event.is_message() {
            if self.recent.len() == RECENT_SENDERS {
                self.recent.pop_front();
            }
            self.recent.push_back((event.seq, event.sender));
        }
        let (sender, is_message) = (event.sender, event.is_message());
        let push = Push::new(PushKind::Event(event));
        let mut delivered = 0;
        let mut offline = Vec::new();
        for user in to {
            let n = self.router.deliver(*user, &push, None);
            if n == 0 && is_message && *user != sender {
                offline.push(*user);
            }
            delivered += n;
        }
        if let PushKind::Event(event) = &push.kind {
            if !offline.is_empty() || notify::concerns_others(&event.kind) {
                self.notifier.trigger(notify::Trigger::Chat {
                    event: event.clone(),
                    offline,
                });
            }
        }
        let m = metrics::get();
        m.events_out
            .with_label_values(&["event"])
            .inc_by(delivered as u64);
        m.fanout.observe(started.elapsed().as_secs_f64());
    }

    /// The senders (other than `reader`) of messages with seq in `(from, to]` that this actor
    /// remembers.
    fn senders_between(&self, from: u64, to: u64, reader: Uuid) -> Vec<Uuid> {
        let mut senders: Vec<Uuid> = self
            .recent
            .iter()
            .filter(|(seq, sender)| *seq > from && *seq <= to && *sender != reader)
            .map(|(_, sender)| *sender)
            .collect();
        senders.sort_unstable();
        senders.dedup();
        senders
    }
}

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        metrics::get().live_chat_actors.inc();
        let store = self.store.clone();
        let chat_id = self.chat_id;
        let load = async move {
            let Some(chat) = store.chat(chat_id).await? else {
                return Ok(None);
            };
            // The only writer from now on: a node that ordered this chat before is fenced off.
            let epoch = store.claim_chat(chat_id).await?;
            let mut members = store.members(chat_id).await?;
            members.sort_by_key(|m| m.user_id);
            let state = store.chat_state(chat_id).await?;
            let recent = store
                .events_before(chat_id, state.last_seq + 1, 256)
                .await?;
            Ok::<_, EngineError>(Some((chat, members, state.last_seq, recent, epoch)))
        };
        // `wait`: no message is handled before the chat is loaded.
        ctx.wait(load.into_actor(self).map(|loaded, act, ctx| match loaded {
            Ok(Some((chat, members, last_seq, recent, epoch))) => {
                act.epoch = epoch;
                act.chat = Some(chat);
                act.member_ids = members.iter().map(|m| m.user_id).collect();
                act.members = members;
                act.last_seq = last_seq;
                act.recent = recent
                    .iter()
                    .filter(|e| e.is_message())
                    .map(|e| (e.seq, e.sender))
                    .collect();
                act.phase = Phase::Ready;
            }
            Ok(None) => act.phase = Phase::Missing,
            Err(e) => {
                tracing::error!(chat_id = %act.chat_id, error = %e, "cannot load chat");
                ctx.stop();
            }
        }));
        let tick =
            (self.rules.idle_after / 4).clamp(Duration::from_millis(500), Duration::from_secs(30));
        ctx.run_interval(tick, |act, ctx| {
            let limit = if matches!(act.phase, Phase::Missing) {
                MISSING_IDLE
            } else {
                act.rules.idle_after
            };
            if !act.writing && act.pending.is_empty() && act.last_used.elapsed() >= limit {
                if let Some(directory) = act.directory.upgrade() {
                    directory.forget(act.chat_id, &ctx.address());
                }
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        metrics::get().live_chat_actors.dec();
        if self.epoch > 0 {
            self.store.release_chat(self.chat_id, self.epoch);
        }
        for p in self.pending.drain(..) {
            let _ = p.reply.send(Err(EngineError::Unavailable));
        }
    }
}

impl Handler<Post> for ChatActor {
    type Result = ResponseFuture<EngineResult<Sent>>;

    fn handle(&mut self, post: Post, ctx: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        if let Err(e) = self.admit(&post) {
            return Box::pin(async move { Err(e) });
        }
        let (reply, answer) = oneshot::channel();
        self.pending.push_back(Pending {
            post,
            at: crate::clock::now_millis(),
            received: Instant::now(),
            reply,
        });
        self.flush(ctx);
        Box::pin(async move { answer.await.unwrap_or(Err(EngineError::Unavailable)) })
    }
}

impl Handler<Mark> for ChatActor {
    type Result = ResponseActFuture<Self, EngineResult<()>>;

    fn handle(&mut self, mark: Mark, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        if let Err(e) = self.check_member(mark.user) {
            return Box::pin(fut::ready(Err(e)));
        }
        if mark.seq > self.last_seq {
            let message = format!("seq: must be 0 to the chat's last seq ({})", self.last_seq);
            return Box::pin(fut::ready(Err(EngineError::Validation(message))));
        }
        if mark.seq == 0 {
            // Older than (or as old as) every pointer: accepted, changes nothing.
            return Box::pin(fut::ready(Ok(())));
        }
        let store = self.store.clone();
        let pair = self.direct_pair();
        let (chat_id, user, kind, seq, at) =
            (self.chat_id, mark.user, mark.kind, mark.seq, mark.at);
        let write = async move {
            let started = Instant::now();
            let moved = store.mark(chat_id, user, kind, seq, at).await?;
            metrics::get()
                .store_write
                .with_label_values(&["receipt"])
                .observe(started.elapsed().as_secs_f64());
            // Across a block a 1:1 receipt is recorded (my badge) but not shown to the other.
            let hidden = match pair {
                Some((a, b)) => blocked_either_way(store.as_ref(), a, b).await?,
                None => false,
            };
            Ok::<_, confab_storage::StoreError>((moved, hidden))
        };
        Box::pin(write.into_actor(self).map(move |written, act, _| {
            let (moved, hidden) = written?;
            let m = metrics::get();
            for advance in moved {
                let push = Push::new(PushKind::Receipt {
                    chat_id,
                    user_id: user,
                    kind: advance.kind,
                    up_to_seq: advance.to_seq,
                    at,
                });
                let mut delivered = 0;
                if !hidden {
                    for sender in act.senders_between(advance.from_seq, advance.to_seq, user) {
                        delivered += act.router.deliver(sender, &push, None);
                    }
                }
                if advance.kind == ReceiptKind::Read {
                    // My other devices clear the chat's unread badge too.
                    delivered += act.router.deliver(user, &push, None);
                }
                m.events_out
                    .with_label_values(&["receipt"])
                    .inc_by(delivered as u64);
            }
            Ok(())
        }))
    }
}

impl ChatActor {
    fn push_typing(&self, typing: &Typing) {
        let push = Push::new(PushKind::Typing {
            chat_id: self.chat_id,
            user_id: typing.user,
            typing: typing.typing,
        });
        let mut delivered = 0;
        for member in self.members.iter().filter(|m| m.user_id != typing.user) {
            delivered += self.router.deliver(member.user_id, &push, None);
        }
        metrics::get()
            .events_out
            .with_label_values(&["typing"])
            .inc_by(delivered as u64);
    }
}

impl Handler<Typing> for ChatActor {
    type Result = ResponseActFuture<Self, EngineResult<()>>;

    /// Typing goes to the other members' devices; in a 1:1 chat across a block it is refused
    /// like a send (`blocked`). In groups a block hides nothing (as messages are not hidden).
    fn handle(&mut self, typing: Typing, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = self.check_member(typing.user) {
            return Box::pin(fut::ready(Err(e)));
        }
        let Some((a, b)) = self.direct_pair() else {
            self.push_typing(&typing);
            return Box::pin(fut::ready(Ok(())));
        };
        let store = self.store.clone();
        let check = async move { blocked_either_way(store.as_ref(), a, b).await };
        Box::pin(check.into_actor(self).map(move |blocked, act, _| {
            if blocked? {
                return Err(EngineError::Blocked(BLOCKED));
            }
            act.push_typing(&typing);
            Ok(())
        }))
    }
}
