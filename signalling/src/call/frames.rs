//! The server frames of calls (docs/PROTOCOL.md, "Calls"), encoded here because only the call
//! layer produces them; they travel as [`PushKind::Frame`] or a session's `Outbound::Frame`.

use bytes::Bytes;
use confab_engine::model::{CallKind, CallOutcome};
use confab_engine::push::{Push, PushKind};
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

use super::state::Participant;
use super::IceServer;

fn frame(ty: &str, id: Option<&str>, mut body: Value) -> Bytes {
    if let Value::Object(map) = &mut body {
        map.insert("v".into(), json!(1));
        map.insert("type".into(), json!(ty));
        if let Some(id) = id {
            map.insert("id".into(), json!(id));
        }
    }
    match serde_json::to_vec(&body) {
        Ok(v) => Bytes::from(v),
        Err(_) => Bytes::from_static(
            br#"{"v":1,"type":"error","id":null,"code":"internal","message":"encoding failed"}"#,
        ),
    }
}

pub fn push(bytes: Bytes) -> Arc<Push> {
    Push::new(PushKind::Frame(bytes))
}

pub fn kind_str(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Voice => "voice",
        CallKind::Video => "video",
    }
}

pub fn participant_view(pid: Uuid, p: &Participant) -> Value {
    json!({"participant_id": pid, "user_id": p.user, "muted": p.muted, "camera": p.camera})
}

pub fn incoming(
    call_id: Uuid,
    chat_id: Uuid,
    kind: CallKind,
    caller: Uuid,
    ice_servers: &[IceServer],
) -> Bytes {
    frame(
        "call_incoming",
        None,
        json!({"call_id": call_id, "chat_id": chat_id, "kind": kind_str(kind), "caller": caller,
            "ice_servers": ice_servers}),
    )
}

pub fn ring_stopped(call_id: Uuid, reason: &str) -> Bytes {
    frame(
        "call_ring_stopped",
        None,
        json!({"call_id": call_id, "reason": reason}),
    )
}

/// The answer to `call_start` (`call_started`) or `call_join` (`call_joined`).
#[allow(clippy::too_many_arguments)]
pub fn joined(
    ty: &str,
    id: &str,
    call_id: Uuid,
    chat_id: Uuid,
    kind: CallKind,
    participant_id: Uuid,
    sdp: &str,
    others: Vec<Value>,
) -> Bytes {
    frame(
        ty,
        Some(id),
        json!({"call_id": call_id, "chat_id": chat_id, "kind": kind_str(kind),
            "participant_id": participant_id, "sdp": sdp, "participants": others}),
    )
}

pub fn participant_joined(call_id: Uuid, pid: Uuid, p: &Participant) -> Bytes {
    let mut body = participant_view(pid, p);
    body["call_id"] = json!(call_id);
    frame("call_participant_joined", None, body)
}

pub fn participant_left(call_id: Uuid, pid: Uuid, user: Uuid, reason: &str) -> Bytes {
    frame(
        "call_participant_left",
        None,
        json!({"call_id": call_id, "participant_id": pid, "user_id": user, "reason": reason}),
    )
}

pub fn media(call_id: Uuid, pid: Uuid, p: &Participant) -> Bytes {
    let mut body = participant_view(pid, p);
    body["call_id"] = json!(call_id);
    frame("call_media", None, body)
}

pub fn offer(call_id: Uuid, sdp: &str) -> Bytes {
    frame("call_offer", None, json!({"call_id": call_id, "sdp": sdp}))
}

pub fn candidate(call_id: Uuid, candidate: Value) -> Bytes {
    frame(
        "call_candidate",
        None,
        json!({"call_id": call_id, "candidate": candidate}),
    )
}

pub fn ended(call_id: Uuid, chat_id: Uuid, outcome: CallOutcome, duration_ms: i64) -> Bytes {
    frame(
        "call_ended",
        None,
        json!({"call_id": call_id, "chat_id": chat_id, "outcome": outcome.as_str(),
            "duration_ms": duration_ms}),
    )
}
