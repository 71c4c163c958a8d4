//! The embedded WebRTC SFU (selective forwarding unit) for group and 1:1 calls.
//!
//! # API (stable; the call layer codes against this)
//!
//! ```text
//! Sfu::start(SfuConfig) -> Result<Sfu, SfuError>      // owns a 2-thread tokio runtime
//! sfu.room(room_id) -> Room                          // get or create
//! sfu.close_room(room_id)                            // closes every PC of the room
//! room.join(participant, offer_sdp, events_tx).await -> Result<answer_sdp, SfuError>
//! room.answer(participant, answer_sdp).await          // client's answer to SfuEvent::Offer
//! room.add_candidate(participant, candidate_json).await // RTCIceCandidateInit JSON
//! room.leave(participant).await
//! room.participants() -> usize
//! ```
//!
//! Every async method may be awaited from any runtime (actix's current-thread runtime
//! included): the work runs on the SFU's own runtime and the caller awaits a oneshot.
//!
//! Media model: one PeerConnection per participant. The join offer carries every track the
//! participant publishes (audio and/or video). Each published track is forwarded to every
//! other participant of the room as its own track whose **stream id is the publisher's
//! participant UUID** (hyphenated string) and whose track id is the publisher's kind,
//! `"audio"` or `"video"`. When tracks are added to or removed from a participant's PC, the
//! server sends an [`SfuEvent::Offer`]; the client answers with [`Room::answer`]. At most one
//! server offer is in flight per participant. When a publisher leaves, its forwarded tracks are
//! removed from every subscriber and a renegotiation follows: the subscriber's transceiver
//! becomes inactive and its remote track ends.
//!
//! The answer to `join` contains every server candidate (gathering completes before it
//! returns), so [`SfuEvent::Candidate`] is never sent today; clients may trickle theirs with
//! [`Room::add_candidate`] (queued until the remote description is set).

mod error;

pub use error::SfuError;

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

/// Where the SFU binds and what it announces.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// IPs to bind UDP sockets on (one socket per IP per participant). A wildcard
    /// (`0.0.0.0`) expands to every non-loopback interface; tests bind `127.0.0.1`.
    pub bind_ips: Vec<IpAddr>,
    /// Inclusive UDP port range; `(0, 0)` picks ephemeral ports. webrtc 0.21.1 has no UDP
    /// mux, so each participant takes one port per bind IP.
    pub port_min: u16,
    pub port_max: u16,
    /// 1:1 NAT: announce this IP in host candidates instead of the bound one.
    pub public_ip: Option<IpAddr>,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            bind_ips: vec![IpAddr::from([127, 0, 0, 1])],
            port_min: 0,
            port_max: 0,
            public_ip: None,
        }
    }
}

/// What the SFU tells a participant's signalling session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuEvent {
    /// A server-initiated renegotiation offer: forward to the client, which answers with
    /// [`Room::answer`].
    Offer { participant: Uuid, sdp: String },
    /// A server ICE candidate (RTCIceCandidateInit JSON). Not sent today: the join answer
    /// carries every candidate.
    Candidate {
        participant: Uuid,
        candidate_json: String,
    },
    /// The participant's PeerConnection is connected.
    Connected { participant: Uuid },
    /// The participant's PeerConnection failed or disconnected for good; the participant has
    /// been removed from the room.
    Failed { participant: Uuid },
}

/// The SFU: a cheap handle (clone freely).
#[derive(Clone)]
pub struct Sfu {
    inner: Arc<SfuInner>,
}

struct SfuInner {
    _config: SfuConfig,
}

impl Sfu {
    pub fn start(config: SfuConfig) -> Result<Sfu, SfuError> {
        Ok(Sfu {
            inner: Arc::new(SfuInner { _config: config }),
        })
    }

    /// The room with this id, created if it does not exist.
    pub fn room(&self, room_id: Uuid) -> Room {
        let _ = &self.inner;
        Room { id: room_id }
    }

    /// Closes every PeerConnection of the room and forgets it.
    pub fn close_room(&self, _room_id: Uuid) {}
}

/// One call's media room (cheap handle).
#[derive(Clone)]
pub struct Room {
    id: Uuid,
}

impl Room {
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Joins with the client's offer; returns the answer SDP (all server candidates inside).
    pub async fn join(
        &self,
        _participant: Uuid,
        _offer_sdp: String,
        _events: tokio::sync::mpsc::UnboundedSender<SfuEvent>,
    ) -> Result<String, SfuError> {
        Err(SfuError::Internal("not built yet".into()))
    }

    /// The client's answer to a server offer ([`SfuEvent::Offer`]).
    pub async fn answer(&self, _participant: Uuid, _answer_sdp: String) -> Result<(), SfuError> {
        Err(SfuError::Internal("not built yet".into()))
    }

    /// A client ICE candidate, as RTCIceCandidateInit JSON
    /// (`{"candidate":..,"sdpMid":..,"sdpMLineIndex":..}`).
    pub async fn add_candidate(
        &self,
        _participant: Uuid,
        _candidate_json: String,
    ) -> Result<(), SfuError> {
        Err(SfuError::Internal("not built yet".into()))
    }

    /// Removes the participant: closes its PC and ends its tracks at every subscriber.
    pub async fn leave(&self, _participant: Uuid) {}

    /// Participants currently in the room.
    pub fn participants(&self) -> usize {
        0
    }
}
