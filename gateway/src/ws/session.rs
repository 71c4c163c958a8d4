//! The session actor: one per socket (one logged-in device). It reads the client's frames,
//! checks them, hands commands to the engine and answers each one. Everything it writes goes
//! through the bounded outbound queue shared with the engine's fan-out (see `ws::io`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_http::ws::ProtocolError;
use bytes::Bytes;
use confab_engine::chats::MAX_SYNC_LIMIT;
use confab_engine::model::ReceiptKind;
use confab_engine::push::{close, CloseSession, Offer, Outbound, SessionHandle};
use confab_engine::{Engine, EngineError};
use confab_signalling::call::{CallError, Calls};
use uuid::Uuid;

use super::io::Inbound;
use crate::ratelimit::{Limits, Rule};
use crate::wire::ws::{self as wire, Request, SyncedChat};

pub const HEARTBEAT: Duration = Duration::from_secs(20);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Text frames over this get `frame_too_large` and are skipped; the session carries on.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Inbound frame budget: a burst of this many, refilled at `RATE_PER_SEC`.
const RATE_BURST: f64 = 100.0;
const RATE_PER_SEC: f64 = 50.0;
/// Consecutive frames refused for rate before the socket is closed (4029).
const FLOOD_LIMIT: u32 = 1000;
const TYPING_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_SYNC_LIMIT: usize = 200;

pub struct WsSession {
    engine: Arc<Engine>,
    calls: Arc<Calls>,
    limits: Arc<Limits>,
    /// The client's address and the user id as text: the keys of the per-IP and per-user
    /// limits, made once rather than per frame.
    ip: String,
    user_key: String,
    handle: SessionHandle,
    last_heard: Instant,
    tokens: f64,
    refilled: Instant,
    refused_in_a_row: u32,
    last_typing: HashMap<Uuid, Instant>,
    closing: bool,
}

impl WsSession {
    pub fn new(
        engine: Arc<Engine>,
        calls: Arc<Calls>,
        limits: Arc<Limits>,
        ip: String,
        handle: SessionHandle,
    ) -> Self {
        WsSession {
            engine,
            calls,
            limits,
            ip,
            user_key: handle.user_id.to_string(),
            handle,
            last_heard: Instant::now(),
            tokens: RATE_BURST,
            refilled: Instant::now(),
            refused_in_a_row: 0,
            last_typing: HashMap::new(),
            closing: false,
        }
    }

    fn send(&self, frame: Bytes) {
        self.handle.offer(Outbound::Frame(frame));
    }

    fn error(&self, id: Option<&str>, code: &str, message: &str) {
        self.send(wire::error(id, code, message));
    }

    fn engine_error(&self, id: &str, e: &EngineError) {
        self.error(Some(id), e.code(), &e.to_string());
    }

    fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: &'static str) {
        if !self.closing {
            self.closing = true;
            let _ = self.handle.out.try_send(Outbound::Close(code, reason));
        }
        ctx.stop();
    }

    /// Takes one frame from the budget; `false` if over the rate.
    fn admit(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens
            + now.duration_since(self.refilled).as_secs_f64() * RATE_PER_SEC)
            .min(RATE_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            true
        } else {
            self.refused_in_a_row += 1;
            false
        }
    }

    fn on_text(&mut self, text: Bytes, ctx: &mut Context<Self>) {
        if text.len() > MAX_FRAME_BYTES {
            let message = format!("frames are limited to {MAX_FRAME_BYTES} bytes");
            let id = wire::request_id(&text);
            self.error(id.as_deref(), "frame_too_large", &message);
            return;
        }
        let (id, request) = match wire::parse(&text) {
            Ok(parsed) => parsed,
            Err(bad) => {
                self.error(bad.id.as_deref(), bad.code, &bad.message);
                return;
            }
        };
        confab_engine::metrics::get()
            .events_in
            .with_label_values(&[request.name()])
            .inc();
        self.dispatch(id, request, ctx);
    }

    /// Runs `request` once the per-user and per-IP limits of its kind admit it. With shared
    /// (Redis) limits the session waits for the answer before reading its next frame, so
    /// commands keep their order.
    fn dispatch(&mut self, id: String, request: Request, ctx: &mut Context<Self>) {
        let (per_user, per_ip) = match &request {
            Request::Send(_) | Request::Forward(_) | Request::Broadcast(_) => {
                (Rule::SendPerUser, Rule::SendPerIp)
            }
            Request::Typing(_) => (Rule::TypingPerUser, Rule::TypingPerIp),
            _ => return self.run(id, request, ctx),
        };
        if !self.limits.is_shared() {
            match self
                .limits
                .take_local(&[(per_user, &self.user_key), (per_ip, &self.ip)])
            {
                Ok(()) => self.run(id, request, ctx),
                Err(wait) => self.refuse(&id, per_user, wait),
            }
            return;
        }
        let limits = self.limits.clone();
        let user = self.user_key.clone();
        let ip = self.ip.clone();
        let take = async move { limits.take(&[(per_user, &user), (per_ip, &ip)]).await };
        ctx.wait(
            take.into_actor(self)
                .map(move |admitted, act, ctx| match admitted {
                    Ok(()) => act.run(id, request, ctx),
                    Err(wait) => act.refuse(&id, per_user, wait),
                }),
        );
    }

    fn refuse(&self, id: &str, rule: Rule, wait: Duration) {
        let what = if rule == Rule::TypingPerUser {
            "typing"
        } else {
            "messages"
        };
        let message = format!("too many {what} from this account or address; retry later");
        self.send(wire::rate_limited(
            Some(id),
            &message,
            wait.as_millis().max(1) as u64,
        ));
    }

    fn run(&mut self, id: String, request: Request, ctx: &mut Context<Self>) {
        let engine = self.engine.clone();
        let me = self.handle.user_id;
        match request {
            Request::Ping(_) => self.send(wire::pong(&id)),
            Request::Send(r) => {
                let fut = async move {
                    engine
                        .send_reply(me, r.chat_id, r.client_id, r.content, r.reply_to)
                        .await
                };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(sent) => act.send(wire::sent(&id, &sent)),
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
            Request::Delivered(r) => self.mark(id, r.chat_id, ReceiptKind::Delivered, r.seq, ctx),
            Request::Read(r) => self.mark(id, r.chat_id, ReceiptKind::Read, r.seq, ctx),
            Request::MessageInfo(r) => {
                let fut = async move { engine.message_info(me, r.chat_id, r.seq).await };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok((event, members)) => act.send(wire::message_info(
                                &id,
                                event.chat_id,
                                event.seq,
                                &members,
                            )),
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
            Request::Typing(r) => {
                let now = Instant::now();
                if self
                    .last_typing
                    .get(&r.chat_id)
                    .is_some_and(|t| now.duration_since(*t) < TYPING_INTERVAL)
                {
                    self.error(
                        Some(&id),
                        "rate_limited",
                        "typing: at most once a second per chat",
                    );
                    return;
                }
                self.last_typing
                    .retain(|_, t| now.duration_since(*t) < TYPING_INTERVAL);
                self.last_typing.insert(r.chat_id, now);
                let typing = r.state == wire::TypingState::Typing;
                let fut = async move { engine.typing(me, r.chat_id, typing).await };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(()) => act.send(wire::ok(&id)),
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
            Request::PresenceSubscribe(r) => {
                let watched = self.engine.router.watched_by(self.handle.conn_id);
                if r.user_ids.len() > confab_engine::presence::MAX_SUBSCRIBE
                    || watched + r.user_ids.len() > confab_engine::router::MAX_WATCHED
                {
                    let message = "user_ids: at most 256 per frame and 1024 watched per session";
                    self.error(Some(&id), "validation_failed", message);
                    return;
                }
                let handle = self.handle.clone();
                // Answer first: the presence frames follow the `ok`.
                self.send(wire::ok(&id));
                let fut = async move { engine.subscribe_presence(&handle, &r.user_ids).await };
                ctx.spawn(fut.into_actor(self).map(move |result, _act, _| {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "presence subscription failed");
                    }
                }));
            }
            Request::PresenceUnsubscribe(r) => {
                self.engine
                    .unsubscribe_presence(self.handle.conn_id, &r.user_ids);
                self.send(wire::ok(&id));
            }
            Request::Sync(r) => self.sync(id, r, ctx),
            Request::Edit(r) => {
                let fut = async move { engine.edit(me, r.chat_id, r.seq, r.content).await };
                self.answer_sent(id, fut, ctx);
            }
            Request::Delete(r) if r.for_whom == wire::DeleteFor::Me => {
                let fut = async move { engine.delete_for_me(me, r.chat_id, &[r.seq]).await };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(()) => act.send(wire::ok(&id)),
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
            Request::Delete(r) => {
                let fut = async move { engine.delete_for_everyone(me, r.chat_id, r.seq).await };
                self.answer_sent(id, fut, ctx);
            }
            Request::React(r) => {
                let fut = async move { engine.react(me, r.chat_id, r.seq, r.emoji).await };
                self.answer_sent(id, fut, ctx);
            }
            Request::Broadcast(r) => {
                let fut = async move {
                    engine
                        .broadcast(me, r.list_id, r.client_id, r.content)
                        .await
                };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(results) => {
                                let lines: Vec<_> = results
                                    .iter()
                                    .map(|(user, d)| {
                                        crate::wire::chat::BroadcastResult::new(*user, d)
                                    })
                                    .collect();
                                act.send(wire::broadcasted(&id, &lines));
                            }
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
            Request::Forward(r) => {
                let fut = async move {
                    engine
                        .forward(me, r.chat_id, r.seq, &r.to, r.client_id)
                        .await
                };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(results) => {
                                let lines: Vec<_> = results
                                    .into_iter()
                                    .map(|(c, r)| (c, r.map(|s| s.seq).map_err(|e| e.code())))
                                    .collect();
                                act.send(wire::forwarded(&id, &lines));
                            }
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
            Request::CallStart(r) => {
                let (calls, handle) = (self.calls.clone(), self.handle.clone());
                let fut = async move { calls.start(&handle, r.chat_id, r.kind, r.sdp).await };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(joined) => act.send(joined.frame("call_started", &id)),
                            Err(e) => act.call_error(&id, &e),
                        }),
                );
            }
            Request::CallJoin(r) => {
                let (calls, handle) = (self.calls.clone(), self.handle.clone());
                let fut = async move { calls.join(&handle, r.call_id, r.sdp).await };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(joined) => act.send(joined.frame("call_joined", &id)),
                            Err(e) => act.call_error(&id, &e),
                        }),
                );
            }
            Request::CallDecline(r) => {
                let calls = self.calls.clone();
                self.call_ok(id, async move { calls.decline(me, r.call_id).await }, ctx);
            }
            Request::CallHangup(r) => {
                let (calls, handle) = (self.calls.clone(), self.handle.clone());
                let fut = async move { calls.hang_up(&handle, r.call_id).await };
                self.call_ok(id, fut, ctx);
            }
            Request::CallAnswer(r) => {
                let (calls, handle) = (self.calls.clone(), self.handle.clone());
                let fut = async move { calls.answer(&handle, r.call_id, r.sdp).await };
                self.call_ok(id, fut, ctx);
            }
            Request::CallCandidate(r) => {
                let (calls, handle) = (self.calls.clone(), self.handle.clone());
                let candidate = serde_json::Value::Object(r.candidate).to_string();
                let fut = async move { calls.candidate(&handle, r.call_id, candidate).await };
                self.call_ok(id, fut, ctx);
            }
            Request::CallMedia(r) => {
                if r.muted.is_none() && r.camera.is_none() {
                    self.error(Some(&id), "validation_failed", "give muted, camera or both");
                    return;
                }
                let (calls, handle) = (self.calls.clone(), self.handle.clone());
                let fut = async move { calls.media(&handle, r.call_id, r.muted, r.camera).await };
                self.call_ok(id, fut, ctx);
            }
            Request::Chats(_) => {
                let fut = async move { engine.chat_list(me).await };
                ctx.spawn(
                    fut.into_actor(self)
                        .map(move |result, act, _| match result {
                            Ok(chats) => act.send(wire::chat_list(&id, &chats)),
                            Err(e) => act.engine_error(&id, &e),
                        }),
                );
            }
        }
    }

    fn call_error(&self, id: &str, e: &CallError) {
        self.error(Some(id), e.code(), &e.to_string());
    }

    /// Answers a call request with `ok` or its typed error.
    fn call_ok(
        &mut self,
        id: String,
        fut: impl std::future::Future<Output = Result<(), CallError>> + 'static,
        ctx: &mut Context<Self>,
    ) {
        ctx.spawn(
            fut.into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(()) => act.send(wire::ok(&id)),
                    Err(e) => act.call_error(&id, &e),
                }),
        );
    }

    /// Answers a timeline change with `sent` (its event's seq).
    fn answer_sent(
        &mut self,
        id: String,
        fut: impl std::future::Future<Output = Result<confab_engine::chat::Sent, EngineError>> + 'static,
        ctx: &mut Context<Self>,
    ) {
        ctx.spawn(
            fut.into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(sent) => act.send(wire::sent(&id, &sent)),
                    Err(e) => act.engine_error(&id, &e),
                }),
        );
    }

    fn mark(
        &mut self,
        id: String,
        chat_id: Uuid,
        kind: ReceiptKind,
        seq: u64,
        ctx: &mut Context<Self>,
    ) {
        let engine = self.engine.clone();
        let me = self.handle.user_id;
        let fut = async move {
            engine
                .mark(me, chat_id, kind, seq, confab_engine::clock::now_millis())
                .await
        };
        ctx.spawn(
            fut.into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(()) => act.send(wire::ok(&id)),
                    Err(e) => act.engine_error(&id, &e),
                }),
        );
    }

    /// Sends each chat's missed events, then the `synced` answer. Runs as one future so the
    /// events of a chat go out in order, before the answer.
    fn sync(&mut self, id: String, request: wire::SyncRequest, ctx: &mut Context<Self>) {
        if request.chats.len() > 1000 {
            self.error(
                Some(&id),
                "validation_failed",
                "chats: at most 1000 per sync",
            );
            return;
        }
        let limit = request.limit.unwrap_or(DEFAULT_SYNC_LIMIT);
        if limit == 0 || limit > MAX_SYNC_LIMIT {
            self.error(Some(&id), "validation_failed", "limit: must be 1 to 1000");
            return;
        }
        let engine = self.engine.clone();
        let handle = self.handle.clone();
        let me = handle.user_id;
        let fut = async move {
            let mut answers = Vec::with_capacity(request.chats.len());
            for pos in request.chats {
                match engine.sync(me, pos.chat_id, pos.last_seq, limit).await {
                    Ok(synced) => {
                        let (from_seq, to_seq) = match (synced.events.first(), synced.events.last())
                        {
                            (Some(f), Some(l)) => (f.seq, l.seq),
                            _ => (pos.last_seq + 1, pos.last_seq),
                        };
                        for event in synced.events {
                            if !room_for_sync(&handle).await {
                                return None;
                            }
                            let push = confab_engine::push::Push::new(
                                confab_engine::push::PushKind::Event(event),
                            );
                            if handle.offer(Outbound::Push(push)) != Offer::Queued {
                                return None;
                            }
                        }
                        answers.push(SyncedChat::Done {
                            chat_id: pos.chat_id,
                            from_seq,
                            to_seq,
                            last_seq: synced.last_seq,
                            has_more: synced.has_more,
                        });
                    }
                    Err(e) => answers.push(SyncedChat::Failed {
                        chat_id: pos.chat_id,
                        error: e.code(),
                    }),
                }
            }
            Some(answers)
        };
        ctx.spawn(fut.into_actor(self).map(move |answers, act, _| {
            if let Some(answers) = answers {
                act.send(wire::synced(&id, &answers));
            }
        }));
    }
}

/// Sync output leaves this much of the queue to live traffic.
const SYNC_HEADROOM: usize = 64;
/// A reader that takes longer than this to make room is a slow consumer.
const SYNC_STALL: Duration = Duration::from_secs(30);

/// Waits until the socket's queue has room for more sync output, so a large sync is paced by
/// the client's reading instead of overflowing the queue. `false` if the socket is gone or the
/// client stopped reading.
async fn room_for_sync(handle: &SessionHandle) -> bool {
    let started = Instant::now();
    while handle.out.capacity() <= SYNC_HEADROOM {
        if handle.out.is_closed() || started.elapsed() > SYNC_STALL {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let engine = self.engine.clone();
        let handle = self.handle.clone();
        self.send(wire::hello(
            handle.user_id,
            handle.device_session,
            confab_engine::clock::now_millis(),
            HEARTBEAT.as_secs(),
            MAX_FRAME_BYTES,
        ));
        ctx.wait(async move { engine.connect(handle).await }.into_actor(self));
        ctx.run_interval(HEARTBEAT, |act, ctx| {
            if act.last_heard.elapsed() > IDLE_TIMEOUT {
                act.close(ctx, close::HEARTBEAT_TIMEOUT, "heartbeat timeout");
            } else {
                act.handle.offer(Outbound::Ping);
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.calls.session_closed(self.handle.conn_id);
        let engine = self.engine.clone();
        let (user, conn) = (self.handle.user_id, self.handle.conn_id);
        actix::spawn(async move { engine.disconnect(user, conn).await });
    }
}

impl StreamHandler<Result<Inbound, ProtocolError>> for WsSession {
    fn handle(&mut self, frame: Result<Inbound, ProtocolError>, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        let frame = match frame {
            Ok(frame) => frame,
            Err(ProtocolError::Overflow) => {
                return self.close(ctx, close::TOO_BIG, "frame too large")
            }
            Err(e) => {
                tracing::debug!(conn_id = self.handle.conn_id, error = %e, "websocket protocol error");
                return self.close(ctx, 1002, "protocol error");
            }
        };
        match frame {
            Inbound::Ping(data) => {
                self.handle.offer(Outbound::Pong(data));
            }
            Inbound::Pong => {}
            Inbound::Close => self.close(ctx, 1000, "bye"),
            Inbound::TooLarge => self.close(ctx, close::TOO_BIG, "frame too large"),
            Inbound::Binary => {
                if self.admit() {
                    self.error(None, "binary_not_supported", "frames must be JSON text");
                }
            }
            Inbound::Text(text) => {
                if self.admit() {
                    self.on_text(text, ctx);
                } else if self.refused_in_a_row > FLOOD_LIMIT {
                    self.close(ctx, close::FLOOD, "flooding");
                } else {
                    // Every frame gets its answer, this one too (it is not processed).
                    let id = wire::request_id(&text);
                    self.error(
                        id.as_deref(),
                        "rate_limited",
                        "too many frames; slow down and retry",
                    );
                }
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<CloseSession> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(ctx, msg.code, msg.reason);
    }
}
