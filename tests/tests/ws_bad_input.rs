//! WebSocket protocol v1: broken client frames. Each gets an `error` (and the session carries
//! on), except frames over 1 MiB (close 1009) and floods (rate limited / close 4029).

use std::time::{Duration, Instant};

use confab_tests::ws::*;
use confab_tests::*;

fn setup() -> (Server, Account, Ws) {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let w = connect_as(&s, &a);
    (s, a, w)
}

/// Send `raw`, expect one `error` with `code`; its `id` must be one of `ids` (a `None` entry:
/// `null` is fine). Then the session must still work.
#[track_caller]
fn expect_error_then_alive(w: &mut Ws, raw: &str, codes: &[&str], ids: &[Option<&str>]) -> Value {
    w.send_text(raw);
    let e = w.next_of("error", TIMEOUT);
    assert_ws_error(&e, codes);
    let id_ok = ids.iter().any(|i| match i {
        None => e["id"].is_null(),
        Some(s) => e["id"] == json!(s),
    });
    if !id_ok {
        w.fail(format!("error id: expected one of {ids:?}, got {e}"));
    }
    w.expect_no_frame("error", Duration::from_millis(300));
    w.assert_ping();
    e
}

#[test]
fn non_json_text_is_malformed_json() {
    let (_s, _a, mut w) = setup();
    expect_error_then_alive(&mut w, "hello there", &["malformed_json"], &[None]);
    expect_error_then_alive(
        &mut w,
        "{\"v\":1,\"id\":\"x\",",
        &["malformed_json"],
        &[None],
    );
    expect_error_then_alive(&mut w, "", &["malformed_json"], &[None]);
}

#[test]
fn json_that_is_not_an_object_is_malformed_json() {
    let (_s, _a, mut w) = setup();
    expect_error_then_alive(
        &mut w,
        r#"[{"v":1,"id":"a1","type":"ping"}]"#,
        &["malformed_json"],
        &[None],
    );
    for raw in ["42", "\"ping\"", "null", "true"] {
        expect_error_then_alive(&mut w, raw, &["malformed_json"], &[None]);
    }
}

#[test]
fn missing_type_is_validation_failed() {
    let (_s, _a, mut w) = setup();
    // The frame is a JSON object: what is wrong inside it is a validation error, and the
    // readable id is echoed.
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":"m1"}"#,
        &["validation_failed"],
        &[Some("m1")],
    );
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":"m2","type":7}"#,
        &["validation_failed"],
        &[Some("m2")],
    );
}

#[test]
fn missing_or_bad_id_is_an_error() {
    let (_s, _a, mut w) = setup();
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"type":"ping"}"#,
        &["validation_failed"],
        &[None],
    );
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":"","type":"ping"}"#,
        &["validation_failed"],
        &[None],
    );
    let long = "i".repeat(65);
    expect_error_then_alive(
        &mut w,
        &format!(r#"{{"v":1,"id":"{long}","type":"ping"}}"#),
        &["validation_failed"],
        &[None],
    );
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":5,"type":"ping"}"#,
        &["validation_failed"],
        &[None],
    );
    // 64 characters is fine.
    let id64 = "j".repeat(64);
    w.send_text(&format!(r#"{{"v":1,"id":"{id64}","type":"ping"}}"#));
    let p = w.next_of("pong", TIMEOUT);
    assert_eq!(p["id"], json!(id64), "{p}");
}

#[test]
fn unknown_type_is_unknown_type() {
    let (_s, _a, mut w) = setup();
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":"u1","type":"teleport"}"#,
        &["unknown_type"],
        &[Some("u1")],
    );
    // A server frame type sent by a client is not a request type either.
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":"u2","type":"pong"}"#,
        &["unknown_type"],
        &[Some("u2")],
    );
}

#[test]
fn wrong_version_is_unsupported_version() {
    let (_s, _a, mut w) = setup();
    expect_error_then_alive(
        &mut w,
        r#"{"v":2,"id":"w1","type":"ping"}"#,
        &["unsupported_version"],
        &[Some("w1"), None],
    );
    expect_error_then_alive(
        &mut w,
        r#"{"v":0,"id":"w2","type":"ping"}"#,
        &["unsupported_version"],
        &[Some("w2"), None],
    );
    // Missing `v`: a missing field in a well-formed object.
    expect_error_then_alive(
        &mut w,
        r#"{"id":"w3","type":"ping"}"#,
        &["validation_failed"],
        &[Some("w3")],
    );
}

#[test]
fn unknown_field_is_validation_failed_and_changes_nothing() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut w = connect_as(&s, &a);
    expect_error_then_alive(
        &mut w,
        r#"{"v":1,"id":"f1","type":"ping","extra":true}"#,
        &["validation_failed"],
        &[Some("f1")],
    );
    let raw = json!({"v": 1, "id": "f2", "type": "send", "chat_id": chat, "client_id": "uf-1",
                     "content": text("hi"), "priority": "high"})
    .to_string();
    expect_error_then_alive(&mut w, &raw, &["validation_failed"], &[Some("f2")]);
    let raw = json!({"v": 1, "id": "f3", "type": "send", "chat_id": chat, "client_id": "uf-2",
                     "content": {"kind": "text", "text": "hi", "bold": true}})
    .to_string();
    expect_error_then_alive(&mut w, &raw, &["validation_failed"], &[Some("f3")]);
    assert!(
        history(&s, &a.access, &chat, "").is_empty(),
        "refused frames stored nothing"
    );
    w.expect_no_frame("event", Duration::from_millis(300));
}

#[test]
fn binary_frame_is_refused() {
    let (_s, _a, mut w) = setup();
    w.send_binary(br#"{"v":1,"id":"b1","type":"ping"}"#.to_vec());
    let e = w.next_of("error", TIMEOUT);
    assert_ws_error(&e, &["binary_not_supported"]);
    assert!(e["id"].is_null(), "{e}");
    w.expect_no_frame("pong", Duration::from_millis(300));
    w.assert_ping();
}

#[test]
fn frame_of_100_kib_is_frame_too_large_and_session_survives() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut w = connect_as(&s, &a);
    let pad = "p".repeat(100 * 1024);
    let raw = format!(r#"{{"v":1,"id":"big","type":"ping","pad":"{pad}"}}"#);
    w.send_text(&raw);
    let e = w.next_of("error", TIMEOUT);
    assert_ws_error(&e, &["frame_too_large"]);
    assert_eq!(e["id"], "big", "a readable id is echoed: {e}");
    w.expect_no_frame("pong", Duration::from_millis(300));
    w.assert_ping();
    // A 100 KiB send is refused the same way and stores nothing; a normal one works.
    let raw = json!({"v": 1, "id": "bigsend", "type": "send", "chat_id": chat,
                     "client_id": "big-1", "content": text(&"x".repeat(100 * 1024))})
    .to_string();
    w.send_text(&raw);
    let e = w.next_of("error", TIMEOUT);
    assert_ws_error(&e, &["frame_too_large"]);
    assert_eq!(e["id"], "bigsend", "{e}");
    let ack = w.send_ok(&chat, "small-1", "small is fine");
    assert_eq!(ack["seq"], json!(1), "{ack}");
    // Just under the limit is not too large (a ping padded to ~60 KiB: unknown field, so
    // validation_failed; the point is that it is judged, not refused for size).
    let raw = format!(
        r#"{{"v":1,"id":"mid","type":"ping","pad":"{}"}}"#,
        "q".repeat(60 * 1024)
    );
    w.send_text(&raw);
    let e = w.next_of("error", TIMEOUT);
    assert_ws_error(&e, &["validation_failed"]);
    assert_eq!(e["id"], "mid", "{e}");
    w.assert_ping();
}

#[test]
fn frame_over_1_mib_closes_with_1009() {
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let mut w = connect_as(&s, &a);
    let pad = "z".repeat(1536 * 1024);
    let payload = format!(r#"{{"v":1,"id":"huge","type":"ping","pad":"{pad}"}}"#);
    let frame = raw_text_frame(payload.as_bytes());
    // Write from another thread so that the close can be read even if the server stops
    // reading half-way.
    let mut tcp = w.tcp().try_clone().expect("clone TCP stream");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        for chunk in frame.chunks(64 * 1024) {
            if tcp.write_all(chunk).is_err() {
                return false;
            }
        }
        tcp.flush().is_ok()
    });
    let (frames, closed) = w.read_until_closed(Duration::from_secs(30));
    let _ = writer.join();
    assert_eq!(
        closed.as_ref().and_then(Closed::code),
        Some(1009),
        "a frame over 1 MiB must close the socket with 1009; got {closed:?}, frames {frames:?}\n{}",
        w.transcript_tail(10)
    );
    s.assert_alive();
    connect_as(&s, &a).assert_ping();
}

/// 2000 frames without reading: rate limited (errors) or closed with 4029; the server stays up
/// and other sessions are unaffected.
#[test]
fn flood_is_limited_and_server_stays_up() {
    const N: usize = 2000;
    let mut s = ws_server();
    let a = register_account(&s, "flooder");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let chat = create_direct(&s, &b, &c.user_id);
    let mut wb = connect_as(&s, &b);
    let mut wc = connect_as(&s, &c);
    let mut wf = connect_as(&s, &a);

    let mut sent = 0;
    for i in 0..N {
        if wf
            .try_send_text(&format!(r#"{{"v":1,"id":"f{i}","type":"ping"}}"#))
            .is_err()
        {
            break;
        }
        sent += 1;
    }

    // Read the answers until all are in, or the socket closes, or it stays quiet for 5 s.
    let mut pongs: Vec<String> = Vec::new();
    let mut limited: Vec<Value> = Vec::new();
    let mut other = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while pongs.len() + limited.len() < sent && Instant::now() < deadline {
        match wf.next_frame(Duration::from_secs(5)) {
            Some(f) if f["type"] == "pong" => {
                pongs.push(f["id"].as_str().unwrap_or("").to_string())
            }
            Some(f) if f["type"] == "error" && f["code"] == "rate_limited" => {
                limited.push(f["id"].clone())
            }
            Some(f) => other.push(f),
            None => break,
        }
    }
    let closed = wf.closed().cloned();
    eprintln!(
        "flood: sent {sent}, pongs {}, rate_limited errors {}, other {}, closed {closed:?}",
        pongs.len(),
        limited.len(),
        other.len()
    );
    assert!(
        other.is_empty(),
        "only pongs and rate_limited errors expected: {other:?}"
    );
    let code = closed.as_ref().and_then(Closed::code);
    assert!(
        !limited.is_empty() || code == Some(4029),
        "a flood must be rate limited or closed with 4029; got {closed:?}\n{}",
        wf.transcript_tail(10)
    );
    if let Some(c) = &closed {
        assert!(
            matches!(c.code(), Some(4029) | Some(4008)),
            "flood close must be 4029 (or 4008 slow consumer, as we did not read): {c:?}"
        );
    }
    // The first 100 are within the burst: all answered with pongs.
    for i in 0..100 {
        let id = format!("f{i}");
        assert!(
            pongs.contains(&id),
            "frame {id} is within the 100-frame burst but got no pong"
        );
        assert!(
            !limited.contains(&json!(id)),
            "frame {id} is within the 100-frame burst but was rate limited"
        );
    }
    assert!(
        pongs.len() < sent,
        "2000 frames at once cannot all pass a 100-burst, 50/s limit"
    );

    // Other sessions are unaffected.
    let ack = wb.send_ok(&chat, "after-flood", "still here?");
    assert_eq!(ack["seq"], json!(1), "{ack}");
    let ev = wc.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev, &chat, 1, &b.user_id, "after-flood", "still here?");
    let ack = wc.send_ok(&chat, "reply", "yes");
    assert_eq!(ack["seq"], json!(2), "{ack}");
    wb.next_event_in(&chat, TIMEOUT);
    s.assert_alive();

    // The flooder recovers once the bucket refills (if it was not closed).
    if closed.is_none() {
        std::thread::sleep(Duration::from_secs(3));
        wf.drain_buffer();
        wf.assert_ping();
    } else {
        connect_as(&s, &a).assert_ping();
    }
}

/// "Every client frame gets exactly one answer carrying its id" also holds for frames refused
/// for rate: 150 pings at once (burst 100) get 150 answers, the refused ones `rate_limited`
/// errors carrying their ids.
#[test]
fn rate_limited_frames_each_get_an_answer_with_their_id() {
    const N: usize = 150;
    let s = ws_server();
    let a = register_account(&s, "eager");
    let mut w = connect_as(&s, &a);
    for i in 0..N {
        w.send_text(&format!(r#"{{"v":1,"id":"e{i}","type":"ping"}}"#));
    }
    let mut answers: Vec<Value> = Vec::new();
    while answers.len() < N {
        match w.next_frame(Duration::from_secs(5)) {
            Some(f) => answers.push(f),
            None => break,
        }
    }
    let limited = answers
        .iter()
        .filter(|f| f["code"] == "rate_limited")
        .count();
    let pongs = answers.iter().filter(|f| f["type"] == "pong").count();
    assert!(
        limited > 0,
        "150 frames at once must exceed the 100 burst: {pongs} pongs"
    );
    let mut ids: Vec<String> = answers
        .iter()
        .map(|f| f["id"].as_str().unwrap_or("<null>").to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        answers.len(),
        N,
        "{N} frames, {} answers ({pongs} pongs, {limited} rate_limited); rate_limited ids: {:?}",
        answers.len(),
        answers
            .iter()
            .filter(|f| f["type"] == "error")
            .map(|f| f["id"].clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(ids.len(), N, "each answer carries its frame's id: {ids:?}");
}
