//! WebSocket protocol v1: 1:1 exchange, receipts and unread counts, idempotent sends,
//! reconnect + `sync`, the `chats` list, and send validation.

use confab_tests::ws::*;
use confab_tests::*;

#[track_caller]
fn assert_at_near_now(v: &Value, field: &str, t0: i64) {
    let at = v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} must be integer ms: {v}"));
    let now = now_ms();
    assert!(
        at >= t0 - 5_000 && at <= now + 5_000,
        "{field}={at} is not a Unix-ms time near now ({t0}..{now}): {v}"
    );
}

#[track_caller]
fn assert_receipt(r: &Value, chat: &str, who: &str, kind: &str, up_to: u64) {
    assert_eq!(r["type"], "receipt", "{r}");
    assert_eq!(r["chat_id"], json!(chat), "receipt chat_id: {r}");
    assert_eq!(r["user_id"], json!(who), "receipt user_id: {r}");
    assert_eq!(r["kind"], json!(kind), "receipt kind: {r}");
    assert_eq!(r["up_to_seq"], json!(up_to), "receipt up_to_seq: {r}");
    assert!(r["at"].is_i64(), "receipt at: {r}");
}

/// A receipt frame from `user` of `kind`. (A `read` also reaches the reader's own devices, so a
/// device may see receipts of its own user: filter by user.)
fn is_receipt_from(user: &str, kind: &str) -> impl Fn(&Value) -> bool {
    let (u, k) = (json!(user), json!(kind));
    move |v: &Value| v["type"] == "receipt" && v["user_id"] == u && v["kind"] == k
}

/// Test 1: A -> B and B -> A, with acks, events (also to the sending device), delivered/read
/// receipts, `message_info` (WS and REST) and unread counts in `GET /api/chats`.
#[test]
fn direct_exchange_both_ways_with_receipts_and_unread_counts() {
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_header(&s, &b.access);
    wb.name = "bob".into();
    assert_eq!(wb.hello["user_id"], json!(b.user_id), "{}", wb.hello);
    let chat = create_direct(&s, &a, &b.user_id);

    // --- A -> B, seq 1 -------------------------------------------------------------------
    let t0 = now_ms();
    let ack = wa.send_ok(&chat, "c-a1", "hi Ben");
    assert_eq!(
        ack["seq"],
        json!(1),
        "first message of a direct chat is seq 1: {ack}"
    );
    assert_eq!(ack["duplicate"], json!(false), "{ack}");
    assert_at_near_now(&ack, "at", t0);

    let ev_b = wb.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev_b, &chat, 1, &a.user_id, "c-a1", "hi Ben");
    assert_eq!(
        ev_b["at"], ack["at"],
        "event.at is the ack's at: {ev_b} vs {ack}"
    );
    // "the sending device too"
    let ev_a = wa.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev_a, ev_b, "every device sees the identical event");

    // The same event, same shape, over REST.
    let h = history(&s, &b.access, &chat, "");
    assert_eq!(
        h,
        vec![event_body(&ev_b)],
        "REST history = WS event minus v/type"
    );

    // Unread before reading: B has 1, A (own message) has 0.
    let sb = chat_summary(&s, &b.access, &chat);
    assert_eq!(
        sb["unread_count"],
        json!(1),
        "B's unread before reading: {sb}"
    );
    assert_eq!(sb["last_seq"], json!(1), "{sb}");
    assert_eq!(sb["read_seq"], json!(0), "{sb}");
    assert_eq!(sb["last_message"], event_body(&ev_b), "{sb}");
    let sa = chat_summary(&s, &a.access, &chat);
    assert_eq!(
        sa["unread_count"],
        json!(0),
        "own messages are not unread: {sa}"
    );

    // --- delivered ------------------------------------------------------------------------
    wb.request_ok("delivered", json!({"chat_id": chat, "seq": 1}), "ok");
    let r = wa.next_where(
        "B's delivered receipt",
        TIMEOUT,
        is_receipt_from(&b.user_id, "delivered"),
    );
    assert_receipt(&r, &chat, &b.user_id, "delivered", 1);

    let info = wa.request_ok(
        "message_info",
        json!({"chat_id": chat, "seq": 1}),
        "message_info",
    );
    assert_eq!(info["chat_id"], json!(chat), "{info}");
    assert_eq!(info["seq"], json!(1), "{info}");
    let members = info["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{info}"));
    assert_eq!(members.len(), 1, "members other than the sender: {info}");
    assert_eq!(members[0]["user_id"], json!(b.user_id), "{info}");
    assert!(
        members[0]["delivered_at"].is_i64(),
        "delivered_at set: {info}"
    );
    assert!(
        members[0]["read_at"].is_null(),
        "read_at still null: {info}"
    );
    let delivered_at = members[0]["delivered_at"].as_i64().unwrap();
    assert_at_near_now(&members[0], "delivered_at", t0);

    let sb = chat_summary(&s, &b.access, &chat);
    assert_eq!(sb["delivered_seq"], json!(1), "{sb}");
    assert_eq!(sb["unread_count"], json!(1), "delivered is not read: {sb}");

    // --- read -----------------------------------------------------------------------------
    wb.request_ok("read", json!({"chat_id": chat, "seq": 1}), "ok");
    let r = wa.next_where(
        "B's read receipt",
        TIMEOUT,
        is_receipt_from(&b.user_id, "read"),
    );
    assert_receipt(&r, &chat, &b.user_id, "read", 1);
    // A read also goes to the reader's own devices (to clear the unread badge everywhere).
    let r = wb.next_where(
        "B's own read receipt",
        TIMEOUT,
        is_receipt_from(&b.user_id, "read"),
    );
    assert_receipt(&r, &chat, &b.user_id, "read", 1);

    let info = wa.request_ok(
        "message_info",
        json!({"chat_id": chat, "seq": 1}),
        "message_info",
    );
    let m = &info["members"][0];
    assert_eq!(m["user_id"], json!(b.user_id), "{info}");
    assert_eq!(
        m["delivered_at"],
        json!(delivered_at),
        "delivered_at keeps its first time: {info}"
    );
    let read_at = m["read_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("read_at set: {info}"));
    assert!(read_at >= delivered_at, "{info}");

    let sb = chat_summary(&s, &b.access, &chat);
    assert_eq!(
        sb["unread_count"],
        json!(0),
        "B's unread after reading: {sb}"
    );
    assert_eq!(sb["read_seq"], json!(1), "{sb}");
    assert_eq!(sb["delivered_seq"], json!(1), "{sb}");

    // Older/equal pointer: accepted, changes nothing, no receipt goes out.
    wb.request_ok("delivered", json!({"chat_id": chat, "seq": 1}), "ok");
    wb.request_ok("read", json!({"chat_id": chat, "seq": 1}), "ok");
    wa.expect_none_where("receipt for a pointer that did not move", QUIET, |v| {
        v["type"] == "receipt"
    });
    let info2 = wa.request_ok(
        "message_info",
        json!({"chat_id": chat, "seq": 1}),
        "message_info",
    );
    assert_eq!(
        info2["members"], info["members"],
        "pointers only move forward"
    );

    // A seq above the chat's last is validation_failed.
    wb.request_err(
        "read",
        json!({"chat_id": chat, "seq": 5}),
        &["validation_failed"],
    );
    wb.request_err(
        "delivered",
        json!({"chat_id": chat, "seq": 2}),
        &["validation_failed"],
    );

    // --- B -> A, seq 2 --------------------------------------------------------------------
    let ack2 = wb.send_ok(&chat, "c-b1", "hello Alice");
    assert_eq!(ack2["seq"], json!(2), "{ack2}");
    let ev = wa.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev, &chat, 2, &b.user_id, "c-b1", "hello Alice");
    let own = wb.next_event_in(&chat, TIMEOUT);
    assert_eq!(own, ev);

    let sa = chat_summary(&s, &a.access, &chat);
    assert_eq!(sa["unread_count"], json!(1), "A's unread: {sa}");
    assert_eq!(sa["last_seq"], json!(2), "{sa}");

    // A marks read without a delivered first: read implies delivered.
    wa.request_ok("read", json!({"chat_id": chat, "seq": 2}), "ok");
    let r = wb.next_where(
        "A's read receipt",
        TIMEOUT,
        is_receipt_from(&a.user_id, "read"),
    );
    assert_receipt(&r, &chat, &a.user_id, "read", 2);

    let ri = s.get(&format!("/api/messages/{chat}/2/info"), Some(&b.access));
    assert_eq!(ri.status, 200, "{ri}");
    assert_eq!(ri.json["chat_id"], json!(chat), "{ri}");
    assert_eq!(ri.json["seq"], json!(2), "{ri}");
    let m = &ri.json["members"];
    assert_eq!(m.as_array().map(|a| a.len()), Some(1), "{ri}");
    assert_eq!(m[0]["user_id"], json!(a.user_id), "{ri}");
    assert!(
        m[0]["delivered_at"].is_i64(),
        "read implies delivered: {ri}"
    );
    assert!(m[0]["read_at"].is_i64(), "{ri}");

    let sa = chat_summary(&s, &a.access, &chat);
    assert_eq!(sa["unread_count"], json!(0), "{sa}");
    assert_eq!(sa["read_seq"], json!(2), "{sa}");
    assert_eq!(
        sa["delivered_seq"],
        json!(2),
        "read implies delivered: {sa}"
    );

    // REST read endpoint moves the pointer too (B reads its own chat up to 2: unread stays 0).
    let r = s.post(
        &format!("/api/chats/{chat}/read"),
        Some(&b.access),
        Some(json!({"seq": 2})),
    );
    assert_eq!(r.status, 204, "{r}");
    let sb = chat_summary(&s, &b.access, &chat);
    assert_eq!(sb["read_seq"], json!(2), "{sb}");
    assert_eq!(sb["unread_count"], json!(0), "{sb}");

    s.assert_alive();
}

/// Test 3: the same client_id twice (WS and REST) is one message.
#[test]
fn idempotent_retry_over_ws_and_rest() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let chat = create_direct(&s, &a, &b.user_id);

    let ack1 = wa.send_ok(&chat, "retry-1", "exactly once");
    assert_eq!(ack1["seq"], json!(1), "{ack1}");
    assert_eq!(ack1["duplicate"], json!(false), "{ack1}");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev, &chat, 1, &a.user_id, "retry-1", "exactly once");
    wa.next_event_in(&chat, TIMEOUT);

    // Retry (as after a lost ack): the original ack, duplicate true.
    let ack2 = wa.send_msg(&chat, "retry-1", "exactly once");
    assert_eq!(ack2["type"], "sent", "{ack2}");
    assert_eq!(ack2["seq"], ack1["seq"], "same seq: {ack2}");
    assert_eq!(ack2["at"], ack1["at"], "the original ack: {ack2}");
    assert_eq!(ack2["client_id"], json!("retry-1"), "{ack2}");
    assert_eq!(ack2["duplicate"], json!(true), "{ack2}");
    let chat_c = chat.clone();
    wb.expect_none_where("second event for a retried send", QUIET, move |v| {
        v["type"] == "event" && v["chat_id"] == json!(chat_c)
    });
    let chat_c = chat.clone();
    wa.expect_none_where("second event on the sender", QUIET, move |v| {
        v["type"] == "event" && v["chat_id"] == json!(chat_c)
    });
    let h = history(&s, &b.access, &chat, "");
    assert_eq!(h.len(), 1, "history has the message once: {h:?}");

    // Over REST: 201, then 200 duplicate.
    let r1 = rest_send(&s, &a, &chat, "rest-1", "via rest");
    assert_eq!(r1.status, 201, "{r1}");
    assert_eq!(r1.json["chat_id"], json!(chat), "{r1}");
    assert_eq!(r1.json["seq"], json!(2), "{r1}");
    assert_eq!(r1.json["client_id"], json!("rest-1"), "{r1}");
    assert_eq!(r1.json["duplicate"], json!(false), "{r1}");
    assert!(r1.json["at"].is_i64(), "{r1}");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev, &chat, 2, &a.user_id, "rest-1", "via rest");
    // A's device sees its REST send live too (every member device).
    let ev_a = wa.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev_a, ev);

    let r2 = rest_send(&s, &a, &chat, "rest-1", "via rest");
    assert_eq!(r2.status, 200, "{r2}");
    assert_eq!(r2.json["seq"], json!(2), "{r2}");
    assert_eq!(r2.json["at"], r1.json["at"], "{r2}");
    assert_eq!(r2.json["duplicate"], json!(true), "{r2}");

    // Idempotence is shared between WS and REST.
    let r3 = rest_send(&s, &a, &chat, "retry-1", "exactly once");
    assert_eq!(r3.status, 200, "WS client_id retried over REST: {r3}");
    assert_eq!(r3.json["seq"], json!(1), "{r3}");
    assert_eq!(r3.json["duplicate"], json!(true), "{r3}");
    let ack = wa.send_msg(&chat, "rest-1", "via rest");
    assert_eq!(ack["type"], "sent", "{ack}");
    assert_eq!(
        ack["seq"],
        json!(2),
        "REST client_id retried over WS: {ack}"
    );
    assert_eq!(ack["duplicate"], json!(true), "{ack}");

    let chat_c = chat.clone();
    wb.expect_none_where("event for a duplicate", QUIET, move |v| {
        v["type"] == "event" && v["chat_id"] == json!(chat_c)
    });

    // Another sender with the same client_id is a different message.
    let ackb = wb.send_ok(&chat, "retry-1", "bob's own");
    assert_eq!(ackb["seq"], json!(3), "{ackb}");
    assert_eq!(
        ackb["duplicate"],
        json!(false),
        "same client_id, other sender: {ackb}"
    );

    // The same client_id in another chat is a different message.
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let ackg = wa.send_ok(&g, "retry-1", "in the group");
    assert_eq!(ackg["seq"], json!(2), "after group_created: {ackg}");
    assert_eq!(ackg["duplicate"], json!(false), "{ackg}");

    let h = full_history(&s, &a.access, &chat);
    let got: Vec<(u64, String, String)> = h
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["client_id"].as_str().unwrap_or("").to_string(),
                e["sender"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "retry-1".to_string(), a.user_id.clone()),
            (2, "rest-1".to_string(), a.user_id.clone()),
            (3, "retry-1".to_string(), b.user_id.clone()),
        ],
        "history: {h:?}"
    );
}

fn events_of(frames: &[Value], chat: &str) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f["type"] == "event" && f["chat_id"] == json!(chat))
        .cloned()
        .collect()
}

fn seqs(evs: &[Value]) -> Vec<u64> {
    evs.iter().map(|e| e["seq"].as_u64().unwrap_or(0)).collect()
}

/// Test 4: B misses 5 messages while offline and catches up with `sync` (also paged).
#[test]
fn reconnect_gap_is_filled_by_sync() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let chat = create_direct(&s, &a, &b.user_id);

    wa.send_ok(&chat, "m0", "before the gap");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    let last_seq = ev["seq"].as_u64().unwrap();
    assert_eq!(last_seq, 1);
    wb.close();

    let mut sent = Vec::new();
    for i in 1..=5 {
        let ack = wa.send_ok(&chat, &format!("gap-{i}"), &format!("missed {i}"));
        assert_eq!(ack["seq"], json!(1 + i), "{ack}");
        sent.push(ack);
    }

    let mut wb = connect_as(&s, &b);
    let (before, synced) = wb.request_collect(
        "sync",
        json!({"chats": [{"chat_id": chat, "last_seq": last_seq}]}),
    );
    assert_eq!(synced["type"], "synced", "{synced}");
    let evs = events_of(&before, &chat);
    assert_eq!(
        before.len(),
        evs.len(),
        "only the missed events come before synced: {before:?}"
    );
    assert_eq!(
        seqs(&evs),
        vec![2, 3, 4, 5, 6],
        "missed events in order: {evs:?}"
    );
    for (i, e) in evs.iter().enumerate() {
        assert_msg_event(
            e,
            &chat,
            2 + i as u64,
            &a.user_id,
            &format!("gap-{}", i + 1),
            &format!("missed {}", i + 1),
        );
        assert_eq!(e["at"], sent[i]["at"], "{e}");
    }
    assert_eq!(
        synced["chats"],
        json!([{"chat_id": chat, "from_seq": 2, "to_seq": 6, "last_seq": 6, "has_more": false}]),
        "{synced}"
    );
    wb.expect_no_frame("event", QUIET);

    // The synced events are the stored events.
    let h = history(&s, &b.access, &chat, "?after_seq=1");
    assert_eq!(
        h,
        evs.iter().map(event_body).collect::<Vec<_>>(),
        "sync events = REST history"
    );

    // limit 2: exactly 2 events and has_more.
    let (before, synced) = wb.request_collect(
        "sync",
        json!({"chats": [{"chat_id": chat, "last_seq": 1}], "limit": 2}),
    );
    assert_eq!(seqs(&events_of(&before, &chat)), vec![2, 3], "{before:?}");
    assert_eq!(before.len(), 2, "{before:?}");
    assert_eq!(
        synced["chats"],
        json!([{"chat_id": chat, "from_seq": 2, "to_seq": 3, "last_seq": 6, "has_more": true}]),
        "{synced}"
    );
    // Page on from to_seq.
    let (before, synced) = wb.request_collect(
        "sync",
        json!({"chats": [{"chat_id": chat, "last_seq": 3}], "limit": 2}),
    );
    assert_eq!(seqs(&events_of(&before, &chat)), vec![4, 5], "{before:?}");
    assert_eq!(synced["chats"][0]["has_more"], json!(true), "{synced}");
    let (before, synced) = wb.request_collect(
        "sync",
        json!({"chats": [{"chat_id": chat, "last_seq": 5}], "limit": 2}),
    );
    assert_eq!(seqs(&events_of(&before, &chat)), vec![6], "{before:?}");
    assert_eq!(
        synced["chats"],
        json!([{"chat_id": chat, "from_seq": 6, "to_seq": 6, "last_seq": 6, "has_more": false}]),
        "{synced}"
    );

    // Up to date: nothing to send, has_more false.
    let (before, synced) =
        wb.request_collect("sync", json!({"chats": [{"chat_id": chat, "last_seq": 6}]}));
    assert!(events_of(&before, &chat).is_empty(), "{before:?}");
    let entry = &synced["chats"][0];
    assert_eq!(entry["chat_id"], json!(chat), "{synced}");
    assert_eq!(entry["last_seq"], json!(6), "{synced}");
    assert_eq!(entry["has_more"], json!(false), "{synced}");

    // A new device (no history) syncs from 0.
    let b2 = login_account(&s, "bob", PASSWORD);
    let mut wb2 = connect_as(&s, &b2);
    let (before, synced) =
        wb2.request_collect("sync", json!({"chats": [{"chat_id": chat, "last_seq": 0}]}));
    assert_eq!(
        seqs(&events_of(&before, &chat)),
        vec![1, 2, 3, 4, 5, 6],
        "{before:?}"
    );
    assert_eq!(
        synced["chats"],
        json!([{"chat_id": chat, "from_seq": 1, "to_seq": 6, "last_seq": 6, "has_more": false}]),
        "{synced}"
    );

    // Live events still arrive after a sync.
    wa.send_ok(&chat, "after-sync", "live again");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev["seq"], json!(7), "{ev}");
    let ev = wb2.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev["seq"], json!(7), "{ev}");
}

/// The `chats` frame lists the same ChatSummary objects as `GET /api/chats`, newest first.
#[test]
fn chats_frame_matches_rest_chat_list() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let d1 = create_direct(&s, &a, &b.user_id);
    let g = create_group(&s, &a, "Book club", &[&b.user_id, &c.user_id]);
    let mut wb = connect_as(&s, &b);
    // d1 gets the newest activity.
    let r = rest_send(&s, &a, &d1, "x1", "newest");
    assert_eq!(r.status, 201, "{r}");
    wb.next_event_in(&d1, TIMEOUT);

    let ans = wb.request_ok("chats", Value::Null, "chat_list");
    let rest = chat_list(&s, &b.access);
    assert_eq!(
        ans["chats"],
        Value::Array(rest.clone()),
        "chat_list = GET /api/chats items"
    );
    let ids: Vec<&str> = rest
        .iter()
        .map(|c| c["chat_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        vec![d1.as_str(), g.as_str()],
        "newest activity first: {rest:?}"
    );
    let gs = &rest[1];
    assert_eq!(gs["kind"], "group", "{gs}");
    assert_eq!(gs["title"], "Book club", "{gs}");
    assert_eq!(gs["last_seq"], json!(1), "group_created is seq 1: {gs}");
    assert!(
        gs["last_message"].is_null() || gs["last_message"]["kind"] == "group_created",
        "a group with no messages yet: {gs}"
    );
    assert_eq!(gs["members"].as_array().map(|m| m.len()), Some(3), "{gs}");
    let ds = &rest[0];
    assert_eq!(ds["kind"], "direct", "{ds}");
    assert_eq!(ds["last_seq"], json!(1), "{ds}");
    assert_eq!(ds["unread_count"], json!(1), "{ds}");
    assert_eq!(ds["last_message"]["client_id"], "x1", "{ds}");
    for key in [
        "chat_id",
        "kind",
        "title",
        "created_by",
        "created_at",
        "members",
        "last_seq",
        "last_activity_at",
        "last_message",
        "unread_count",
        "read_seq",
        "delivered_seq",
    ] {
        for cs in &rest {
            assert!(cs.get(key).is_some(), "ChatSummary lacks {key}: {cs}");
        }
    }
    // Carol is not in d1.
    let ans = connect_as(&s, &c).request_ok("chats", Value::Null, "chat_list");
    let ids: Vec<&str> = ans["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chat_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, vec![g.as_str()], "{ans}");
}

/// `send` field rules: text 1..=4096 characters, client_id 1..=64 of `A-Za-z0-9-_.`.
#[test]
fn send_validation() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let mut wa = connect_as(&s, &a);
    let chat = create_direct(&s, &a, &b.user_id);

    let send = |wa: &mut Ws, client_id: &str, content: Value| {
        wa.request(
            "send",
            json!({"chat_id": chat, "client_id": client_id, "content": content}),
        )
    };

    let e = send(&mut wa, "v-empty", text(""));
    assert_ws_error(&e, &["validation_failed"]);
    let e = send(&mut wa, "v-long", text(&"a".repeat(4097)));
    assert_ws_error(&e, &["validation_failed"]);
    let e = send(&mut wa, "bad id!", text("hi"));
    assert_ws_error(&e, &["validation_failed"]);
    let e = send(&mut wa, "", text("hi"));
    assert_ws_error(&e, &["validation_failed"]);
    let e = send(&mut wa, &"c".repeat(65), text("hi"));
    assert_ws_error(&e, &["validation_failed"]);
    let e = send(&mut wa, "v-kind", json!({"kind": "sticker", "id": "x"}));
    assert_ws_error(&e, &["validation_failed"]);
    let e = wa.request("send", json!({"chat_id": chat, "client_id": "v-nocontent"}));
    assert_ws_error(&e, &["validation_failed"]);
    let e = wa.request(
        "send",
        json!({"chat_id": "not-a-uuid", "client_id": "v-badchat", "content": text("hi")}),
    );
    assert_ws_error(&e, &["validation_failed"]);
    let e = wa.request(
        "send",
        json!({"chat_id": random_uuid(), "client_id": "v-nochat", "content": text("hi")}),
    );
    assert_ws_error(&e, &["not_found"]);
    assert!(
        history(&s, &a.access, &chat, "").is_empty(),
        "nothing stored by refused sends"
    );

    // Limits are inclusive; text is counted in characters, not bytes.
    let ack = wa.send_ok(&chat, &"c".repeat(64), &"a".repeat(4096));
    assert_eq!(ack["seq"], json!(1), "{ack}");
    let ack = wa.send_ok(&chat, "Az09-_.", &"é".repeat(4096));
    assert_eq!(
        ack["seq"],
        json!(2),
        "4096 two-byte characters are 4096 characters: {ack}"
    );
    let e = send(&mut wa, "v-long2", text(&"é".repeat(4097)));
    assert_ws_error(&e, &["validation_failed"]);
    let ack = wa.send_ok(&chat, "emoji", "👋 héllo");
    assert_eq!(ack["seq"], json!(3), "{ack}");
    let h = history(&s, &a.access, &chat, "");
    assert_eq!(h.len(), 3, "{h:?}");
    assert_eq!(h[2]["content"], text("👋 héllo"), "text round-trips: {h:?}");

    // Same rules over REST.
    let r = rest_send(&s, &a, &chat, "r-empty", "");
    assert_error(&r, 400, "validation_failed");
    let r = rest_send(&s, &a, &chat, "bad id", "x");
    assert_error(&r, 400, "validation_failed");
    wa.assert_ping();
}
