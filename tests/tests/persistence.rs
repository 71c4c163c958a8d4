//! Persistence: graceful restart keeps everything, acknowledged writes survive kill -9, and the
//! JWT secret is private (0600) and stable across restarts.

use confab_tests::*;

#[test]
fn graceful_restart_keeps_users_profiles_contacts_privacy_and_sessions() {
    let mut s = Server::start();
    let phone = unique_phone();
    let a = register_with_phone(&s, "keeper", &phone);
    let b = register_account(&s, "kept_contact");
    let r = patch(
        &s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"display_name": "Keeper K", "about": "still here", "photo": "media_abc"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let r = post(
        &s,
        "/api/users/me/contacts",
        Some(&a.access),
        Some(json!({"user_id": b.user_id, "name": "Buddy"})),
    );
    assert_eq!(r.status, 201, "{r}");
    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&a.access),
        Some(json!({"about": "nobody"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let r = post(
        &s,
        "/api/users/me/blocked",
        Some(&b.access),
        Some(json!({"user_id": a.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");
    let me_before = get(&s, "/api/users/me", Some(&a.access));
    assert_eq!(me_before.status, 200, "{me_before}");

    s.restart();

    // The old access token is still valid (same secret, session still live).
    let me_after = get(&s, "/api/users/me", Some(&a.access));
    assert_eq!(me_after.status, 200, "{me_after}");
    assert_eq!(
        me_after.json, me_before.json,
        "profile unchanged across restart"
    );
    assert_eq!(me_after.json["phone"], json!(phone));
    assert_eq!(me_after.json["about"], "still here");
    assert_eq!(me_after.json["photo"], "media_abc");

    let r = get(&s, "/api/users/me/contacts", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    let items = r.json["items"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(items.len(), 1, "{r}");
    assert_eq!(items[0]["user_id"], json!(b.user_id), "{r}");
    assert_eq!(items[0]["name"], "Buddy", "{r}");

    let r = get(&s, "/api/users/me/privacy", Some(&a.access));
    assert_eq!(r.json["about"], "nobody", "{r}");

    let r = get(&s, "/api/users/me/blocked", Some(&b.access));
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1), "{r}");

    // The old refresh token still refreshes.
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(
        get(&s, "/api/users/me", Some(&r.str("/access_token"))).status,
        200
    );

    // Login by username and phone still work; uniqueness is still enforced.
    login(&s, "keeper", PASSWORD);
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"phone": phone, "password": PASSWORD})),
    );
    assert_eq!(r.status, 200, "{r}");
    let r = post(
        &s,
        "/api/auth/register",
        None,
        Some(json!({"username": "KEEPER", "password": PASSWORD, "display_name": "x"})),
    );
    assert_error(&r, 409, "username_taken");
}

#[test]
fn revocations_survive_restart() {
    let mut s = Server::start();
    let a = register_account(&s, "revoked");
    let r = post(&s, "/api/auth/logout", Some(&a.access), None);
    assert_eq!(r.status, 204, "{r}");
    s.restart();
    let r = get(&s, "/api/users/me", Some(&a.access));
    assert_error(&r, 401, "unauthorized");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_error(&r, 401, "invalid_refresh_token");
}

#[test]
fn sigterm_stops_the_server() {
    let mut s = Server::start();
    register(&s, "stopper");
    let status = s.terminate();
    assert!(!s.is_running());
    // A graceful stop should report success.
    assert!(
        status.success(),
        "confab should exit 0 on SIGTERM, got {status}"
    );
    s.restart();
    login(&s, "stopper", PASSWORD);
}

#[test]
fn registration_survives_kill_9_right_after_201() {
    let mut s = Server::start();
    let r = post(
        &s,
        "/api/auth/register",
        None,
        Some(json!({"username": "crashy", "password": PASSWORD, "display_name": "Crashy"})),
    );
    assert_eq!(r.status, 201, "{r}");
    s.kill9();
    s.restart();
    let (id, access, _, _) = login(&s, "crashy", PASSWORD);
    assert_eq!(id, r.str("/user/id"));
    // The session created by register survived too.
    let old = get(&s, "/api/users/me", Some(&r.str("/tokens/access_token")));
    assert_eq!(old.status, 200, "{old}");
    assert_eq!(get(&s, "/api/users/me", Some(&access)).status, 200);
}

#[test]
fn profile_contact_and_block_writes_survive_kill_9() {
    let mut s = Server::start();
    let a = register_account(&s, "writer");
    let b = register_account(&s, "other");
    let r = patch(
        &s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "durable"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let r = post(
        &s,
        "/api/users/me/contacts",
        Some(&a.access),
        Some(json!({"user_id": b.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");
    let r = post(
        &s,
        "/api/users/me/blocked",
        Some(&a.access),
        Some(json!({"user_id": b.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");
    s.kill9();
    s.restart();
    let r = get(&s, "/api/users/me", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["about"], "durable", "{r}");
    let r = get(&s, "/api/users/me/contacts", Some(&a.access));
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1), "{r}");
    let r = get(&s, "/api/users/me/blocked", Some(&a.access));
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1), "{r}");
}

#[test]
fn refresh_rotation_survives_kill_9() {
    let mut s = Server::start();
    let a = register_account(&s, "rotator");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_eq!(r.status, 200, "{r}");
    let newest = r.str("/refresh_token");
    s.kill9();
    s.restart();
    // The spent token is still recognised as spent (reuse), not accepted.
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_error(&r, 401, "refresh_token_reused");
    // ...which revoked the session, so the newest one is dead too.
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": newest})),
    );
    assert_eq!(r.status, 401, "{r}");
}

#[cfg(unix)]
#[test]
fn jwt_key_is_0600_and_stable_across_restarts() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = Server::start();
    let key_path = s.data_dir().join("jwt.key");
    let meta = std::fs::metadata(&key_path)
        .unwrap_or_else(|e| panic!("{} should exist: {e}", key_path.display()));
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "jwt.key mode is {:o}",
        meta.permissions().mode() & 0o777
    );
    let key_before = std::fs::read(&key_path).unwrap();
    assert!(!key_before.is_empty(), "jwt.key is empty");
    let a = register_account(&s, "tokenholder");

    s.restart();
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        key_before,
        "jwt.key changed on restart"
    );
    assert_eq!(
        std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let r = get(&s, "/api/users/me", Some(&a.access));
    assert_eq!(
        r.status, 200,
        "old access token valid after graceful restart: {r}"
    );

    s.kill9();
    s.restart();
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        key_before,
        "jwt.key changed after crash"
    );
    let r = get(&s, "/api/users/me", Some(&a.access));
    assert_eq!(
        r.status, 200,
        "old access token valid after crash restart: {r}"
    );
}

#[test]
fn separate_data_dirs_have_separate_secrets() {
    // A token from one server (data dir) is not accepted by another.
    let s1 = Server::start();
    let s2 = Server::start();
    let a = register_account(&s1, "roamer");
    let r = get(&s2, "/api/users/me", Some(&a.access));
    assert_error(&r, 401, "unauthorized");
}
