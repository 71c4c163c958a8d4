//! The embedded SFU against real webrtc-rs peers on loopback: forwarding with payloads
//! intact, stream ids, joins and leaves mid-call with renegotiation, keyframe-request relay
//! and typed errors on bad input.

use std::sync::Arc;
use std::time::Duration;

use confab_signalling::sfu::{Room, Sfu, SfuConfig, SfuError, SfuEvent};
use confab_signalling::testpeer::{TestPeer, TestPeerOptions};
use tokio::sync::mpsc::unbounded_channel;
use tokio::task::JoinHandle;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

/// The tests run one at a time: each drives several real peer connections and the SFU's
/// runtime, and on 2 cores seven of them at once starve each other's ICE and RTP timers.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A participant: its peer, the task answering server offers, and the task sending media.
struct Client {
    id: Uuid,
    peer: Arc<TestPeer>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn av() -> TestPeerOptions {
    TestPeerOptions {
        audio: true,
        video: true,
        keep_payloads: true,
        on_packet: None,
    }
}

fn payload(id: Uuid, kind: &str, n: u64) -> Vec<u8> {
    format!("{id}:{kind}:{n}").into_bytes()
}

async fn join(room: &Room, options: TestPeerOptions) -> Client {
    let id = Uuid::new_v4();
    let peer = Arc::new(TestPeer::new(options.clone()).await.expect("test peer"));
    let (tx, mut rx) = unbounded_channel();
    let offer = peer.offer().await.expect("offer");
    let answer = room.join(id, offer, tx).await.expect("join");
    peer.apply_answer(answer).await.expect("apply answer");
    let (p, r) = (Arc::clone(&peer), room.clone());
    let answering = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let SfuEvent::Offer { participant, sdp } = event {
                assert_eq!(participant, id);
                let answer = p.answer_offer(sdp).await.expect("answer server offer");
                r.answer(id, answer).await.expect("server takes the answer");
            }
        }
    });
    assert!(peer.wait_connected(WAIT).await, "peer connects");
    let p = Arc::clone(&peer);
    let sending = tokio::spawn(async move {
        for n in 0.. {
            if options.audio {
                let _ = p.send_audio(&payload(id, "audio", n)).await;
            }
            if options.video {
                let _ = p.send_video(&payload(id, "video", n), n % 3 == 2).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    Client {
        id,
        peer,
        tasks: vec![answering, sending],
    }
}

/// Waits until `receiver` has at least `n` packets of `publisher`'s `kind`, then checks every
/// payload is that publisher's, intact.
async fn receives(receiver: &Client, publisher: &Client, kind: &str, n: u64) {
    let stream = publisher.id.to_string();
    let got = receiver
        .peer
        .wait_for(WAIT, |p| {
            p.track_of(&stream, kind).is_some_and(|t| t.packets >= n)
        })
        .await;
    let tracks = receiver.peer.tracks();
    assert!(got, "{kind} of {stream} not received: {tracks:?}");
    let track = receiver.peer.track_of(&stream, kind).expect("track");
    let prefix = format!("{}:{kind}:", publisher.id);
    for p in &track.payloads {
        let text = std::str::from_utf8(p).expect("utf-8 payload");
        let n = text
            .strip_prefix(&prefix)
            .expect("payload from this publisher");
        n.parse::<u64>().expect("payload intact");
    }
}

fn no_own_tracks(client: &Client) {
    let own = client.id.to_string();
    assert!(client.peer.tracks().iter().all(|t| t.stream_id != own));
}

fn start() -> Sfu {
    Sfu::start(SfuConfig::default()).expect("sfu starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_participants_receive_each_other() {
    let _serial = SERIAL.lock().await;
    let sfu = start();
    let room = sfu.room(Uuid::new_v4());
    let a = join(&room, av()).await;
    let b = join(&room, av()).await;
    assert_eq!(room.participants(), 2);
    for kind in ["audio", "video"] {
        receives(&a, &b, kind, 20).await;
        receives(&b, &a, kind, 20).await;
    }
    no_own_tracks(&a);
    no_own_tracks(&b);
    let track = a.peer.track_of(&b.id.to_string(), "video").expect("video");
    assert_eq!(track.stream_id, b.id.to_string());
    assert!(!track.track_id.is_empty());
    sfu.close_room(room.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_ends_tracks_and_a_late_joiner_receives_everyone() {
    let _serial = SERIAL.lock().await;
    let sfu = start();
    let room = sfu.room(Uuid::new_v4());
    let a = join(&room, av()).await;
    let b = join(&room, av()).await;
    let c = join(&room, av()).await;
    for (rx, tx) in [(&a, &b), (&a, &c), (&b, &a), (&b, &c), (&c, &a), (&c, &b)] {
        receives(rx, tx, "audio", 10).await;
        receives(rx, tx, "video", 10).await;
    }

    room.leave(c.id).await;
    assert_eq!(room.participants(), 2);
    let c_stream = c.id.to_string();
    for rx in [&a, &b] {
        let ended = rx
            .peer
            .wait_for(WAIT, |p| {
                let of_c: Vec<_> = p
                    .tracks()
                    .into_iter()
                    .filter(|t| t.stream_id == c_stream)
                    .collect();
                of_c.len() == 2 && of_c.iter().all(|t| t.ended)
            })
            .await;
        assert!(ended, "C's tracks end: {:?}", rx.peer.tracks());
    }
    // A and B keep receiving each other after the renegotiation.
    let before = a
        .peer
        .track_of(&b.id.to_string(), "video")
        .expect("b video")
        .packets;
    receives(&a, &b, "video", before + 20).await;

    let d = join(&room, av()).await;
    assert_eq!(room.participants(), 3);
    for (rx, tx) in [(&d, &a), (&d, &b), (&a, &d), (&b, &d)] {
        receives(rx, tx, "audio", 10).await;
        receives(rx, tx, "video", 10).await;
    }
    assert!(d.peer.tracks().iter().all(|t| t.stream_id != c_stream));
    no_own_tracks(&d);
    sfu.close_room(room.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyframe_requests_reach_the_publisher() {
    let _serial = SERIAL.lock().await;
    let sfu = start();
    let room = sfu.room(Uuid::new_v4());
    let publisher = join(
        &room,
        TestPeerOptions {
            video: true,
            keep_payloads: true,
            ..Default::default()
        },
    )
    .await;
    let viewer = join(&room, TestPeerOptions::default()).await;
    receives(&viewer, &publisher, "video", 5).await;
    let relayed = confab_signalling::sfu::metrics::get().plis_relayed.get();
    let before = publisher.peer.keyframe_requests();
    let track = viewer
        .peer
        .track_of(&publisher.id.to_string(), "video")
        .expect("video");
    viewer
        .peer
        .request_keyframe(&track.track_id)
        .await
        .expect("PLI sent");
    let arrived = publisher
        .peer
        .wait_for(WAIT, |p| p.keyframe_requests() > before)
        .await;
    assert!(arrived, "the publisher got the PLI");
    assert!(confab_signalling::sfu::metrics::get().plis_relayed.get() > relayed);
    sfu.close_room(room.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_typed_errors_and_the_room_carries_on() {
    let _serial = SERIAL.lock().await;
    let sfu = start();
    let room = sfu.room(Uuid::new_v4());
    let a = join(&room, av()).await;
    let b = join(&room, av()).await;
    receives(&b, &a, "video", 10).await;

    let (tx, _rx) = unbounded_channel();
    let err = room
        .join(Uuid::new_v4(), "not an sdp".into(), tx.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, SfuError::BadSdp(_)), "{err:?}");
    assert_eq!(err.code(), "bad_sdp");

    let again = TestPeer::new(av()).await.expect("peer");
    let err = room
        .join(a.id, again.offer().await.expect("offer"), tx.clone())
        .await
        .unwrap_err();
    assert_eq!(err, SfuError::AlreadyJoined);
    again.close().await;

    let err = room
        .add_candidate(a.id, "{not json".into())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bad_candidate");
    let err = room
        .add_candidate(
            a.id,
            r#"{"candidate":"candidate:garbage","sdpMid":"0","sdpMLineIndex":0}"#.into(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SfuError::BadCandidate(_)), "{err:?}");
    room.add_candidate(a.id, r#"{"candidate":"","sdpMid":"0"}"#.into())
        .await
        .expect("end-of-candidates is accepted");

    let stranger = Uuid::new_v4();
    let err = room
        .add_candidate(stranger, r#"{"candidate":"","sdpMid":"0"}"#.into())
        .await
        .unwrap_err();
    assert_eq!(err, SfuError::UnknownParticipant);
    assert_eq!(err.code(), "unknown_participant");
    let err = room.answer(stranger, "v=0".into()).await.unwrap_err();
    assert_eq!(err, SfuError::UnknownParticipant);
    room.leave(stranger).await;

    // An answer with no server offer in flight, and garbage as an answer.
    let err = room.answer(a.id, "garbage".into()).await.unwrap_err();
    assert_eq!(err.code(), "bad_sdp");

    assert_eq!(room.participants(), 2);
    let before = b
        .peer
        .track_of(&a.id.to_string(), "video")
        .expect("video")
        .packets;
    receives(&b, &a, "video", before + 20).await;
    receives(&a, &b, "audio", 10).await;

    sfu.close_room(room.id());
    let (tx, _rx) = unbounded_channel();
    let late = TestPeer::new(av()).await.expect("peer");
    let err = room
        .join(Uuid::new_v4(), late.offer().await.expect("offer"), tx)
        .await
        .unwrap_err();
    assert_eq!(err, SfuError::RoomClosed);
    late.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_and_closing_free_the_room() {
    let _serial = SERIAL.lock().await;
    let sfu = start();
    let room = sfu.room(Uuid::new_v4());
    let a = join(&room, av()).await;
    let b = join(&room, av()).await;
    receives(&b, &a, "audio", 5).await;
    room.leave(a.id).await;
    room.leave(b.id).await;
    assert_eq!(room.participants(), 0);
    // Leaving twice is harmless; the room still takes joins.
    room.leave(a.id).await;
    let c = join(&room, av()).await;
    assert_eq!(room.participants(), 1);
    assert_eq!(sfu.rooms(), 1);
    sfu.close_room(room.id());
    assert_eq!(sfu.rooms(), 0);
    // The closed room's PCs are gone: the client's connection drops (ICE consent expires).
    assert!(c.peer.is_connected());
    let dropped = c
        .peer
        .wait_for(Duration::from_secs(40), |p| !p.is_connected())
        .await;
    assert!(dropped);
}

/// The ports of the `a=candidate` lines of an SDP, and their addresses.
fn candidates(sdp: &str) -> Vec<(String, u16)> {
    sdp.lines()
        .filter_map(|l| l.trim_end().strip_prefix("a=candidate:"))
        .filter_map(|c| {
            let f: Vec<&str> = c.split_whitespace().collect();
            Some((f.get(4)?.to_string(), f.get(5)?.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_range_and_public_ip_shape_the_candidates() {
    let _serial = SERIAL.lock().await;
    let bad = Sfu::start(SfuConfig {
        port_min: 5000,
        port_max: 4000,
        ..SfuConfig::default()
    });
    assert_eq!(bad.err().map(|e| e.code()), Some("bad_config"));
    let bad = Sfu::start(SfuConfig {
        bind_ips: vec![],
        ..SfuConfig::default()
    });
    assert_eq!(bad.err().map(|e| e.code()), Some("bad_config"));

    // A free-looking range high in the ephemeral space; the SFU probes before binding.
    let sfu = Sfu::start(SfuConfig {
        port_min: 47_310,
        port_max: 47_329,
        ..SfuConfig::default()
    })
    .expect("sfu");
    let room = sfu.room(Uuid::new_v4());
    let a = join(&room, av()).await;
    let b = join(&room, av()).await;
    receives(&a, &b, "audio", 5).await;
    sfu.close_room(room.id());

    let sfu = Sfu::start(SfuConfig {
        public_ip: Some([203, 0, 113, 7].into()),
        ..SfuConfig::default()
    })
    .expect("sfu");
    let room = sfu.room(Uuid::new_v4());
    let peer = TestPeer::new(av()).await.expect("peer");
    let (tx, _rx) = unbounded_channel();
    let answer = room
        .join(Uuid::new_v4(), peer.offer().await.expect("offer"), tx)
        .await
        .expect("join");
    let found = candidates(&answer);
    assert!(!found.is_empty(), "{answer}");
    assert!(found.iter().all(|(ip, _)| ip == "203.0.113.7"), "{found:?}");
    peer.close().await;
    sfu.close_room(room.id());

    let sfu = Sfu::start(SfuConfig {
        port_min: 47_330,
        port_max: 47_331,
        ..SfuConfig::default()
    })
    .expect("sfu");
    let room = sfu.room(Uuid::new_v4());
    let peer = TestPeer::new(av()).await.expect("peer");
    let (tx, _rx) = unbounded_channel();
    let answer = room
        .join(Uuid::new_v4(), peer.offer().await.expect("offer"), tx)
        .await
        .expect("join");
    let found = candidates(&answer);
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|(_, port)| (47_330..=47_331).contains(port)),
        "{found:?}"
    );
    peer.close().await;
    sfu.close_room(room.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_is_removed_as_failed() {
    let _serial = SERIAL.lock().await;
    let sfu = start();
    let room = sfu.room(Uuid::new_v4());
    let a = join(&room, av()).await;
    let b = join(&room, av()).await;
    receives(&b, &a, "video", 5).await;
    let failures = confab_signalling::sfu::metrics::get()
        .peer_connection_failures
        .get();
    // Closing the client PC sends nothing the SFU acts on: A just goes quiet.
    a.peer.close().await;
    let a_stream = a.id.to_string();
    let ended = b
        .peer
        .wait_for(Duration::from_secs(40), |p| {
            p.tracks()
                .iter()
                .filter(|t| t.stream_id == a_stream)
                .all(|t| t.ended)
        })
        .await;
    assert!(ended, "A's tracks end at B: {:?}", b.peer.tracks());
    assert_eq!(room.participants(), 1);
    // Its connection timed out (ICE consent): counted as a failure.
    assert!(
        confab_signalling::sfu::metrics::get()
            .peer_connection_failures
            .get()
            > failures
    );
    sfu.close_room(room.id());
}
