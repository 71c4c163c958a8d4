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
//! included): the work runs on the SFU's own runtime and the caller awaits a oneshot. A caller
//! that stops awaiting does not cancel the work: call `leave` to undo a join it abandoned.
//!
//! Media model: one PeerConnection per participant. The join offer carries every track the
//! participant publishes (audio and/or video); a receive-only client offers recvonly
//! transceivers (an offer without m-lines has no ICE credentials and is `BadSdp`). Each
//! published track is forwarded to every other participant as its own track (own send-only
//! transceiver) whose **stream id is the publisher's participant UUID** (hyphenated string)
//! and whose track id is `"{kind}-{publisher uuid}"` (`"audio-…"`, `"video-…"`; webrtc-rs
//! needs track ids unique per PC). Identify the publisher by stream id and the media by the
//! track's kind. When tracks are added to or removed from a participant's PC, the server
//! sends an [`SfuEvent::Offer`] (only once that participant is connected, so it never crosses
//! the join answer); the client answers with [`Room::answer`]. At most one server offer is in
//! flight per participant. When a publisher leaves, its forwarded tracks are removed from
//! every subscriber and an offer follows in which those m-lines no longer send: browsers fire
//! `ended`/`removetrack`; webrtc-rs fires nothing (see `testpeer`).
//!
//! The answer to `join` contains every server candidate (gathering completes before it
//! returns), so [`SfuEvent::Candidate`] is never sent today; clients may trickle theirs with
//! [`Room::add_candidate`] (queued until the join's remote description is set). A participant
//! whose connection fails (or goes quiet for 15 s) is removed and gets [`SfuEvent::Failed`].
//! Rooms live until [`Sfu::close_room`].

mod error;
mod keyframe;
pub mod metrics;
mod participant;
mod peer;
mod room;

pub use error::SfuError;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;

#[cfg(feature = "testpeer")]
pub(crate) use keyframe::is_keyframe_request;
use participant::lock;
#[cfg(feature = "testpeer")]
pub(crate) use peer::build as build_peer_connection;
use room::RoomState;

/// Name of every SFU runtime thread (benchmarks attribute CPU by it).
pub const THREAD_NAME: &str = "confab-sfu";

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

impl SfuConfig {
    fn validate(&self) -> Result<(), SfuError> {
        if self.bind_ips.is_empty() {
            return Err(SfuError::BadConfig("no bind IP".into()));
        }
        let ephemeral = self.port_min == 0 && self.port_max == 0;
        if !ephemeral && (self.port_min == 0 || self.port_min > self.port_max) {
            return Err(SfuError::BadConfig(format!(
                "bad UDP port range {}-{}",
                self.port_min, self.port_max
            )));
        }
        Ok(())
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
    /// The participant's PeerConnection failed (ICE/DTLS gave out) or the client closed it;
    /// the participant has been removed from the room (its tracks end at the others).
    Failed { participant: Uuid },
}

/// What every room shares: the runtime handle and the configuration.
pub(crate) struct Shared {
    handle: tokio::runtime::Handle,
    pub(crate) config: SfuConfig,
    next_port: AtomicU32,
}

impl Shared {
    /// Runs `fut` on the SFU runtime and waits for it from whatever runtime the caller is on.
    async fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, SfuError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.await.map_err(|_| SfuError::RoomClosed)
    }

    /// The UDP addresses a new PeerConnection binds: ephemeral ports, or the next port of the
    /// range that is free on every bind IP (probed, then released for the PC to bind).
    pub(crate) fn bind_addrs(&self) -> Result<Vec<SocketAddr>, SfuError> {
        let ips = &self.config.bind_ips;
        if self.config.port_min == 0 {
            return Ok(ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect());
        }
        let span = u32::from(self.config.port_max - self.config.port_min) + 1;
        for _ in 0..span {
            let offset = self.next_port.fetch_add(1, Ordering::Relaxed) % span;
            let port = self.config.port_min + offset as u16;
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
            if addrs.iter().all(|a| std::net::UdpSocket::bind(a).is_ok()) {
                return Ok(addrs);
            }
        }
        Err(SfuError::Internal(
            "no free UDP port in the configured range".into(),
        ))
    }
}

/// The SFU: a cheap handle (clone freely). Dropping the last clone stops its runtime.
#[derive(Clone)]
pub struct Sfu {
    inner: Arc<SfuInner>,
}

struct SfuInner {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    rooms: Mutex<HashMap<Uuid, Arc<RoomState>>>,
}

impl Drop for SfuInner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Legal inside another runtime, unlike dropping it.
            runtime.shutdown_background();
        }
    }
}

impl Sfu {
    /// Starts the SFU's runtime (2 worker threads named [`THREAD_NAME`]). Callable from inside
    /// another runtime.
    pub fn start(config: SfuConfig) -> Result<Sfu, SfuError> {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()
            .map_err(peer::internal)?;
        metrics::get();
        let shared = Arc::new(Shared {
            handle: runtime.handle().clone(),
            config,
            next_port: AtomicU32::new(0),
        });
        Ok(Sfu {
            inner: Arc::new(SfuInner {
                runtime: Some(runtime),
                shared,
                rooms: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The room with this id, created if it does not exist. Rooms live until
    /// [`Sfu::close_room`]: call it when the call ends.
    pub fn room(&self, room_id: Uuid) -> Room {
        let mut rooms = lock(&self.inner.rooms);
        let state = rooms
            .entry(room_id)
            .or_insert_with(|| Arc::new(RoomState::new(room_id, Arc::clone(&self.inner.shared))));
        Room {
            state: Arc::clone(state),
        }
    }

    /// Closes every PeerConnection of the room and forgets it. Handles to it then answer
    /// [`SfuError::RoomClosed`].
    pub fn close_room(&self, room_id: Uuid) {
        let removed = lock(&self.inner.rooms).remove(&room_id);
        if let Some(state) = removed {
            self.inner.shared.handle.spawn(state.close());
        }
    }

    /// Rooms currently open.
    pub fn rooms(&self) -> usize {
        lock(&self.inner.rooms).len()
    }
}

/// One call's media room (cheap handle).
#[derive(Clone)]
pub struct Room {
    state: Arc<RoomState>,
}

impl Room {
    pub fn id(&self) -> Uuid {
        self.state.id
    }

    /// Joins with the client's offer (carrying every track it publishes); returns the answer
    /// SDP with every server candidate inside. Tracks already in the room follow in an
    /// [`SfuEvent::Offer`] once the participant is connected.
    pub async fn join(
        &self,
        participant: Uuid,
        offer_sdp: String,
        events: UnboundedSender<SfuEvent>,
    ) -> Result<String, SfuError> {
        let state = Arc::clone(&self.state);
        self.state
            .shared
            .run(state.join(participant, offer_sdp, events))
            .await?
    }

    /// The client's answer to a server offer ([`SfuEvent::Offer`]).
    pub async fn answer(&self, participant: Uuid, answer_sdp: String) -> Result<(), SfuError> {
        let state = Arc::clone(&self.state);
        self.state
            .shared
            .run(async move { state.answer(participant, answer_sdp).await })
            .await?
    }

    /// A client ICE candidate, as RTCIceCandidateInit JSON
    /// (`{"candidate":..,"sdpMid":..,"sdpMLineIndex":..}`); an empty `candidate` (end of
    /// candidates) is accepted and ignored. Queued while the join is in progress.
    pub async fn add_candidate(
        &self,
        participant: Uuid,
        candidate_json: String,
    ) -> Result<(), SfuError> {
        let state = Arc::clone(&self.state);
        self.state
            .shared
            .run(async move { state.add_candidate(participant, candidate_json).await })
            .await?
    }

    /// Removes the participant: closes its PC and removes its tracks from every other
    /// participant (who get an [`SfuEvent::Offer`]). Unknown participants are ignored.
    pub async fn leave(&self, participant: Uuid) {
        let state = Arc::clone(&self.state);
        let _ = self.state.shared.run(state.leave(participant)).await;
    }

    /// Participants currently in the room (joined, not yet left).
    pub fn participants(&self) -> usize {
        self.state.participants()
    }
}
