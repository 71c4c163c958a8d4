//! A real WebRTC test client (webrtc-rs) for the SFU's and the call layer's tests and the SFU
//! benchmark. Enabled by the `testpeer` cargo feature of confab-signalling; not part of the
//! server.
//!
//! Typical use (the call layer's black-box tests carry the SDP over the wire instead):
//!
//! ```text
//! let peer = TestPeer::new(TestPeerOptions { audio: true, video: true, ..Default::default() }).await?;
//! let answer = room.join(id, peer.offer().await?, events_tx).await?;   // or over the WS
//! peer.apply_answer(answer).await?;
//! // for every SfuEvent::Offer { sdp, .. }:  room.answer(id, peer.answer_offer(sdp).await?)
//! peer.send_audio(b"payload").await?; peer.send_video(b"payload", true).await?;
//! peer.wait_for(Duration::from_secs(5), |p| p.track_of(&other_id, "video").is_some()).await;
//! ```
//!
//! Received tracks are identified by stream id (the publisher's participant UUID) and kind.
//! webrtc-rs 0.21.1 never ends a remote track whose m-line the server stops sending on (a
//! browser fires `ended`/`removetrack` there), so [`TestPeer::answer_offer`] derives
//! [`ReceivedTrack::ended`] from the offer: an m-line that was sending a track and no longer
//! is (`recvonly`/`inactive`, or a different msid) ends that track.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription,
};

use crate::sfu::{build_peer_connection, is_keyframe_request};

/// Called for every RTP packet received: (stream id, track id, packet).
pub type PacketHook = Arc<dyn Fn(&str, &str, &rtp::Packet) + Send + Sync>;

/// What the peer publishes and records.
#[derive(Clone, Default)]
pub struct TestPeerOptions {
    /// Publish an Opus track (track id "audio").
    pub audio: bool,
    /// Publish a VP8 track (track id "video").
    pub video: bool,
    /// Keep every received payload (tests); off for benchmarks.
    pub keep_payloads: bool,
    pub on_packet: Option<PacketHook>,
}

/// A track this peer receives.
#[derive(Debug, Clone, Default)]
pub struct ReceivedTrack {
    pub stream_id: String,
    pub track_id: String,
    /// "audio" or "video".
    pub kind: String,
    pub packets: u64,
    /// Payloads in arrival order (only with `keep_payloads`).
    pub payloads: Vec<Bytes>,
    pub ended: bool,
}

const OPUS_PT: u8 = 111;
const VP8_PT: u8 = 96;
const AUDIO_SSRC: u32 = 0x0A0D_1000;
const VIDEO_SSRC: u32 = 0x0B1D_E000;

#[derive(Default)]
struct Observed {
    tracks: Mutex<HashMap<String, ReceivedTrack>>,
    remotes: Mutex<HashMap<String, Arc<dyn TrackRemote>>>,
    plis: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One m-section of a server offer: (mid, msid as (stream id, track id), server sending).
type OfferedSection = (Option<String>, Option<(String, String)>, bool);

/// One WebRTC client.
pub struct TestPeer {
    pc: Arc<dyn PeerConnection>,
    gathered: watch::Receiver<bool>,
    state: watch::Receiver<RTCPeerConnectionState>,
    audio: Option<Arc<TrackLocalStaticRTP>>,
    video: Option<Arc<TrackLocalStaticRTP>>,
    audio_seq: AtomicU16,
    video_seq: AtomicU16,
    timestamp: AtomicU32,
    observed: Arc<Observed>,
    /// mid -> (stream id, track id) the server currently sends on it.
    mids: Mutex<HashMap<String, (String, String)>>,
}

struct ClientEvents {
    observed: Arc<Observed>,
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    keep_payloads: bool,
    on_packet: Option<PacketHook>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for ClientEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let stream_id = track.stream_id().await;
        let track_id = track.track_id().await;
        let kind = track.kind().await.to_string();
        {
            let mut tracks = lock(&self.observed.tracks);
            let entry = tracks.entry(track_id.clone()).or_default();
            entry.stream_id = stream_id.clone();
            entry.track_id = track_id.clone();
            entry.kind = kind;
        }
        lock(&self.observed.remotes).insert(track_id.clone(), Arc::clone(&track));
        let observed = Arc::clone(&self.observed);
        let keep = self.keep_payloads;
        let hook = self.on_packet.clone();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(packet) => {
                        if let Some(hook) = &hook {
                            hook(&stream_id, &track_id, &packet);
                        }
                        let mut tracks = lock(&observed.tracks);
                        if let Some(t) = tracks.get_mut(&track_id) {
                            t.packets += 1;
                            if keep {
                                t.payloads.push(packet.payload.clone());
                            }
                        }
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
            if let Some(t) = lock(&observed.tracks).get_mut(&track_id) {
                t.ended = true;
            }
        });
    }
}

impl TestPeer {
    /// Builds the peer on the current tokio runtime, bound to 127.0.0.1, with its published
    /// tracks added (stream id "local").
    pub async fn new(options: TestPeerOptions) -> Result<TestPeer, String> {
        let observed = Arc::new(Observed::default());
        let (gathered_tx, gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let handler = Arc::new(ClientEvents {
            observed: Arc::clone(&observed),
            gathered: gathered_tx,
            state: state_tx,
            keep_payloads: options.keep_payloads,
            on_packet: options.on_packet.clone(),
        });
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let pc = build_peer_connection(vec![addr], handler)
            .await
            .map_err(err)?;
        let mut peer = TestPeer {
            pc,
            gathered,
            state,
            audio: None,
            video: None,
            audio_seq: AtomicU16::new(0),
            video_seq: AtomicU16::new(0),
            timestamp: AtomicU32::new(0),
            observed,
            mids: Mutex::new(HashMap::new()),
        };
        if options.audio {
            let codec = RTCRtpCodec {
                mime_type: "audio/opus".into(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            };
            peer.audio = Some(
                peer.publish("audio", RtpCodecKind::Audio, codec, AUDIO_SSRC)
                    .await?,
            );
        }
        if options.video {
            let codec = RTCRtpCodec {
                mime_type: "video/VP8".into(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            };
            peer.video = Some(
                peer.publish("video", RtpCodecKind::Video, codec, VIDEO_SSRC)
                    .await?,
            );
        }
        if !options.audio && !options.video {
            // A receive-only client still offers media (an offer without m-lines has no ICE
            // credentials): one recvonly transceiver per kind, as a browser viewer would.
            for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                };
                peer.pc
                    .add_transceiver_from_kind(kind, Some(init))
                    .await
                    .map_err(err)?;
            }
        }
        Ok(peer)
    }

    async fn publish(
        &self,
        track_id: &str,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        ssrc: u32,
    ) -> Result<Arc<TrackLocalStaticRTP>, String> {
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "local".into(),
            track_id.into(),
            track_id.into(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        )));
        self.pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(err)?;
        // Count the keyframe requests the SFU relays to this publisher.
        let observed = Arc::clone(&self.observed);
        let reader = Arc::clone(&track);
        tokio::spawn(async move {
            while let Some(event) = reader.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                    let n = packets
                        .iter()
                        .filter(|p| is_keyframe_request(p.as_ref()))
                        .count();
                    observed.plis.fetch_add(n, Ordering::Relaxed);
                }
            }
        });
        Ok(track)
    }

    async fn local_sdp(&self) -> Result<String, String> {
        let mut gathered = self.gathered.clone();
        tokio::time::timeout(Duration::from_secs(5), gathered.wait_for(|g| *g))
            .await
            .map_err(|_| "ICE gathering timed out".to_string())?
            .map_err(err)?;
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| "no local description".to_string())
    }

    /// The join offer (all candidates inside).
    pub async fn offer(&self) -> Result<String, String> {
        let offer = self.pc.create_offer(None).await.map_err(err)?;
        self.pc.set_local_description(offer).await.map_err(err)?;
        self.local_sdp().await
    }

    /// Applies the SFU's answer to [`TestPeer::offer`].
    pub async fn apply_answer(&self, sdp: String) -> Result<(), String> {
        let answer = RTCSessionDescription::answer(sdp).map_err(err)?;
        self.pc.set_remote_description(answer).await.map_err(err)
    }

    /// Answers a server offer (renegotiation); marks tracks the server stopped sending as ended.
    pub async fn answer_offer(&self, sdp: String) -> Result<String, String> {
        self.note_offered_tracks(&sdp);
        let offer = RTCSessionDescription::offer(sdp).map_err(err)?;
        self.pc.set_remote_description(offer).await.map_err(err)?;
        let answer = self.pc.create_answer(None).await.map_err(err)?;
        self.pc.set_local_description(answer).await.map_err(err)?;
        self.local_sdp().await
    }

    fn note_offered_tracks(&self, sdp: &str) {
        let mut sections: Vec<OfferedSection> = Vec::new();
        for line in sdp.lines() {
            let line = line.trim_end();
            if line.starts_with("m=") {
                sections.push((None, None, false));
            } else if let Some(section) = sections.last_mut() {
                if let Some(mid) = line.strip_prefix("a=mid:") {
                    section.0 = Some(mid.to_string());
                } else if let Some(msid) = line.strip_prefix("a=msid:") {
                    let mut parts = msid.split_whitespace();
                    if let (Some(s), Some(t)) = (parts.next(), parts.next()) {
                        section.1 = Some((s.to_string(), t.to_string()));
                    }
                } else if line == "a=sendonly" || line == "a=sendrecv" {
                    section.2 = true;
                }
            }
        }
        let mut mids = lock(&self.mids);
        let mut tracks = lock(&self.observed.tracks);
        for (mid, msid, sending) in sections {
            let Some(mid) = mid else { continue };
            let now = if sending { msid } else { None };
            let before = match &now {
                Some(current) => mids.insert(mid, current.clone()),
                None => mids.remove(&mid),
            };
            if let Some((stream_id, track_id)) = before {
                if now.as_ref().map(|n| &n.1) != Some(&track_id) {
                    let t = tracks.entry(track_id.clone()).or_default();
                    t.stream_id = stream_id;
                    t.track_id = track_id;
                    t.ended = true;
                }
            }
        }
    }

    /// Whether the PeerConnection is connected right now.
    pub fn is_connected(&self) -> bool {
        *self.state.borrow() == RTCPeerConnectionState::Connected
    }

    /// Waits until the PeerConnection is connected.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut state = self.state.clone();
        tokio::time::timeout(
            timeout,
            state.wait_for(|s| *s == RTCPeerConnectionState::Connected),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    fn packet(
        &self,
        pt: u8,
        ssrc: u32,
        seq: &AtomicU16,
        payload: &[u8],
        marker: bool,
    ) -> rtp::Packet {
        let timestamp = self.timestamp.fetch_add(960, Ordering::Relaxed);
        rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: seq.fetch_add(1, Ordering::Relaxed),
                timestamp,
                ssrc,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        }
    }

    /// Sends one Opus RTP packet with this payload.
    pub async fn send_audio(&self, payload: &[u8]) -> Result<(), String> {
        let track = self.audio.as_ref().ok_or("not publishing audio")?;
        let packet = self.packet(OPUS_PT, AUDIO_SSRC, &self.audio_seq, payload, false);
        track.write_rtp(packet).await.map_err(err)
    }

    /// Sends one VP8 RTP packet with this payload.
    pub async fn send_video(&self, payload: &[u8], marker: bool) -> Result<(), String> {
        let track = self.video.as_ref().ok_or("not publishing video")?;
        let packet = self.packet(VP8_PT, VIDEO_SSRC, &self.video_seq, payload, marker);
        track.write_rtp(packet).await.map_err(err)
    }

    /// Sends a PLI for a received track (by track id).
    pub async fn request_keyframe(&self, track_id: &str) -> Result<(), String> {
        let remote = lock(&self.observed.remotes)
            .get(track_id)
            .cloned()
            .ok_or("no such received track")?;
        let ssrc = remote
            .ssrcs()
            .await
            .first()
            .copied()
            .ok_or("track has no SSRC")?;
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: ssrc,
        };
        remote.write_rtcp(vec![Box::new(pli)]).await.map_err(err)
    }

    /// Keyframe requests (PLI/FIR) received for the tracks this peer publishes.
    pub fn keyframe_requests(&self) -> usize {
        self.observed.plis.load(Ordering::Relaxed)
    }

    /// Every track received so far (ended ones included).
    pub fn tracks(&self) -> Vec<ReceivedTrack> {
        lock(&self.observed.tracks).values().cloned().collect()
    }

    /// The live (not ended) received track of this publisher (stream id) and kind.
    pub fn track_of(&self, stream_id: &str, kind: &str) -> Option<ReceivedTrack> {
        lock(&self.observed.tracks)
            .values()
            .find(|t| t.stream_id == stream_id && t.kind == kind && !t.ended)
            .cloned()
    }

    /// Polls `done` every 10 ms until it holds or `timeout` passes.
    pub async fn wait_for(&self, timeout: Duration, done: impl Fn(&TestPeer) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}
