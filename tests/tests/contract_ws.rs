//! The WebSocket contract as docs/PROTOCOL.md states it, for the defects outside clients found
//! (issue 13): live signals across a block, receipt pointers, one answer for strangers, and
//! the codes of message actions.

use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

fn in_chat(chat: &str) -> impl Fn(&Value) -> bool {
    let c = json!(chat);
    move |v: &Value| v.get("chat_id") == Some(&c)
}

fn of_type(ty: &'static str, chat: &str) -> impl Fn(&Value) -> bool {
    let c = json!(chat);
    move |v: &Value| v["type"] == ty && v.get("chat_id") == Some(&c)
}

fn info_of<'a>(info: &'a Value, user_id: &str) -> &'a Value {
    info["members"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["user_id"] == json!(user_id)))
        .unwrap_or_else(|| panic!("no member {user_id} in {info}"))
}

/// In a 1:1 chat across a block, typing is refused (`blocked`) both ways and never arrives;
/// receipts are recorded (the reader's own devices follow them) but not shown to the other,
/// over the socket or in `message_info`. Unblocking restores both.
#[test]
fn typing_and_receipts_do_not_cross_a_block() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let mut wb2 = connect_as(&s, &b);
    let seq = wa.send_ok(&chat, "before", "before the block")["seq"].clone();
    wb.next_event_in(&chat, TIMEOUT);
    wb2.next_event_in(&chat, TIMEOUT);

    block(&s, &b, &a.user_id);

    for (w, who) in [(&mut wa, "blocked"), (&mut wb, "blocker")] {
        let e = w.request_err(
            "typing",
            json!({"chat_id": chat, "state": "typing"}),
            &["blocked"],
        );
        assert!(e["message"].is_string(), "{who}: {e}");
    }
    wa.expect_none_where("typing across a block", QUIET, of_type("typing", &chat));
    wb.expect_none_where(
        "typing across a block",
        Duration::from_millis(200),
        of_type("typing", &chat),
    );

    // Bob reads: stored (his other device clears the badge), not pushed to Alice.
    wb.request_ok("delivered", json!({"chat_id": chat, "seq": seq}), "ok");
    wb.request_ok("read", json!({"chat_id": chat, "seq": seq}), "ok");
    let own = wb2.next_where("read receipt on my other device", TIMEOUT, |v| {
        v["type"] == "receipt" && v["kind"] == "read"
    });
    assert_eq!(own["user_id"], json!(b.user_id), "{own}");
    wa.expect_none_where("a receipt across a block", QUIET, of_type("receipt", &chat));
    assert_eq!(chat_summary(&s, &b.access, &chat)["unread_count"], json!(0));

    let info = wa.request_ok(
        "message_info",
        json!({"chat_id": chat, "seq": seq}),
        "message_info",
    );
    let bob = info_of(&info, &b.user_id);
    assert!(bob["delivered_at"].is_null(), "{info}");
    assert!(bob["read_at"].is_null(), "{info}");
    let r = s.get(&format!("/api/messages/{chat}/{seq}/info"), Some(&a.access));
    r.expect(200);
    let bob = info_of(&r.json, &b.user_id);
    assert!(
        bob["delivered_at"].is_null() && bob["read_at"].is_null(),
        "{r}"
    );

    // Unblocked: typing flows again, and the recorded pointers show.
    let r = s.delete(
        &format!("/api/users/me/blocked/{}", a.user_id),
        Some(&b.access),
    );
    assert!(r.status == 204 || r.status == 200, "{r}");
    wa.request_ok("typing", json!({"chat_id": chat, "state": "typing"}), "ok");
    let t = wb.next_where("typing after unblocking", TIMEOUT, of_type("typing", &chat));
    assert_eq!(t["user_id"], json!(a.user_id), "{t}");
    let info = wa.request_ok(
        "message_info",
        json!({"chat_id": chat, "seq": seq}),
        "message_info",
    );
    assert!(info_of(&info, &b.user_id)["read_at"].is_i64(), "{info}");
}

/// Groups hide nothing across a block: a blocked member's typing still reaches the blocker,
/// as its messages do.
#[test]
fn a_block_hides_nothing_in_a_group() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let g = create_group(&s, &a, "team", &[&b.user_id, &c.user_id]);
    wb.next_event_in(&g, TIMEOUT);
    block(&s, &b, &a.user_id);
    wa.request_ok("typing", json!({"chat_id": g, "state": "typing"}), "ok");
    let t = wb.next_where("typing in a group", TIMEOUT, of_type("typing", &g));
    assert_eq!(t["user_id"], json!(a.user_id), "{t}");
}

/// `seq` 0 and seqs older than the pointer are accepted and change nothing, for both kinds;
/// above the chat's last seq is `validation_failed`.
#[test]
fn receipt_pointers_accept_older_seqs_and_refuse_future_ones() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    wa.send_ok(&chat, "m1", "one");
    wa.send_ok(&chat, "m2", "two");

    for kind in ["delivered", "read"] {
        wb.request_ok(kind, json!({"chat_id": chat, "seq": 0}), "ok");
        let e = wb.request_err(
            kind,
            json!({"chat_id": chat, "seq": 3}),
            &["validation_failed"],
        );
        assert!(
            e["message"].as_str().is_some_and(|m| m.contains("seq")),
            "{e}"
        );
    }
    wa.expect_none_where("a receipt for seq 0", QUIET, of_type("receipt", &chat));

    wb.request_ok("read", json!({"chat_id": chat, "seq": 2}), "ok");
    // Read implies delivered: both pointers move, and Alice hears of both.
    for kind in ["delivered", "read"] {
        let r = wa.next_where("receipt", TIMEOUT, move |v| {
            v["type"] == "receipt" && v["kind"] == kind
        });
        assert_eq!(r["up_to_seq"], json!(2), "{r}");
    }
    for kind in ["delivered", "read"] {
        for seq in [0, 1, 2] {
            wb.request_ok(kind, json!({"chat_id": chat, "seq": seq}), "ok");
        }
    }
    wa.expect_none_where(
        "a receipt for a pointer that did not move",
        QUIET,
        of_type("receipt", &chat),
    );
    let summary = chat_summary(&s, &b.access, &chat);
    assert_eq!(summary["read_seq"], json!(2), "{summary}");
    assert_eq!(summary["delivered_seq"], json!(2), "{summary}");
    // REST reads follow the same rule.
    let r = s.post(
        &format!("/api/chats/{chat}/read"),
        Some(&b.access),
        Some(json!({"seq": 0})),
    );
    assert_eq!(r.status, 204, "{r}");
    let r = s.post(
        &format!("/api/chats/{chat}/read"),
        Some(&b.access),
        Some(json!({"seq": 9})),
    );
    assert_error(&r, 400, "validation_failed");
}

/// A stranger gets exactly the answer a missing chat gives, for every request on a chat.
#[test]
fn strangers_get_not_found_like_a_missing_chat() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "mallory");
    let mut wa = connect_as(&s, &a);
    let mut wc = connect_as(&s, &c);
    let g = create_group(&s, &a, "members only", &[&b.user_id]);
    wa.next_event_in(&g, TIMEOUT);
    wa.send_ok(&g, "m2", "hello team");
    let mine = create_direct(&s, &c, &a.user_id);
    let missing = random_uuid();

    let requests = |chat: &str| {
        vec![
            (
                "send",
                json!({"chat_id": chat, "client_id": "x1", "content": text("hi")}),
            ),
            ("typing", json!({"chat_id": chat, "state": "typing"})),
            ("delivered", json!({"chat_id": chat, "seq": 1})),
            ("read", json!({"chat_id": chat, "seq": 1})),
            ("message_info", json!({"chat_id": chat, "seq": 2})),
            ("react", json!({"chat_id": chat, "seq": 2, "emoji": "👍"})),
            (
                "edit",
                json!({"chat_id": chat, "seq": 2, "content": text("mine now")}),
            ),
            (
                "delete",
                json!({"chat_id": chat, "seq": 2, "for": "everyone"}),
            ),
            ("delete", json!({"chat_id": chat, "seq": 2, "for": "me"})),
        ]
    };
    for ((ty, stranger), (_, absent)) in requests(&g).into_iter().zip(requests(&missing)) {
        let e1 = wc.request_err(ty, stranger, &["not_found"]);
        let e2 = wc.request_err(ty, absent, &["not_found"]);
        assert_eq!(
            e1["message"], e2["message"],
            "{ty}: a stranger learns what a missing chat tells"
        );
    }
    // Forwarding out of a chat I am not in, and into one.
    wc.request_err(
        "forward",
        json!({"chat_id": g, "seq": 2, "to": [mine], "client_id": "fw1"}),
        &["not_found"],
    );
    let sent = wc.send_ok(&mine, "own", "mine");
    let ans = wc.request_ok(
        "forward",
        json!({"chat_id": mine, "seq": sent["seq"], "to": [g, missing], "client_id": "fw2"}),
        "forwarded",
    );
    for result in ans["results"].as_array().unwrap_or_else(|| panic!("{ans}")) {
        assert_eq!(result["error"], "not_found", "{ans}");
    }
    let (frames, ans) = wc.request_collect(
        "sync",
        json!({"chats": [{"chat_id": g, "last_seq": 0}, {"chat_id": missing, "last_seq": 0}]}),
    );
    assert!(
        frames
            .iter()
            .all(|f| f["type"] != "event" || f["chat_id"] == json!(mine)),
        "{frames:?}"
    );
    for entry in ans["chats"].as_array().unwrap_or_else(|| panic!("{ans}")) {
        assert_eq!(entry["error"], "not_found", "{ans}");
    }

    // REST changes answer 404 too (reads already did).
    let g2 = &g;
    let changes = [
        s.patch(
            &format!("/api/chats/{g2}"),
            Some(&c.access),
            Some(json!({"title": "mine"})),
        ),
        s.post(
            &format!("/api/chats/{g2}/members"),
            Some(&c.access),
            Some(json!({"user_ids": [c.user_id]})),
        ),
        s.post(&format!("/api/chats/{g2}/leave"), Some(&c.access), None),
        s.post(
            &format!("/api/chats/{g2}/read"),
            Some(&c.access),
            Some(json!({"seq": 1})),
        ),
        s.patch(
            &format!("/api/messages/{g2}/2"),
            Some(&c.access),
            Some(json!({"content": text("mine")})),
        ),
        s.delete(&format!("/api/messages/{g2}/2"), Some(&c.access)),
        s.delete(
            &format!("/api/chats/{g2}/members/{}", b.user_id),
            Some(&c.access),
        ),
        rest_send(&s, &c, g2, "rest-1", "let me in"),
    ];
    for r in &changes {
        assert_error(r, 404, "not_found");
    }
    wa.expect_none_where("anything caused by the stranger", QUIET, |v| {
        v["type"] != "receipt" && in_chat(&g)(v) && v["seq"] != json!(2)
    });
}

/// Message actions answer the codes of the table: `forbidden` for another's message,
/// `unprocessable` for a deleted one, `not_found` naming the message in a chat I am in.
#[test]
fn message_action_errors_are_typed() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let seq = wa.send_ok(&chat, "m1", "original")["seq"].clone();

    wb.request_err(
        "edit",
        json!({"chat_id": chat, "seq": seq, "content": text("hijack")}),
        &["forbidden"],
    );
    wb.request_err(
        "delete",
        json!({"chat_id": chat, "seq": seq, "for": "everyone"}),
        &["forbidden"],
    );
    let e = wa.request_err(
        "edit",
        json!({"chat_id": chat, "seq": 99, "content": text("nothing there")}),
        &["not_found"],
    );
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("message")),
        "{e}"
    );
    wa.request_ok(
        "delete",
        json!({"chat_id": chat, "seq": seq, "for": "everyone"}),
        "sent",
    );
    wa.request_err(
        "edit",
        json!({"chat_id": chat, "seq": seq, "content": text("too late")}),
        &["unprocessable"],
    );
    wa.request_err(
        "delete",
        json!({"chat_id": chat, "seq": seq, "for": "everyone"}),
        &["unprocessable"],
    );
}

/// Envelope and field errors inside a well-formed object are `validation_failed` with the
/// readable id echoed; `malformed_json` only for what is not a JSON object.
#[test]
fn well_formed_frames_with_bad_fields_are_validation_errors() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut w = connect_as(&s, &a);
    for (raw, id) in [
        (
            json!({"v":1,"id":"t1","type":"read","chat_id":"not-a-uuid","seq":1}),
            "t1",
        ),
        (
            json!({"v":1,"id":"t2","type":"typing","chat_id":chat,"state":"shouting"}),
            "t2",
        ),
        (json!({"v":1,"id":"t3","type":"read","chat_id":chat}), "t3"),
        (
            json!({"v":1,"id":"t4","type":"read","chat_id":chat,"seq":"one"}),
            "t4",
        ),
        (json!({"v":1,"id":"t5"}), "t5"),
    ] {
        w.send_json(&raw);
        let e = w.next_of("error", TIMEOUT);
        assert_eq!(e["code"], "validation_failed", "{raw} -> {e}");
        assert_eq!(e["id"], id, "{e}");
    }
    w.send_json(&json!({"v":1,"id":"x".repeat(65),"type":"ping"}));
    let e = w.next_of("error", TIMEOUT);
    assert_eq!(e["code"], "validation_failed", "{e}");
    assert!(e["id"].is_null(), "an invalid id is not echoed: {e}");
    w.send_text("[1, 2]");
    let e = w.next_of("error", TIMEOUT);
    assert_eq!(e["code"], "malformed_json", "{e}");
    w.assert_ping();
}
