//! A room's state on the SFU runtime: joins, leaves, publishing and subscribing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use uuid::Uuid;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription,
};

use super::participant::{bad_sdp, lock, Downstream, Participant, Published, Subscription};
use super::peer::{self, internal};
use super::{metrics, SfuError, SfuEvent, Shared};

/// Host-candidate gathering takes about a millisecond; this only bounds a broken bind.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);
/// Candidates a joining participant may trickle before its answer exists.
const MAX_QUEUED_CANDIDATES: usize = 64;

pub(crate) struct RoomState {
    pub(crate) id: Uuid,
    pub(crate) shared: Arc<Shared>,
    inner: Mutex<RoomInner>,
}

#[derive(Default)]
struct RoomInner {
    closed: bool,
    members: HashMap<Uuid, Arc<Participant>>,
    /// Participants whose join is in progress, with the candidates they trickled meanwhile.
    joining: HashMap<Uuid, Vec<RTCIceCandidateInit>>,
}

impl RoomState {
    pub(crate) fn new(id: Uuid, shared: Arc<Shared>) -> RoomState {
        RoomState {
            id,
            shared,
            inner: Mutex::new(RoomInner::default()),
        }
    }

    pub(crate) fn participants(&self) -> usize {
        lock(&self.inner).members.len()
    }

    fn member(&self, id: Uuid) -> Option<Arc<Participant>> {
        lock(&self.inner).members.get(&id).cloned()
    }

    pub(crate) async fn join(
        self: Arc<Self>,
        id: Uuid,
        offer_sdp: String,
        events: UnboundedSender<SfuEvent>,
    ) -> Result<String, SfuError> {
        let offer = RTCSessionDescription::offer(offer_sdp).map_err(bad_sdp)?;
        {
            let mut inner = lock(&self.inner);
            if inner.closed {
                return Err(SfuError::RoomClosed);
            }
            if inner.members.contains_key(&id) || inner.joining.contains_key(&id) {
                return Err(SfuError::AlreadyJoined);
            }
            inner.joining.insert(id, Vec::new());
        }
        let joined = self.connect(id, offer, events).await;
        if joined.is_err() {
            lock(&self.inner).joining.remove(&id);
        }
        joined
    }

    async fn connect(
        self: &Arc<Self>,
        id: Uuid,
        offer: RTCSessionDescription,
        events: UnboundedSender<SfuEvent>,
    ) -> Result<String, SfuError> {
        let (gathered_tx, mut gathered) = watch::channel(false);
        let handler = Arc::new(PeerEvents {
            room: Arc::downgrade(self),
            participant: id,
            gathered: gathered_tx,
        });
        let addrs = self.shared.bind_addrs()?;
        let pc = peer::build(addrs, handler).await?;
        let answered = async {
            pc.set_remote_description(offer).await.map_err(bad_sdp)?;
            let answer = pc.create_answer(None).await.map_err(bad_sdp)?;
            pc.set_local_description(answer).await.map_err(internal)?;
            tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|done| *done))
                .await
                .map_err(|_| SfuError::Internal("ICE gathering timed out".into()))?
                .map_err(internal)?;
            pc.local_description()
                .await
                .map(|d| peer::announce(d.sdp, self.shared.config.public_ip))
                .ok_or_else(|| SfuError::Internal("no local description".into()))
        }
        .await;
        let sdp = match answered {
            Ok(sdp) => sdp,
            Err(e) => {
                let _ = pc.close().await;
                return Err(e);
            }
        };
        let participant = Arc::new(Participant::new(
            id,
            Arc::clone(&pc),
            events,
            self.shared.config.public_ip,
        ));
        let admitted = {
            let mut inner = lock(&self.inner);
            if inner.closed {
                None
            } else {
                let queued = inner.joining.remove(&id).unwrap_or_default();
                // Every track published so far; tracks published from now on see this
                // participant in `members` (both under this lock), so none is missed or doubled.
                let existing: Vec<Arc<Published>> = inner
                    .members
                    .values()
                    .flat_map(|m| lock(&m.state).published.clone())
                    .collect();
                inner.members.insert(id, Arc::clone(&participant));
                Some((queued, existing))
            }
        };
        let Some((queued, existing)) = admitted else {
            let _ = pc.close().await;
            return Err(SfuError::RoomClosed);
        };
        metrics::get().participants.inc();
        for candidate in queued {
            if let Err(e) = pc.add_ice_candidate(candidate).await {
                tracing::debug!(participant = %id, "queued ICE candidate rejected: {e}");
            }
        }
        if !existing.is_empty() {
            let room = Arc::clone(self);
            tokio::spawn(async move {
                for published in existing {
                    room.subscribe(&published, &participant).await;
                }
            });
        }
        Ok(sdp)
    }

    pub(crate) async fn answer(&self, id: Uuid, sdp: String) -> Result<(), SfuError> {
        let participant = self.member(id).ok_or(SfuError::UnknownParticipant)?;
        participant.apply_answer(sdp).await
    }

    pub(crate) async fn add_candidate(&self, id: Uuid, json: String) -> Result<(), SfuError> {
        let candidate: RTCIceCandidateInit =
            serde_json::from_str(&json).map_err(|e| SfuError::BadCandidate(e.to_string()))?;
        let participant = {
            let mut inner = lock(&self.inner);
            if inner.closed {
                return Err(SfuError::RoomClosed);
            }
            if let Some(queue) = inner.joining.get_mut(&id) {
                if queue.len() >= MAX_QUEUED_CANDIDATES {
                    return Err(SfuError::BadCandidate("too many candidates".into()));
                }
                queue.push(candidate);
                return Ok(());
            }
            inner
                .members
                .get(&id)
                .cloned()
                .ok_or(SfuError::UnknownParticipant)?
        };
        if candidate.candidate.is_empty() {
            return Ok(()); // end-of-candidates
        }
        participant
            .pc
            .add_ice_candidate(candidate)
            .await
            .map_err(|e| SfuError::BadCandidate(e.to_string()))
    }

    pub(crate) async fn leave(self: Arc<Self>, id: Uuid) {
        let removed = lock(&self.inner).members.remove(&id);
        if let Some(participant) = removed {
            self.teardown(participant).await;
        }
    }

    pub(crate) async fn close(self: Arc<Self>) {
        let members: Vec<Arc<Participant>> = {
            let mut inner = lock(&self.inner);
            inner.closed = true;
            inner.joining.clear();
            inner.members.drain().map(|(_, p)| p).collect()
        };
        for participant in members {
            self.teardown(participant).await;
        }
    }

    /// The participant is out of `members`: stop everything it sent and received, close its
    /// PC, and remove its tracks from every subscriber (which renegotiates).
    async fn teardown(&self, participant: Arc<Participant>) {
        let (published, subscriptions) = {
            let mut st = lock(&participant.state);
            st.left = true;
            (
                std::mem::take(&mut st.published),
                std::mem::take(&mut st.subscriptions),
            )
        };
        let m = metrics::get();
        m.participants.dec();
        m.tracks.sub(published.len() as i64);
        for sub in subscriptions {
            sub.down.stop();
            sub.published.detach(&sub.down);
        }
        if let Err(e) = participant.pc.close().await {
            tracing::debug!(participant = %participant.id, "closing SFU PeerConnection: {e}");
        }
        for track in published {
            for down in track.close() {
                down.stop();
                let Some(subscriber) = self.member(down.subscriber) else {
                    continue;
                };
                let removed = {
                    let mut st = lock(&subscriber.state);
                    let before = st.subscriptions.len();
                    st.subscriptions.retain(|s| !Arc::ptr_eq(&s.down, &down));
                    before != st.subscriptions.len() && !st.left
                };
                if removed {
                    if let Err(e) = subscriber.pc.remove_track(&down.sender).await {
                        tracing::debug!(subscriber = %subscriber.id, "remove_track: {e}");
                    }
                    subscriber.request_offer();
                }
            }
        }
    }

    /// A participant's PC failed or was closed by the client: tell its session and remove it.
    /// (A PC the SFU closes itself is out of `members` by then.)
    async fn gone(self: Arc<Self>, id: Uuid, failed: bool) {
        let removed = lock(&self.inner).members.remove(&id);
        if let Some(participant) = removed {
            if failed {
                metrics::get().peer_connection_failures.inc();
            }
            let _ = participant
                .events
                .send(SfuEvent::Failed { participant: id });
            self.teardown(participant).await;
        }
    }

    /// A participant's new track (`on_track`, fired by its first RTP packet): register it with
    /// the codec its packets carry and forward it to everyone else.
    async fn publish(self: Arc<Self>, publisher: Uuid, remote: Arc<dyn TrackRemote>) {
        let Some(member) = self.member(publisher) else {
            return;
        };
        let Some((ssrc, codec)) = member.first_packet_codec(&remote).await else {
            return;
        };
        let kind = remote.kind().await;
        let registered = {
            let inner = lock(&self.inner);
            // Still a member, and the same join (not a rejoin under the same id meanwhile).
            if !inner
                .members
                .get(&publisher)
                .is_some_and(|m| Arc::ptr_eq(m, &member))
            {
                return;
            }
            let mut st = lock(&member.state);
            if st.left {
                return;
            }
            let same_kind = st.published.iter().filter(|t| t.kind == kind).count();
            let track_id = if same_kind == 0 {
                format!("{kind}-{publisher}")
            } else {
                format!("{kind}{}-{publisher}", same_kind + 1)
            };
            let published = Arc::new(Published::new(
                publisher, track_id, kind, codec, ssrc, remote,
            ));
            st.published.push(Arc::clone(&published));
            drop(st);
            let subscribers: Vec<Arc<Participant>> = inner
                .members
                .values()
                .filter(|m| m.id != publisher)
                .cloned()
                .collect();
            (published, subscribers)
        };
        let (published, subscribers) = registered;
        metrics::get().tracks.inc();
        published.start_forwarding();
        for subscriber in subscribers {
            self.subscribe(&published, &subscriber).await;
        }
    }

    /// Adds a leg of `published` to `subscriber`'s PC and renegotiates it.
    async fn subscribe(&self, published: &Arc<Published>, subscriber: &Arc<Participant>) {
        let ssrc = random_ssrc();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            published.publisher.to_string(),
            published.track_id.clone(),
            published.track_id.clone(),
            published.kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: published.codec.clone(),
                ..Default::default()
            }],
        )));
        // A transceiver of its own, send-only: `add_track` would reuse the subscriber's
        // publishing transceiver, which a send-only client could not receive on.
        let added = async {
            let transceiver = subscriber
                .pc
                .add_transceiver_from_track(
                    Arc::clone(&track) as Arc<dyn TrackLocal>,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Sendonly,
                        streams: vec![],
                        send_encodings: vec![],
                    }),
                )
                .await?;
            transceiver.sender().await
        }
        .await;
        let sender = match added {
            Ok(Some(sender)) => sender,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(subscriber = %subscriber.id, "SFU add_transceiver failed: {e}");
                return;
            }
        };
        let down = Arc::new(Downstream::new(subscriber.id, track, sender, ssrc));
        let registered = {
            let mut st = lock(&subscriber.state);
            if !st.left && published.attach(&down) {
                st.subscriptions.push(Subscription {
                    published: Arc::clone(published),
                    down: Arc::clone(&down),
                });
                true
            } else {
                false
            }
        };
        if !registered {
            let _ = subscriber.pc.remove_track(&down.sender).await;
            return;
        }
        down.start_keyframe_relay(Arc::clone(published));
        subscriber.request_offer();
    }
}

fn random_ssrc() -> u32 {
    loop {
        let ssrc = Uuid::new_v4().as_u128() as u32;
        if ssrc != 0 {
            return ssrc;
        }
    }
}

/// The SFU side of one participant's PC events.
struct PeerEvents {
    room: Weak<RoomState>,
    participant: Uuid,
    gathered: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let Some(room) = self.room.upgrade() else {
            return;
        };
        match state {
            RTCPeerConnectionState::Connected => {
                if let Some(participant) = room.member(self.participant) {
                    participant.on_connected();
                }
            }
            // Failed: ICE consent or DTLS gave out. Closed while still a member: the client
            // closed its PC (DTLS close_notify) without leaving through signalling.
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                let failed = state == RTCPeerConnectionState::Failed;
                tokio::spawn(room.gone(self.participant, failed));
            }
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(room) = self.room.upgrade() {
            tokio::spawn(room.publish(self.participant, track));
        }
    }
}
