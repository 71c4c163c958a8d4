//! WebSocket protocol v1 authentication: the token is checked at the upgrade (401 otherwise),
//! the socket outlives the token's expiry, and logout/revocation closes it with 4001.

use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

#[track_caller]
fn expect_401(server: &Server, auth: Auth<'_>, codes: &[&str]) {
    match try_connect_no_hello(server, auth) {
        Ok(mut w) => {
            let f = w.next_frame(Duration::from_secs(2));
            panic!("upgrade with {auth:?} should be refused with 401, but a socket opened (first frame {f:?})")
        }
        Err(ConnectError::Http { status, body, json }) => {
            assert_eq!(status, 401, "upgrade with {auth:?}: {status} {body}");
            let code = json.pointer("/error/code").and_then(Value::as_str);
            assert!(
                code.is_some_and(|c| codes.contains(&c)),
                "401 body must be the REST error shape with code in {codes:?}: {body}"
            );
            assert!(
                json.pointer("/error/message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.is_empty()),
                "401 body needs error.message: {body}"
            );
        }
        Err(ConnectError::Other(e)) => panic!("upgrade with {auth:?}: expected HTTP 401, got {e}"),
    }
}

/// Both token carriers work, and hello names the right user and session.
#[test]
fn connect_with_query_token_or_authorization_header() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let a2 = login_account(&s, "alice", PASSWORD);
    let mut w1 = connect(&s, &a.access);
    assert_eq!(w1.hello["user_id"], json!(a.user_id), "{}", w1.hello);
    assert_eq!(w1.hello["session_id"], json!(a.session_id), "{}", w1.hello);
    let mut w2 = connect_header(&s, &a2.access);
    assert_eq!(w2.hello["user_id"], json!(a.user_id), "{}", w2.hello);
    assert_eq!(w2.hello["session_id"], json!(a2.session_id), "{}", w2.hello);
    w1.assert_ping();
    w2.assert_ping();
}

/// Test 10a: no token -> 401 at the upgrade, no socket.
#[test]
fn upgrade_without_token_is_401() {
    let s = ws_server();
    expect_401(&s, Auth::None, &["unauthorized"]);
    expect_401(&s, Auth::Query(""), &["unauthorized"]);
}

/// Test 10b: garbage or tampered tokens -> 401.
#[test]
fn upgrade_with_garbage_or_tampered_token_is_401() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    expect_401(&s, Auth::Query("garbage"), &["unauthorized"]);
    expect_401(&s, Auth::Header("garbage"), &["unauthorized"]);
    let (h, p, sig) = jwt_parts(&a.access);
    let tampered = format!("{h}.{p}.{}", flip_char(&sig, 3));
    expect_401(&s, Auth::Query(&tampered), &["unauthorized"]);
    expect_401(&s, Auth::Header(&tampered), &["unauthorized"]);
    // The refresh token is not an access token.
    expect_401(&s, Auth::Query(&a.refresh), &["unauthorized"]);
    // The real one works.
    connect(&s, &a.access).assert_ping();
}

/// Test 10c: an expired token -> 401 at the upgrade, but an open socket outlives its token.
#[test]
fn expired_token_is_401_but_open_socket_outlives_it() {
    let s = ws_server_with(&[("CONFAB_AUTH_ACCESS_TTL_SECS", "3")]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &b, &a.user_id);
    let mut w = connect(&s, &a.access);
    std::thread::sleep(Duration::from_millis(4500));
    expect_401(
        &s,
        Auth::Query(&a.access),
        &["token_expired", "unauthorized"],
    );
    expect_401(
        &s,
        Auth::Header(&a.access),
        &["token_expired", "unauthorized"],
    );
    // The open socket still works: ping, and a send.
    w.assert_ping();
    let ack = w.send_ok(&chat, "late", "my token expired, my socket did not");
    assert_eq!(ack["seq"], json!(1), "{ack}");
    // A refreshed token connects again.
    let r = s.post(
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_eq!(r.status, 200, "{r}");
    connect(&s, &r.str("/access_token")).assert_ping();
}

#[track_caller]
fn expect_4001(w: &mut Ws, what: &str) {
    let (frames, closed) = w.read_until_closed(Duration::from_secs(10));
    assert_eq!(
        closed.as_ref().and_then(Closed::code),
        Some(4001),
        "{what}: expected close 4001 at once, got {closed:?} within 10 s, frames {frames:?}\n{}",
        w.transcript_tail(10)
    );
}

/// Test 10d: `POST /api/auth/logout` closes that session's socket with 4001 (only that one).
#[test]
fn logout_closes_the_socket_with_4001() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let a2 = login_account(&s, "alice", PASSWORD);
    let mut w1 = connect_as(&s, &a);
    let mut w1b = connect_as(&s, &a); // a second socket of the same device session
    let mut w2 = connect_as(&s, &a2);

    let r = s.post("/api/auth/logout", Some(&a.access), None);
    assert_eq!(r.status, 204, "{r}");
    expect_4001(&mut w1, "socket of the logged-out session");
    expect_4001(&mut w1b, "second socket of the logged-out session");
    // Other devices are untouched.
    w2.assert_ping();
    // The logged-out token cannot reconnect.
    expect_401(&s, Auth::Query(&a.access), &["unauthorized"]);
}

/// Test 10e: revoking a session from another device (`DELETE /api/auth/sessions/{id}`) closes
/// its socket with 4001.
#[test]
fn session_revocation_closes_the_socket_with_4001() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let a2 = login_account(&s, "alice", PASSWORD);
    let mut w1 = connect_as(&s, &a);
    let mut w2 = connect_as(&s, &a2);
    let r = s.delete(
        &format!("/api/auth/sessions/{}", a2.session_id),
        Some(&a.access),
    );
    assert_eq!(r.status, 204, "{r}");
    expect_4001(&mut w2, "socket of the revoked session");
    w1.assert_ping();
}

/// Test 10f: presenting a spent refresh token revokes its session: its socket is closed 4001.
#[test]
fn refresh_token_reuse_closes_the_socket_with_4001() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let mut w = connect_as(&s, &a);
    let r = s.post(
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_eq!(r.status, 200, "{r}");
    let r = s.post(
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_error(&r, 401, "refresh_token_reused");
    expect_4001(
        &mut w,
        "socket of the session revoked by refresh-token reuse",
    );
}
