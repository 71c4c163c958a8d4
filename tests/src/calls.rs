//! Call test clients: a device is a WebSocket session plus a real WebRTC peer
//! (`confab_signalling::testpeer`), signalling its SDP over the socket as a client app would.
//! While a test waits for a frame, server renegotiation offers (`call_offer`) are answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_signalling::testpeer::{ReceivedTrack, TestPeer, TestPeerOptions};
use tokio::runtime::Runtime;

use crate::ws::{connect_as, ws_server_with, Ws, TIMEOUT};
use crate::{json, Account, Server, Value};

/// A server whose SFU binds loopback, with extra `CONFAB_*` variables.
pub fn call_server(extra: &[(&str, &str)]) -> Server {
    let mut env = vec![("CONFAB_CALLS_UDP_IPS", "127.0.0.1")];
    env.extend_from_slice(extra);
    ws_server_with(&env)
}

/// The runtime the test's peers run on.
pub fn runtime() -> Arc<Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime"),
    )
}

/// The marker a device puts in every packet it sends: kind and user.
pub fn marker(kind: &str, user_id: &str) -> String {
    format!("{kind}|{user_id}|")
}

pub struct Device {
    pub ws: Ws,
    pub peer: Arc<TestPeer>,
    pub rt: Arc<Runtime>,
    pub user_id: String,
    pub call_id: Option<String>,
    pub participant_id: Option<String>,
    video: bool,
    sender: Option<tokio::task::JoinHandle<()>>,
}

fn is_type(v: &Value, ty: &str) -> bool {
    v["type"] == ty
}

impl Device {
    /// Connects a socket for `account` and builds a peer publishing audio (and video).
    pub fn connect(server: &Server, account: &Account, rt: &Arc<Runtime>, video: bool) -> Device {
        let ws = connect_as(server, account);
        let peer = rt
            .block_on(TestPeer::new(TestPeerOptions {
                audio: true,
                video,
                keep_payloads: true,
                on_packet: None,
            }))
            .expect("test peer");
        Device {
            ws,
            peer: Arc::new(peer),
            rt: rt.clone(),
            user_id: account.user_id.clone(),
            call_id: None,
            participant_id: None,
            video,
            sender: None,
        }
    }

    /// A fresh peer (after a reconnect), the old one closed.
    pub fn new_peer(&mut self) {
        self.stop_sending();
        let old = self.peer.clone();
        self.rt.block_on(old.close());
        let peer = self
            .rt
            .block_on(TestPeer::new(TestPeerOptions {
                audio: true,
                video: self.video,
                keep_payloads: true,
                on_packet: None,
            }))
            .expect("test peer");
        self.peer = Arc::new(peer);
    }

    pub fn offer(&self) -> String {
        self.rt.block_on(self.peer.offer()).expect("offer")
    }

    /// Answers a `call_offer` with the peer's answer (the `ok` stays buffered).
    fn on_offer(&mut self, offer: &Value) {
        let sdp = offer["sdp"].as_str().expect("call_offer sdp").to_string();
        let answer = self
            .rt
            .block_on(self.peer.answer_offer(sdp))
            .expect("answer to a server offer");
        self.ws.send_frame(
            "call_answer",
            json!({"call_id": offer["call_id"], "sdp": answer}),
        );
    }

    /// The next frame for which `pred` holds, answering server offers meanwhile.
    #[track_caller]
    pub fn next_where(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: &dyn Fn(&Value) -> bool,
    ) -> Value {
        match self.try_next_where(timeout, pred) {
            Some(v) => v,
            None => self.ws.fail(format!("no {what} within {timeout:?}")),
        }
    }

    pub fn try_next_where(
        &mut self,
        timeout: Duration,
        pred: &dyn Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let step = left.min(Duration::from_millis(100));
            match self
                .ws
                .try_next_where(step, |v| is_type(v, "call_offer") || pred(v))
            {
                Some(v) if is_type(&v, "call_offer") => self.on_offer(&v),
                Some(v) => return Some(v),
                None if left.is_zero() => return None,
                None => {}
            }
        }
    }

    /// The next frame of type `ty` about the current call (or any call if none yet).
    #[track_caller]
    pub fn next_call(&mut self, ty: &str, timeout: Duration) -> Value {
        let ty2 = ty.to_string();
        self.next_where(ty, timeout, &move |v| is_type(v, &ty2))
    }

    /// The next frame of type `ty` about call `call_id` (frames of earlier calls are skipped).
    #[track_caller]
    pub fn next_in(&mut self, call_id: &Value, ty: &str) -> Value {
        let (ty2, id) = (ty.to_string(), call_id.clone());
        self.next_where(ty, TIMEOUT, &move |v| {
            is_type(v, &ty2) && v["call_id"] == id
        })
    }

    /// Handles server offers for `dur`.
    pub fn pump(&mut self, dur: Duration) {
        let _ = self.try_next_where(dur, &|_| false);
    }

    /// Sends a request and waits for its answer, answering server offers meanwhile.
    #[track_caller]
    pub fn request(&mut self, ty: &str, fields: Value) -> Value {
        let id = self.ws.send_frame(ty, fields);
        let want = json!(id);
        self.next_where(&format!("answer to {ty}"), TIMEOUT, &move |v| {
            v["id"] == want
        })
    }

    /// `call_start`; on success applies the SFU's answer and starts sending media.
    #[track_caller]
    pub fn start(&mut self, chat_id: &str, kind: &str) -> Value {
        let sdp = self.offer();
        let ans = self.request(
            "call_start",
            json!({"chat_id": chat_id, "kind": kind, "sdp": sdp}),
        );
        self.joined(ans, "call_started")
    }

    /// `call_join`; on success applies the SFU's answer and starts sending media.
    #[track_caller]
    pub fn join(&mut self, call_id: &str) -> Value {
        let sdp = self.offer();
        let ans = self.request("call_join", json!({"call_id": call_id, "sdp": sdp}));
        self.joined(ans, "call_joined")
    }

    #[track_caller]
    fn joined(&mut self, ans: Value, ty: &str) -> Value {
        if ans["type"] != ty {
            self.ws.fail(format!("expected {ty}, got {ans}"));
        }
        let sdp = ans["sdp"].as_str().expect("answer sdp").to_string();
        self.rt
            .block_on(self.peer.apply_answer(sdp))
            .expect("apply the SFU's answer");
        self.call_id = ans["call_id"].as_str().map(str::to_owned);
        self.participant_id = ans["participant_id"].as_str().map(str::to_owned);
        self.start_sending();
        ans
    }

    /// Sends an audio (and video) packet every 20 ms with this user's markers.
    pub fn start_sending(&mut self) {
        self.stop_sending();
        let peer = self.peer.clone();
        let audio = marker("audio", &self.user_id);
        let video = self.video.then(|| marker("video", &self.user_id));
        self.sender = Some(self.rt.spawn(async move {
            let mut n: u64 = 0;
            loop {
                let _ = peer.send_audio(format!("{audio}{n}").as_bytes()).await;
                if let Some(v) = &video {
                    let _ = peer.send_video(format!("{v}{n}").as_bytes(), true).await;
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    pub fn stop_sending(&mut self) {
        if let Some(s) = self.sender.take() {
            s.abort();
        }
    }

    /// The live track received from participant `pid` of this kind.
    pub fn track_from(&self, pid: &str, kind: &str) -> Option<ReceivedTrack> {
        self.peer.track_of(pid, kind)
    }

    /// Waits (answering offers) until a live track from `pid` of `kind` carried at least
    /// `packets` packets, every one starting with `user_id`'s marker. Returns the track.
    #[track_caller]
    pub fn expect_media(
        &mut self,
        pid: &str,
        user_id: &str,
        kind: &str,
        packets: usize,
    ) -> ReceivedTrack {
        let deadline = Instant::now() + TIMEOUT;
        let want = marker(kind, user_id);
        loop {
            if let Some(t) = self.track_from(pid, kind) {
                if t.payloads.len() >= packets {
                    for p in &t.payloads {
                        assert!(
                            p.starts_with(want.as_bytes()),
                            "{kind} from {pid} carries another sender's payload: {:?}",
                            String::from_utf8_lossy(p)
                        );
                    }
                    return t;
                }
            }
            if Instant::now() >= deadline {
                let tracks = self.peer.tracks();
                self.ws.fail(format!(
                    "no {kind} from participant {pid} ({packets} packets) within {TIMEOUT:?}; tracks: {tracks:?}"
                ));
            }
            self.pump(Duration::from_millis(100));
        }
    }

    /// Waits (answering offers) until the track from `pid` of `kind` has ended or gone.
    #[track_caller]
    pub fn expect_track_ended(&mut self, pid: &str, kind: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while self.track_from(pid, kind).is_some() {
            if Instant::now() >= deadline {
                self.ws.fail(format!("{kind} track from {pid} did not end"));
            }
            self.pump(Duration::from_millis(100));
        }
    }

    pub fn close_peer(&mut self) {
        self.stop_sending();
        let peer = self.peer.clone();
        self.rt.block_on(peer.close());
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.stop_sending();
    }
}
