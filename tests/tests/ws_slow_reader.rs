//! WebSocket protocol v1: a client that stops reading is disconnected (slow consumer, close
//! 4008 or the TCP connection ends) instead of making the server buffer without bound; other
//! sessions keep being served meanwhile.

use std::time::{Duration, Instant};

use confab_tests::ws::*;
use confab_tests::*;

/// Test 9.
#[test]
fn slow_reader_is_disconnected_and_server_keeps_serving() {
    const N: usize = 3000;
    const THREADS: usize = 4;
    let mut s = ws_server();
    let a = register_account(&s, "sender");
    let slow = register_account(&s, "sloth");
    let c = register_account(&s, "watcher");
    let d = register_account(&s, "bystander");

    let mut w_slow = connect_as(&s, &slow);
    let t_slow_connected = Instant::now();
    let mut wc = connect_as(&s, &c);
    let mut wd = connect_as(&s, &d);
    let g = create_group(&s, &a, "busy", &[&slow.user_id, &c.user_id]);
    let ev = w_slow.next_event_in(&g, TIMEOUT);
    assert_eq!(ev["seq"], json!(1));
    wc.next_event_in(&g, TIMEOUT);
    // From here on w_slow is not read until the sends are done.

    // The watcher reads everything, in order, in its own thread.
    let g2 = g.clone();
    let watcher = std::thread::spawn(move || {
        let mut next = 2u64;
        while next <= N as u64 + 1 {
            let ev = wc.next_event_in(&g2, Duration::from_secs(60));
            if ev["seq"] != json!(next) {
                wc.fail(format!("watcher expected seq {next}, got {ev}"));
            }
            next += 1;
        }
        next - 2
    });

    let rss_before = s.rss_kib().expect("read VmRSS of the server");
    let t0 = Instant::now();

    // Senders: REST (no per-socket rate limit), biggish texts (2000 characters of 3 bytes: ~6 KB
    // per event, ~18 MB in all) so that the kernel's socket buffers (a few MB) and the
    // 256-frame queue overflow well before the end.
    let body_text = "€".repeat(2000);
    let url = s.url("/api/messages");
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let url = url.clone();
            let token = a.access.clone();
            let g = g.clone();
            let body_text = body_text.clone();
            std::thread::spawn(move || {
                for k in 0..N / THREADS {
                    let body = json!({"chat_id": g, "client_id": format!("t{t}-{k}"),
                                      "content": {"kind": "text", "text": body_text}});
                    let bytes = serde_json::to_vec(&body).unwrap();
                    let r = try_request(
                        &url,
                        "POST",
                        Some(&token),
                        Some("application/json"),
                        Some(&bytes),
                    )
                    .unwrap_or_else(|e| panic!("POST /api/messages: {e}"));
                    assert_eq!(r.status, 201, "{r}");
                }
            })
        })
        .collect();

    // Meanwhile the bystander's session is served promptly.
    let mut worst = Duration::ZERO;
    let mut pings = 0;
    while !senders.iter().all(|h| h.is_finished()) {
        let t = Instant::now();
        wd.assert_ping();
        worst = worst.max(t.elapsed());
        pings += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    for h in senders {
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    }
    let send_time = t0.elapsed();
    let seen = watcher
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_eq!(seen, N as u64, "the watcher got every event");
    eprintln!(
        "slow reader: {N} sends in {send_time:?}; bystander {pings} pings, worst {worst:?}; \
         slow socket idle for {:?}",
        t_slow_connected.elapsed()
    );
    assert!(
        worst < Duration::from_secs(5),
        "bystander ping took {worst:?}"
    );

    let rss_after = s.rss_kib().expect("read VmRSS of the server");
    eprintln!("server VmRSS: {rss_before} KiB before, {rss_after} KiB after");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "server RSS grew from {rss_before} KiB to {rss_after} KiB (> 64 MiB) with a stalled reader"
    );

    // Now read the slow socket: what the kernel buffered, then the end.
    let (frames, closed) = w_slow.read_until_closed(Duration::from_secs(30));
    let evs: Vec<u64> = frames
        .iter()
        .filter(|f| f["type"] == "event")
        .map(|f| f["seq"].as_u64().unwrap_or(0))
        .collect();
    eprintln!(
        "slow socket: {} frames ({} events, last seq {:?}), closed {closed:?}",
        frames.len(),
        evs.len(),
        evs.last()
    );
    let closed = closed.unwrap_or_else(|| {
        panic!(
            "the slow reader was never disconnected: it received {} of {N} events and the socket is still open",
            evs.len()
        )
    });
    if let Some(code) = closed.code() {
        assert_eq!(code, 4008, "slow consumer close code: {closed:?}");
    }
    assert!(
        evs.len() < N,
        "the slow reader got all {} events: it was not cut off as a slow consumer",
        evs.len()
    );
    for (i, seq) in evs.iter().enumerate() {
        assert_eq!(
            *seq,
            2 + i as u64,
            "events before the cut are in order, no gaps: {evs:?}"
        );
    }

    s.assert_alive();
    // The slow client reconnects and catches up with sync (default limit 200).
    let last = evs.last().copied().unwrap_or(1);
    let mut w2 = connect_as(&s, &slow);
    let (before, synced) =
        w2.request_collect("sync", json!({"chats": [{"chat_id": g, "last_seq": last}]}));
    let got: Vec<u64> = before
        .iter()
        .filter(|f| f["type"] == "event")
        .map(|f| f["seq"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(
        got,
        (last + 1..=last + 200).collect::<Vec<_>>(),
        "sync after the cut"
    );
    assert_eq!(
        synced["chats"],
        json!([{"chat_id": g, "from_seq": last + 1, "to_seq": last + 200,
                "last_seq": N as u64 + 1, "has_more": true}]),
        "{synced}"
    );
}

/// A client that reads as fast as it can and asks for the largest page `sync` allows (1000)
/// gets all of them and `synced`: the server must not cut off a reading client as a slow
/// consumer because its own sync burst exceeded the 256-frame queue.
#[test]
fn sync_of_1000_small_messages_reaches_a_reading_client() {
    sync_1000(&"s".repeat(20));
}

/// As above with large messages (~12 KB each, ~12 MB in all): the sync must be paced by the
/// socket, not dumped into the queue.
#[test]
fn sync_of_1000_large_messages_reaches_a_reading_client() {
    sync_1000(&"€".repeat(4000));
}

fn sync_1000(body_text: &str) {
    const N: u64 = 1000;
    let s = ws_server();
    let a = register_account(&s, "writer");
    let b = register_account(&s, "reader");
    let chat = create_direct(&s, &a, &b.user_id);
    let url = s.url("/api/messages");
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let (url, token, chat, body_text) = (
                url.clone(),
                a.access.clone(),
                chat.clone(),
                body_text.to_string(),
            );
            std::thread::spawn(move || {
                for k in 0..N / 4 {
                    let body = json!({"chat_id": chat, "client_id": format!("t{t}-{k}"),
                                      "content": {"kind": "text", "text": body_text}});
                    let bytes = serde_json::to_vec(&body).unwrap();
                    let r = try_request(
                        &url,
                        "POST",
                        Some(&token),
                        Some("application/json"),
                        Some(&bytes),
                    )
                    .unwrap_or_else(|e| panic!("POST /api/messages: {e}"));
                    assert_eq!(r.status, 201, "{r}");
                }
            })
        })
        .collect();
    for h in senders {
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    }

    let mut w = connect_as(&s, &b);
    let id = w.send_frame(
        "sync",
        json!({"chats": [{"chat_id": chat, "last_seq": 0}], "limit": 1000}),
    );
    let mut seqs = Vec::new();
    let t0 = Instant::now();
    loop {
        let f = match w.next_frame(TIMEOUT) {
            Some(f) => f,
            None => w.fail(format!(
                "sync of {N} messages ({} bytes of text each) with limit 1000: got {} events, \
                 then nothing more (closed: {:?})",
                body_text.len(),
                seqs.len(),
                w.closed()
            )),
        };
        if f["type"] == "event" {
            seqs.push(f["seq"].as_u64().unwrap_or(0));
        } else if f["id"] == json!(id) {
            assert_eq!(f["type"], "synced", "{f}");
            assert_eq!(
                f["chats"],
                json!([{"chat_id": chat, "from_seq": 1, "to_seq": N, "last_seq": N, "has_more": false}]),
                "{f}"
            );
            break;
        } else {
            w.fail(format!("unexpected frame during sync: {f}"));
        }
    }
    eprintln!("synced {} events in {:?}", seqs.len(), t0.elapsed());
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
}
