//! WebSocket protocol v1 across restarts: history, sequence numbers, receipts and idempotence
//! survive a graceful restart; an acknowledged (`sent`) message survives kill -9; open sockets
//! are told `1001` on a graceful shutdown.

use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

fn triples(h: &[Value]) -> Vec<(u64, String, String)> {
    h.iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap_or(0),
                e["kind"].as_str().unwrap_or("").to_string(),
                e["client_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Test 5a: graceful restart keeps history and seqs; the next send continues at the next seq.
#[test]
fn history_and_sequence_survive_graceful_restart() {
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let g = create_group(&s, &a, "keepers", &[&b.user_id]);
    {
        let mut wa = connect_as(&s, &a);
        let mut wb = connect_as(&s, &b);
        for i in 1..=3 {
            let ack = wa.send_ok(&chat, &format!("pre-{i}"), &format!("before restart {i}"));
            assert_eq!(ack["seq"], json!(i), "{ack}");
        }
        for i in 2..=3 {
            let ack = wb.send_ok(&g, &format!("gpre-{i}"), "group before restart");
            assert_eq!(ack["seq"], json!(i), "{ack}");
        }
        for _ in 0..3 {
            wb.next_event_in(&chat, TIMEOUT);
        }
        wb.request_ok("read", json!({"chat_id": chat, "seq": 2}), "ok");
    }
    let before_d = full_history(&s, &a.access, &chat);
    let before_g = full_history(&s, &a.access, &g);
    assert_eq!(before_d.len(), 3);
    assert_eq!(before_g.len(), 3);
    let summary_b = chat_summary(&s, &b.access, &chat);

    s.restart();

    assert_eq!(
        full_history(&s, &a.access, &chat),
        before_d,
        "direct history after restart"
    );
    assert_eq!(
        full_history(&s, &a.access, &g),
        before_g,
        "group history after restart"
    );
    let sb = chat_summary(&s, &b.access, &chat);
    assert_eq!(sb["read_seq"], json!(2), "read pointer survives: {sb}");
    assert_eq!(sb["unread_count"], json!(1), "{sb}");
    assert_eq!(sb["last_seq"], summary_b["last_seq"], "{sb}");

    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let ack = wa.send_ok(&chat, "post-1", "after restart");
    assert_eq!(ack["seq"], json!(4), "continues at the next seq: {ack}");
    assert_eq!(ack["duplicate"], json!(false), "{ack}");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_msg_event(&ev, &chat, 4, &a.user_id, "post-1", "after restart");
    let ack = wa.send_ok(&g, "gpost-1", "group after restart");
    assert_eq!(ack["seq"], json!(4), "{ack}");

    // A retry of a message acked before the restart is still a duplicate.
    let ack = wa.send_msg(&chat, "pre-2", "before restart 2");
    assert_eq!(ack["type"], "sent", "{ack}");
    assert_eq!(ack["seq"], json!(2), "{ack}");
    assert_eq!(
        ack["duplicate"],
        json!(true),
        "idempotence survives a restart: {ack}"
    );

    // Sync from 0 after restart returns everything, in order.
    let (before, synced) =
        wb.request_collect("sync", json!({"chats": [{"chat_id": chat, "last_seq": 0}]}));
    let seqs: Vec<u64> = before
        .iter()
        .filter(|f| f["type"] == "event" && f["chat_id"] == json!(chat))
        .map(|f| f["seq"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4], "{before:?}");
    assert_eq!(synced["chats"][0]["last_seq"], json!(4), "{synced}");
    s.assert_alive();
}

/// Test 5b: kill -9 right after a `sent` ack loses nothing acknowledged.
#[test]
fn acked_message_survives_kill9() {
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    for i in 1..=4 {
        wa.send_ok(&chat, &format!("k-{i}"), &format!("msg {i}"));
    }
    let ack = wa.send_ok(&chat, "k-last", "acked, then the power goes out");
    assert_eq!(ack["seq"], json!(5), "{ack}");
    s.kill9();
    drop(wa);

    s.restart();
    let h = full_history(&s, &b.access, &chat);
    let got = triples(&h);
    let want: Vec<(u64, String, String)> = (1..=4)
        .map(|i| (i, "message".to_string(), format!("k-{i}")))
        .chain(std::iter::once((
            5,
            "message".to_string(),
            "k-last".to_string(),
        )))
        .collect();
    assert_eq!(got, want, "acknowledged messages after kill -9: {h:?}");
    assert_eq!(h[4]["content"], text("acked, then the power goes out"));

    let mut wa = connect_as(&s, &a);
    let ack = wa.send_ok(&chat, "after-crash", "still counting");
    assert_eq!(ack["seq"], json!(6), "{ack}");
    let ack = wa.send_msg(&chat, "k-last", "acked, then the power goes out");
    assert_eq!(ack["duplicate"], json!(true), "{ack}");
    assert_eq!(ack["seq"], json!(5), "{ack}");
}

/// Test 5c: pipelined sends, kill -9 as soon as half of them are acked: every acked message is
/// in history with its seq; seqs stay contiguous (unacked ones may or may not have made it).
#[test]
fn pipelined_acked_sends_survive_kill9() {
    const N: usize = 40;
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "crash", &[&b.user_id]);
    let mut wa = connect_as(&s, &a);
    let mut pending = Vec::new();
    for i in 0..N {
        let cid = format!("p-{i}");
        let rid = wa.send_frame(
            "send",
            json!({"chat_id": g, "client_id": cid, "content": text(&format!("pipelined {i}"))}),
        );
        pending.push((rid, cid));
    }
    let mut acked: Vec<(u64, String)> = Vec::new();
    for (rid, cid) in pending.iter().take(N / 2) {
        let ack = wa.wait_answer(rid, TIMEOUT);
        assert_eq!(ack["type"], "sent", "{ack}");
        acked.push((ack["seq"].as_u64().unwrap(), cid.clone()));
    }
    s.kill9();
    drop(wa);
    s.restart();

    let h = full_history(&s, &a.access, &g);
    let seqs: Vec<u64> = h.iter().map(|e| e["seq"].as_u64().unwrap_or(0)).collect();
    let want: Vec<u64> = (1..=h.len() as u64).collect();
    assert_eq!(seqs, want, "contiguous seqs after a crash");
    for (seq, cid) in &acked {
        let e = &h[(*seq - 1) as usize];
        assert_eq!(
            e["client_id"],
            json!(cid),
            "acked {cid} (seq {seq}) lost or moved: {e}"
        );
    }
    let mut wa = connect_as(&s, &a);
    let ack = wa.send_ok(&g, "after", "after the crash");
    assert_eq!(ack["seq"], json!(h.len() as u64 + 1), "{ack}");
}

/// Graceful shutdown closes open sockets with 1001.
#[test]
fn graceful_shutdown_closes_sockets_with_1001() {
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let mut wa = connect_as(&s, &a);
    wa.assert_ping();
    let reader = std::thread::spawn(move || {
        let (frames, closed) = wa.read_until_closed(Duration::from_secs(60));
        (frames, closed, wa.transcript_tail(20))
    });
    std::thread::sleep(Duration::from_millis(200));
    let status = s.terminate();
    let (frames, closed, tr) = reader.join().unwrap();
    assert_eq!(
        closed.as_ref().and_then(Closed::code),
        Some(1001),
        "open socket on SIGTERM: expected close 1001, got {closed:?} (exit {status}); frames {frames:?}\n{tr}"
    );
    s.restart();
    s.assert_alive();
    connect_as(&s, &a).assert_ping();
}
