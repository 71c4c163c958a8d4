//! 1:1 calls against the real binary with real WebRTC peers on loopback: ringing on every
//! device, answer, media both ways, hang-up and history; and how a call that never connects
//! ends (busy, declined, missed, cancelled).

use std::time::Duration;

use confab_tests::calls::*;
use confab_tests::ws::*;
use confab_tests::*;

/// `/api/calls` of `who`: the newest call (history is written as the call ends: wait for it
/// to be there if `call_id` is given).
fn last_call(s: &Server, who: &Account) -> Value {
    let r = s.get("/api/calls?limit=5", Some(&who.access));
    r.expect(200);
    r.json["items"][0].clone()
}

fn recorded(s: &Server, who: &Account, call_id: &Value) -> Value {
    for _ in 0..50 {
        let last = last_call(s, who);
        if last["call_id"] == *call_id {
            return last;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "call {call_id} is not the newest in the history: {}",
        last_call(s, who)
    );
}

#[test]
fn one_to_one_rings_every_device_connects_media_and_is_recorded() {
    let s = call_server(&[]);
    let rt = runtime();
    let a = register_account(&s, &format!("ann{}", unique()));
    let b = register_account(&s, &format!("ben{}", unique()));
    let b_phone = login_account(&s, &b.username, PASSWORD);
    let chat = create_direct(&s, &a, &b.user_id);

    let mut caller = Device::connect(&s, &a, &rt, false);
    let mut callee = Device::connect(&s, &b, &rt, false);
    let mut other = Device::connect(&s, &b_phone, &rt, false);

    let started = caller.start(&chat, "voice");
    let call_id = started["call_id"].as_str().unwrap().to_string();
    assert_eq!(started["kind"], "voice", "{started}");
    assert_eq!(started["participants"], json!([]), "{started}");
    let a_pid = caller.participant_id.clone().unwrap();

    for device in [&mut callee, &mut other] {
        let ring = device.next_call("call_incoming", TIMEOUT);
        assert_eq!(ring["call_id"], json!(call_id), "{ring}");
        assert_eq!(ring["chat_id"], json!(chat), "{ring}");
        assert_eq!(ring["caller"], json!(a.user_id), "{ring}");
        assert_eq!(ring["kind"], "voice", "{ring}");
    }

    let joined = callee.join(&call_id);
    let b_pid = callee.participant_id.clone().unwrap();
    assert_eq!(
        joined["participants"][0]["participant_id"],
        json!(a_pid),
        "{joined}"
    );
    assert_eq!(
        joined["participants"][0]["user_id"],
        json!(a.user_id),
        "{joined}"
    );

    let stopped = other.next_call("call_ring_stopped", TIMEOUT);
    assert_eq!(stopped["reason"], "answered_elsewhere", "{stopped}");
    let arrived = caller.next_call("call_participant_joined", TIMEOUT);
    assert_eq!(arrived["participant_id"], json!(b_pid), "{arrived}");

    // Media both ways through the SFU, payload markers intact.
    callee.expect_media(&a_pid, &a.user_id, "audio", 20);
    caller.expect_media(&b_pid, &b.user_id, "audio", 20);
    assert!(
        other.peer.tracks().is_empty(),
        "the device that did not answer receives nothing"
    );

    // Mute is broadcast to the other side.
    let ok = callee.request("call_media", json!({"call_id": call_id, "muted": true}));
    assert_eq!(ok["type"], "ok", "{ok}");
    let media = caller.next_call("call_media", TIMEOUT);
    assert_eq!(media["participant_id"], json!(b_pid), "{media}");
    assert_eq!(media["muted"], true, "{media}");

    std::thread::sleep(Duration::from_millis(300));
    let ok = callee.request("call_hangup", json!({"call_id": call_id}));
    assert_eq!(ok["type"], "ok", "{ok}");
    for device in [&mut caller, &mut callee, &mut other] {
        let ended = device.next_call("call_ended", TIMEOUT);
        assert_eq!(ended["call_id"], json!(call_id), "{ended}");
        assert_eq!(ended["outcome"], "answered", "{ended}");
        assert!(ended["duration_ms"].as_i64().unwrap() > 0, "{ended}");
    }

    // History, for both, with a duration.
    std::thread::sleep(Duration::from_millis(300));
    let mine = recorded(&s, &a, &json!(call_id));
    let theirs = recorded(&s, &b, &json!(call_id));
    for (call, direction) in [(&mine, "outgoing"), (&theirs, "incoming")] {
        assert_eq!(call["call_id"], json!(call_id), "{call}");
        assert_eq!(call["outcome"], "answered", "{call}");
        assert_eq!(call["direction"], direction, "{call}");
        assert_eq!(call["kind"], "voice", "{call}");
        assert_eq!(call["joined"], true, "{call}");
        let duration = call["duration_ms"].as_i64().unwrap();
        assert!(duration >= 300, "talk time recorded: {call}");
        assert_eq!(
            call["ended_at"].as_i64().unwrap() - call["answered_at"].as_i64().unwrap(),
            duration,
            "{call}"
        );
        assert_eq!(call["participants"].as_array().unwrap().len(), 2, "{call}");
    }
    let metrics = s.get("/metrics", None);
    assert_eq!(
        metric_sum(
            &metrics.text,
            "confab_call_outcomes_total{outcome=\"answered\"}"
        ),
        Some(1.0),
        "{}",
        metrics.text
    );
    assert_eq!(metric_sum(&metrics.text, "confab_calls_live"), Some(0.0));

    let stranger = register_account(&s, &format!("cyd{}", unique()));
    let r = s.get("/api/calls", Some(&stranger.access));
    assert_eq!(r.json["items"], json!([]), "{r}");

    // The call is over: a late join is refused.
    let sdp = other.offer();
    let late = other.request("call_join", json!({"call_id": call_id, "sdp": sdp}));
    assert_ws_error(&late, &["call_not_found"]);
}

#[test]
fn decline_busy_cancel_and_missed() {
    let s = call_server(&[("CONFAB_CALLS_RING_TIMEOUT_SECS", "2")]);
    let rt = runtime();
    let a = register_account(&s, &format!("ann{}", unique()));
    let b = register_account(&s, &format!("ben{}", unique()));
    let c = register_account(&s, &format!("cyd{}", unique()));
    let ab = create_direct(&s, &a, &b.user_id);
    let cb = create_direct(&s, &c, &b.user_id);
    let ca = create_direct(&s, &c, &a.user_id);
    let mut da = Device::connect(&s, &a, &rt, false);
    let mut db = Device::connect(&s, &b, &rt, false);
    let mut dc = Device::connect(&s, &c, &rt, false);

    // Decline: the call ends declined for both.
    let call = da.start(&ab, "video")["call_id"].clone();
    db.next_in(&call, "call_incoming");
    let ok = db.request("call_decline", json!({"call_id": call}));
    assert_eq!(ok["type"], "ok", "{ok}");
    assert_eq!(da.next_in(&call, "call_ended")["outcome"], "declined");
    assert_eq!(db.next_in(&call, "call_ring_stopped")["reason"], "declined");
    assert_eq!(recorded(&s, &b, &call)["outcome"], "declined");
    assert_eq!(last_call(&s, &b)["kind"], "video");

    // Busy: B is in a call with A; C calls B.
    da.new_peer();
    db.new_peer();
    let call = da.start(&ab, "voice")["call_id"].clone();
    db.next_in(&call, "call_incoming");
    db.join(call.as_str().unwrap());
    let sdp = dc.offer();
    let busy = dc.request(
        "call_start",
        json!({"chat_id": cb, "kind": "voice", "sdp": sdp}),
    );
    assert_ws_error(&busy, &["busy"]);
    std::thread::sleep(Duration::from_millis(300));
    let busy_call = last_call(&s, &c);
    assert_eq!(busy_call["outcome"], "busy", "{busy_call}");
    assert_eq!(busy_call["duration_ms"], 0, "{busy_call}");
    assert_eq!(
        last_call(&s, &b)["outcome"],
        "busy",
        "the busy callee sees it too"
    );
    // A caller already in a call cannot start another one (refused before the SDP is read).
    let again = da.request(
        "call_start",
        json!({"chat_id": ca, "kind": "voice", "sdp": "v=0"}),
    );
    assert_ws_error(&again, &["already_in_call"]);
    da.request("call_hangup", json!({"call_id": call}));
    assert_eq!(db.next_in(&call, "call_ended")["outcome"], "answered");

    // Cancel: the caller hangs up before an answer.
    dc.new_peer();
    let call = dc.start(&ca, "voice")["call_id"].clone();
    da.next_in(&call, "call_incoming");
    dc.request("call_hangup", json!({"call_id": call}));
    let ended = da.next_in(&call, "call_ended");
    assert_eq!(ended["outcome"], "cancelled", "{ended}");
    assert_eq!(ended["duration_ms"], 0, "{ended}");

    // Missed: nobody answers within the ring timeout (2 s here).
    dc.new_peer();
    let call = dc.start(&ca, "voice")["call_id"].clone();
    da.next_in(&call, "call_incoming");
    let stopped = da.next_in(&call, "call_ring_stopped");
    assert_eq!(stopped["reason"], "timeout", "{stopped}");
    let ended = dc.next_in(&call, "call_ended");
    assert_eq!(ended["call_id"], call, "{ended}");
    assert_eq!(ended["outcome"], "missed", "{ended}");
    std::thread::sleep(Duration::from_millis(300));
    let missed = recorded(&s, &a, &call);
    assert_eq!(missed["outcome"], "missed", "{missed}");
    assert_eq!(missed["direction"], "incoming", "{missed}");
    assert_eq!(missed["joined"], false, "{missed}");
    // The missed call becomes a notification in A's inbox (the notifications provider).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let note = loop {
        let r = s.get("/api/notifications", Some(&a.access));
        let found = r.json["items"]
            .as_array()
            .and_then(|items| items.iter().find(|n| n["kind"] == "missed_call").cloned());
        if let Some(n) = found {
            break n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no missed_call notification: {r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(note["chat_id"], json!(ca), "{note}");
    assert_eq!(note["actor_id"], json!(c.user_id), "{note}");
    assert_eq!(note["body"], "Missed voice call", "{note}");

    // History pages newest first with a cursor.
    let pages = collect_pages(&s, "/api/calls", &c.access, 1);
    let outcomes: Vec<Value> = pages
        .iter()
        .flatten()
        .map(|c| c["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![json!("missed"), json!("cancelled"), json!("busy")]
    );
}

#[test]
fn refusals_and_bad_signalling_get_typed_errors_and_the_call_carries_on() {
    let ice = r#"[{"urls":["stun:stun.example.org:3478"]},{"urls":["turn:turn.example.org:3478"],"username":"u","credential":"p"}]"#;
    let s = call_server(&[("CONFAB_CALLS_ICE_SERVERS", ice)]);
    let rt = runtime();
    let a = register_account(&s, &format!("ann{}", unique()));
    let b = register_account(&s, &format!("ben{}", unique()));
    let c = register_account(&s, &format!("cyd{}", unique()));
    let ab = create_direct(&s, &a, &b.user_id);
    let ac = create_direct(&s, &a, &c.user_id);
    let mut da = Device::connect(&s, &a, &rt, false);
    let mut db = Device::connect(&s, &b, &rt, false);
    let mut dc = Device::connect(&s, &c, &rt, false);

    // Blocked (either way) cannot call.
    block(&s, &c, &a.user_id);
    let sdp = da.offer();
    let r = da.request(
        "call_start",
        json!({"chat_id": ac, "kind": "voice", "sdp": sdp}),
    );
    assert_ws_error(&r, &["blocked"]);
    let sdp = dc.offer();
    let r = dc.request(
        "call_start",
        json!({"chat_id": ac, "kind": "voice", "sdp": sdp}),
    );
    assert_ws_error(&r, &["blocked"]);
    dc.ws.expect_no_frame("call_incoming", QUIET);

    // Not a member of the chat.
    let sdp = dc.offer();
    let r = dc.request(
        "call_start",
        json!({"chat_id": ab, "kind": "voice", "sdp": sdp}),
    );
    assert_ws_error(&r, &["not_found"]);

    // Garbage SDP: typed, nothing rings.
    let r = da.request(
        "call_start",
        json!({"chat_id": ab, "kind": "voice", "sdp": "v=garbage"}),
    );
    assert_ws_error(&r, &["bad_sdp"]);
    let r = da.request(
        "call_start",
        json!({"chat_id": ab, "kind": "voice", "sdp": ""}),
    );
    assert_ws_error(&r, &["validation_failed"]);
    let r = da.request(
        "call_start",
        json!({"chat_id": ab, "kind": "fax", "sdp": "x"}),
    );
    assert_ws_error(&r, &["validation_failed"]);

    // A real call, then bad input inside it.
    da.new_peer();
    let call = da.start(&ab, "voice")["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    let a_pid = da.participant_id.clone().unwrap();
    let ring = db.next_call("call_incoming", TIMEOUT);
    assert_eq!(ring["call_id"], json!(call), "nothing rang before: {ring}");
    let expected_ice: Value = serde_json::from_str(ice).unwrap();
    assert_eq!(ring["ice_servers"], expected_ice, "{ring}");
    let config = s.get("/api/calls/config", Some(&b.access));
    config.expect(200);
    assert_eq!(config.json["ice_servers"], expected_ice, "{config}");
    assert_eq!(config.json["ring_timeout_secs"], 45, "{config}");
    assert_eq!(s.get("/api/calls/config", None).status, 401);
    // A stranger cannot join a 1:1 call or see it.
    let sdp = dc.offer();
    let r = dc.request("call_join", json!({"call_id": call, "sdp": sdp}));
    assert_ws_error(&r, &["call_not_found"]);
    let r = dc.request("call_decline", json!({"call_id": call}));
    assert_ws_error(&r, &["not_in_call"]);
    // Unknown call.
    let unknown = random_uuid();
    let cand = json!({"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0});
    let r = da.request(
        "call_candidate",
        json!({"call_id": unknown, "candidate": cand}),
    );
    assert_ws_error(&r, &["call_not_found"]);
    let r = da.request("call_answer", json!({"call_id": unknown, "sdp": "v=0"}));
    assert_ws_error(&r, &["call_not_found"]);
    // Garbage inside the live call.
    let r = da.request(
        "call_candidate",
        json!({"call_id": call, "candidate": {"candidate": "nonsense"}}),
    );
    assert_ws_error(&r, &["bad_candidate"]);
    let r = db.request("call_join", json!({"call_id": call, "sdp": "garbage"}));
    assert_ws_error(&r, &["bad_sdp"]);
    let r = db.request("call_media", json!({"call_id": call}));
    assert_ws_error(&r, &["validation_failed"]);
    let r = db.request("call_media", json!({"call_id": call, "muted": true}));
    assert_ws_error(&r, &["not_in_call"]);

    // The room carried on: B answers properly and media flows.
    db.new_peer();
    db.join(&call);
    let b_pid = db.participant_id.clone().unwrap();
    db.expect_media(&a_pid, &a.user_id, "audio", 10);
    da.expect_media(&b_pid, &b.user_id, "audio", 10);
    let r = da.request(
        "call_candidate",
        json!({"call_id": call, "candidate": {"candidate": "", "sdpMid": "0"}}),
    );
    assert_eq!(r["type"], "ok", "end-of-candidates is accepted: {r}");
    da.request("call_hangup", json!({"call_id": call}));
    assert_eq!(db.next_call("call_ended", TIMEOUT)["outcome"], "answered");
}
