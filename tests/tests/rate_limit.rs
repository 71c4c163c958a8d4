//! Rate limiting of login (per account, per IP) and register (per IP).

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
