//! WebSocket protocol v1 permissions: non-members, blocks, and who may see whose presence.

use std::collections::BTreeSet;
use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

fn in_chat(chat: &str) -> impl Fn(&Value) -> bool {
    let c = json!(chat);
    move |v: &Value| v.get("chat_id") == Some(&c)
}

/// Test 6a: an outsider cannot send to, read, sync or see a group.
#[test]
fn non_member_cannot_send_read_sync_or_observe_a_group() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "mallory");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let mut wc = connect_as(&s, &c);
    let g = create_group(&s, &a, "members only", &[&b.user_id]);
    let own = create_direct(&s, &c, &a.user_id);
    wa.next_event_in(&g, TIMEOUT);
    wb.next_event_in(&g, TIMEOUT);

    // Send.
    wc.request_err(
        "send",
        json!({"chat_id": g, "client_id": "intrude", "content": text("let me in")}),
        &["not_found"],
    );
    let r = rest_send(&s, &c, &g, "intrude-rest", "let me in");
    assert_error_any(&r, 404, &["not_found"]);

    // Members' traffic never reaches the outsider.
    wa.send_ok(&g, "members-1", "secret plans");
    let ev = wb.next_event_in(&g, TIMEOUT);
    assert_eq!(
        ev["seq"],
        json!(2),
        "the outsider's sends were not stored: {ev}"
    );
    wa.request_ok("typing", json!({"chat_id": g, "state": "typing"}), "ok");
    wb.request_ok("read", json!({"chat_id": g, "seq": 2}), "ok");
    wc.expect_none_where("frame about a chat it is not in", QUIET, in_chat(&g));
    // The members got nothing from the outsider's attempts either.
    wb.expect_none_where(
        "event from the refused sends",
        Duration::from_millis(300),
        |v| v["type"] == "event" && v["sender"] == json!(c.user_id),
    );

    // REST reads.
    let r = history_resp(&s, &c.access, &g, "");
    assert_error_any(&r, 404, &["not_found"]);
    let r = s.get(&format!("/api/chats/{g}"), Some(&c.access));
    assert_error(&r, 404, "not_found");
    let r = s.get(&format!("/api/messages/{g}/1/info"), Some(&c.access));
    assert!(
        r.status == 404 || r.status == 403,
        "info of another chat: {r}"
    );
    let ids: Vec<Value> = chat_list(&s, &c.access)
        .iter()
        .map(|c| c["chat_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(own)], "the outsider's chat list");

    // WS reads and receipts.
    wc.request_err(
        "message_info",
        json!({"chat_id": g, "seq": 1}),
        &["not_found"],
    );
    wc.request_err("read", json!({"chat_id": g, "seq": 1}), &["not_found"]);
    wc.request_err("delivered", json!({"chat_id": g, "seq": 1}), &["not_found"]);
    wc.request_err(
        "typing",
        json!({"chat_id": g, "state": "typing"}),
        &["not_found"],
    );

    // Sync: an error entry for the foreign chat, the own chat synced normally.
    let (before, synced) = wc.request_collect(
        "sync",
        json!({"chats": [{"chat_id": g, "last_seq": 0}, {"chat_id": own, "last_seq": 0}]}),
    );
    assert_eq!(synced["type"], "synced", "{synced}");
    assert!(
        !before.iter().any(in_chat(&g)),
        "no events of the foreign chat: {before:?}"
    );
    let entries = synced["chats"]
        .as_array()
        .unwrap_or_else(|| panic!("{synced}"));
    assert_eq!(entries.len(), 2, "{synced}");
    let foreign = entries
        .iter()
        .find(|e| e["chat_id"] == json!(g))
        .unwrap_or_else(|| panic!("no entry for the foreign chat: {synced}"));
    assert!(foreign["error"] == "not_found", "foreign entry: {foreign}");
    assert!(
        foreign.get("last_seq").is_none(),
        "nothing learned of the chat: {foreign}"
    );
    let mine = entries.iter().find(|e| e["chat_id"] == json!(own)).unwrap();
    assert!(mine.get("error").is_none(), "{mine}");
    assert_eq!(mine["last_seq"], json!(0), "{mine}");
    assert_eq!(mine["has_more"], json!(false), "{mine}");

    // An unknown chat.
    wc.request_err(
        "send",
        json!({"chat_id": random_uuid(), "client_id": "nowhere", "content": text("x")}),
        &["not_found"],
    );

    assert_eq!(
        full_history(&s, &a.access, &g).len(),
        2,
        "only group_created + the member's message"
    );
    wc.assert_ping();
}

/// Test 6b: 1:1 sends after a block are refused with `blocked` both ways; nothing is delivered.
#[test]
fn blocked_direct_sends_are_refused_both_ways() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let chat = create_direct(&s, &a, &b.user_id);
    wa.send_ok(&chat, "ok-1", "before the block");
    wb.next_event_in(&chat, TIMEOUT);
    wa.next_event_in(&chat, TIMEOUT);

    block(&s, &b, &a.user_id);

    // The blocked sender.
    wa.request_err(
        "send",
        json!({"chat_id": chat, "client_id": "blocked-1", "content": text("hello?")}),
        &["blocked"],
    );
    let r = rest_send(&s, &a, &chat, "blocked-rest", "hello?");
    assert_error(&r, 403, "blocked");
    // The blocker ("or whom you blocked").
    wb.request_err(
        "send",
        json!({"chat_id": chat, "client_id": "blocker-1", "content": text("go away")}),
        &["blocked"],
    );
    let r = rest_send(&s, &b, &chat, "blocker-rest", "go away");
    assert_error(&r, 403, "blocked");

    wb.expect_none_where("event after the block", QUIET, |v| v["type"] == "event");
    wa.expect_none_where("event after the block", Duration::from_millis(300), |v| {
        v["type"] == "event"
    });
    assert_eq!(history(&s, &a.access, &chat, "").len(), 1, "nothing stored");

    // Unblocking restores sending; the refused sends left no gap.
    let r = s.delete(
        &format!("/api/users/me/blocked/{}", a.user_id),
        Some(&b.access),
    );
    assert_eq!(r.status, 204, "{r}");
    let ack = wa.send_ok(&chat, "ok-2", "after the unblock");
    assert_eq!(ack["seq"], json!(2), "{ack}");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev, &chat, 2, &a.user_id, "ok-2", "after the unblock");
}

fn presence_frames(w: &mut Ws, dur: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + dur;
    loop {
        let now = std::time::Instant::now();
        if now >= deadline {
            break;
        }
        match w.try_next_where(deadline - now, |v| v["type"] == "presence") {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out
}

/// Test 6c: online true on connect, online false + last_seen on disconnect (everyone + shared
/// chat); a second device keeps the user online; unsubscribe stops the frames.
#[test]
fn presence_online_and_last_seen() {
    let s = ws_server();
    let u = register_account(&s, "ursula");
    let v = register_account(&s, "victor");
    create_direct(&s, &v, &u.user_id);
    let mut wv = connect_as(&s, &v);

    wv.request_ok("presence_subscribe", json!({"user_ids": [u.user_id]}), "ok");
    let p = wv.next_of("presence", TIMEOUT);
    assert_eq!(p["user_id"], json!(u.user_id), "{p}");
    assert_eq!(p["online"], json!(false), "never connected yet: {p}");
    assert!(p["last_seen"].is_null() || p["last_seen"].is_i64(), "{p}");

    let wu = connect_as(&s, &u);
    let p = wv.next_of("presence", TIMEOUT);
    assert_eq!(p["user_id"], json!(u.user_id), "{p}");
    assert_eq!(p["online"], json!(true), "{p}");

    // A second device: closing one of two sockets keeps the user online.
    let u2 = login_account(&s, "ursula", PASSWORD);
    let wu2 = connect_as(&s, &u2);
    wu.close();
    wv.expect_none_where("offline while a device is still connected", QUIET, |f| {
        f["type"] == "presence" && f["online"] == json!(false)
    });

    let t0 = now_ms();
    wu2.close();
    let p = wv.next_where("offline presence", TIMEOUT, |f| {
        f["type"] == "presence" && f["online"] == json!(false)
    });
    assert_eq!(p["user_id"], json!(u.user_id), "{p}");
    let ls = p["last_seen"]
        .as_i64()
        .unwrap_or_else(|| panic!("last_seen set when offline: {p}"));
    assert!(
        ls >= t0 - 2_000 && ls <= now_ms() + 2_000,
        "last_seen = when the last socket closed ({t0}): {p}"
    );

    // Unsubscribed: nothing more. (Drop any repeated, unchanged "online" frames first.)
    wv.drain_buffer();
    wv.request_ok(
        "presence_unsubscribe",
        json!({"user_ids": [u.user_id]}),
        "ok",
    );
    let wu = connect_as(&s, &u);
    wv.expect_no_frame("presence", QUIET);
    wu.close();
    wv.expect_no_frame("presence", QUIET);
}

/// Test 6d: who may see whose presence: privacy everyone/contacts/nobody, shared chat or
/// contacts (either direction), blocks. Forbidden users are silently left out.
#[test]
fn presence_visibility_rules() {
    let s = ws_server();
    // Targets.
    let t_every = register_account(&s, "t_every");
    let t_nobody = register_account(&s, "t_nobody");
    let t_contacts = register_account(&s, "t_contacts");
    // Viewers.
    let friend = register_account(&s, "friend"); // chats with all; in t_contacts' contacts
    let acq = register_account(&s, "acq"); // chats with all; in no one's contacts
    let fan = register_account(&s, "fan"); // has t_every in *its* contacts; no chat
    let stranger = register_account(&s, "stranger"); // nothing
    let blockee = register_account(&s, "blockee"); // chats with all; t_every blocked them

    set_last_seen_privacy(&s, &t_nobody, "nobody");
    set_last_seen_privacy(&s, &t_contacts, "contacts");
    set_last_seen_privacy(&s, &t_every, "everyone");
    for t in [&t_every, &t_nobody, &t_contacts] {
        for viewer in [&friend, &acq, &blockee] {
            create_direct(&s, viewer, &t.user_id);
        }
    }
    add_contact(&s, &t_contacts, &friend.user_id);
    add_contact(&s, &fan, &t_every.user_id);
    block(&s, &t_every, &blockee.user_id);

    let targets = [&t_every, &t_nobody, &t_contacts];
    let target_ids: Vec<&str> = targets.iter().map(|t| t.user_id.as_str()).collect();
    let viewers: Vec<(&Account, BTreeSet<&str>)> = vec![
        (
            &friend,
            [t_every.user_id.as_str(), t_contacts.user_id.as_str()].into(),
        ),
        (&acq, [t_every.user_id.as_str()].into()),
        (&fan, [t_every.user_id.as_str()].into()),
        (&stranger, BTreeSet::new()),
        (&blockee, BTreeSet::new()),
    ];
    let mut sockets: Vec<Ws> = viewers.iter().map(|(a, _)| connect_as(&s, a)).collect();

    let check = |sockets: &mut Vec<Ws>, phase: &str, online: bool| {
        for (w, (acct, allowed)) in sockets.iter_mut().zip(&viewers) {
            let frames = presence_frames(
                w,
                if allowed.is_empty() {
                    QUIET
                } else {
                    Duration::from_secs(3)
                },
            );
            let who: Vec<&str> = frames
                .iter()
                .filter_map(|f| f["user_id"].as_str())
                .collect();
            let got: BTreeSet<&str> = who.iter().copied().collect();
            assert_eq!(
                &got, allowed,
                "{phase}: viewer {} saw presence of {who:?}; allowed {allowed:?} (targets every/nobody/contacts = {target_ids:?})\n{}",
                acct.username,
                w.transcript_tail(20)
            );
            assert_eq!(
                who.len(),
                got.len(),
                "{phase}: one frame per user for {}: {frames:?}",
                acct.username
            );
            for f in &frames {
                assert_eq!(
                    f["online"],
                    json!(online),
                    "{phase}: {} got {f}",
                    acct.username
                );
            }
        }
    };

    for w in sockets.iter_mut() {
        w.request_ok("presence_subscribe", json!({"user_ids": target_ids}), "ok");
    }
    check(&mut sockets, "after subscribe", false);

    let target_sockets: Vec<Ws> = targets.iter().map(|t| connect_as(&s, t)).collect();
    check(&mut sockets, "targets connected", true);

    for w in target_sockets {
        w.close();
    }
    check(&mut sockets, "targets disconnected", false);
}

/// Presence subscription limits: 256 users per frame; unknown users are silently left out (no
/// probing). (The 1024-per-session limit is not tested: it would take 1025 visible users.)
#[test]
fn presence_subscription_limits() {
    let s = ws_server();
    let v = register_account(&s, "viewer");
    let mut w = connect_as(&s, &v);
    let many: Vec<String> = (0..257).map(|_| random_uuid()).collect();
    let e = w.request("presence_subscribe", json!({"user_ids": many}));
    assert_ws_error(&e, &["validation_failed"]);
    // 256 unknown users: accepted, nothing sent back.
    let ids: Vec<String> = (0..256).map(|_| random_uuid()).collect();
    w.request_ok("presence_subscribe", json!({"user_ids": ids}), "ok");
    w.expect_silence(QUIET);
    w.request_ok("presence_unsubscribe", json!({"user_ids": ids}), "ok");
    w.assert_ping();
}
