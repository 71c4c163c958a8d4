//! Scale-out failure cases with real processes: SIGKILL of the node that orders a chat in the
//! middle of a send burst, and a Redis restart. See docs/ARCHITECTURE.md "Scaling out".

use std::collections::HashMap;
use std::time::{Duration, Instant};

use confab_tests::cluster::*;
use confab_tests::ws::*;
use confab_tests::*;

/// `confab_live_chat_actors` of a node: the node ordering a chat runs its actor.
fn chat_actors(s: &Server) -> u64 {
    let r = s.get("/metrics", None);
    r.text
        .lines()
        .find(|l| l.starts_with("confab_live_chat_actors "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Sends over REST through `via` until acknowledged (a retry with the same client id is the
/// same message), for at most `within`. Returns the acked seq, or `None`.
fn send_until_acked(
    via: &Server,
    who: &Account,
    chat: &str,
    cid: &str,
    within: Duration,
) -> Option<u64> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let r = rest_send(via, who, chat, cid, cid);
        if r.status == 201 || r.status == 200 {
            return r.json["seq"].as_u64();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn killing_the_ordering_node_mid_burst_loses_and_repeats_nothing() {
    let Some(contact) = cql_contact() else { return };
    let redis = Redis::start();
    let spec = ClusterSpec::new(contact, &redis);
    let mut nodes = spec.nodes(3);
    let a = register_account(&nodes[0], "ada");
    let b = register_account(&nodes[0], "bea");
    let g = create_group(&nodes[0], &a, "burst", &[&b.user_id]);
    // The first message starts the chat's actor on the node that orders it.
    let warm = rest_send(&nodes[0], &a, &g, "warm", "warm");
    warm.expect(201);
    let warm_seq = warm.json["seq"].as_u64().unwrap();
    let owner = (0..3)
        .find(|i| chat_actors(&nodes[*i]) > 0)
        .expect("one node runs the chat's actor");
    let via = (owner + 1) % 3;
    let other = (owner + 2) % 3;

    let mut acked: HashMap<String, u64> = HashMap::new();
    acked.insert("warm".into(), warm_seq);
    let mut killed_at = None;
    let mut first_ack_after_kill = None;
    for i in 0..60 {
        if i == 20 {
            nodes[owner].kill9();
            killed_at = Some(Instant::now());
        }
        let cid = format!("m{i}");
        let seq = send_until_acked(&nodes[via], &a, &g, &cid, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{cid} never acknowledged"));
        if killed_at.is_some() && first_ack_after_kill.is_none() {
            first_ack_after_kill = killed_at.map(|k| k.elapsed());
        }
        acked.insert(cid, seq);
    }
    let failover = first_ack_after_kill.expect("sends after the kill");
    eprintln!("failover: first ack {failover:?} after SIGKILL of the ordering node");
    assert!(failover < Duration::from_secs(10), "took {failover:?}");

    // Every acknowledged message is there exactly once, at its acked seq, with no gaps, and
    // both surviving nodes serve the same history.
    let history = full_history(&nodes[other], &b.access, &g);
    let stored = assert_acked_exactly_once(&history, &acked);
    assert_eq!(stored.len(), acked.len(), "no message that was not sent");
    let again = full_history(&nodes[via], &a.access, &g);
    assert_eq!(again, history, "the same history on every node");
}

/// The history is gapless and ordered, and every acknowledged message (by client id = text) is
/// in it exactly once, at its acked seq. Returns every stored message's seqs by text.
#[track_caller]
fn assert_acked_exactly_once(
    history: &[Value],
    acked: &HashMap<String, u64>,
) -> HashMap<String, Vec<u64>> {
    let seqs: Vec<u64> = history.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(
        seqs.first() == Some(&1) && seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gapless and ordered: {seqs:?}"
    );
    let mut by_client: HashMap<String, Vec<u64>> = HashMap::new();
    for e in history.iter().filter(|e| e["kind"] == "message") {
        let text = e["content"]["text"].as_str().unwrap_or_default().to_owned();
        by_client
            .entry(text)
            .or_default()
            .push(e["seq"].as_u64().unwrap());
    }
    for (cid, seq) in acked {
        assert_eq!(
            by_client.get(cid),
            Some(&vec![*seq]),
            "{cid} acked at {seq}: stored once, at that seq"
        );
    }
    for (text, at) in &by_client {
        assert_eq!(at.len(), 1, "{text} stored once, not at {at:?}");
    }
    by_client
}

/// A zombie owner: the node ordering a chat is frozen (SIGSTOP) in the middle of a send burst,
/// another node takes the chat over and acknowledges sends, then the frozen node resumes with
/// its writes still in flight. Whatever the old owner acknowledged after it resumed must be
/// kept, once, at the seq it announced; nothing it wrote may overwrite or hide what the new
/// owner acknowledged. (CQL backend: the owner's appends are plain writes fenced by its epoch;
/// docs/ARCHITECTURE.md, "Chat ownership and the CQL write path".)
#[test]
fn a_frozen_owner_resumed_with_writes_in_flight_acknowledges_nothing_it_cannot_keep() {
    let Some(contact) = cql_contact() else { return };
    let redis = Redis::start();
    let spec = ClusterSpec::new(contact, &redis);
    let nodes = spec.nodes(3);
    let a = register_account(&nodes[0], "zed");
    let b = register_account(&nodes[0], "zoe");
    let g = create_group(&nodes[0], &a, "zombie", &[&b.user_id]);
    let warm = rest_send(&nodes[0], &a, &g, "warm", "warm");
    warm.expect(201);
    let mut acked: HashMap<String, u64> = HashMap::new();
    acked.insert("warm".into(), warm.json["seq"].as_u64().unwrap());
    let owner = (0..3)
        .find(|i| chat_actors(&nodes[*i]) > 0)
        .expect("one node runs the chat's actor");
    let via = (owner + 1) % 3;
    let other = (owner + 2) % 3;

    let stop = std::sync::atomic::AtomicBool::new(false);
    let (zombie_acks, unanswered) = std::thread::scope(|scope| {
        // Writers on the owner itself, so appends are in flight inside it when it freezes.
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (node, a, g, stop) = (&nodes[owner], &a, &g, &stop);
                scope.spawn(move || {
                    let mut acks = Vec::new();
                    let mut failed = 0;
                    let mut i = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        let cid = format!("z{w}-{i}");
                        let r = rest_send(node, a, g, &cid, &cid);
                        match r.json["seq"].as_u64() {
                            Some(seq) if r.status == 201 || r.status == 200 => {
                                acks.push((cid, seq))
                            }
                            _ => failed += 1,
                        }
                    }
                    (acks, failed)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        nodes[owner].pause();
        // The frozen node's registry entry expires; the next node by rendezvous claims the chat.
        for i in 0..15 {
            let cid = format!("n{i}");
            let seq = send_until_acked(&nodes[via], &a, &g, &cid, Duration::from_secs(30))
                .unwrap_or_else(|| panic!("{cid} never acknowledged while the owner was frozen"));
            acked.insert(cid, seq);
        }
        nodes[owner].resume();
        // Let the resumed node finish what it had in flight (and find itself fenced).
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut zombie_acks = Vec::new();
        let mut unanswered = 0;
        for w in writers {
            let (acks, failed) = w.join().expect("writer thread");
            zombie_acks.extend(acks);
            unanswered += failed;
        }
        (zombie_acks, unanswered)
    });
    eprintln!(
        "zombie run: {} sends acknowledged through the old owner, {unanswered} refused",
        zombie_acks.len()
    );
    assert!(!zombie_acks.is_empty(), "the burst reached the owner");
    for (cid, seq) in zombie_acks {
        assert!(acked.insert(cid.clone(), seq).is_none(), "{cid} sent once");
    }
    // After all that, every node still takes sends for the chat.
    for (i, node) in nodes.iter().enumerate() {
        let cid = format!("after{i}");
        let seq = send_until_acked(node, &a, &g, &cid, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{cid} never acknowledged"));
        acked.insert(cid, seq);
    }
    let history = full_history(&nodes[other], &b.access, &g);
    // Messages refused or unanswered may or may not be stored; acknowledged ones must be.
    assert_acked_exactly_once(&history, &acked);
    for node in [&nodes[owner], &nodes[via]] {
        assert_eq!(
            full_history(node, &a.access, &g),
            history,
            "the same history on every node"
        );
    }
}

#[test]
fn a_redis_restart_is_survived() {
    let Some(contact) = cql_contact() else { return };
    let mut redis = Redis::start();
    let spec = ClusterSpec::new(contact, &redis);
    let nodes = spec.nodes(2);
    let a = register_account(&nodes[0], "rae");
    let b = register_account(&nodes[1], "rob");
    let chat = create_direct(&nodes[0], &a, &b.user_id);
    let mut wa = connect_as(&nodes[0], &a);
    let mut wb = connect_as(&nodes[1], &b);
    // A fresh chat's first write can meet Cassandra's Paxos contention on a busy machine:
    // `unavailable` means nothing was stored, and the client retries (docs/PROTOCOL.md).
    let sent = send_retrying_unavailable(&mut wa, &chat, "before", "before the restart");
    assert_eq!(wb.next_event_in(&chat, TIMEOUT)["seq"], sent["seq"]);

    redis.restart();
    // The nodes heartbeat into the empty Redis again and resubscribe to the bus. Pushes
    // published before a node has resubscribed are lost by design (its clients resync), so
    // each direction is tried until a message is delivered live.
    wait_for_nodes(&nodes, 2);
    delivered_live(&mut wa, &mut wb, &chat, "after");
    // The sessions lived through it, and the other direction works too.
    delivered_live(&mut wb, &mut wa, &chat, "back");
}

/// Sends from `from` until one message reaches `to` live (within 20 s in all).
fn delivered_live(from: &mut Ws, to: &mut Ws, chat: &str, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    loop {
        n += 1;
        let cid = format!("{prefix}{n}");
        let ack = from.send_msg(chat, &cid, &cid);
        if ack["type"] == "sent" {
            let got = to.try_next_where(Duration::from_secs(2), |f| {
                f["type"] == "event" && f["seq"] == ack["seq"]
            });
            if let Some(ev) = got {
                assert_eq!(ev["content"]["text"], json!(cid), "{ev}");
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no live delivery across nodes after Redis came back: {ack}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `send` with the same client id until it is acknowledged; only `unavailable` is retried.
fn send_retrying_unavailable(ws: &mut Ws, chat: &str, client_id: &str, text: &str) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let ack = ws.send_msg(chat, client_id, text);
        if ack["type"] == "sent" {
            return ack;
        }
        assert!(
            ack["code"] == "unavailable" && Instant::now() < deadline,
            "send {client_id}: {ack}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
