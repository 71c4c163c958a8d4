//! Scale-out (docs/ARCHITECTURE.md "Scaling out"): several real `confab` nodes sharing one real
//! Redis and one CQL keyspace (Cassandra from `ops/cassandra.sh`). Users on different nodes chat
//! 1:1 and in groups with one order on every device, see each other's presence, and logging out
//! on one node closes the sockets on another. Failover and Redis restarts: `cluster_failover.rs`.

use std::time::Duration;

use confab_tests::cluster::*;
use confab_tests::ws::*;
use confab_tests::*;

fn two_nodes() -> Option<(Redis, Vec<Server>)> {
    let contact = cql_contact()?;
    let redis = Redis::start();
    let spec = ClusterSpec::new(contact, &redis);
    let nodes = spec.nodes(2);
    Some((redis, nodes))
}

#[test]
fn users_on_different_nodes_chat_one_to_one() {
    let Some((_redis, n)) = two_nodes() else {
        return;
    };
    let a = register_account(&n[0], "ann");
    let b = register_account(&n[1], "ben");
    let chat = create_direct(&n[0], &a, &b.user_id);
    let mut wa = connect_as(&n[0], &a);
    let mut wb = connect_as(&n[1], &b);

    let sent = wa.send_ok(&chat, "a1", "from node one");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev["seq"], sent["seq"], "{ev}");
    assert_eq!(ev["content"]["text"], "from node one", "{ev}");

    let sent = wb.send_ok(&chat, "b1", "from node two");
    let ev = wa.next_where("b's message", TIMEOUT, |f| {
        f["type"] == "event" && f["seq"] == sent["seq"]
    });
    assert_eq!(ev["content"]["text"], "from node two", "{ev}");
    // A retried send on the other node is the same message.
    let again = wa.send_ok(&chat, "a1", "from node one");
    assert_eq!(again["duplicate"], json!(true), "{again}");
    assert_eq!(full_history(&n[1], &b.access, &chat).len(), 2);
}

#[test]
fn a_group_across_nodes_has_one_order_on_every_device() {
    let Some((_redis, n)) = two_nodes() else {
        return;
    };
    let a = register_account(&n[0], "amy");
    let b = register_account(&n[1], "bob");
    let c = register_account(&n[0], "cat");
    let c2 = login_account(&n[1], "cat", PASSWORD);
    let g = create_group(&n[0], &a, "across", &[&b.user_id, &c.user_id]);
    // Devices: amy on node 1, bob on node 2, cat on both.
    let readers = vec![
        connect_as(&n[0], &a),
        connect_as(&n[1], &b),
        connect_as(&n[0], &c),
        connect_as(&n[1], &c2),
    ];
    const EACH: usize = 15;
    let senders: Vec<_> = [(0usize, a.clone()), (1usize, b.clone())]
        .into_iter()
        .map(|(i, who)| {
            let (port, g) = (n[i].port(), g.clone());
            std::thread::spawn(move || {
                let mut w = connect_port(port, &who.access);
                for k in 0..EACH {
                    w.send_ok(
                        &g,
                        &format!("{}-{k}", who.username),
                        &format!("{} {k}", who.username),
                    );
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut orders = Vec::new();
    for mut r in readers {
        let mut seen = Vec::new();
        while seen.len() < 2 * EACH {
            let ev = r.next_event_in(&g, TIMEOUT);
            if ev["kind"] == "message" {
                seen.push((ev["seq"].as_u64().unwrap(), ev["content"]["text"].clone()));
            }
        }
        orders.push(seen);
    }
    for o in &orders[1..] {
        assert_eq!(o, &orders[0], "every device sees the same order");
    }
    let seqs: Vec<u64> = orders[0].iter().map(|(s, _)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gapless: {seqs:?}"
    );
    let history = full_history(&n[1], &b.access, &g);
    let texts: Vec<Value> = history
        .iter()
        .filter(|e| e["kind"] == "message")
        .map(|e| e["content"]["text"].clone())
        .collect();
    let live: Vec<Value> = orders[0].iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(texts, live, "history has the live order");
}

#[test]
fn presence_crosses_nodes() {
    let Some((_redis, n)) = two_nodes() else {
        return;
    };
    let u = register_account(&n[0], "uma");
    let v = register_account(&n[0], "vic");
    create_direct(&n[0], &v, &u.user_id);
    let mut wv = connect_as(&n[0], &v);
    wv.request_ok("presence_subscribe", json!({"user_ids": [u.user_id]}), "ok");
    let p = wv.next_of("presence", TIMEOUT);
    assert_eq!(p["online"], json!(false), "{p}");

    let wu = connect_as(&n[1], &u);
    let p = wv.next_of("presence", TIMEOUT);
    assert_eq!(
        (p["user_id"].clone(), p["online"].clone()),
        (json!(u.user_id), json!(true))
    );
    // A late subscriber on node 1 sees uma online (her socket is on node 2).
    let mut wv2 = connect_as(&n[0], &login_account(&n[0], "vic", PASSWORD));
    wv2.request_ok("presence_subscribe", json!({"user_ids": [u.user_id]}), "ok");
    assert_eq!(wv2.next_of("presence", TIMEOUT)["online"], json!(true));

    wu.close();
    let p = wv.next_where("offline", TIMEOUT, |f| {
        f["type"] == "presence" && f["online"] == json!(false)
    });
    assert!(p["last_seen"].is_i64(), "{p}");
}

#[test]
fn logging_out_on_one_node_closes_the_socket_on_another() {
    let Some((_redis, n)) = two_nodes() else {
        return;
    };
    let a = register_account(&n[0], "alf");
    let mut w = connect_as(&n[1], &a);
    post(&n[0], "/api/auth/logout", Some(&a.access), None).expect(204);
    let (_, closed) = w.read_until_closed(Duration::from_secs(10));
    let closed = closed.expect("the socket on node 2 was closed");
    assert_eq!(closed.code(), Some(4001), "{closed:?}");
    // And the token no longer works on either node.
    assert_eq!(n[1].get("/api/users/me", Some(&a.access)).status, 401);
}
