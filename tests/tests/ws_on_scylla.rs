//! The realtime core once more with `storage.backend = "scylla"`: the same server, the same
//! protocol, the timeline and receipts in a real CQL database (Apache Cassandra 5 started by
//! `ops/cassandra.sh`). Needs `CONFAB_TEST_CQL=host:port`; without it each test prints SKIPPED
//! and passes, unless `CONFAB_REQUIRE_CQL=1` (as `ops/test.sh` sets), which makes that a failure.

use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

/// A server on a fresh keyspace of the test CQL node, or `None` to skip.
fn scylla_server() -> Option<Server> {
    let contact = match std::env::var("CONFAB_TEST_CQL") {
        Ok(c) => c,
        Err(_) => {
            assert!(
                std::env::var("CONFAB_REQUIRE_CQL").as_deref() != Ok("1"),
                "CONFAB_REQUIRE_CQL=1 but CONFAB_TEST_CQL is not set: start Cassandra with ops/cassandra.sh"
            );
            eprintln!("SKIPPED: set CONFAB_TEST_CQL=127.0.0.1:9042 to run against a CQL database");
            return None;
        }
    };
    let keyspace = format!("wst_{}_{}", std::process::id(), unique());
    let server = ws_server_with(&[
        ("CONFAB_STORAGE_BACKEND", "scylla"),
        ("CONFAB_STORAGE_SCYLLA_CONTACT_POINTS", contact.as_str()),
        ("CONFAB_STORAGE_SCYLLA_KEYSPACE", keyspace.as_str()),
        ("CONFAB_STORAGE_SCYLLA_CONSISTENCY", "one"),
    ]);
    // The store connects lazily: wait until it is ready (keyspace and schema created).
    for _ in 0..300 {
        if server.get("/readyz", None).status == 200 {
            assert_eq!(server.get("/readyz", None).json["store"], json!("scylla"));
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "the scylla-backed server never became ready: {}",
        server.stderr()
    );
}

#[test]
fn exchange_receipts_retry_and_sync_on_scylla() {
    let Some(s) = scylla_server() else { return };
    let [a, b] = [0, 1].map(|i| register_account(&s, &format!("sc{i}x{}", unique())));
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let sent = wa.send_ok(&chat, "c1", "over cql");
    assert_eq!(sent["seq"], json!(1));
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev["content"]["text"], json!("over cql"));
    let again = wa.send_ok(&chat, "c1", "over cql");
    assert_eq!(
        (again["seq"].clone(), again["duplicate"].clone()),
        (json!(1), json!(true))
    );
    wb.request_ok("read", json!({"chat_id": chat, "seq": 1}), "ok");
    let receipt = wa.next_where("read receipt", TIMEOUT, |v| {
        v["type"] == "receipt" && v["kind"] == "read"
    });
    assert_eq!(receipt["up_to_seq"], json!(1));
    drop(wb);
    for i in 2..=4 {
        wa.send_ok(&chat, &format!("c{i}"), &format!("m{i}"));
    }
    let mut wb = connect_as(&s, &b);
    let synced = wb.request("sync", json!({"chats": [{"chat_id": chat, "last_seq": 1}]}));
    assert_eq!(synced["type"], json!("synced"), "{synced}");
    assert_eq!(synced["chats"][0]["from_seq"], json!(2));
    assert_eq!(synced["chats"][0]["to_seq"], json!(4));
    let texts: Vec<Value> = full_history(&s, &b.access, &chat)
        .iter()
        .map(|e| e["content"]["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![json!("over cql"), json!("m2"), json!("m3"), json!("m4")]
    );
}

#[test]
fn group_order_and_restart_on_scylla() {
    let Some(mut s) = scylla_server() else { return };
    let members: Vec<Account> = (0..4)
        .map(|i| register_account(&s, &format!("scg{i}x{}", unique())))
        .collect();
    let others: Vec<&str> = members[1..].iter().map(|m| m.user_id.as_str()).collect();
    let group = s.post(
        "/api/chats/groups",
        Some(&members[0].access),
        Some(json!({"title": "cql", "member_ids": others})),
    );
    group.expect(201);
    let chat = group.str("/chat_id");
    let mut sockets: Vec<Ws> = members.iter().map(|m| connect_as(&s, m)).collect();
    for (i, ws) in sockets.iter_mut().enumerate() {
        ws.send_ok(&chat, &format!("g{i}"), &format!("from {i}"));
    }
    let order = |ws: &mut Ws| -> Vec<u64> {
        (0..4)
            .map(|_| {
                ws.next_where("message", TIMEOUT, |v| {
                    v["type"] == "event" && v["kind"] == "message"
                })["seq"]
                    .as_u64()
                    .unwrap_or(0)
            })
            .collect()
    };
    let first = order(&mut sockets[0]);
    for ws in sockets.iter_mut().skip(1) {
        assert_eq!(order(ws), first, "every member sees the same order");
    }
    assert_eq!(first, vec![2, 3, 4, 5], "seq 1 is group_created; no gaps");
    drop(sockets);
    s.restart();
    for _ in 0..300 {
        if s.get("/readyz", None).status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut ws = connect_as(&s, &members[1]);
    let next = ws.send_ok(&chat, "after-restart", "still here");
    assert_eq!(next["seq"], json!(6), "sequences continue after a restart");
    assert_eq!(full_history(&s, &members[2].access, &chat).len(), 6);
}
