//! The REST contract, exactly (issue 13): the spec declares what the server answers and the
//! server answers what the spec declares; HTTP details (HEAD, Allow); the docs page calls no
//! third party; a request that is not HTTP is the client's mistake, not an ERROR.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use confab_tests::*;

/// One raw HTTP/1.1 exchange (the connection closes after it): the whole answer as text.
fn raw_http(server: &Server, request: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn exchange(server: &Server, method: &str, path: &str) -> String {
    raw_http(
        server,
        &format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

fn status_and_header(answer: &str, name: &str) -> (String, Option<String>) {
    let (head, _) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    let value = head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    });
    (status, value)
}

fn spec(server: &Server) -> Value {
    get(server, "/api/openapi.json", None)
        .expect(200)
        .json
        .clone()
}

#[test]
fn head_answers_like_get_without_a_body() {
    let s = Server::start();
    for path in ["/healthz", "/metrics", "/api/docs/", "/api/openapi.json"] {
        let got = exchange(&s, "GET", path);
        let head = exchange(&s, "HEAD", path);
        let (get_status, get_type) = status_and_header(&got, "content-type");
        let (head_status, head_type) = status_and_header(&head, "content-type");
        assert!(get_status.contains(" 200"), "GET {path}: {get_status}");
        assert_eq!(head_status, get_status, "HEAD {path}");
        assert_eq!(head_type, get_type, "HEAD {path}: content-type");
        let (_, length) = status_and_header(&head, "content-length");
        assert!(length.is_some(), "HEAD {path} has a Content-Length");
        let body = head.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        assert!(body.is_empty(), "HEAD {path} sent a body: {body:?}");
    }
}

#[test]
fn method_not_allowed_names_the_allowed_methods() {
    let s = Server::start();
    for (method, path, allow) in [
        ("PUT", "/healthz", "GET, HEAD"),
        ("POST", "/metrics", "GET, HEAD"),
        ("TRACE", "/api/users/me", "GET, HEAD, PATCH"),
        ("GET", "/api/auth/register", "POST"),
        (
            "POST",
            "/api/chats/00000000-0000-0000-0000-000000000001",
            "GET, HEAD, PATCH",
        ),
    ] {
        let answer = exchange(&s, method, path);
        let (status, value) = status_and_header(&answer, "allow");
        assert!(status.contains(" 405"), "{method} {path}: {status}");
        assert_eq!(value.as_deref(), Some(allow), "{method} {path}");
    }
}

#[test]
fn the_docs_page_calls_no_third_party() {
    let s = Server::start();
    let init = get(&s, "/api/docs/swagger-initializer.js", None);
    assert_eq!(init.status, 200, "{init}");
    assert!(!init.text.contains("validator.swagger.io"), "{}", init.text);
    assert!(
        init.text.contains("\"validatorUrl\": \"none\""),
        "the validator badge must be off: {}",
        init.text
    );
    let page = get(&s, "/api/docs/", None);
    assert!(!page.text.contains("validator.swagger.io"));
}

#[test]
fn limit_is_1_to_100_in_the_spec_and_the_server() {
    let s = Server::start();
    let me = register_account(&s, &format!("lim{}", unique()));
    let doc = spec(&s);
    let params = doc["paths"]["/api/users/me/contacts"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 100, "{limit}");
    for path in [
        "/api/users/me/contacts",
        "/api/users/me/blocked",
        "/api/calls",
    ] {
        for bad in [0, 101] {
            let r = get(&s, &format!("{path}?limit={bad}"), Some(&me.access));
            assert_error(&r, 400, "invalid_query");
        }
        get(&s, &format!("{path}?limit=100"), Some(&me.access)).expect(200);
    }
}

#[test]
fn json_body_operations_declare_and_answer_415() {
    let s = Server::start();
    let me = register_account(&s, &format!("ct{}", unique()));
    let doc = spec(&s);
    let ops = [
        ("patch", "/api/users/me/privacy"),
        ("post", "/api/users/me/contacts"),
        ("post", "/api/messages"),
        ("post", "/api/auth/login"),
    ];
    for (method, path) in ops {
        let responses = &doc["paths"][path][method]["responses"];
        for status in ["400", "413", "415"] {
            assert!(
                responses[status].is_object(),
                "{method} {path}: no {status}"
            );
        }
        let r = raw(
            &s,
            &method.to_ascii_uppercase(),
            path,
            Some(&me.access),
            Some("text/plain"),
            Some(b"{}"),
        );
        assert_error(&r, 415, "unsupported_media_type");
    }
}

#[test]
fn every_operation_lists_the_answers_its_shape_gets() {
    let s = Server::start();
    let doc = spec(&s);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            let has = |st: &str| responses[st].is_object();
            let params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            let json_body = op["requestBody"]["content"]["application/json"].is_object();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if path.contains('{') || params || json_body {
                assert!(has("400"), "{method} {path}: no 400");
            }
            if secured {
                assert!(has("401"), "{method} {path}: no 401");
            }
            if json_body {
                assert!(has("415") && has("413"), "{method} {path}: no 413/415");
            }
            for (status, r) in responses.as_object().unwrap() {
                let described = r["$ref"].is_string()
                    || r["description"].as_str().is_some_and(|d| !d.is_empty());
                assert!(described, "{method} {path} {status}: no description");
            }
        }
    }
    let statuses = &doc["paths"]["/api/statuses"]["post"]["responses"];
    assert!(
        statuses["404"].is_object(),
        "POST /api/statuses answers 404 for an unknown upload"
    );
    // Non-members get 404, as for a chat that does not exist: no 403 not_a_member.
    assert!(!doc.to_string().contains("not_a_member"));
}

#[test]
fn a_privacy_field_is_a_value_or_absent_never_null() {
    let s = Server::start();
    let me = register_account(&s, &format!("pv{}", unique()));
    let doc = spec(&s);
    let photo =
        &doc["components"]["schemas"]["UpdatePrivacyRequest"]["properties"]["profile_photo"];
    assert!(
        !photo.to_string().contains("null"),
        "declared nullable: {photo}"
    );
    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&me.access),
        Some(json!({"profile_photo": null})),
    );
    assert_error(&r, 400, "malformed_json");
    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&me.access),
        Some(json!({"profile_photo": "nobody"})),
    );
    assert_eq!(r.expect(200).json["profile_photo"], "nobody");
    // An empty PATCH changes nothing and answers the settings; an empty profile PATCH is refused.
    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&me.access),
        Some(json!({})),
    );
    assert_eq!(r.expect(200).json["profile_photo"], "nobody");
    let r = patch(&s, "/api/users/me", Some(&me.access), Some(json!({})));
    assert_error(&r, 400, "validation_failed");
    let profile = &doc["components"]["schemas"]["UpdateProfileRequest"];
    assert_eq!(profile["minProperties"], 1, "{profile}");
}

#[test]
fn whole_numbers_with_a_fraction_are_integers() {
    let s = Server::start();
    let me = register_account(&s, &format!("wn{}", unique()));
    let other = register_account(&s, &format!("wo{}", unique()));
    let chat = post(
        &s,
        "/api/chats/direct",
        Some(&me.access),
        Some(json!({"user_id": other.user_id})),
    );
    let chat_id = chat.expect(201).str("/chat_id");
    let read = format!("/api/chats/{chat_id}/read");
    for seq in [json!(0.0), json!(0), json!(0e3)] {
        let r = post(&s, &read, Some(&me.access), Some(json!({"seq": seq})));
        assert_eq!(r.status, 204, "seq {seq}: {r}");
    }
    let r = post(&s, &read, Some(&me.access), Some(json!({"seq": 0.5})));
    assert_error(&r, 400, "malformed_json");
}

#[test]
fn login_names_exactly_one_account_in_the_spec() {
    let s = Server::start();
    let doc = spec(&s);
    let login = &doc["components"]["schemas"]["LoginRequest"];
    assert_eq!(login["oneOf"].as_array().map(Vec::len), Some(2), "{login}");
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"password": PASSWORD})),
    );
    assert_error(&r, 400, "validation_failed");
}

#[test]
fn a_request_that_is_not_http_is_answered_400_and_logged_below_error() {
    let s = Server::start();
    let answer = raw_http(
        &s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nBad\u{1}Header: y\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    get(&s, "/healthz", None).expect(200);
    let metrics = get(&s, "/metrics", None).expect(200).text.clone();
    assert_eq!(
        metric_sum(&metrics, "confab_http_bad_requests_total"),
        Some(1.0),
        "{metrics}"
    );
    let log = s.stderr();
    assert!(
        !log.contains("ERROR"),
        "an ERROR for a client's mistake:\n{log}"
    );
}
