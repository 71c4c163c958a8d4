//! One participant's server-side PeerConnection: what it publishes, what it receives, and
//! its renegotiation state (at most one server offer in flight).

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;
use uuid::Uuid;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};
use webrtc::rtp_transceiver::RtpSender;

use super::keyframe::is_keyframe_request;
use super::{metrics, SfuError, SfuEvent};

/// Keyframe requests for one published track are relayed at most this often: a joiner and a
/// lossy subscriber asking at once need one keyframe, not two.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(200);
/// Payload type not negotiated yet on a subscriber leg: packets for it are skipped.
const NO_PAYLOAD_TYPE: u16 = u16::MAX;
/// Packets a subscriber leg may fall behind before its own packets are dropped (about 1 s of
/// 1 Mbit/s video): one slow leg never stalls the publisher's other legs.
const LEG_QUEUE: usize = 128;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn bad_sdp(e: impl std::fmt::Display) -> SfuError {
    SfuError::BadSdp(e.to_string())
}

pub(crate) struct Participant {
    pub(crate) id: Uuid,
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) events: UnboundedSender<SfuEvent>,
    public_ip: Option<std::net::IpAddr>,
    /// Serialises SDP operations on `pc`.
    sdp: tokio::sync::Mutex<()>,
    pub(crate) state: Mutex<PeerState>,
}

#[derive(Default)]
pub(crate) struct PeerState {
    connected: bool,
    offer_in_flight: bool,
    renegotiate: bool,
    pub(crate) left: bool,
    pub(crate) published: Vec<Arc<Published>>,
    pub(crate) subscriptions: Vec<Subscription>,
}

/// A forwarded track this participant receives.
pub(crate) struct Subscription {
    pub(crate) published: Arc<Published>,
    pub(crate) down: Arc<Downstream>,
}

impl Participant {
    pub(crate) fn new(
        id: Uuid,
        pc: Arc<dyn PeerConnection>,
        events: UnboundedSender<SfuEvent>,
        public_ip: Option<std::net::IpAddr>,
    ) -> Participant {
        Participant {
            id,
            pc,
            events,
            public_ip,
            sdp: tokio::sync::Mutex::new(()),
            state: Mutex::new(PeerState::default()),
        }
    }

    /// Tracks were added or removed: offer again once connected and no offer is in flight.
    pub(crate) fn request_offer(self: &Arc<Self>) {
        let start = {
            let mut st = lock(&self.state);
            st.renegotiate = true;
            st.connected && !st.offer_in_flight && !st.left
        };
        if start {
            tokio::spawn(Arc::clone(self).send_offer());
        }
    }

    pub(crate) fn on_connected(self: &Arc<Self>) {
        let start = {
            let mut st = lock(&self.state);
            st.connected = true;
            st.renegotiate && !st.offer_in_flight && !st.left
        };
        let _ = self.events.send(SfuEvent::Connected {
            participant: self.id,
        });
        if start {
            tokio::spawn(Arc::clone(self).send_offer());
        }
    }

    async fn send_offer(self: Arc<Self>) {
        {
            let mut st = lock(&self.state);
            if st.offer_in_flight || st.left || !st.renegotiate {
                return;
            }
            st.offer_in_flight = true;
            st.renegotiate = false;
        }
        let sdp = {
            let _guard = self.sdp.lock().await;
            let offered = async {
                let offer = self.pc.create_offer(None).await?;
                self.pc.set_local_description(offer).await?;
                Ok::<_, webrtc::error::Error>(self.pc.local_description().await)
            }
            .await;
            match offered {
                Ok(Some(desc)) => Some(super::peer::announce(desc.sdp, self.public_ip)),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(participant = %self.id, "SFU renegotiation offer failed: {e}");
                    None
                }
            }
        };
        match sdp {
            Some(sdp) => {
                tracing::debug!(participant = %self.id, "SFU renegotiation offer sent");
                let _ = self.events.send(SfuEvent::Offer {
                    participant: self.id,
                    sdp,
                });
            }
            None => {
                // Nothing went out: the changes are still owed, offered with the next change.
                let mut st = lock(&self.state);
                st.offer_in_flight = false;
                st.renegotiate = true;
            }
        }
    }

    /// The client's answer to the server offer in flight.
    pub(crate) async fn apply_answer(self: &Arc<Self>, sdp: String) -> Result<(), SfuError> {
        let answer = RTCSessionDescription::answer(sdp).map_err(bad_sdp)?;
        {
            let _guard = self.sdp.lock().await;
            if !lock(&self.state).offer_in_flight {
                return Err(SfuError::BadSdp(
                    "no server offer is awaiting an answer".into(),
                ));
            }
            self.pc
                .set_remote_description(answer)
                .await
                .map_err(bad_sdp)?;
        }
        let subscriptions: Vec<(Arc<Downstream>, String)> = lock(&self.state)
            .subscriptions
            .iter()
            .map(|s| (Arc::clone(&s.down), s.published.codec.mime_type.clone()))
            .collect();
        for (down, mime) in subscriptions {
            down.refresh_payload_type(&mime).await;
        }
        let again = {
            let mut st = lock(&self.state);
            st.offer_in_flight = false;
            st.renegotiate && !st.left
        };
        tracing::debug!(participant = %self.id, again, "SFU renegotiation answer applied");
        if again {
            tokio::spawn(Arc::clone(self).send_offer());
        }
        Ok(())
    }

    /// The SSRC and codec of `remote`, a track this participant publishes, taken from its first
    /// RTP packet whose payload type the participant negotiated (earlier packets are dropped:
    /// nobody subscribes to the track yet). `None` if the track ends first.
    ///
    /// Not `TrackRemote::codec`: webrtc 0.21.1 rebuilds every receiving track with an empty codec
    /// on each `set_remote_description` (the core's `start_rtp`) and sets it again on the next
    /// packet, while the track handed to `on_track` copies the codec of an SSRC once, when the
    /// driver handles the first packet's open event. A participant's first server offer goes
    /// out as it connects, just as it starts sending: when its answer is applied between the
    /// first packet and that copy, the track's codec stays empty for good.
    pub(crate) async fn first_packet_codec(
        &self,
        remote: &Arc<dyn TrackRemote>,
    ) -> Option<(u32, RTCRtpCodec)> {
        let mut warned = false;
        while let Some(event) = remote.poll().await {
            let packet = match event {
                TrackRemoteEvent::OnRtpPacket(packet) => packet,
                TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => return None,
                _ => continue,
            };
            let payload_type = packet.header.payload_type;
            if let Some(codec) = self.negotiated_codec(remote, payload_type).await {
                return Some((packet.header.ssrc, codec));
            }
            if !warned {
                warned = true;
                tracing::warn!(
                    participant = %self.id,
                    payload_type,
                    "published RTP with a payload type it did not negotiate"
                );
            }
        }
        None
    }

    /// The media codec negotiated for `payload_type` on the receiver carrying `remote` (the
    /// receiver's codec list is replaced whole under the PC's lock, never emptied).
    async fn negotiated_codec(
        &self,
        remote: &Arc<dyn TrackRemote>,
        payload_type: u8,
    ) -> Option<RTCRtpCodec> {
        for receiver in self.pc.get_receivers().await {
            if !std::ptr::addr_eq(Arc::as_ptr(receiver.track()), Arc::as_ptr(remote)) {
                continue;
            }
            let params = receiver.get_parameters().await.ok()?;
            return params
                .rtp_parameters
                .codecs
                .into_iter()
                .find(|c| {
                    c.payload_type == payload_type
                        && !c.rtp_codec.mime_type.eq_ignore_ascii_case("video/rtx")
                })
                .map(|c| c.rtp_codec);
        }
        None
    }
}

/// A track a participant publishes, forwarded to every other participant.
pub(crate) struct Published {
    pub(crate) publisher: Uuid,
    /// The forwarded track's id: `"{kind}-{publisher}"` (`"{kind}{n}-{publisher}"` for a
    /// publisher's n-th track of one kind).
    pub(crate) track_id: String,
    pub(crate) kind: RtpCodecKind,
    pub(crate) codec: RTCRtpCodec,
    media_ssrc: u32,
    remote: Arc<dyn TrackRemote>,
    /// Copy-on-write so the per-packet loop only clones an `Arc`.
    downstreams: RwLock<Arc<Vec<Arc<Downstream>>>>,
    closed: AtomicBool,
    last_keyframe_request: Mutex<Option<Instant>>,
    forwarder: Mutex<Option<AbortHandle>>,
}

impl Published {
    pub(crate) fn new(
        publisher: Uuid,
        track_id: String,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        media_ssrc: u32,
        remote: Arc<dyn TrackRemote>,
    ) -> Published {
        Published {
            publisher,
            track_id,
            kind,
            codec,
            media_ssrc,
            remote,
            downstreams: RwLock::new(Arc::new(Vec::new())),
            closed: AtomicBool::new(false),
            last_keyframe_request: Mutex::new(None),
            forwarder: Mutex::new(None),
        }
    }

    /// Starts the task that reads the publisher's RTP and writes it to every subscriber leg.
    pub(crate) fn start_forwarding(self: &Arc<Self>) {
        let task = tokio::spawn(Arc::clone(self).forward());
        *lock(&self.forwarder) = Some(task.abort_handle());
    }

    async fn forward(self: Arc<Self>) {
        while let Some(event) = self.remote.poll().await {
            let mut packet = match event {
                TrackRemoteEvent::OnRtpPacket(packet) => packet,
                TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
                _ => continue,
            };
            // The publisher leg's extension ids (mid, TWCC, ...) mean nothing on the subscriber
            // legs, and a stale mid would misroute the packet there: strip them all.
            let h = &mut packet.header;
            h.extension = false;
            h.extensions.clear();
            h.extension_profile = 0;
            h.extensions_padding = 0;
            let size = (12 + 4 * h.csrc.len() + packet.payload.len()) as u64;
            let downstreams =
                Arc::clone(&self.downstreams.read().unwrap_or_else(|e| e.into_inner()));
            for down in downstreams.iter() {
                let pt = down.payload_type.load(Ordering::Relaxed);
                if pt == NO_PAYLOAD_TYPE {
                    continue;
                }
                let mut out = packet.clone();
                out.header.ssrc = down.ssrc;
                out.header.payload_type = pt as u8;
                // A full leg queue drops for that subscriber alone.
                let _ = down.queue.try_send((out, size));
            }
        }
    }

    /// Adds a subscriber leg unless the publisher has left (checked under the same lock
    /// `close` takes, so a leg is never added after `close`).
    pub(crate) fn attach(&self, down: &Arc<Downstream>) -> bool {
        let mut list = self.downstreams.write().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let mut next = Vec::clone(&list);
        next.push(Arc::clone(down));
        *list = Arc::new(next);
        true
    }

    pub(crate) fn detach(&self, down: &Arc<Downstream>) {
        let mut list = self.downstreams.write().unwrap_or_else(|e| e.into_inner());
        let next: Vec<_> = list
            .iter()
            .filter(|d| !Arc::ptr_eq(d, down))
            .cloned()
            .collect();
        *list = Arc::new(next);
    }

    /// The publisher left: stop forwarding; returns the subscriber legs to remove.
    pub(crate) fn close(&self) -> Vec<Arc<Downstream>> {
        if let Some(task) = lock(&self.forwarder).take() {
            task.abort();
        }
        let mut list = self.downstreams.write().unwrap_or_else(|e| e.into_inner());
        self.closed.store(true, Ordering::Release);
        let old = std::mem::replace(&mut *list, Arc::new(Vec::new()));
        Vec::clone(&old)
    }

    /// A subscriber asked for a keyframe: ask the publisher (rate-limited).
    async fn request_keyframe(&self) {
        {
            let mut last = lock(&self.last_keyframe_request);
            let now = Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < KEYFRAME_REQUEST_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: self.media_ssrc,
        };
        if self.remote.write_rtcp(vec![Box::new(pli)]).await.is_ok() {
            metrics::get().plis_relayed.inc();
        }
    }
}

/// One (published track, subscriber) leg: a local track on the subscriber's PC.
pub(crate) struct Downstream {
    pub(crate) subscriber: Uuid,
    track: Arc<TrackLocalStaticRTP>,
    pub(crate) sender: Arc<dyn RtpSender>,
    ssrc: u32,
    payload_type: AtomicU16,
    /// Packets (and their sizes) waiting for this leg's writer task.
    queue: tokio::sync::mpsc::Sender<(rtp::Packet, u64)>,
    writer: AbortHandle,
    keyframe_relay: Mutex<Option<AbortHandle>>,
}

impl Downstream {
    pub(crate) fn new(
        subscriber: Uuid,
        track: Arc<TrackLocalStaticRTP>,
        sender: Arc<dyn RtpSender>,
        ssrc: u32,
    ) -> Downstream {
        let (queue, mut packets) = tokio::sync::mpsc::channel::<(rtp::Packet, u64)>(LEG_QUEUE);
        let out = Arc::clone(&track);
        let writer = tokio::spawn(async move {
            let m = metrics::get();
            while let Some((packet, size)) = packets.recv().await {
                if out.write_rtp(packet).await.is_ok() {
                    m.rtp_packets_forwarded.inc();
                    m.rtp_bytes_forwarded.inc_by(size);
                }
            }
        })
        .abort_handle();
        Downstream {
            subscriber,
            track,
            sender,
            ssrc,
            payload_type: AtomicU16::new(NO_PAYLOAD_TYPE),
            queue,
            writer,
            keyframe_relay: Mutex::new(None),
        }
    }

    /// Relays this leg's inbound keyframe requests to the publisher of `published`.
    pub(crate) fn start_keyframe_relay(self: &Arc<Self>, published: Arc<Published>) {
        let track = Arc::clone(&self.track);
        let task = tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                    if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                        published.request_keyframe().await;
                    }
                }
            }
        });
        *lock(&self.keyframe_relay) = Some(task.abort_handle());
    }

    pub(crate) fn stop(&self) {
        self.writer.abort();
        if let Some(task) = lock(&self.keyframe_relay).take() {
            task.abort();
        }
    }

    /// Reads the payload type this leg negotiated for `mime_type`.
    async fn refresh_payload_type(&self, mime_type: &str) {
        let Ok(params) = self.sender.get_parameters().await else {
            return;
        };
        if let Some(codec) = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime_type))
        {
            self.payload_type
                .store(u16::from(codec.payload_type), Ordering::Relaxed);
        }
    }
}
