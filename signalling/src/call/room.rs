//! The room actor: one per live call. It owns the call's [`CallState`] and its SFU room, carries
//! out what the state machine decides (ring, stop ringing, tell the others, renegotiate), and
//! when the call ends writes its history, tells everyone concerned and closes the SFU room.
//! Every message is handled to completion before the next (`AtomicResponse` around SFU calls),
//! so the state never sees two joins interleaved.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use confab_engine::clock::now_millis;
use confab_engine::model::{CallOutcome, CallRecord};
use confab_engine::push::{Outbound, SessionHandle};
use confab_engine::Engine;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::calls::{JoinedCall, Registry};
use super::state::{CallState, Step};
use super::{frames, metrics, CallConfig, CallError, CallObserver, IncomingCall};
use crate::sfu::{self, Sfu, SfuEvent};

pub(crate) struct CallRoom {
    state: CallState,
    sfu: Sfu,
    media: sfu::Room,
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    config: Arc<CallConfig>,
    observer: Arc<dyn CallObserver>,
    /// The socket each participant signals over.
    sessions: HashMap<Uuid, SessionHandle>,
    events: Option<mpsc::UnboundedSender<SfuEvent>>,
    rung: bool,
    finished: bool,
}

type Reply<T> = Result<T, CallError>;

#[derive(Message)]
#[rtype(result = "Result<JoinedCall, CallError>")]
pub(crate) struct Join {
    pub handle: SessionHandle,
    pub sdp: String,
}

#[derive(Message)]
#[rtype(result = "Result<(), CallError>")]
pub(crate) struct Decline {
    pub user: Uuid,
}

#[derive(Message)]
#[rtype(result = "Result<(), CallError>")]
pub(crate) struct HangUp {
    pub user: Uuid,
    pub conn: u64,
}

#[derive(Message)]
#[rtype(result = "Result<(), CallError>")]
pub(crate) struct Answer {
    pub user: Uuid,
    pub conn: u64,
    pub sdp: String,
}

#[derive(Message)]
#[rtype(result = "Result<(), CallError>")]
pub(crate) struct Candidate {
    pub user: Uuid,
    pub conn: u64,
    pub candidate_json: String,
}

#[derive(Message)]
#[rtype(result = "Result<(), CallError>")]
pub(crate) struct Media {
    pub user: Uuid,
    pub conn: u64,
    pub muted: Option<bool>,
    pub camera: Option<bool>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Away {
    pub conn: u64,
}

#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Shutdown;

#[derive(Message)]
#[rtype(result = "()")]
struct Notice(SfuEvent);

/// Writes a finished call's history in the background (logged if the store fails).
pub(crate) fn save(engine: Arc<Engine>, record: CallRecord) {
    actix::spawn(async move {
        if let Err(e) = engine.record_call(record).await {
            tracing::error!(error = %e, "could not record a call");
        }
    });
}

impl CallRoom {
    pub(crate) fn new(
        state: CallState,
        sfu: Sfu,
        engine: Arc<Engine>,
        registry: Arc<Registry>,
        config: Arc<CallConfig>,
        observer: Arc<dyn CallObserver>,
    ) -> Self {
        let media = sfu.room(state.id);
        CallRoom {
            state,
            sfu,
            media,
            engine,
            registry,
            config,
            observer,
            sessions: HashMap::new(),
            events: None,
            rung: false,
            finished: false,
        }
    }

    fn id(&self) -> Uuid {
        self.state.id
    }

    /// To every device of `user` (except `skip`).
    fn to_user(&self, user: Uuid, frame: Bytes, skip: Option<u64>) -> usize {
        self.engine.router.deliver(user, &frames::push(frame), skip)
    }

    /// To the signalling socket of every participant but `except`.
    fn to_participants(&self, frame: &Bytes, except: Option<Uuid>) {
        for (pid, handle) in &self.sessions {
            if Some(*pid) != except {
                handle.offer(Outbound::Frame(frame.clone()));
            }
        }
    }

    fn ring(&mut self, ctx: &mut Context<Self>) {
        self.rung = true;
        let s = &self.state;
        let frame = frames::incoming(
            s.id,
            s.chat_id,
            s.kind,
            s.initiator,
            &self.config.ice_servers,
        );
        let incoming = IncomingCall {
            call_id: s.id,
            chat_id: s.chat_id,
            caller: s.initiator,
            video: s.kind == confab_engine::model::CallKind::Video,
        };
        for user in s.ringing() {
            if self.to_user(*user, frame.clone(), None) == 0 {
                self.observer.incoming(*user, &incoming);
            }
        }
        ctx.run_later(self.config.ring_timeout, |act, ctx| {
            let (missed, step) = act.state.ring_timeout();
            let frame = frames::ring_stopped(act.id(), "timeout");
            for user in missed {
                act.to_user(user, frame.clone(), None);
            }
            act.step(step, ctx);
        });
    }

    /// Removes participant `pid` from the SFU and tells the others.
    fn drop_participant(&mut self, pid: Uuid, user: Uuid, reason: &str) {
        if let Some(handle) = self.sessions.remove(&pid) {
            self.registry.unbind_conn(handle.conn_id, self.id());
        }
        let media = self.media.clone();
        actix::spawn(async move { media.leave(pid).await });
        let frame = frames::participant_left(self.id(), pid, user, reason);
        self.to_participants(&frame, None);
        if !self.state.participants().any(|(_, p)| p.user == user) {
            self.registry.release(user, self.id());
        }
    }

    fn step(&mut self, step: Step, ctx: &mut Context<Self>) {
        if let Step::End(outcome) = step {
            self.finish(outcome, ctx);
        }
    }

    fn finish(&mut self, outcome: CallOutcome, ctx: &mut Context<Self>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.state.end(outcome);
        let record = self.state.record(now_millis());
        metrics::get()
            .outcomes
            .with_label_values(&[record.outcome.as_str()])
            .inc();
        let frame = frames::ended(
            record.id,
            record.chat_id,
            record.outcome,
            record.duration_ms,
        );
        // Ringing devices included: the call is over for every device of everyone concerned.
        for user in record.owners() {
            self.to_user(user, frame.clone(), None);
        }
        for user in &record.invited {
            let joined = record.participants.iter().any(|p| p.user_id == *user);
            if *user != record.initiator && !joined && record.outcome != CallOutcome::Declined {
                self.observer.missed(*user, &record);
            }
        }
        self.sessions.clear();
        self.sfu.close_room(record.id);
        self.registry.remove(record.id);
        tracing::debug!(call_id = %record.id, outcome = record.outcome.as_str(), "call ended");
        save(self.engine.clone(), record);
        self.events = None;
        ctx.stop();
    }

    /// The participant `user` signals for over `conn`.
    fn participant_of(&self, user: Uuid, conn: u64) -> Result<Uuid, CallError> {
        if self.finished {
            return Err(CallError::Ended);
        }
        self.state
            .by_conn(conn)
            .filter(|pid| self.state.participant(*pid).is_some_and(|p| p.user == user))
            .ok_or(CallError::NotInCall)
    }

    fn joined(
        &mut self,
        pid: Uuid,
        handle: SessionHandle,
        answer: Result<String, sfu::SfuError>,
        ctx: &mut Context<Self>,
    ) -> Reply<JoinedCall> {
        let user = handle.user_id;
        let now = now_millis();
        let sdp = match answer {
            Ok(sdp) => sdp,
            Err(e) => {
                if !self.state.participants().any(|(_, p)| p.user == user) {
                    self.registry.release(user, self.id());
                }
                if !self.rung {
                    // The caller's own offer failed: nobody was rung, nothing to record.
                    self.finished = true;
                    self.sfu.close_room(self.id());
                    self.registry.remove(self.id());
                    ctx.stop();
                }
                return Err(e.into());
            }
        };
        let joined = match self.state.join(pid, user, handle.conn_id, now) {
            Ok(j) => j,
            Err(r) => {
                let media = self.media.clone();
                actix::spawn(async move { media.leave(pid).await });
                return Err(r.into());
            }
        };
        if let Some(old) = joined.replaced {
            self.drop_participant(old, user, "reconnected");
        }
        if joined.was_ringing {
            let frame = frames::ring_stopped(self.id(), "answered_elsewhere");
            self.to_user(user, frame, Some(handle.conn_id));
        }
        if let Some(p) = self.state.participant(pid) {
            let frame = frames::participant_joined(self.id(), pid, p);
            self.to_participants(&frame, None);
        }
        self.registry.bind_conn(handle.conn_id, self.id());
        self.sessions.insert(pid, handle);
        if !self.rung {
            self.ring(ctx);
        }
        let others = self
            .state
            .participants()
            .filter(|(p, _)| **p != pid)
            .map(|(p, v)| (*p, v.clone()))
            .collect();
        Ok(JoinedCall {
            call_id: self.id(),
            chat_id: self.state.chat_id,
            kind: self.state.kind,
            participant_id: pid,
            sdp,
            others,
        })
    }
}

impl Actor for CallRoom {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.events = Some(tx);
        let room = ctx.address().downgrade();
        actix::spawn(async move {
            while let Some(event) = rx.recv().await {
                match room.upgrade() {
                    Some(addr) => addr.do_send(Notice(event)),
                    None => break,
                }
            }
        });
    }
}

impl Handler<Join> for CallRoom {
    type Result = AtomicResponse<Self, Reply<JoinedCall>>;

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) -> Self::Result {
        let user = msg.handle.user_id;
        let checked = match (&self.events, self.finished) {
            (Some(events), false) => self.state.check_join(user).map(|_| events.clone()),
            _ => Err(super::state::Refusal::Ended),
        };
        let events = match checked {
            Ok(events) => events,
            Err(r) => {
                if !self.state.participants().any(|(_, p)| p.user == user) {
                    self.registry.release(user, self.id());
                }
                return AtomicResponse::new(Box::pin(fut::ready(Err(r.into()))));
            }
        };
        let pid = Uuid::new_v4();
        let media = self.media.clone();
        let handle = msg.handle;
        let sdp = msg.sdp;
        AtomicResponse::new(Box::pin(
            async move { media.join(pid, sdp, events).await }
                .into_actor(self)
                .map(move |answer, act, ctx| act.joined(pid, handle, answer, ctx)),
        ))
    }
}

impl Handler<Decline> for CallRoom {
    type Result = Reply<()>;

    fn handle(&mut self, msg: Decline, ctx: &mut Context<Self>) -> Self::Result {
        let step = self.state.decline(msg.user)?;
        self.to_user(msg.user, frames::ring_stopped(self.id(), "declined"), None);
        self.step(step, ctx);
        Ok(())
    }
}

impl Handler<HangUp> for CallRoom {
    type Result = Reply<()>;

    fn handle(&mut self, msg: HangUp, ctx: &mut Context<Self>) -> Self::Result {
        let (gone, step) = self.state.hang_up(msg.user, msg.conn, now_millis())?;
        if let Some(pid) = gone {
            self.drop_participant(pid, msg.user, "left");
        }
        self.step(step, ctx);
        Ok(())
    }
}

impl Handler<Answer> for CallRoom {
    type Result = ResponseFuture<Reply<()>>;

    fn handle(&mut self, msg: Answer, _: &mut Context<Self>) -> Self::Result {
        let pid = match self.participant_of(msg.user, msg.conn) {
            Ok(pid) => pid,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let media = self.media.clone();
        Box::pin(async move { media.answer(pid, msg.sdp).await.map_err(CallError::from) })
    }
}

impl Handler<Candidate> for CallRoom {
    type Result = ResponseFuture<Reply<()>>;

    fn handle(&mut self, msg: Candidate, _: &mut Context<Self>) -> Self::Result {
        let pid = match self.participant_of(msg.user, msg.conn) {
            Ok(pid) => pid,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let media = self.media.clone();
        Box::pin(async move {
            media
                .add_candidate(pid, msg.candidate_json)
                .await
                .map_err(CallError::from)
        })
    }
}

impl Handler<Media> for CallRoom {
    type Result = Reply<()>;

    fn handle(&mut self, msg: Media, _: &mut Context<Self>) -> Self::Result {
        let pid = self.participant_of(msg.user, msg.conn)?;
        let id = self.id();
        let frame = match self.state.media(pid, msg.muted, msg.camera) {
            Some(p) => frames::media(id, pid, p),
            None => return Err(CallError::NotInCall),
        };
        self.to_participants(&frame, Some(pid));
        Ok(())
    }
}

impl Handler<Away> for CallRoom {
    type Result = ();

    fn handle(&mut self, msg: Away, ctx: &mut Context<Self>) {
        let Some(pid) = self.state.away(msg.conn, now_millis()) else {
            return;
        };
        self.sessions.remove(&pid);
        ctx.run_later(self.config.reconnect_grace, move |act, ctx| {
            let user = act.state.participant(pid).map(|p| p.user);
            let step = act.state.grace_over(pid, now_millis());
            if let Some(user) = user {
                if act.state.participant(pid).is_none() {
                    act.drop_participant(pid, user, "dropped");
                }
            }
            act.step(step, ctx);
        });
    }
}

impl Handler<Shutdown> for CallRoom {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        let outcome = if self.state.answered_at.is_some() {
            CallOutcome::Answered
        } else {
            CallOutcome::Failed
        };
        self.finish(outcome, ctx);
    }
}

impl Handler<Notice> for CallRoom {
    type Result = ();

    fn handle(&mut self, Notice(event): Notice, ctx: &mut Context<Self>) {
        match event {
            SfuEvent::Offer { participant, sdp } => {
                if let Some(h) = self.sessions.get(&participant) {
                    h.offer(Outbound::Frame(frames::offer(self.id(), &sdp)));
                }
            }
            SfuEvent::Candidate {
                participant,
                candidate_json,
            } => {
                let candidate = serde_json::from_str(&candidate_json)
                    .unwrap_or(serde_json::Value::String(candidate_json));
                if let Some(h) = self.sessions.get(&participant) {
                    h.offer(Outbound::Frame(frames::candidate(self.id(), candidate)));
                }
            }
            SfuEvent::Connected { .. } => {}
            SfuEvent::Failed { participant } => {
                let Some(user) = self.state.participant(participant).map(|p| p.user) else {
                    return;
                };
                let step = self.state.leave(participant, now_millis());
                self.drop_participant(participant, user, "failed");
                self.step(step, ctx);
            }
        }
    }
}
