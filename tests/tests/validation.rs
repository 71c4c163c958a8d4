//! Input validation: every class of bad request gets the documented status and error code, and
//! none of them hurts the server.
//!
//! Each `check_*` function exercises one class against a running server; each has its own test,
//! and `server_survives_every_bad_request_class` runs them all against one server.

use confab_tests::*;

fn uname() -> String {
    format!("val_{}", unique())
}

fn fresh_user(s: &Server) -> Account {
    register_account(s, &uname())
}

/// POST a raw body with `Content-Type: application/json`.
fn post_raw_json(s: &Server, path: &str, token: Option<&str>, body: &str) -> Resp {
    raw(
        s,
        "POST",
        path,
        token,
        Some("application/json"),
        Some(body.as_bytes()),
    )
}

#[track_caller]
fn assert_validation(resp: &Resp, field: &str) {
    assert_error(resp, 400, "validation_failed");
    let msg = error_message(resp);
    assert!(
        msg.contains(field),
        "validation message should name the field {field:?}: {resp}"
    );
}

fn register_json(username: &str, password: &str, display_name: &str) -> Value {
    json!({"username": username, "password": password, "display_name": display_name})
}

// ---------------------------------------------------------------------------------------------

fn check_malformed_json(s: &Server) {
    for body in [
        r#"{"username": "abc","#,
        "not json at all",
        "{'username': 'x'}",
        "",
        "[1,2",
    ] {
        let r = post_raw_json(s, "/api/auth/register", None, body);
        assert_error(&r, 400, "malformed_json");
        let r = post_raw_json(s, "/api/auth/login", None, body);
        assert_error(&r, 400, "malformed_json");
    }
    let a = fresh_user(s);
    let r = raw(
        s,
        "PATCH",
        "/api/users/me",
        Some(&a.access),
        Some("application/json"),
        Some(b"{\"about\": "),
    );
    assert_error(&r, 400, "malformed_json");
}

fn check_missing_field(s: &Server) {
    let r = post(
        s,
        "/api/auth/register",
        None,
        Some(json!({"username": uname(), "display_name": "No Password"})),
    );
    assert_error(&r, 400, "malformed_json");
    let r = post(
        s,
        "/api/auth/register",
        None,
        Some(json!({"password": PASSWORD, "display_name": "No Username"})),
    );
    assert_error(&r, 400, "malformed_json");
    let r = post(s, "/api/auth/refresh", None, Some(json!({})));
    assert_error(&r, 400, "malformed_json");
    let a = fresh_user(s);
    let r = post(
        s,
        "/api/users/me/contacts",
        Some(&a.access),
        Some(json!({"name": "x"})),
    );
    assert_error(&r, 400, "malformed_json");
}

fn check_unknown_field(s: &Server) {
    let mut body = register_json(&uname(), PASSWORD, "Sneaky");
    body["is_admin"] = json!(true);
    let r = post(s, "/api/auth/register", None, Some(body));
    assert_error(&r, 400, "malformed_json");

    let a = fresh_user(s);
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"display_name": "Ok", "role": "admin"})),
    );
    assert_error(&r, 400, "malformed_json");
    let r = patch(
        s,
        "/api/users/me/privacy",
        Some(&a.access),
        Some(json!({"about": "nobody", "shoe_size": "everyone"})),
    );
    assert_error(&r, 400, "malformed_json");
    let r = post(
        s,
        "/api/auth/refresh",
        None,
        Some(json!({"refresh_token": a.refresh, "extra": 1})),
    );
    assert_error(&r, 400, "malformed_json");
}

fn check_wrong_type(s: &Server) {
    for body in [
        json!({"username": 123, "password": PASSWORD, "display_name": "N"}),
        json!({"username": uname(), "password": null, "display_name": "N"}),
        json!({"username": uname(), "password": PASSWORD, "display_name": ["N"]}),
        json!("a string"),
        json!(42),
        json!(null),
    ] {
        let r = post(s, "/api/auth/register", None, Some(body));
        assert_error(&r, 400, "malformed_json");
    }
    let a = fresh_user(s);
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": 5})),
    );
    assert_error(&r, 400, "malformed_json");
    let r = post(
        s,
        "/api/users/me/contacts",
        Some(&a.access),
        Some(json!({"user_id": 42})),
    );
    assert_error(&r, 400, "malformed_json");
}

/// A JSON array is not the object shape the API expects, even if its elements line up with the
/// fields in order.
fn check_array_body(s: &Server) {
    for body in [
        json!(["not", "an", "object"]),
        json!([uname(), PASSWORD, "Array Person"]),
    ] {
        let r = post(s, "/api/auth/register", None, Some(body));
        assert_error(&r, 400, "malformed_json");
    }
    let r = post(
        s,
        "/api/auth/login",
        None,
        Some(json!(["someone", PASSWORD])),
    );
    assert_error(&r, 400, "malformed_json");
}

fn check_bad_username(s: &Server) {
    for bad in [
        "ab".to_string(),
        "a".repeat(33),
        "bad name".to_string(),
        "bad!".to_string(),
        "bad-dash".to_string(),
        "ünïcode".to_string(),
        "".to_string(),
    ] {
        let r = post(
            s,
            "/api/auth/register",
            None,
            Some(register_json(&bad, PASSWORD, "Bad")),
        );
        assert_validation(&r, "username");
    }
    // The bounds themselves are fine.
    let long = format!("{:x<32}", format!("u{}_", unique()));
    assert_eq!(long.len(), 32);
    register_body(s, register_json(&long, PASSWORD, "Long"));
    register_body(
        s,
        register_json(&format!("a.{}", unique() % 10), PASSWORD, "Abc"),
    );
}

fn check_bad_password(s: &Server) {
    for bad in ["", "short", "1234567"] {
        let r = post(
            s,
            "/api/auth/register",
            None,
            Some(register_json(&uname(), bad, "Pw")),
        );
        assert_validation(&r, "password");
    }
    let r = post(
        s,
        "/api/auth/register",
        None,
        Some(register_json(&uname(), &"p".repeat(129), "Pw")),
    );
    assert_validation(&r, "password");
    register_body(s, register_json(&uname(), "12345678", "Eight"));
    register_body(s, register_json(&uname(), &"p".repeat(128), "Long"));
}

fn check_bad_phone(s: &Server) {
    for bad in [
        "5551234567",
        "+0123456789",
        "+1",
        "+1234567890123456",
        "+1 555 123",
        "+1555abc",
        "",
        "++15551234",
    ] {
        let mut body = register_json(&uname(), PASSWORD, "Phone");
        body["phone"] = json!(bad);
        let r = post(s, "/api/auth/register", None, Some(body));
        assert_validation(&r, "phone");
    }
    for good in ["+12", "+123456789012345"] {
        let mut body = register_json(&uname(), PASSWORD, "Phone");
        body["phone"] = json!(good);
        register_body(s, body);
    }
}

fn check_bad_display_name(s: &Server) {
    for bad in [
        "".to_string(),
        "   ".to_string(),
        "x".repeat(65),
        "bell\u{7}".to_string(),
    ] {
        let r = post(
            s,
            "/api/auth/register",
            None,
            Some(register_json(&uname(), PASSWORD, &bad)),
        );
        assert_validation(&r, "display_name");
    }
    let a = fresh_user(s);
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"display_name": "  "})),
    );
    assert_validation(&r, "display_name");
    // 64 characters (not bytes) is fine.
    let ok = "é".repeat(64);
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"display_name": ok})),
    );
    assert_eq!(r.status, 200, "64-character display name is valid: {r}");
}

fn check_bad_about(s: &Server) {
    let a = fresh_user(s);
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "x".repeat(141)})),
    );
    assert_validation(&r, "about");
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "tab\u{1}here"})),
    );
    assert_validation(&r, "about");
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "x".repeat(140)})),
    );
    assert_eq!(r.status, 200, "140-character about is valid: {r}");
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": ""})),
    );
    assert_eq!(r.status, 200, "empty about is valid: {r}");
}

fn check_bad_photo(s: &Server) {
    let a = fresh_user(s);
    for bad in [
        "".to_string(),
        "bad/photo".to_string(),
        "x".repeat(129),
        "has space".to_string(),
    ] {
        let r = patch(
            s,
            "/api/users/me",
            Some(&a.access),
            Some(json!({"photo": bad})),
        );
        assert_validation(&r, "photo");
    }
}

fn check_bad_device_name(s: &Server) {
    for bad in ["".to_string(), "x".repeat(65)] {
        let mut body = register_json(&uname(), PASSWORD, "Dev");
        body["device_name"] = json!(bad);
        let r = post(s, "/api/auth/register", None, Some(body));
        assert_validation(&r, "device_name");
    }
}

fn check_oversized_body(s: &Server) {
    let padding = "x".repeat(70 * 1024);
    let body = json!({"username": uname(), "password": PASSWORD, "display_name": padding});
    let r = post(s, "/api/auth/register", None, Some(body));
    assert_error(&r, 413, "payload_too_large");
    let a = fresh_user(s);
    let r = patch(
        s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "x".repeat(100 * 1024)})),
    );
    assert_error(&r, 413, "payload_too_large");
}

fn check_wrong_content_type(s: &Server) {
    let body = serde_json::to_vec(&register_json(&uname(), PASSWORD, "Ct")).unwrap();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = raw(s, "POST", "/api/auth/register", None, Some(ct), Some(&body));
        assert_error(&r, 415, "unsupported_media_type");
    }
}

fn check_unknown_route(s: &Server) {
    let a = fresh_user(s);
    for (method, path) in [
        ("GET", "/api/nope"),
        ("GET", "/nope"),
        ("POST", "/api/auth/nope"),
        ("GET", "/api/users/me/nope"),
    ] {
        let r = raw(s, method, path, Some(&a.access), None, None);
        assert_error(&r, 404, "not_found");
    }
    let r = get(s, "/api/v2/users/me", None);
    assert_error(&r, 404, "not_found");
}

fn check_wrong_method(s: &Server) {
    let a = fresh_user(s);
    let mut wrong = Vec::new();
    for (method, path) in [
        ("GET", "/api/auth/register"),
        ("PUT", "/api/auth/register"),
        ("GET", "/api/auth/login"),
        ("DELETE", "/api/users/me"),
        ("PUT", "/api/users/me/privacy"),
        ("POST", "/api/users/search"),
        ("PUT", "/api/auth/sessions"),
        ("POST", "/healthz"),
        ("POST", "/readyz"),
        ("POST", "/metrics"),
        ("POST", "/api/openapi.json"),
    ] {
        let r = raw(s, method, path, Some(&a.access), None, None);
        if r.status != 405 || r.error_code() != Some("method_not_allowed") {
            wrong.push(format!("{r}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 405 method_not_allowed for an existing route with the wrong method, got:\n{}",
        wrong.join("\n")
    );
}

fn check_bad_uuid_in_path(s: &Server) {
    let a = fresh_user(s);
    for (method, path) in [
        ("GET", "/api/users/not-a-uuid"),
        ("GET", "/api/users/12345"),
        ("DELETE", "/api/users/me/contacts/123"),
        ("DELETE", "/api/users/me/blocked/zzz"),
        ("DELETE", "/api/auth/sessions/nope"),
    ] {
        let r = raw(s, method, path, Some(&a.access), None, None);
        assert_error(&r, 400, "invalid_path");
    }
    let r = patch(
        s,
        "/api/users/me/contacts/xyz",
        Some(&a.access),
        Some(json!({"name": "x"})),
    );
    assert_error(&r, 400, "invalid_path");
}

fn check_bad_cursor(s: &Server) {
    let a = fresh_user(s);
    for list in ["/api/users/me/contacts", "/api/users/me/blocked"] {
        for c in ["garbage", "AAAAAAAAAAAA", "eyJ4IjoxfQ", "not%20a%20cursor"] {
            let r = get(s, &format!("{list}?cursor={c}"), Some(&a.access));
            assert_error(&r, 400, "invalid_cursor");
        }
    }
}

fn check_bad_limit(s: &Server) {
    let a = fresh_user(s);
    for list in ["/api/users/me/contacts", "/api/users/me/blocked"] {
        for l in ["0", "101", "1000", "-1", "abc", "1.5"] {
            let r = get(s, &format!("{list}?limit={l}"), Some(&a.access));
            assert_error_any(&r, 400, &["invalid_query", "validation_failed"]);
        }
        for l in ["1", "100"] {
            let r = get(s, &format!("{list}?limit={l}"), Some(&a.access));
            assert_eq!(r.status, 200, "limit={l} is within 1..=100: {r}");
        }
    }
}

fn check_empty_patch_me(s: &Server) {
    let a = fresh_user(s);
    let r = patch(s, "/api/users/me", Some(&a.access), Some(json!({})));
    assert_error(&r, 400, "validation_failed");
}

// ---------------------------------------------------------------------------------------------

macro_rules! class_test {
    ($name:ident, $check:ident) => {
        #[test]
        fn $name() {
            let mut s = Server::start();
            $check(&s);
            s.assert_alive();
        }
    };
}

class_test!(malformed_json_is_400_malformed_json, check_malformed_json);
class_test!(missing_field_is_400_malformed_json, check_missing_field);
class_test!(unknown_field_is_400_malformed_json, check_unknown_field);
class_test!(wrong_type_is_400_malformed_json, check_wrong_type);
class_test!(json_array_body_is_400_malformed_json, check_array_body);
class_test!(
    bad_username_is_400_validation_failed_naming_username,
    check_bad_username
);
class_test!(
    bad_password_is_400_validation_failed_naming_password,
    check_bad_password
);
class_test!(
    bad_phone_is_400_validation_failed_naming_phone,
    check_bad_phone
);
class_test!(
    bad_display_name_is_400_validation_failed_naming_display_name,
    check_bad_display_name
);
class_test!(
    too_long_about_is_400_validation_failed_naming_about,
    check_bad_about
);
class_test!(
    bad_photo_is_400_validation_failed_naming_photo,
    check_bad_photo
);
class_test!(
    bad_device_name_is_400_validation_failed_naming_device_name,
    check_bad_device_name
);
class_test!(
    oversized_body_is_413_payload_too_large,
    check_oversized_body
);
class_test!(
    wrong_content_type_is_415_unsupported_media_type,
    check_wrong_content_type
);
class_test!(unknown_route_is_404_not_found, check_unknown_route);
class_test!(wrong_method_is_405_method_not_allowed, check_wrong_method);
class_test!(bad_uuid_in_path_is_400_invalid_path, check_bad_uuid_in_path);
class_test!(bad_cursor_is_400_invalid_cursor, check_bad_cursor);
class_test!(bad_limit_is_400, check_bad_limit);
class_test!(
    empty_patch_me_is_400_validation_failed,
    check_empty_patch_me
);

#[test]
fn oversized_chunked_body_is_413_payload_too_large() {
    // No Content-Length: the limit must hold while reading, too.
    let mut s = Server::start();
    let body =
        json!({"username": uname(), "password": PASSWORD, "display_name": "x".repeat(200 * 1024)});
    let r = post_chunked(
        &s,
        "/api/auth/register",
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    );
    assert_error(&r, 413, "payload_too_large");
    s.assert_alive();
}

#[test]
fn small_chunked_body_is_accepted() {
    let s = Server::start();
    let body = register_json("chunky", PASSWORD, "Chunky");
    let r = post_chunked(
        &s,
        "/api/auth/register",
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(r.status, 201, "{r}");
}

#[test]
fn login_without_username_or_phone_is_400() {
    let mut s = Server::start();
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"password": PASSWORD})),
    );
    assert_error_any(&r, 400, &["malformed_json", "validation_failed"]);
    s.assert_alive();
}

#[test]
fn json_body_without_content_type_is_415() {
    let mut s = Server::start();
    let body = serde_json::to_vec(&register_json(&uname(), PASSWORD, "NoCt")).unwrap();
    let r = raw(&s, "POST", "/api/auth/register", None, None, Some(&body));
    assert_error(&r, 415, "unsupported_media_type");
    s.assert_alive();
}

#[test]
fn json_content_type_with_charset_is_accepted() {
    let s = Server::start();
    let body = serde_json::to_vec(&register_json("charset_user", PASSWORD, "Charset")).unwrap();
    let r = raw(
        &s,
        "POST",
        "/api/auth/register",
        None,
        Some("application/json; charset=utf-8"),
        Some(&body),
    );
    assert_eq!(r.status, 201, "{r}");
}

#[test]
fn body_just_under_the_limit_is_not_413() {
    // A body below 64 KiB is read and judged on its content (here: too-long about → 400).
    let s = Server::start();
    let a = register_account(&s, "under_limit");
    let r = patch(
        &s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "x".repeat(60 * 1024)})),
    );
    assert_validation(&r, "about");
}

#[test]
fn body_limit_follows_configuration() {
    let s = Server::start_with(&[("CONFAB_HTTP_MAX_BODY_BYTES", "1024")]);
    let body =
        json!({"username": "limit_user", "password": PASSWORD, "display_name": "x".repeat(2000)});
    let r = post(&s, "/api/auth/register", None, Some(body));
    assert_error(&r, 413, "payload_too_large");
    register(&s, "small_user");
}

#[test]
fn server_survives_every_bad_request_class() {
    let mut s = Server::start_with(&[("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "1000")]);
    type Check = (&'static str, fn(&Server));
    let checks: &[Check] = &[
        ("malformed_json", check_malformed_json),
        ("missing_field", check_missing_field),
        ("unknown_field", check_unknown_field),
        ("wrong_type", check_wrong_type),
        ("array_body", check_array_body),
        ("bad_username", check_bad_username),
        ("bad_password", check_bad_password),
        ("bad_phone", check_bad_phone),
        ("bad_display_name", check_bad_display_name),
        ("bad_about", check_bad_about),
        ("bad_photo", check_bad_photo),
        ("bad_device_name", check_bad_device_name),
        ("oversized_body", check_oversized_body),
        ("wrong_content_type", check_wrong_content_type),
        ("unknown_route", check_unknown_route),
        ("wrong_method", check_wrong_method),
        ("bad_uuid_in_path", check_bad_uuid_in_path),
        ("bad_cursor", check_bad_cursor),
        ("bad_limit", check_bad_limit),
        ("empty_patch_me", check_empty_patch_me),
    ];
    let mut failures = Vec::new();
    for (name, check) in checks {
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&s)));
        if res.is_err() {
            failures.push(*name);
        }
    }
    s.assert_alive();
    let r = get(&s, "/readyz", None);
    assert_eq!(r.status, 200, "{r}");
    assert!(
        failures.is_empty(),
        "classes that failed (see panics above): {failures:?}"
    );
}
