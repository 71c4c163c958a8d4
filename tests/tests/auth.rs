//! Auth lifecycle: register, login, access tokens, refresh rotation and reuse, logout, sessions.

use confab_tests::*;

fn me(s: &Server, token: &str) -> Resp {
    get(s, "/api/users/me", Some(token))
}

#[test]
fn register_returns_201_with_me_and_tokens() {
    let s = Server::start();
    let phone = unique_phone();
    let r = post(
        &s,
        "/api/auth/register",
        None,
        Some(
            json!({"username": "Alice.W_1", "password": PASSWORD, "display_name": "Alice W",
                    "phone": phone, "device_name": "test phone"}),
        ),
    );
    assert_eq!(r.status, 201, "{r}");

    let user = &r.json["user"];
    let id = user["id"]
        .as_str()
        .unwrap_or_else(|| panic!("user.id: {r}"));
    assert_eq!(id.len(), 36, "user.id should be a UUID: {r}");
    assert_eq!(&id[14..15], "7", "user.id should be a UUIDv7: {r}");
    assert_eq!(
        user["username"], "alice.w_1",
        "username stored lower-case: {r}"
    );
    assert_eq!(user["phone"], json!(phone), "{r}");
    assert_eq!(user["display_name"], "Alice W", "{r}");
    assert!(
        user["about"].is_string(),
        "Me.about should be a string: {r}"
    );
    assert_eq!(user["about"], "", "about defaults to empty: {r}");
    assert!(user["photo"].is_null(), "photo defaults to null: {r}");
    assert!(
        user.get("photo").is_some(),
        "Me.photo must be present (null): {r}"
    );
    let created = user["created_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("created_at: {r}"));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (created - now_ms).abs() < 120_000,
        "created_at should be Unix ms close to now ({now_ms}): {r}"
    );

    let t = &r.json["tokens"];
    assert!(
        t["access_token"].as_str().is_some_and(|s| !s.is_empty()),
        "{r}"
    );
    assert!(
        t["refresh_token"].as_str().is_some_and(|s| !s.is_empty()),
        "{r}"
    );
    assert!(
        t["session_id"].as_str().is_some_and(|s| s.len() == 36),
        "{r}"
    );
    assert_eq!(t["token_type"], "Bearer", "{r}");
    assert_eq!(
        t["expires_in"].as_i64(),
        Some(900),
        "default access TTL is 900 s: {r}"
    );

    // The access token is a JWT naming the user and the session.
    let claims = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], json!(id), "JWT sub: {claims}");
    assert_eq!(claims["sid"], t["session_id"], "JWT sid: {claims}");
}

#[test]
fn register_without_phone_has_null_phone() {
    let s = Server::start();
    let r = register_body(
        &s,
        json!({"username": "nophone", "password": PASSWORD, "display_name": "No Phone"}),
    );
    assert!(
        r.json["user"].get("phone").is_some_and(Value::is_null),
        "phone must be null: {r}"
    );
}

#[test]
fn access_token_works_on_users_me() {
    let s = Server::start();
    let a = register_account(&s, "carol");
    let r = me(&s, &a.access);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["id"], json!(a.user_id), "{r}");
    assert_eq!(r.json["username"], "carol", "{r}");
    assert_eq!(r.json["display_name"], "carol", "{r}");
    for k in [
        "id",
        "username",
        "phone",
        "display_name",
        "about",
        "photo",
        "created_at",
    ] {
        assert!(r.json.get(k).is_some(), "Me lacks {k}: {r}");
    }
}

#[test]
fn duplicate_username_is_rejected_case_insensitively() {
    let s = Server::start();
    register(&s, "bob");
    let r = post(
        &s,
        "/api/auth/register",
        None,
        Some(json!({"username": "BoB", "password": PASSWORD, "display_name": "Other Bob"})),
    );
    assert_error(&r, 409, "username_taken");
}

#[test]
fn duplicate_phone_is_rejected() {
    let s = Server::start();
    let phone = unique_phone();
    register_with_phone(&s, "first", &phone);
    let r = post(
        &s,
        "/api/auth/register",
        None,
        Some(
            json!({"username": "second", "password": PASSWORD, "display_name": "Second",
                    "phone": phone}),
        ),
    );
    assert_error(&r, 409, "phone_taken");
}

#[test]
fn login_by_username_returns_user_and_tokens() {
    let s = Server::start();
    let a = register_account(&s, "dave");
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"username": "dave", "password": PASSWORD, "device_name": "laptop"})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["user"]["id"], json!(a.user_id), "{r}");
    assert_eq!(r.json["user"]["username"], "dave", "{r}");
    assert_eq!(r.json["tokens"]["token_type"], "Bearer", "{r}");
    let sid = r.str("/tokens/session_id");
    assert_ne!(sid, a.session_id, "a login creates a new session: {r}");
    assert_eq!(me(&s, &r.str("/tokens/access_token")).status, 200);
}

#[test]
fn login_username_is_case_insensitive() {
    let s = Server::start();
    let a = register_account(&s, "erin");
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"username": "ERIN", "password": PASSWORD})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["user"]["id"], json!(a.user_id), "{r}");
}

#[test]
fn login_by_phone() {
    let s = Server::start();
    let phone = unique_phone();
    let a = register_with_phone(&s, "frank", &phone);
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"phone": phone, "password": PASSWORD})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["user"]["id"], json!(a.user_id), "{r}");
    assert_eq!(r.json["user"]["phone"], json!(phone), "{r}");
    assert_eq!(me(&s, &r.str("/tokens/access_token")).status, 200);
}

#[test]
fn wrong_password_and_unknown_user_are_indistinguishable_401() {
    let s = Server::start();
    let phone = unique_phone();
    register_with_phone(&s, "grace", &phone);
    let wrong_pw = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"username": "grace", "password": "not the password"})),
    );
    assert_error(&wrong_pw, 401, "invalid_credentials");
    let unknown = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"username": "nobody_here", "password": "not the password"})),
    );
    assert_error(&unknown, 401, "invalid_credentials");
    assert_eq!(
        error_message(&wrong_pw),
        error_message(&unknown),
        "wrong password and unknown user must be indistinguishable"
    );
    let wrong_phone_pw = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"phone": phone, "password": "not the password"})),
    );
    assert_error(&wrong_phone_pw, 401, "invalid_credentials");
    let unknown_phone = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"phone": "+19998887777", "password": "not the password"})),
    );
    assert_error(&unknown_phone, 401, "invalid_credentials");
}

#[test]
fn missing_token_is_401_unauthorized() {
    let s = Server::start();
    let r = get(&s, "/api/users/me", None);
    assert_error(&r, 401, "unauthorized");
    let r = get(&s, "/api/auth/sessions", None);
    assert_error(&r, 401, "unauthorized");
    let r = post(&s, "/api/auth/logout", None, None);
    assert_error(&r, 401, "unauthorized");
}

#[test]
fn non_bearer_authorization_is_401_unauthorized() {
    let s = Server::start();
    let a = register_account(&s, "henry");
    let url = s.url("/api/users/me");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for value in [
        format!("Basic {}", a.access),
        a.access.clone(),
        "Bearer".to_string(),
    ] {
        let res = agent
            .get(&url)
            .header("Authorization", value.as_str())
            .call()
            .expect("request");
        assert_eq!(
            res.status().as_u16(),
            401,
            "Authorization: {value:?} must be rejected"
        );
    }
}

#[test]
fn garbage_token_is_401_unauthorized() {
    let s = Server::start();
    for t in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "...."] {
        let r = me(&s, t);
        assert_error(&r, 401, "unauthorized");
    }
}

#[test]
fn token_with_flipped_signature_char_is_401_unauthorized() {
    let s = Server::start();
    let a = register_account(&s, "ivan");
    let (h, p, sig) = jwt_parts(&a.access);
    let bad = format!("{h}.{p}.{}", flip_char(&sig, sig.len() / 2));
    assert_ne!(bad, a.access);
    let r = me(&s, &bad);
    assert_error(&r, 401, "unauthorized");
    // The genuine token still works.
    assert_eq!(me(&s, &a.access).status, 200);
}

#[test]
fn token_with_flipped_payload_char_is_401_unauthorized() {
    let s = Server::start();
    let a = register_account(&s, "judy");
    let (h, p, sig) = jwt_parts(&a.access);
    let bad = format!("{h}.{}.{sig}", flip_char(&p, p.len() / 2));
    assert_ne!(bad, a.access);
    let r = me(&s, &bad);
    assert_error(&r, 401, "unauthorized");
}

#[test]
fn token_with_edited_claims_and_old_signature_is_401_unauthorized() {
    // A well-formed payload naming another user, kept with the original signature.
    let s = Server::start();
    let victim = register_account(&s, "victim");
    let attacker = register_account(&s, "mallory");
    let (h, _, sig) = jwt_parts(&attacker.access);
    let mut claims = jwt_claims(&attacker.access);
    claims["sub"] = json!(victim.user_id);
    let p = b64url_encode(serde_json::to_string(&claims).unwrap().as_bytes());
    let forged = format!("{h}.{p}.{sig}");
    let r = me(&s, &forged);
    assert_error(&r, 401, "unauthorized");

    // Extending the expiry is also a forgery.
    let mut claims = jwt_claims(&attacker.access);
    if let Some(exp) = claims["exp"].as_i64() {
        claims["exp"] = json!(exp + 3600);
        let p = b64url_encode(serde_json::to_string(&claims).unwrap().as_bytes());
        let r = me(&s, &format!("{h}.{p}.{sig}"));
        assert_error(&r, 401, "unauthorized");
    }
}

#[test]
fn unsigned_alg_none_token_is_401_unauthorized() {
    let s = Server::start();
    let a = register_account(&s, "kate");
    let (_, p, _) = jwt_parts(&a.access);
    let h = b64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
    for t in [format!("{h}.{p}."), format!("{h}.{p}")] {
        let r = me(&s, &t);
        assert_error(&r, 401, "unauthorized");
    }
}

#[test]
fn expired_access_token_is_401_token_expired() {
    let s = Server::start_with(&[("CONFAB_AUTH_ACCESS_TTL_SECS", "2")]);
    let r = register_body(
        &s,
        json!({"username": "leo", "password": PASSWORD, "display_name": "Leo"}),
    );
    assert_eq!(
        r.json["tokens"]["expires_in"].as_i64(),
        Some(2),
        "expires_in follows config: {r}"
    );
    let access = r.str("/tokens/access_token");
    let refresh = r.str("/tokens/refresh_token");
    assert_eq!(me(&s, &access).status, 200, "fresh token works");
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let r = me(&s, &access);
    assert_error(&r, 401, "token_expired");

    // Refreshing gives a working token again.
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(me(&s, &r.str("/access_token")).status, 200);
}

#[test]
fn refresh_returns_new_pair_and_new_access_works() {
    let s = Server::start();
    let a = register_account(&s, "mike");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["token_type"], "Bearer", "{r}");
    assert_eq!(r.json["expires_in"].as_i64(), Some(900), "{r}");
    assert_eq!(
        r.json["session_id"],
        json!(a.session_id),
        "refresh keeps the session: {r}"
    );
    let new_access = r.str("/access_token");
    let new_refresh = r.str("/refresh_token");
    assert_ne!(new_refresh, a.refresh, "the refresh token must rotate");
    let m = me(&s, &new_access);
    assert_eq!(m.status, 200, "{m}");
    assert_eq!(m.json["id"], json!(a.user_id), "{m}");

    // The new refresh token can itself be refreshed.
    let r2 = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": new_refresh})),
    );
    assert_eq!(r2.status, 200, "{r2}");
}

#[test]
fn unknown_refresh_token_is_401_invalid_refresh_token() {
    let s = Server::start();
    register(&s, "nina");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": "this-is-not-a-refresh-token"})),
    );
    assert_error(&r, 401, "invalid_refresh_token");
}

#[test]
fn reused_refresh_token_revokes_the_session() {
    let s = Server::start();
    let a = register_account(&s, "oscar");
    // An unrelated second session must survive.
    let other = login_account(&s, "oscar", PASSWORD);

    let r1 = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_eq!(r1.status, 200, "{r1}");
    let access1 = r1.str("/access_token");
    let refresh1 = r1.str("/refresh_token");
    assert_eq!(me(&s, &access1).status, 200);

    // Replay of the spent refresh token.
    let replay = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_error(&replay, 401, "refresh_token_reused");

    // The newest refresh token of that session is now dead.
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh1})),
    );
    assert_error_any(&r, 401, &["invalid_refresh_token", "refresh_token_reused"]);

    // And so are its access tokens (old and new).
    let r = me(&s, &access1);
    assert_error(&r, 401, "unauthorized");
    let r = me(&s, &a.access);
    assert_error(&r, 401, "unauthorized");

    // The other session is unaffected.
    let r = me(&s, &other.access);
    assert_eq!(r.status, 200, "other session must survive: {r}");
}

#[test]
fn logout_revokes_access_and_refresh_tokens() {
    let s = Server::start();
    let a = register_account(&s, "paul");
    let other = login_account(&s, "paul", PASSWORD);
    let r = post(&s, "/api/auth/logout", Some(&a.access), None);
    assert_eq!(r.status, 204, "{r}");
    assert!(r.text.is_empty(), "204 has no body: {r}");

    let r = me(&s, &a.access);
    assert_error(&r, 401, "unauthorized");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_error(&r, 401, "invalid_refresh_token");

    // Only the calling session is revoked.
    assert_eq!(me(&s, &other.access).status, 200);
}

#[test]
fn sessions_list_shows_live_sessions_with_one_current() {
    let s = Server::start();
    let a = register_account(&s, "quinn");
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"username": "quinn", "password": PASSWORD, "device_name": "laptop"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let b_access = r.str("/tokens/access_token");
    let b_sid = r.str("/tokens/session_id");

    let r = get(&s, "/api/auth/sessions", Some(&b_access));
    assert_eq!(r.status, 200, "{r}");
    let items = r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {r}"));
    assert_eq!(items.len(), 2, "two live sessions: {r}");
    let current: Vec<_> = items
        .iter()
        .filter(|i| i["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1, "exactly one current session: {r}");
    assert_eq!(
        current[0]["id"],
        json!(b_sid),
        "the current one is the caller's: {r}"
    );
    for i in items {
        for k in [
            "id",
            "device_name",
            "created_at",
            "last_refreshed_at",
            "current",
        ] {
            assert!(i.get(k).is_some(), "Session lacks {k}: {r}");
        }
        assert!(i["current"].is_boolean(), "{r}");
        assert!(i["created_at"].is_i64(), "{r}");
    }
    let ids: Vec<_> = items.iter().map(|i| i["id"].clone()).collect();
    assert!(ids.contains(&json!(a.session_id)), "{r}");
    let laptop = items.iter().find(|i| i["id"] == json!(b_sid)).unwrap();
    assert_eq!(laptop["device_name"], "laptop", "{r}");
    let first = items
        .iter()
        .find(|i| i["id"] == json!(a.session_id))
        .unwrap();
    assert_eq!(
        first["device_name"], "unknown device",
        "default device name: {r}"
    );

    // Seen from the other session, the other one is current.
    let r = get(&s, "/api/auth/sessions", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    let items = r.json["items"].as_array().unwrap();
    let current: Vec<_> = items
        .iter()
        .filter(|i| i["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1, "{r}");
    assert_eq!(current[0]["id"], json!(a.session_id), "{r}");
}

#[test]
fn register_device_name_shows_in_sessions_and_refresh_keeps_one_session() {
    let s = Server::start();
    let r = register_body(
        &s,
        json!({"username": "victor", "password": PASSWORD, "display_name": "Victor",
               "device_name": "Victor's phone"}),
    );
    let sid = r.str("/tokens/session_id");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": r.str("/tokens/refresh_token")})),
    );
    assert_eq!(r.status, 200, "{r}");
    let access = r.str("/access_token");
    let r = get(&s, "/api/auth/sessions", Some(&access));
    assert_eq!(r.status, 200, "{r}");
    let items = r.json["items"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(items.len(), 1, "refreshing does not create a session: {r}");
    assert_eq!(items[0]["id"], json!(sid), "{r}");
    assert_eq!(items[0]["device_name"], "Victor's phone", "{r}");
    assert_eq!(items[0]["current"], true, "{r}");
}

#[test]
fn revoking_another_session_kills_its_token_at_once() {
    let s = Server::start();
    let a = register_account(&s, "rita");
    let b = login_account(&s, "rita", PASSWORD);
    assert_eq!(me(&s, &a.access).status, 200);

    let r = delete(
        &s,
        &format!("/api/auth/sessions/{}", a.session_id),
        Some(&b.access),
    );
    assert_eq!(r.status, 204, "{r}");

    let r = me(&s, &a.access);
    assert_error(&r, 401, "unauthorized");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh})),
    );
    assert_error(&r, 401, "invalid_refresh_token");

    let r = get(&s, "/api/auth/sessions", Some(&b.access));
    assert_eq!(r.status, 200, "{r}");
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "revoked session is not listed: {r}");
    assert_eq!(items[0]["id"], json!(b.session_id), "{r}");

    // Revoking it again: no longer a live session.
    let r = delete(
        &s,
        &format!("/api/auth/sessions/{}", a.session_id),
        Some(&b.access),
    );
    assert_error(&r, 404, "not_found");
}

#[test]
fn revoking_my_current_session_works_like_logout() {
    let s = Server::start();
    let a = register_account(&s, "self_revoker");
    let r = delete(
        &s,
        &format!("/api/auth/sessions/{}", a.session_id),
        Some(&a.access),
    );
    assert_eq!(r.status, 204, "{r}");
    let r = me(&s, &a.access);
    assert_error(&r, 401, "unauthorized");
}

#[test]
fn access_token_is_not_a_refresh_token() {
    let s = Server::start();
    let a = register_account(&s, "confused");
    let r = post(
        &s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.access})),
    );
    assert_error(&r, 401, "invalid_refresh_token");
    // The session is not harmed by that.
    assert_eq!(me(&s, &a.access).status, 200);
}

#[test]
fn concurrent_registrations_of_one_username_create_one_user() {
    let s = Server::start();
    let url = s.url("/api/auth/register");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let body = serde_json::to_vec(&json!({"username": "racer", "password": PASSWORD,
                    "display_name": format!("Racer {i}")}))
                .unwrap();
                try_request(&url, "POST", None, Some("application/json"), Some(&body))
                    .expect("register request")
            })
        })
        .collect();
    let results: Vec<Resp> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "exactly one registration wins: {results:#?}");
    for r in results.iter().filter(|r| r.status != 201) {
        assert_error(r, 409, "username_taken");
    }
    login(&s, "racer", PASSWORD);
}

#[test]
fn revoking_unknown_session_is_404() {
    let s = Server::start();
    let a = register_account(&s, "sam");
    let r = delete(
        &s,
        &format!("/api/auth/sessions/{}", random_uuid()),
        Some(&a.access),
    );
    assert_error(&r, 404, "not_found");
    assert_eq!(me(&s, &a.access).status, 200);
}

#[test]
fn revoking_another_users_session_is_404_and_harmless() {
    let s = Server::start();
    let a = register_account(&s, "tina");
    let b = register_account(&s, "ursula");
    let r = delete(
        &s,
        &format!("/api/auth/sessions/{}", b.session_id),
        Some(&a.access),
    );
    assert_error(&r, 404, "not_found");
    let r = me(&s, &b.access);
    assert_eq!(r.status, 200, "the other user's session must survive: {r}");
}
