//! Rate limiting of login (per account, per IP), register (per IP), and message sends and
//! typing (per user over all devices, per IP), on one node. Limits shared by several nodes
//! through Redis: `cluster_limits.rs`.

use confab_tests::ws::*;
use confab_tests::*;

#[track_caller]
fn assert_rate_limited(r: &Resp) {
    assert_error(r, 429, "rate_limited");
    let ra = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 must carry Retry-After: {r} headers={:?}", r.headers));
    let secs: u64 = ra
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After must be integer seconds, got {ra:?}"));
    assert!(secs >= 1, "Retry-After must be >= 1, got {secs}");
    assert!(
        secs <= 60,
        "Retry-After for a per-minute bucket should be <= 60, got {secs}"
    );
}

fn login_body(username: &str, password: &str) -> Value {
    json!({"username": username, "password": password})
}

#[test]
fn login_is_rate_limited_per_account() {
    let s = Server::start_with(&[
        ("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "3"),
        ("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN", "1000"),
    ]);
    register(&s, "target");
    register(&s, "bystander");
    for i in 0..3 {
        let r = post(
            &s,
            "/api/auth/login",
            None,
            Some(login_body("target", "wrong password")),
        );
        assert_eq!(
            r.status,
            401,
            "attempt {} should still be judged: {r}",
            i + 1
        );
    }
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("target", "wrong password")),
    );
    assert_rate_limited(&r);

    // While limited, even the right password is refused for that account.
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("target", PASSWORD)),
    );
    assert_rate_limited(&r);

    // Another account from the same IP is unaffected.
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("bystander", PASSWORD)),
    );
    assert_eq!(r.status, 200, "{r}");
}

#[test]
fn login_per_account_limit_ignores_username_case() {
    let s = Server::start_with(&[
        ("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "3"),
        ("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN", "1000"),
    ]);
    register(&s, "casey");
    for name in ["casey", "CASEY", "Casey"] {
        let r = post(
            &s,
            "/api/auth/login",
            None,
            Some(login_body(name, "wrong password")),
        );
        assert_eq!(r.status, 401, "{r}");
    }
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("cAsEy", "wrong password")),
    );
    assert_rate_limited(&r);
}

#[test]
fn login_is_rate_limited_per_ip() {
    let s = Server::start_with(&[
        ("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN", "3"),
        ("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "1000"),
    ]);
    register(&s, "ipuser");
    for name in ["ghost1", "ghost2", "ghost3"] {
        let r = post(
            &s,
            "/api/auth/login",
            None,
            Some(login_body(name, "wrong password")),
        );
        assert_eq!(r.status, 401, "{r}");
    }
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("ipuser", PASSWORD)),
    );
    assert_rate_limited(&r);
}

#[test]
fn register_is_rate_limited_per_ip() {
    let s = Server::start_with(&[("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "2")]);
    register(&s, "reg1");
    register(&s, "reg2");
    let r = post(
        &s,
        "/api/auth/register",
        None,
        Some(json!({"username": "reg3", "password": PASSWORD, "display_name": "Three"})),
    );
    assert_rate_limited(&r);
    // The refused registration did not create the user.
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("reg3", PASSWORD)),
    );
    assert_error(&r, 401, "invalid_credentials");
}

#[test]
fn rate_limit_bucket_refills_after_retry_after() {
    // 6 per minute = one token every 10 s.
    let s = Server::start_with(&[
        ("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "6"),
        ("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN", "1000"),
    ]);
    register(&s, "refill");
    let mut limited = None;
    for _ in 0..20 {
        let r = post(
            &s,
            "/api/auth/login",
            None,
            Some(login_body("refill", "wrong password")),
        );
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 401, "{r}");
    }
    let r = limited.expect("a bucket of 6 should run out within 20 quick attempts");
    assert_rate_limited(&r);
    let wait: u64 = r.header("retry-after").unwrap().trim().parse().unwrap();
    assert!(
        wait <= 11,
        "one token refills every 10 s; Retry-After was {wait}"
    );
    std::thread::sleep(
        std::time::Duration::from_secs(wait) + std::time::Duration::from_millis(500),
    );
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(login_body("refill", PASSWORD)),
    );
    assert_eq!(
        r.status, 200,
        "after Retry-After the next attempt is allowed: {r}"
    );
}

/// A `rate_limited` WebSocket answer carries how long to wait, within one token's refill time.
#[track_caller]
fn assert_ws_rate_limited(ans: &Value, max_wait_ms: u64) {
    assert_eq!(ans["type"], "error", "{ans}");
    assert_eq!(ans["code"], "rate_limited", "{ans}");
    let wait = ans["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("rate_limited must carry retry_after_ms: {ans}"));
    assert!(
        wait >= 1 && wait <= max_wait_ms,
        "retry_after_ms {wait}: {ans}"
    );
}

#[test]
fn sends_are_limited_per_user_over_all_devices_and_rest() {
    // 6 a minute: a burst of 6, then one every 10 s.
    let s = ws_server_with(&[
        ("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN", "6"),
        ("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN", "1000"),
    ]);
    let a = register_account(&s, "sender");
    let a2 = login_account(&s, "sender", PASSWORD);
    let b = register_account(&s, "receiver");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut phone = connect_as(&s, &a);
    let mut laptop = connect_as(&s, &a2);
    for k in 0..3 {
        phone.send_ok(&chat, &format!("p{k}"), "from the phone");
        laptop.send_ok(&chat, &format!("l{k}"), "from the laptop");
    }
    // The seventh, from either device or over REST, is refused and not stored.
    let ans = phone.send_msg(&chat, "p3", "one too many");
    assert_ws_rate_limited(&ans, 10_000);
    let ans = laptop.send_msg(&chat, "l3", "one too many");
    assert_ws_rate_limited(&ans, 10_000);
    let r = post(
        &s,
        "/api/messages",
        Some(&a.access),
        Some(json!({"chat_id": chat, "client_id": "r0",
            "content": {"kind": "text", "text": "over REST"}})),
    );
    assert_rate_limited(&r);
    let history = get(&s, &format!("/api/chats/{chat}/messages"), Some(&b.access));
    assert_eq!(history.status, 200, "{history}");
    let texts = history.text.clone();
    assert!(
        !texts.contains("one too many") && !texts.contains("over REST"),
        "refused sends must not be stored: {texts}"
    );
    // The session carries on, and the other member is not limited by it.
    phone.assert_ping();
    let mut wb = connect_as(&s, &b);
    wb.send_ok(&chat, "b0", "my own budget");
}

#[test]
fn sends_are_limited_per_ip_over_all_users() {
    let s = ws_server_with(&[
        ("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN", "1000"),
        ("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN", "4"),
    ]);
    let a = register_account(&s, "neighbour1");
    let b = register_account(&s, "neighbour2");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    wa.send_ok(&chat, "a0", "1");
    wb.send_ok(&chat, "b0", "2");
    wa.send_ok(&chat, "a1", "3");
    wb.send_ok(&chat, "b1", "4");
    // Both users share 127.0.0.1: the address's budget is spent for both.
    assert_ws_rate_limited(&wa.send_msg(&chat, "a2", "5"), 15_000);
    assert_ws_rate_limited(&wb.send_msg(&chat, "b2", "5"), 15_000);
}

#[test]
fn typing_is_limited_per_user_over_all_chats() {
    let s = ws_server_with(&[
        ("CONFAB_RATE_LIMIT_TYPING_PER_USER_PER_MIN", "3"),
        ("CONFAB_RATE_LIMIT_TYPING_PER_IP_PER_MIN", "1000"),
    ]);
    let a = register_account(&s, "typist");
    let mut chats = Vec::new();
    for k in 0..4 {
        let other = register_account(&s, &format!("friend{k}"));
        chats.push(create_direct(&s, &a, &other.user_id));
    }
    let mut w = connect_as(&s, &a);
    // One typing frame per chat: the per-chat once-a-second rule never applies here.
    for chat in &chats[..3] {
        let ans = w.request("typing", json!({"chat_id": chat, "state": "typing"}));
        assert_eq!(ans["type"], "ok", "{ans}");
    }
    let ans = w.request("typing", json!({"chat_id": chats[3], "state": "typing"}));
    assert_ws_rate_limited(&ans, 20_000);
    w.assert_ping();
}

/// `POST /api/auth/register` with an `X-Forwarded-For` header; returns the status code.
fn register_via(s: &Server, username: &str, forwarded_for: &str) -> u16 {
    use std::io::{Read, Write};
    let body =
        json!({"username": username, "password": PASSWORD, "display_name": "Proxied"}).to_string();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", s.port())).unwrap();
    write!(
        tcp,
        "POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: {forwarded_for}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"))
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_address_is_limited() {
    let s = Server::start_with(&[
        ("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "2"),
        ("CONFAB_HTTP_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    // Two clients behind the proxy (the test connects from 127.0.0.1, the trusted proxy).
    assert_eq!(register_via(&s, "fwd1", "203.0.113.7"), 201);
    assert_eq!(register_via(&s, "fwd2", "198.51.100.1, 203.0.113.7"), 201);
    assert_eq!(register_via(&s, "fwd3", "203.0.113.7"), 429);
    // The other client has a budget of its own; a spoofed left-most hop changes nothing.
    assert_eq!(register_via(&s, "fwd4", "203.0.113.7, 192.0.2.50"), 201);
}

#[test]
fn without_trusted_proxies_forwarded_headers_are_ignored() {
    let s = Server::start_with(&[("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "2")]);
    assert_eq!(register_via(&s, "direct1", "203.0.113.1"), 201);
    assert_eq!(register_via(&s, "direct2", "203.0.113.2"), 201);
    // A client cannot buy a fresh budget by inventing a header: the TCP peer is what counts.
    assert_eq!(register_via(&s, "direct3", "203.0.113.3"), 429);
}
