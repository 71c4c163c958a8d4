//! Moderation (docs/REST.md "Moderation"): reports with evidence, the server admins' report
//! list, disabling and enabling accounts.

use std::process::Command;
use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

/// Make `username` a server admin: stop the server, run `confab admin grant-admin` on its data
/// directory, start it again (same port and data).
fn grant_admin(s: &mut Server, username: &str) {
    s.terminate();
    let mut cmd = Command::new(confab_bin());
    for (k, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
        if k.starts_with("CONFAB_") {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .args(["admin", "grant-admin", "--username", username])
        .env("CONFAB_DATA_DIR", s.data_dir())
        .env("CONFAB_LOG", "warn")
        .output()
        .expect("run confab admin grant-admin");
    assert!(
        out.status.success(),
        "grant-admin failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    s.restart();
}

fn report(s: &Server, who: &Account, body: Value) -> Resp {
    s.post("/api/reports", Some(&who.access), Some(body))
}

#[track_caller]
fn assert_report_shape(r: &Value, reporter: &str, reported: &str, reason: &str) {
    assert!(r["id"].is_string(), "id: {r}");
    assert_eq!(r["reporter"], json!(reporter), "{r}");
    assert_eq!(r["reported_user"], json!(reported), "{r}");
    assert_eq!(r["reason"], json!(reason), "{r}");
    let at = r["created_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("created_at: {r}"));
    assert!((at - now_ms()).abs() < 120_000, "created_at near now: {r}");
    assert!(r["evidence"].is_array(), "evidence: {r}");
}

#[test]
fn report_a_user_is_201() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let r = report(&s, &a, json!({"user_id": b.user_id, "reason": "spam"}));
    r.expect(201);
    assert_report_shape(&r.json, &a.user_id, &b.user_id, "spam");
    assert_eq!(r.json["evidence"], json!([]), "no chat, no evidence: {r}");
    assert!(r.json["chat_id"].is_null(), "{r}");
    assert!(r.json["seq"].is_null(), "{r}");

    // Unknown user: 404.
    let r = report(&s, &a, json!({"user_id": random_uuid(), "reason": "ghost"}));
    assert_error(&r, 404, "not_found");
}

#[test]
fn reporting_yourself_is_422() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let r = report(&s, &a, json!({"user_id": a.user_id, "reason": "me"}));
    assert_error(&r, 422, "unprocessable");
}

#[test]
fn non_admin_cannot_list_reports_or_disable() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let r = s.get("/api/admin/reports", Some(&a.access));
    assert_error(&r, 403, "forbidden");
    let r = s.post(
        &format!("/api/admin/users/{}/disable", b.user_id),
        Some(&a.access),
        None,
    );
    assert_error(&r, 403, "forbidden");
    let r = s.post(
        &format!("/api/admin/users/{}/enable", b.user_id),
        Some(&a.access),
        None,
    );
    assert_error(&r, 403, "forbidden");
    // Bob is untouched.
    s.get("/api/users/me", Some(&b.access)).expect(200);
    let r = s.get("/api/admin/reports", None);
    assert_error(&r, 401, "unauthorized");
}

/// A report of a message attaches the chat's last 20 events; a server admin sees the reports,
/// newest first, with their evidence.
#[test]
fn message_report_attaches_evidence_visible_to_admin() {
    let mut s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let admin = register_account(&s, "moderator");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut bad = 0;
    for i in 0..24 {
        let who = if i % 2 == 0 { &b } else { &a };
        let seq = send_seq(&s, who, &chat, &format!("m{i}"), &format!("message {i}"));
        if i == 20 {
            bad = seq;
        }
    }
    // 24 events; bob's message 21 is the bad one.
    let r1 = report(&s, &a, json!({"user_id": b.user_id, "reason": "first"}));
    r1.expect(201);
    let r = report(
        &s,
        &a,
        json!({"user_id": b.user_id, "reason": "abuse", "chat_id": chat, "seq": bad}),
    );
    r.expect(201);
    assert_report_shape(&r.json, &a.user_id, &b.user_id, "abuse");
    assert_eq!(r.json["chat_id"], json!(chat), "{r}");
    assert_eq!(r.json["seq"], json!(bad), "{r}");
    let ev_seqs: Vec<u64> = r.json["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ev_seqs,
        (5..=24).collect::<Vec<u64>>(),
        "the last 20 events: {r}"
    );
    let report_id = r.str("/id");

    grant_admin(&mut s, "moderator");

    let r = s.get("/api/admin/reports", Some(&admin.access));
    r.expect(200);
    let items = r.json["items"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(items.len(), 2, "{r}");
    assert_eq!(items[0]["id"], json!(report_id), "newest first: {r}");
    assert_eq!(items[1]["reason"], "first", "{r}");
    let rep = &items[0];
    assert_report_shape(rep, &a.user_id, &b.user_id, "abuse");
    let ev = rep["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 20, "{rep}");
    for (i, e) in ev.iter().enumerate() {
        let seq = 5 + i as u64;
        assert_eq!(e["seq"], json!(seq), "{e}");
        assert_eq!(e["chat_id"], json!(chat), "{e}");
        assert_eq!(e["kind"], "message", "{e}");
        assert_eq!(
            e["content"]["text"],
            json!(format!("message {}", seq - 1)),
            "{e}"
        );
    }
    // Paging.
    let pages = collect_pages(&s, "/api/admin/reports", &admin.access, 1);
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 2, "{pages:?}");
}

/// Reporting a message of a chat I am not in, or not by the reported user, is refused.
#[test]
fn message_report_needs_my_chat_and_their_message() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let bc = create_direct(&s, &b, &c.user_id);
    let ab = create_direct(&s, &a, &b.user_id);
    let x = send_seq(&s, &b, &bc, "x", "not for alice");
    let r = report(
        &s,
        &a,
        json!({"user_id": b.user_id, "reason": "r", "chat_id": bc, "seq": x}),
    );
    assert!(
        (400..500).contains(&r.status) && r.status != 401,
        "a chat I am not in must be refused: {r}"
    );
    let mine = send_seq(&s, &a, &ab, "mine", "my own message");
    let r = report(
        &s,
        &a,
        json!({"user_id": b.user_id, "reason": "r", "chat_id": ab, "seq": mine}),
    );
    assert!(
        (400..500).contains(&r.status) && r.status != 401,
        "a message that is not the reported user's must be refused: {r}"
    );
}

/// Disabling closes the user's open sockets with 4001 and stops their tokens; enabling lets
/// them log in again.
#[test]
fn admin_disables_and_enables_an_account() {
    let mut s = ws_server();
    let b = register_account(&s, "bob");
    let _admin = register_account(&s, "moderator");
    grant_admin(&mut s, "moderator");
    let admin = login_account(&s, "moderator", PASSWORD);
    let mut wb = connect_as(&s, &b);
    wb.assert_ping();
    let b_phone = login_account(&s, "bob", PASSWORD);
    let mut wb2 = connect_as(&s, &b_phone);
    wb2.assert_ping();

    let r = s.post(
        &format!("/api/admin/users/{}/disable", random_uuid()),
        Some(&admin.access),
        None,
    );
    assert_error(&r, 404, "not_found");

    let r = s.post(
        &format!("/api/admin/users/{}/disable", b.user_id),
        Some(&admin.access),
        None,
    );
    assert!(r.status == 200 || r.status == 204, "disable: {r}");

    let (_, closed) = wb.read_until_closed(Duration::from_secs(5));
    assert_eq!(
        closed.as_ref().and_then(Closed::code),
        Some(4001),
        "the open socket must be closed with 4001 at once: {closed:?}"
    );
    let (_, closed) = wb2.read_until_closed(Duration::from_secs(5));
    assert_eq!(
        closed.as_ref().and_then(Closed::code),
        Some(4001),
        "every device's socket is closed: {closed:?}"
    );
    assert_error(
        &s.get("/api/users/me", Some(&b_phone.access)),
        401,
        "unauthorized",
    );
    assert_error(
        &s.get("/api/users/me", Some(&b.access)),
        401,
        "unauthorized",
    );
    let r = s.post(
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": b.refresh})),
    );
    assert_eq!(r.status, 401, "refresh of a disabled account: {r}");
    let r = s.post(
        "/api/auth/login",
        None,
        Some(json!({"username": "bob", "password": PASSWORD})),
    );
    // REST.md does not pin the status of a disabled account's login (its 401 row is about
    // tokens); it must be refused either way.
    assert!(
        r.status == 401 || r.status == 403,
        "login of a disabled account must be refused: {r}"
    );
    assert!(r.json.pointer("/tokens").is_none(), "no tokens: {r}");
    match try_connect(&s, Auth::Query(&b.access)) {
        Err(ConnectError::Http { status, .. }) => assert_eq!(status, 401),
        Ok(_) => panic!("a disabled account must not open a socket"),
        Err(e) => panic!("unexpected connect error: {e:?}"),
    }

    let r = s.post(
        &format!("/api/admin/users/{}/enable", b.user_id),
        Some(&admin.access),
        None,
    );
    assert!(r.status == 200 || r.status == 204, "enable: {r}");
    let b2 = login_account(&s, "bob", PASSWORD);
    s.get("/api/users/me", Some(&b2.access)).expect(200);
    let mut w = connect_as(&s, &b2);
    w.assert_ping();
}
