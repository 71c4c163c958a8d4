//! Call history and call settings over REST (`/api/calls`, docs/REST.md "Calls"). The call
//! signalling frames are in docs/PROTOCOL.md; the server encodes them in `confab-signalling`.

use confab_engine::model::{CallParticipant, CallRecord, Millis};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct CallStayView {
    pub user_id: Uuid,
    pub joined_at: Millis,
    pub left_at: Millis,
}

impl From<&CallParticipant> for CallStayView {
    fn from(p: &CallParticipant) -> Self {
        CallStayView {
            user_id: p.user_id,
            joined_at: p.joined_at,
            left_at: p.left_at,
        }
    }
}

/// One call of my history.
#[derive(Serialize, ToSchema)]
pub struct CallView {
    pub call_id: Uuid,
    pub chat_id: Uuid,
    /// `voice` or `video`.
    #[schema(example = "video")]
    pub kind: &'static str,
    pub initiator: Uuid,
    /// `outgoing` (I started it) or `incoming`.
    pub direction: &'static str,
    /// How the call ended: `answered`, `missed`, `declined`, `cancelled`, `busy` or `failed`.
    pub outcome: &'static str,
    /// Whether I took part (joined at least once).
    pub joined: bool,
    pub started_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    /// Talk time: from the first answer to the end; 0 if nobody answered.
    pub duration_ms: Millis,
    /// Everyone the call rang, and its initiator.
    pub invited: Vec<Uuid>,
    /// Each stay of each participant (a user who rejoined has several).
    pub participants: Vec<CallStayView>,
}

impl CallView {
    pub fn new(me: Uuid, r: &CallRecord) -> Self {
        CallView {
            call_id: r.id,
            chat_id: r.chat_id,
            kind: confab_signalling::call::frames::kind_str(r.kind),
            initiator: r.initiator,
            direction: if r.initiator == me {
                "outgoing"
            } else {
                "incoming"
            },
            outcome: r.outcome.as_str(),
            joined: r.participants.iter().any(|p| p.user_id == me),
            started_at: r.started_at,
            answered_at: r.answered_at,
            ended_at: r.ended_at,
            duration_ms: r.duration_ms,
            invited: r.invited.clone(),
            participants: r.participants.iter().map(CallStayView::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CallPage {
    pub items: Vec<CallView>,
    pub next_cursor: Option<String>,
}

/// A STUN/TURN server (the WebRTC `RTCIceServer` shape).
#[derive(Serialize, ToSchema)]
pub struct IceServerView {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What a client needs before it builds its first offer.
#[derive(Serialize, ToSchema)]
pub struct CallSettings {
    pub ice_servers: Vec<IceServerView>,
    /// Seconds an unanswered call rings.
    pub ring_timeout_secs: u64,
    /// Seconds a participant whose socket dropped has to rejoin.
    pub reconnect_grace_secs: u64,
}
