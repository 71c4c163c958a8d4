//! WebSocket protocol v1: group fan-out to every device of every member under concurrent sends,
//! and typing indicators.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

/// Test 2: a group of 10 users, one of them with 3 devices (12 sockets). Six sockets (two of
/// them devices of the same user) send 10 messages each, concurrently. Every device sees every
/// event, all in the identical order, seqs 1..=61 without gaps (`group_created` is seq 1).
#[test]
fn group_fanout_to_every_device_in_identical_order() {
    const PER_SENDER: usize = 10;
    let mut s = ws_server();
    let users = register_many(&s, "member", 10);

    // Devices: users[0] has 3 (register + 2 logins), everyone else 1.
    let mut devices: Vec<(usize, Ws)> = Vec::new();
    let mut w = connect_as(&s, &users[0]);
    w.name = "member0/dev0".into();
    devices.push((0, w));
    for d in 1..3 {
        let acct = login_account(&s, &users[0].username, PASSWORD);
        let mut w = connect_as(&s, &acct);
        w.name = format!("member0/dev{d}");
        devices.push((0, w));
    }
    for (i, u) in users.iter().enumerate().skip(1) {
        devices.push((i, connect_as(&s, u)));
    }
    assert_eq!(devices.len(), 12);

    // Created while everyone is online: seq 1 arrives live on every device.
    let others: Vec<&str> = users[1..].iter().map(|u| u.user_id.as_str()).collect();
    let chat = create_group(&s, &users[0], "Ten of us", &others);
    for (_, w) in devices.iter_mut() {
        let ev = w.next_event_in(&chat, TIMEOUT);
        assert_eq!(ev["seq"], json!(1), "[{}] {ev}", w.name);
        assert_eq!(ev["kind"], "group_created", "[{}] {ev}", w.name);
        assert_eq!(ev["sender"], json!(users[0].user_id), "[{}] {ev}", w.name);
        assert_eq!(ev["content"]["title"], "Ten of us", "[{}] {ev}", w.name);
        let members: BTreeSet<&str> = ev["content"]["members"]
            .as_array()
            .unwrap_or_else(|| panic!("group_created content.members: {ev}"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for o in &others {
            assert!(members.contains(o), "group_created members lacks {o}: {ev}");
        }
    }

    // Senders: device indices 0 and 1 (both member0), and members 1..=4.
    let sender_idx: BTreeSet<usize> = [0usize, 1, 3, 4, 5, 6].into_iter().collect();
    let total = 1 + sender_idx.len() * PER_SENDER;
    let barrier = Arc::new(Barrier::new(devices.len()));
    let mut handles = Vec::new();
    for (idx, (user, mut w)) in devices.into_iter().enumerate() {
        let barrier = barrier.clone();
        let chat = chat.clone();
        let is_sender = sender_idx.contains(&idx);
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let mut acks: Vec<(String, u64)> = Vec::new();
            if is_sender {
                let mut pending = Vec::new();
                for k in 0..PER_SENDER {
                    let cid = format!("d{idx}-m{k}");
                    let rid = w.send_frame(
                        "send",
                        json!({"chat_id": chat, "client_id": cid,
                               "content": {"kind": "text", "text": format!("from device {idx}, #{k}")}}),
                    );
                    pending.push((rid, cid));
                }
                for (rid, cid) in pending {
                    let ack = w.wait_answer(&rid, TIMEOUT * 2);
                    if ack["type"] != "sent" || ack["client_id"] != json!(cid) {
                        w.fail(format!("send {cid}: expected a sent ack, got {ack}"));
                    }
                    if ack["duplicate"] != json!(false) {
                        w.fail(format!("fresh send acked as duplicate: {ack}"));
                    }
                    acks.push((cid, ack["seq"].as_u64().unwrap()));
                }
            }
            let mut seen: Vec<(u64, String, String)> = Vec::new();
            while seen.len() < total - 1 {
                let ev = w.next_event_in(&chat, TIMEOUT * 2);
                if ev["kind"] != "message" {
                    w.fail(format!("unexpected event kind: {ev}"));
                }
                seen.push((
                    ev["seq"].as_u64().unwrap_or(0),
                    ev["client_id"].as_str().unwrap_or("").to_string(),
                    ev["sender"].as_str().unwrap_or("").to_string(),
                ));
            }
            let c = chat.clone();
            w.expect_none_where("more events than were sent", QUIET, move |v| {
                v["type"] == "event" && v["chat_id"] == json!(c)
            });
            (idx, user, w.name.clone(), seen, acks)
        }));
    }
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect();

    // Identical sequence everywhere, contiguous seqs 2..=total.
    let reference = &results[0].3;
    let expect_seqs: Vec<u64> = (2..=total as u64).collect();
    let got_seqs: Vec<u64> = reference.iter().map(|e| e.0).collect();
    assert_eq!(
        got_seqs, expect_seqs,
        "seqs must be contiguous and in order on {}",
        results[0].2
    );
    for (_, _, name, seen, _) in &results {
        assert_eq!(
            seen, reference,
            "device {name} saw a different sequence than {}",
            results[0].2
        );
    }

    // Each client_id exactly once, with the seq its ack announced, from the right sender.
    let by_cid: BTreeMap<&str, (u64, &str)> = reference
        .iter()
        .map(|(seq, cid, sender)| (cid.as_str(), (*seq, sender.as_str())))
        .collect();
    assert_eq!(
        by_cid.len(),
        total - 1,
        "client_ids must be unique: {reference:?}"
    );
    for (idx, user, name, _, acks) in &results {
        if !sender_idx.contains(idx) {
            assert!(acks.is_empty());
            continue;
        }
        assert_eq!(acks.len(), PER_SENDER);
        for (cid, seq) in acks {
            let (ev_seq, ev_sender) = by_cid
                .get(cid.as_str())
                .unwrap_or_else(|| panic!("{name}: acked {cid} never arrived as an event"));
            assert_eq!(ev_seq, seq, "{name}: ack seq vs event seq of {cid}");
            assert_eq!(*ev_sender, users[*user].user_id, "{name}: sender of {cid}");
        }
        // One socket's sends keep their order.
        let mine: Vec<u64> = acks.iter().map(|a| a.1).collect();
        let mut sorted = mine.clone();
        sorted.sort();
        assert_eq!(
            mine, sorted,
            "{name}: its own sends were sequenced out of order"
        );
    }

    // REST history agrees.
    let h = full_history(&s, &users[9].access, &chat);
    assert_eq!(h.len(), total, "history length");
    assert_eq!(h[0]["kind"], "group_created");
    let hist: Vec<(u64, String, String)> = h[1..]
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap_or(0),
                e["client_id"].as_str().unwrap_or("").to_string(),
                e["sender"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(&hist, reference, "REST history vs live order");
    s.assert_alive();
}

/// Test 7: typing frames reach the other members; a second typing within a second in the same
/// chat is `rate_limited` (and not relayed); another chat is limited separately.
#[test]
fn typing_is_relayed_and_rate_limited() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let mut wc = connect_as(&s, &c);
    let g = create_group(&s, &a, "typists", &[&b.user_id, &c.user_id]);
    let d = create_direct(&s, &a, &b.user_id);
    for w in [&mut wa, &mut wb, &mut wc] {
        w.next_event_in(&g, TIMEOUT);
    }

    wa.request_ok("typing", json!({"chat_id": g, "state": "typing"}), "ok");
    // Immediately again: over one per second per chat.
    wa.request_err(
        "typing",
        json!({"chat_id": g, "state": "paused"}),
        &["rate_limited"],
    );
    // Another chat has its own budget.
    wa.request_ok("typing", json!({"chat_id": d, "state": "typing"}), "ok");

    for w in [&mut wb, &mut wc] {
        let t = w.next_where("typing in the group", TIMEOUT, |v| {
            v["type"] == "typing" && v["chat_id"] == json!(g)
        });
        assert_eq!(
            t,
            json!({"v": 1, "type": "typing", "chat_id": g, "user_id": a.user_id, "state": "typing"}),
            "[{}]",
            w.name
        );
    }
    let t = wb.next_where("typing in the direct chat", TIMEOUT, |v| {
        v["type"] == "typing" && v["chat_id"] == json!(d)
    });
    assert_eq!(
        t,
        json!({"v": 1, "type": "typing", "chat_id": d, "user_id": a.user_id, "state": "typing"})
    );
    // The refused one was not relayed; Carol is not in the direct chat.
    wb.expect_no_frame("typing", QUIET);
    wc.expect_no_frame("typing", Duration::from_millis(200));

    std::thread::sleep(Duration::from_millis(1100));
    wa.request_ok("typing", json!({"chat_id": g, "state": "paused"}), "ok");
    for w in [&mut wb, &mut wc] {
        let t = w.next_of("typing", TIMEOUT);
        assert_eq!(
            t,
            json!({"v": 1, "type": "typing", "chat_id": g, "user_id": a.user_id, "state": "paused"}),
            "[{}]",
            w.name
        );
    }

    // Bob types too; Alice sees it.
    wb.request_ok("typing", json!({"chat_id": g, "state": "typing"}), "ok");
    let t = wa.next_of("typing", TIMEOUT);
    assert_eq!(t["user_id"], json!(b.user_id), "{t}");

    // Bad state; unknown chat.
    std::thread::sleep(Duration::from_millis(1100));
    let e = wa.request("typing", json!({"chat_id": g, "state": "shouting"}));
    assert_ws_error(&e, &["validation_failed"]);
    let e = wa.request(
        "typing",
        json!({"chat_id": random_uuid(), "state": "typing"}),
    );
    assert_ws_error(&e, &["not_found"]);

    // Never stored.
    let h = history(&s, &a.access, &g, "");
    assert_eq!(h.len(), 1, "typing is not stored: {h:?}");
    assert!(history(&s, &a.access, &d, "").is_empty());
}
