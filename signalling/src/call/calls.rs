//! [`Calls`]: what a WebSocket session asks of calls. It checks who may call whom, keeps the
//! node's index of live calls (by call, by chat, who is busy, which socket is in which call)
//! and hands everything else to the call's room actor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use actix::{Actor, Addr, MailboxError};
use bytes::Bytes;
use confab_engine::model::{CallKind, CallOutcome, CallRecord, ChatKind};
use confab_engine::push::SessionHandle;
use confab_engine::{Engine, EngineError};
use serde_json::Value;
use uuid::Uuid;

use super::room::{self, CallRoom};
use super::state::{CallState, Participant};
use super::{frames, metrics, CallConfig, CallError, CallObserver, IceServer, MAX_SDP_BYTES};
use crate::sfu::Sfu;

/// The answer to a start or a join: the SFU's SDP answer and who else is in the call.
#[derive(Debug, Clone)]
pub struct JoinedCall {
    pub call_id: Uuid,
    pub chat_id: Uuid,
    pub kind: CallKind,
    pub participant_id: Uuid,
    pub sdp: String,
    pub others: Vec<(Uuid, Participant)>,
}

impl JoinedCall {
    /// The answer frame: `ty` is `call_started` or `call_joined`.
    pub fn frame(&self, ty: &str, request_id: &str) -> Bytes {
        let others: Vec<Value> = self
            .others
            .iter()
            .map(|(pid, p)| frames::participant_view(*pid, p))
            .collect();
        frames::joined(
            ty,
            request_id,
            self.call_id,
            self.chat_id,
            self.kind,
            self.participant_id,
            &self.sdp,
            others,
        )
    }
}

struct Live {
    addr: Addr<CallRoom>,
    chat_id: Uuid,
}

#[derive(Default)]
struct Index {
    calls: HashMap<Uuid, Live>,
    by_chat: HashMap<Uuid, Uuid>,
    /// user -> the call they are in (or calling from): they are busy.
    engaged: HashMap<Uuid, Uuid>,
    /// socket -> the call it signals for.
    conns: HashMap<u64, Uuid>,
}

/// The node's live calls. Shared by the facade and the room actors.
#[derive(Default)]
pub(crate) struct Registry {
    index: Mutex<Index>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn room(&self, call_id: Uuid) -> Result<(Addr<CallRoom>, Uuid), CallError> {
        self.lock()
            .calls
            .get(&call_id)
            .map(|l| (l.addr.clone(), l.chat_id))
            .ok_or(CallError::CallNotFound)
    }

    /// Marks `user` as in `call_id`; `AlreadyInCall` if they are in another one.
    fn engage(&self, user: Uuid, call_id: Uuid) -> Result<(), CallError> {
        let mut index = self.lock();
        match index.engaged.get(&user) {
            Some(c) if *c != call_id => Err(CallError::AlreadyInCall),
            _ => {
                index.engaged.insert(user, call_id);
                Ok(())
            }
        }
    }

    pub(crate) fn release(&self, user: Uuid, call_id: Uuid) {
        let mut index = self.lock();
        if index.engaged.get(&user) == Some(&call_id) {
            index.engaged.remove(&user);
        }
    }

    pub(crate) fn bind_conn(&self, conn: u64, call_id: Uuid) {
        self.lock().conns.insert(conn, call_id);
    }

    pub(crate) fn unbind_conn(&self, conn: u64, call_id: Uuid) {
        let mut index = self.lock();
        if index.conns.get(&conn) == Some(&call_id) {
            index.conns.remove(&conn);
        }
    }

    /// Forgets an ended call and everything pointing at it.
    pub(crate) fn remove(&self, call_id: Uuid) {
        let mut index = self.lock();
        if let Some(live) = index.calls.remove(&call_id) {
            if index.by_chat.get(&live.chat_id) == Some(&call_id) {
                index.by_chat.remove(&live.chat_id);
            }
            metrics::get().live.dec();
        }
        index.engaged.retain(|_, c| *c != call_id);
        index.conns.retain(|_, c| *c != call_id);
    }
}

pub struct Calls {
    engine: Arc<Engine>,
    sfu: Option<Sfu>,
    config: Arc<CallConfig>,
    observer: Arc<dyn CallObserver>,
    registry: Arc<Registry>,
}

fn mailbox(_: MailboxError) -> CallError {
    CallError::Ended
}

fn check_sdp(sdp: &str) -> Result<(), CallError> {
    if sdp.trim().is_empty() || sdp.len() > MAX_SDP_BYTES {
        return Err(CallError::Validation("sdp: 1 to 32768 bytes"));
    }
    Ok(())
}

impl Calls {
    /// `sfu: None` (it could not start) answers every call request `unavailable`.
    pub fn new(
        engine: Arc<Engine>,
        sfu: Option<Sfu>,
        config: CallConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Arc<Self> {
        metrics::get();
        Arc::new(Calls {
            engine,
            sfu,
            config: Arc::new(config),
            observer,
            registry: Arc::new(Registry::default()),
        })
    }

    pub fn ice_servers(&self) -> &[IceServer] {
        &self.config.ice_servers
    }

    /// Calls ringing or in progress on this node.
    pub fn live(&self) -> usize {
        self.registry.lock().calls.len()
    }

    /// Starts a call in `chat_id` with the caller's offer; rings every other member's devices.
    pub async fn start(
        &self,
        caller: &SessionHandle,
        chat_id: Uuid,
        kind: CallKind,
        sdp: String,
    ) -> Result<JoinedCall, CallError> {
        let sfu = self.sfu.as_ref().ok_or(CallError::Unavailable)?;
        check_sdp(&sdp)?;
        let me = caller.user_id;
        let view = self.engine.chat_view(me, chat_id).await?;
        let direct = view.chat.kind == ChatKind::Direct;
        let invited: Vec<Uuid> = view
            .members
            .iter()
            .map(|m| m.user_id)
            .filter(|u| *u != me)
            .collect();
        if invited.is_empty() {
            return Err(CallError::Validation("there is nobody else in this chat"));
        }
        if direct && self.engine.blocked_between(me, invited[0]).await? {
            return Err(EngineError::Blocked("you cannot call this user").into());
        }
        let call_id = Uuid::now_v7();
        let now = confab_engine::clock::now_millis();
        let addr = {
            let mut index = self.registry.lock();
            if index.by_chat.contains_key(&chat_id) {
                return Err(CallError::CallInProgress);
            }
            if index.engaged.contains_key(&me) {
                return Err(CallError::AlreadyInCall);
            }
            if direct && index.engaged.contains_key(&invited[0]) {
                drop(index);
                self.record_busy(call_id, chat_id, kind, me, invited[0], now);
                return Err(CallError::Busy);
            }
            let state = CallState::new(call_id, chat_id, kind, direct, me, invited, now);
            let addr = CallRoom::new(
                state,
                sfu.clone(),
                self.engine.clone(),
                self.registry.clone(),
                self.config.clone(),
                self.observer.clone(),
            )
            .start();
            index.calls.insert(
                call_id,
                Live {
                    addr: addr.clone(),
                    chat_id,
                },
            );
            index.by_chat.insert(chat_id, call_id);
            index.engaged.insert(me, call_id);
            metrics::get().live.inc();
            addr
        };
        addr.send(room::Join {
            handle: caller.clone(),
            sdp,
        })
        .await
        .map_err(mailbox)?
    }

    /// A 1:1 call to a busy callee is over before it starts; both see it in their history.
    fn record_busy(
        &self,
        call_id: Uuid,
        chat_id: Uuid,
        kind: CallKind,
        caller: Uuid,
        callee: Uuid,
        now: i64,
    ) {
        let record = CallRecord {
            id: call_id,
            chat_id,
            kind,
            initiator: caller,
            invited: vec![caller, callee],
            participants: Vec::new(),
            started_at: now,
            answered_at: None,
            ended_at: now,
            duration_ms: 0,
            outcome: CallOutcome::Busy,
        };
        metrics::get()
            .outcomes
            .with_label_values(&[CallOutcome::Busy.as_str()])
            .inc();
        room::save(self.engine.clone(), record);
    }

    /// Answers a ringing call, joins a live group call, or rejoins after a dropped socket.
    pub async fn join(
        &self,
        who: &SessionHandle,
        call_id: Uuid,
        sdp: String,
    ) -> Result<JoinedCall, CallError> {
        check_sdp(&sdp)?;
        let (addr, chat_id) = self.registry.room(call_id)?;
        match self.engine.chat_view(who.user_id, chat_id).await {
            Ok(_) => {}
            Err(EngineError::NotFound(_)) => return Err(CallError::CallNotFound),
            Err(e) => return Err(e.into()),
        }
        self.registry.engage(who.user_id, call_id)?;
        addr.send(room::Join {
            handle: who.clone(),
            sdp,
        })
        .await
        .map_err(mailbox)?
    }

    pub async fn decline(&self, user: Uuid, call_id: Uuid) -> Result<(), CallError> {
        let (addr, _) = self.registry.room(call_id)?;
        addr.send(room::Decline { user }).await.map_err(mailbox)?
    }

    /// Leaves the call (the caller before any answer cancels it).
    pub async fn hang_up(&self, who: &SessionHandle, call_id: Uuid) -> Result<(), CallError> {
        let (addr, _) = self.registry.room(call_id)?;
        addr.send(room::HangUp {
            user: who.user_id,
            conn: who.conn_id,
        })
        .await
        .map_err(mailbox)?
    }

    /// The client's SDP answer to a `call_offer`.
    pub async fn answer(
        &self,
        who: &SessionHandle,
        call_id: Uuid,
        sdp: String,
    ) -> Result<(), CallError> {
        check_sdp(&sdp)?;
        let (addr, _) = self.registry.room(call_id)?;
        addr.send(room::Answer {
            user: who.user_id,
            conn: who.conn_id,
            sdp,
        })
        .await
        .map_err(mailbox)?
    }

    /// A trickled ICE candidate (RTCIceCandidateInit JSON).
    pub async fn candidate(
        &self,
        who: &SessionHandle,
        call_id: Uuid,
        candidate_json: String,
    ) -> Result<(), CallError> {
        let (addr, _) = self.registry.room(call_id)?;
        addr.send(room::Candidate {
            user: who.user_id,
            conn: who.conn_id,
            candidate_json,
        })
        .await
        .map_err(mailbox)?
    }

    /// Mute/unmute and camera on/off, broadcast to the other participants.
    pub async fn media(
        &self,
        who: &SessionHandle,
        call_id: Uuid,
        muted: Option<bool>,
        camera: Option<bool>,
    ) -> Result<(), CallError> {
        let (addr, _) = self.registry.room(call_id)?;
        addr.send(room::Media {
            user: who.user_id,
            conn: who.conn_id,
            muted,
            camera,
        })
        .await
        .map_err(mailbox)?
    }

    /// A socket closed: its participant (if any) gets the grace period to rejoin.
    pub fn session_closed(&self, conn: u64) {
        let found = {
            let mut index = self.registry.lock();
            index
                .conns
                .remove(&conn)
                .and_then(|call| index.calls.get(&call).map(|l| l.addr.clone()))
        };
        if let Some(addr) = found {
            addr.do_send(room::Away { conn });
        }
    }

    /// Ends every live call (server shutdown): each is recorded.
    pub fn shutdown(&self) {
        let rooms: Vec<Addr<CallRoom>> = self
            .registry
            .lock()
            .calls
            .values()
            .map(|l| l.addr.clone())
            .collect();
        for addr in rooms {
            addr.do_send(room::Shutdown);
        }
    }
}
