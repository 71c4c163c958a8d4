//! Rate limits shared by several real `confab` nodes through one real Redis (docs/ARCHITECTURE.md
//! "Scaling out"): a client spreading its attempts over the nodes meets one limit, and a node
//! that cannot reach Redis falls back to its own buckets instead of failing or letting all
//! through. Needs the CQL store (`CONFAB_TEST_CQL`, set by ops/test.sh).

use confab_tests::cluster::*;
use confab_tests::ws::*;
use confab_tests::*;

fn nodes_with(n: usize, limits: &[(&str, &str)]) -> Option<(Redis, Vec<Server>)> {
    let contact = cql_contact()?;
    let redis = Redis::start();
    let mut spec = ClusterSpec::new(contact, &redis);
    // After the spec's own raised login/register limits, so these win.
    spec.extra = limits
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let nodes = spec.nodes(n);
    Some((redis, nodes))
}

#[track_caller]
fn assert_ws_rate_limited(ans: &Value) {
    assert_eq!(ans["type"], "error", "{ans}");
    assert_eq!(ans["code"], "rate_limited", "{ans}");
    assert!(
        ans["retry_after_ms"].as_u64().is_some_and(|ms| ms >= 1),
        "rate_limited carries retry_after_ms: {ans}"
    );
}

#[test]
fn sends_of_one_user_on_two_nodes_share_one_limit() {
    let Some((_redis, n)) = nodes_with(
        2,
        &[
            ("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN", "6"),
            ("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN", "1000"),
        ],
    ) else {
        return;
    };
    let a = register_account(&n[0], "spreader");
    let a2 = login_account(&n[1], "spreader", PASSWORD);
    let b = register_account(&n[1], "reader");
    let chat = create_direct(&n[0], &a, &b.user_id);
    let mut on_one = connect_as(&n[0], &a);
    let mut on_two = connect_as(&n[1], &a2);
    // Three on each node: six in all, the whole budget (each node alone would allow six).
    for k in 0..3 {
        on_one.send_ok(&chat, &format!("x{k}"), "node one");
        on_two.send_ok(&chat, &format!("y{k}"), "node two");
    }
    assert_ws_rate_limited(&on_one.send_msg(&chat, "x3", "over"));
    assert_ws_rate_limited(&on_two.send_msg(&chat, "y3", "over"));
    let r = post(
        &n[1],
        "/api/messages",
        Some(&a2.access),
        Some(json!({"chat_id": chat, "client_id": "z0",
            "content": {"kind": "text", "text": "over REST"}})),
    );
    assert_error(&r, 429, "rate_limited");
    assert!(r.header("retry-after").is_some(), "{r}");
    // The other member has a budget of their own.
    let mut wb = connect_as(&n[1], &b);
    wb.send_ok(&chat, "b0", "mine");
    assert_eq!(full_history(&n[0], &b.access, &chat).len(), 7);
}

#[test]
fn login_attempts_on_two_nodes_share_the_per_account_limit() {
    let Some((_redis, n)) = nodes_with(2, &[("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "3")])
    else {
        return;
    };
    register_account(&n[0], "guarded");
    let wrong = json!({"username": "guarded", "password": "not the password"});
    for node in [&n[0], &n[1], &n[0]] {
        let r = post(node, "/api/auth/login", None, Some(wrong.clone()));
        assert_error(&r, 401, "invalid_credentials");
    }
    // The fourth attempt is refused wherever it lands, even with the right password.
    let right = json!({"username": "guarded", "password": PASSWORD});
    for node in &n {
        let r = post(node, "/api/auth/login", None, Some(right.clone()));
        assert_error(&r, 429, "rate_limited");
        let wait: u64 = r.header("retry-after").unwrap().trim().parse().unwrap();
        assert!(
            (1..=20).contains(&wait),
            "one attempt refills every 20 s: {wait}"
        );
    }
}

#[test]
fn without_redis_a_node_limits_with_its_own_buckets() {
    let Some((mut redis, n)) = nodes_with(
        1,
        &[
            ("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN", "4"),
            ("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN", "1000"),
        ],
    ) else {
        return;
    };
    let a = register_account(&n[0], "offline_limits");
    let b = register_account(&n[0], "offline_peer");
    let chat = create_direct(&n[0], &a, &b.user_id);
    let mut w = connect_as(&n[0], &a);
    redis.stop();
    // The node's own bucket (4 a minute) still holds: four pass, the fifth is refused.
    for k in 0..4 {
        w.send_ok(&chat, &format!("o{k}"), "while redis is down");
    }
    assert_ws_rate_limited(&w.send_msg(&chat, "o4", "over"));
    let metrics = get(&n[0], "/metrics", None).text;
    let fallbacks = metric_sum(&metrics, "confab_rate_limit_fallbacks_total").unwrap_or(0.0);
    assert!(fallbacks >= 5.0, "each check fell back: {fallbacks}");
}
