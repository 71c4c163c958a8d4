//! The WebSocket protocol v1 (docs/PROTOCOL.md): client requests, and the encoding of every
//! server frame. Client frames are `{"v":1,"id":..,"type":..,...}`; the envelope is read first,
//! then the rest of the object strictly, by type.

use bytes::Bytes;
use confab_engine::chat::Sent;
use confab_engine::chats::{ChatSummary, MemberReceipt};
use confab_engine::content::MessageContent;
use confab_engine::model::{ReceiptKind, StoredEvent};
use confab_engine::push::PushKind;
use confab_engine::status::StatusPush;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::wire::chat::ChatSummaryView;
use crate::wire::status::StatusItem;

pub const VERSION: u8 = 1;

/// A client request, by `type`.
#[derive(Debug)]
pub enum Request {
    Send(SendRequest),
    Delivered(ReceiptRequest),
    Read(ReceiptRequest),
    MessageInfo(ReceiptRequest),
    Typing(TypingRequest),
    PresenceSubscribe(PresenceRequest),
    PresenceUnsubscribe(PresenceRequest),
    Sync(SyncRequest),
    Chats(Empty),
    Ping(Empty),
    Edit(EditRequest),
    Delete(DeleteRequest),
    React(ReactRequest),
    Forward(ForwardRequest),
    Broadcast(BroadcastRequest),
    CallStart(CallStartRequest),
    CallJoin(CallSdpRequest),
    CallDecline(CallRequest),
    CallHangup(CallRequest),
    CallAnswer(CallSdpRequest),
    CallCandidate(CallCandidateRequest),
    CallMedia(CallMediaRequest),
}

impl Request {
    /// The metric label of a request.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Send(_) => "send",
            Request::Delivered(_) => "delivered",
            Request::Read(_) => "read",
            Request::MessageInfo(_) => "message_info",
            Request::Typing(_) => "typing",
            Request::PresenceSubscribe(_) => "presence_subscribe",
            Request::PresenceUnsubscribe(_) => "presence_unsubscribe",
            Request::Sync(_) => "sync",
            Request::Chats(_) => "chats",
            Request::Ping(_) => "ping",
            Request::Edit(_) => "edit",
            Request::Delete(_) => "delete",
            Request::React(_) => "react",
            Request::Forward(_) => "forward",
            Request::Broadcast(_) => "broadcast",
            Request::CallStart(_) => "call_start",
            Request::CallJoin(_) => "call_join",
            Request::CallDecline(_) => "call_decline",
            Request::CallHangup(_) => "call_hangup",
            Request::CallAnswer(_) => "call_answer",
            Request::CallCandidate(_) => "call_candidate",
            Request::CallMedia(_) => "call_media",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub chat_id: Uuid,
    pub client_id: String,
    pub content: MessageContent,
    #[serde(default)]
    pub reply_to: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    pub chat_id: Uuid,
    pub seq: u64,
    pub content: MessageContent,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeleteFor {
    Everyone,
    Me,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    pub chat_id: Uuid,
    pub seq: u64,
    #[serde(rename = "for")]
    pub for_whom: DeleteFor,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactRequest {
    pub chat_id: Uuid,
    pub seq: u64,
    /// `null` removes my reaction.
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    pub chat_id: Uuid,
    pub seq: u64,
    pub to: Vec<Uuid>,
    pub client_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    pub list_id: Uuid,
    pub client_id: String,
    pub content: MessageContent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallStartRequest {
    pub chat_id: Uuid,
    pub kind: confab_engine::model::CallKind,
    /// The caller's SDP offer, with every track it publishes.
    pub sdp: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    pub call_id: Uuid,
}

/// `call_join` (an SDP offer) and `call_answer` (an SDP answer to a `call_offer`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSdpRequest {
    pub call_id: Uuid,
    pub sdp: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCandidateRequest {
    pub call_id: Uuid,
    /// An `RTCIceCandidateInit`: `{"candidate", "sdpMid", "sdpMLineIndex"}`.
    pub candidate: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallMediaRequest {
    pub call_id: Uuid,
    #[serde(default)]
    pub muted: Option<bool>,
    #[serde(default)]
    pub camera: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRequest {
    pub chat_id: Uuid,
    pub seq: u64,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    Typing,
    Paused,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingRequest {
    pub chat_id: Uuid,
    pub state: TypingState,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    pub user_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncPosition {
    pub chat_id: Uuid,
    pub last_seq: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub chats: Vec<SyncPosition>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// The codes a session answers before a request reaches the engine (reading the frame, its
/// size, the socket's rate); with [`confab_engine::EngineError::CODES`] and the call codes
/// they are the WS error table of docs/PROTOCOL.md, which a test holds to this list.
pub const FRAME_CODES: &[&str] = &[
    "malformed_json",
    "unsupported_version",
    "unknown_type",
    "validation_failed",
    "binary_not_supported",
    "frame_too_large",
    "rate_limited",
];

/// Why a client frame could not be read. `id` is the request id when it could be read.
#[derive(Debug)]
pub struct BadFrame {
    pub id: Option<String>,
    pub code: &'static str,
    pub message: String,
}

fn bad(id: Option<&str>, code: &'static str, message: impl Into<String>) -> BadFrame {
    BadFrame {
        id: id.map(str::to_owned),
        code,
        message: message.into(),
    }
}

/// The frame is a JSON object, so anything wrong inside it (a missing, unknown or mistyped
/// field, a value outside its rule) is `validation_failed`; `malformed_json` is kept for frames
/// that are not a JSON object at all.
fn fields<T: DeserializeOwned>(id: &str, rest: Map<String, Value>) -> Result<T, BadFrame> {
    serde_json::from_value(Value::Object(rest))
        .map_err(|e| bad(Some(id), "validation_failed", e.to_string()))
}

/// Just the request id of a frame (for answering a frame that is not processed).
pub fn request_id(text: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<String>,
    }
    serde_json::from_slice::<IdOnly>(text)
        .ok()
        .and_then(|f| f.id)
        .filter(|id| (1..=64).contains(&id.chars().count()))
}

/// Reads one client text frame: `(request id, request)`.
pub fn parse(text: &[u8]) -> Result<(String, Request), BadFrame> {
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| bad(None, "malformed_json", format!("not JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(bad(None, "malformed_json", "a frame must be a JSON object"));
    };
    let id = match object.remove("id") {
        Some(Value::String(id)) if (1..=64).contains(&id.chars().count()) => id,
        _ => {
            return Err(bad(
                None,
                "validation_failed",
                "id: a string of 1 to 64 characters is required",
            ))
        }
    };
    match object.remove("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(VERSION)) => {}
        Some(_) => {
            return Err(bad(
                Some(&id),
                "unsupported_version",
                "v: this server speaks version 1",
            ))
        }
        None => return Err(bad(Some(&id), "validation_failed", "v: required (1)")),
    }
    let kind = match object.remove("type") {
        Some(Value::String(t)) => t,
        _ => {
            return Err(bad(
                Some(&id),
                "validation_failed",
                "type: a string is required",
            ))
        }
    };
    let request = match kind.as_str() {
        "send" => Request::Send(fields(&id, object)?),
        "delivered" => Request::Delivered(fields(&id, object)?),
        "read" => Request::Read(fields(&id, object)?),
        "message_info" => Request::MessageInfo(fields(&id, object)?),
        "typing" => Request::Typing(fields(&id, object)?),
        "presence_subscribe" => Request::PresenceSubscribe(fields(&id, object)?),
        "presence_unsubscribe" => Request::PresenceUnsubscribe(fields(&id, object)?),
        "sync" => Request::Sync(fields(&id, object)?),
        "chats" => Request::Chats(fields(&id, object)?),
        "ping" => Request::Ping(fields(&id, object)?),
        "edit" => Request::Edit(fields(&id, object)?),
        "delete" => Request::Delete(fields(&id, object)?),
        "react" => Request::React(fields(&id, object)?),
        "forward" => Request::Forward(fields(&id, object)?),
        "broadcast" => Request::Broadcast(fields(&id, object)?),
        "call_start" => Request::CallStart(fields(&id, object)?),
        "call_join" => Request::CallJoin(fields(&id, object)?),
        "call_decline" => Request::CallDecline(fields(&id, object)?),
        "call_hangup" => Request::CallHangup(fields(&id, object)?),
        "call_answer" => Request::CallAnswer(fields(&id, object)?),
        "call_candidate" => Request::CallCandidate(fields(&id, object)?),
        "call_media" => Request::CallMedia(fields(&id, object)?),
        other => {
            let shown: String = other.chars().take(32).collect();
            return Err(bad(
                Some(&id),
                "unknown_type",
                format!("unknown type {shown:?}"),
            ));
        }
    };
    Ok((id, request))
}

// ---- server frames ----

fn to_bytes<T: Serialize>(frame: &T) -> Bytes {
    match serde_json::to_vec(frame) {
        Ok(v) => Bytes::from(v),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a server frame");
            Bytes::from_static(br#"{"v":1,"type":"error","id":null,"code":"internal","message":"encoding failed"}"#)
        }
    }
}

/// An event as it appears on the wire (in `event` frames, sync, and REST history).
#[derive(Serialize)]
pub struct EventBody<'a> {
    pub chat_id: Uuid,
    pub seq: u64,
    pub sender: Uuid,
    pub at: i64,
    pub kind: &'a str,
    pub client_id: Option<&'a str>,
    pub content: &'a RawValue,
}

const NULL_CONTENT: &str = "null";

impl<'a> EventBody<'a> {
    pub fn new(e: &'a StoredEvent) -> Self {
        // The store keeps what the engine wrote: valid JSON. Fall back to null, never fail.
        let content = serde_json::from_str::<&RawValue>(&e.body)
            .or_else(|_| serde_json::from_str::<&RawValue>(NULL_CONTENT))
            .unwrap_or_else(|_| unreachable_null());
        EventBody {
            chat_id: e.chat_id,
            seq: e.seq,
            sender: e.sender,
            at: e.at,
            kind: &e.kind,
            client_id: e.client_id.as_deref(),
            content,
        }
    }
}

fn unreachable_null() -> &'static RawValue {
    // `null` always parses; this keeps the hot path free of unwraps.
    static NULL: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    NULL.get_or_init(|| {
        RawValue::from_string(NULL_CONTENT.to_owned())
            .unwrap_or_else(|_| Box::<RawValue>::default())
    })
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    v: u8,
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(flatten)]
    body: T,
}

fn frame<T: Serialize>(ty: &str, id: Option<&str>, body: T) -> Bytes {
    to_bytes(&Tagged {
        v: VERSION,
        ty,
        id,
        body,
    })
}

fn receipt_kind(k: ReceiptKind) -> &'static str {
    match k {
        ReceiptKind::Delivered => "delivered",
        ReceiptKind::Read => "read",
    }
}

/// The frame of a push (event, receipt, typing, presence).
pub fn encode_push(kind: &PushKind) -> Bytes {
    match kind {
        PushKind::Event(e) => frame("event", None, EventBody::new(e)),
        PushKind::Frame(bytes) => bytes.clone(),
        PushKind::Receipt {
            chat_id,
            user_id,
            kind,
            up_to_seq,
            at,
        } => frame(
            "receipt",
            None,
            serde_json::json!({"chat_id": chat_id, "user_id": user_id, "kind": receipt_kind(*kind), "up_to_seq": up_to_seq, "at": at}),
        ),
        PushKind::Typing {
            chat_id,
            user_id,
            typing,
        } => frame(
            "typing",
            None,
            serde_json::json!({"chat_id": chat_id, "user_id": user_id, "state": if *typing { "typing" } else { "paused" }}),
        ),
        PushKind::Hidden { chat_id, seqs } => frame(
            "hidden",
            None,
            serde_json::json!({"chat_id": chat_id, "seqs": seqs}),
        ),
        PushKind::Presence {
            user_id,
            online,
            last_seen,
        } => frame(
            "presence",
            None,
            serde_json::json!({"user_id": user_id, "online": online, "last_seen": last_seen}),
        ),
        PushKind::Status(StatusPush::Posted(item)) => frame(
            "status",
            None,
            serde_json::json!({"status": StatusItem::from(item.clone())}),
        ),
        PushKind::Status(StatusPush::Deleted { owner, status_id }) => frame(
            "status_deleted",
            None,
            serde_json::json!({"user_id": owner, "status_id": status_id}),
        ),
    }
}

pub fn hello(
    user_id: Uuid,
    session_id: Uuid,
    server_time: i64,
    heartbeat_secs: u64,
    max_frame_bytes: usize,
) -> Bytes {
    frame(
        "hello",
        None,
        serde_json::json!({"user_id": user_id, "session_id": session_id, "server_time": server_time,
            "heartbeat_secs": heartbeat_secs, "max_frame_bytes": max_frame_bytes}),
    )
}

pub fn error(id: Option<&str>, code: &str, message: &str) -> Bytes {
    error_frame(id, code, message, None)
}

/// `rate_limited`, with how long to wait before retrying.
pub fn rate_limited(id: Option<&str>, message: &str, retry_after_ms: u64) -> Bytes {
    error_frame(id, "rate_limited", message, Some(retry_after_ms))
}

fn error_frame(id: Option<&str>, code: &str, message: &str, retry_after_ms: Option<u64>) -> Bytes {
    #[derive(Serialize)]
    struct Error<'a> {
        v: u8,
        #[serde(rename = "type")]
        ty: &'static str,
        id: Option<&'a str>,
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    }
    to_bytes(&Error {
        v: VERSION,
        ty: "error",
        id,
        code,
        message,
        retry_after_ms,
    })
}

pub fn ok(id: &str) -> Bytes {
    frame("ok", Some(id), serde_json::json!({}))
}

pub fn pong(id: &str) -> Bytes {
    frame("pong", Some(id), serde_json::json!({}))
}

pub fn sent(id: &str, s: &Sent) -> Bytes {
    frame(
        "sent",
        Some(id),
        serde_json::json!({"chat_id": s.chat_id, "seq": s.seq, "client_id": s.client_id, "at": s.at, "duplicate": s.duplicate}),
    )
}

/// Answer to `forward`: one line per target chat.
pub fn forwarded(id: &str, results: &[(Uuid, Result<u64, &'static str>)]) -> Bytes {
    let lines: Vec<Value> = results
        .iter()
        .map(|(chat_id, r)| match r {
            Ok(seq) => serde_json::json!({"chat_id": chat_id, "seq": seq}),
            Err(code) => serde_json::json!({"chat_id": chat_id, "error": code}),
        })
        .collect();
    frame(
        "forwarded",
        Some(id),
        serde_json::json!({ "results": lines }),
    )
}

/// Answer to `broadcast`: one line per recipient (see REST `BroadcastResult`).
pub fn broadcasted(id: &str, results: &[crate::wire::chat::BroadcastResult]) -> Bytes {
    frame(
        "broadcasted",
        Some(id),
        serde_json::json!({ "results": results }),
    )
}

pub fn message_info(id: &str, chat_id: Uuid, seq: u64, members: &[MemberReceipt]) -> Bytes {
    let members: Vec<Value> = members
        .iter()
        .map(|m| serde_json::json!({"user_id": m.user_id, "delivered_at": m.delivered_at, "read_at": m.read_at}))
        .collect();
    frame(
        "message_info",
        Some(id),
        serde_json::json!({"chat_id": chat_id, "seq": seq, "members": members}),
    )
}

/// One chat's line in a `synced` answer.
#[derive(Serialize)]
#[serde(untagged)]
pub enum SyncedChat {
    Done {
        chat_id: Uuid,
        from_seq: u64,
        to_seq: u64,
        last_seq: u64,
        has_more: bool,
    },
    Failed {
        chat_id: Uuid,
        error: &'static str,
    },
}

pub fn synced(id: &str, chats: &[SyncedChat]) -> Bytes {
    frame("synced", Some(id), serde_json::json!({ "chats": chats }))
}

pub fn chat_list(id: &str, chats: &[ChatSummary]) -> Bytes {
    let views: Vec<ChatSummaryView> = chats.iter().map(ChatSummaryView::from).collect();
    frame("chat_list", Some(id), serde_json::json!({ "chats": views }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_errors_are_typed() {
        let code = |t: &str| parse(t.as_bytes()).map(|_| "ok").unwrap_or_else(|e| e.code);
        assert_eq!(code("nope"), "malformed_json");
        assert_eq!(code("[1]"), "malformed_json");
        assert_eq!(code(r#"{"v":1,"type":"ping"}"#), "validation_failed");
        let long = "x".repeat(65);
        assert_eq!(
            code(&format!(r#"{{"v":1,"id":"{long}","type":"ping"}}"#)),
            "validation_failed"
        );
        assert_eq!(code(r#"{"id":"a","type":"ping"}"#), "validation_failed");
        assert_eq!(code(r#"{"v":1,"id":"a"}"#), "validation_failed");
        assert_eq!(
            code(
                r#"{"v":1,"id":"a","type":"typing","chat_id":"01a214ca-71b1-70ff-a60d-d249a6fdfd07","state":"dancing"}"#
            ),
            "validation_failed"
        );
        assert_eq!(
            code(r#"{"v":2,"id":"a","type":"ping"}"#),
            "unsupported_version"
        );
        assert_eq!(code(r#"{"v":1,"id":"a","type":"fly"}"#), "unknown_type");
        assert_eq!(
            code(r#"{"v":1,"id":"a","type":"ping","x":1}"#),
            "validation_failed"
        );
        assert_eq!(
            code(r#"{"v":1,"id":"a","type":"read","chat_id":"nope","seq":1}"#),
            "validation_failed"
        );
        assert_eq!(code(r#"{"v":1,"id":"a","type":"ping"}"#), "ok");
        let err = parse(br#"{"v":1,"id":"r9","type":"fly"}"#).unwrap_err();
        assert_eq!(err.id.as_deref(), Some("r9"));
    }

    #[test]
    fn call_frames_parse_strictly() {
        let code = |t: &str| parse(t.as_bytes()).map(|_| "ok").unwrap_or_else(|e| e.code);
        let call = "01a214ca-71b1-70ff-a60d-d249a6fdfd07";
        assert_eq!(
            code(&format!(
                r#"{{"v":1,"id":"a","type":"call_start","chat_id":"{call}","kind":"video","sdp":"v=0"}}"#
            )),
            "ok"
        );
        assert_eq!(
            code(&format!(
                r#"{{"v":1,"id":"a","type":"call_start","chat_id":"{call}","kind":"fax","sdp":"v=0"}}"#
            )),
            "validation_failed"
        );
        assert_eq!(
            code(&format!(
                r#"{{"v":1,"id":"a","type":"call_candidate","call_id":"{call}","candidate":"x"}}"#
            )),
            "validation_failed",
            "a candidate is an RTCIceCandidateInit object"
        );
        assert_eq!(
            code(&format!(
                r#"{{"v":1,"id":"a","type":"call_media","call_id":"{call}","muted":true}}"#
            )),
            "ok"
        );
        assert_eq!(
            code(&format!(
                r#"{{"v":1,"id":"a","type":"call_hangup","call_id":"{call}","x":1}}"#
            )),
            "validation_failed"
        );
    }

    #[test]
    fn send_parses_content() {
        let (id, req) = parse(
            br#"{"v":1,"id":"r1","type":"send","chat_id":"01a214ca-71b1-70ff-a60d-d249a6fdfd07","client_id":"c1","content":{"kind":"text","text":"hi"}}"#,
        )
        .unwrap();
        assert_eq!(id, "r1");
        assert!(
            matches!(req, Request::Send(s) if s.content == MessageContent::Text { text: "hi".into() })
        );
    }

    #[test]
    fn event_frame_embeds_content_verbatim() {
        let e = StoredEvent {
            chat_id: Uuid::nil(),
            seq: 7,
            sender: Uuid::nil(),
            at: 1,
            client_id: Some("c".into()),
            kind: "message".into(),
            body: r#"{"kind":"text","text":"hi"}"#.into(),
        };
        let bytes = encode_push(&PushKind::Event(e));
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["content"]["text"], "hi");
        assert!(v.get("id").is_none());
    }
}
