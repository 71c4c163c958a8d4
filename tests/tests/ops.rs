//! Operations endpoints: health, readiness, Prometheus metrics, OpenAPI, Swagger UI.

use confab_tests::*;

#[test]
fn healthz_is_200_ok() {
    let s = Server::start();
    let r = get(&s, "/healthz", None);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json, json!({"status": "ok"}), "{r}");
}

#[test]
fn readyz_reports_embedded_store() {
    let s = Server::start();
    let r = get(&s, "/readyz", None);
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["status"], "ready", "{r}");
    assert_eq!(r.json["store"], "embedded", "{r}");
}

fn metrics(s: &Server) -> Resp {
    let r = get(s, "/metrics", None);
    assert_eq!(r.status, 200, "{r}");
    r
}

#[test]
fn metrics_is_prometheus_text() {
    let s = Server::start();
    let r = metrics(&s);
    let ct = r.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("text/plain"),
        "Prometheus text content type, got {ct:?}"
    );
    assert!(r.text.contains("# TYPE "), "{r}");
    assert!(
        r.text.contains("confab_build_info"),
        "confab_build_info missing: {r}"
    );
}

#[test]
fn metrics_count_requests_by_route_and_status() {
    let s = Server::start();
    let _ = get(&s, "/api/users/me", None); // 401
    let _ = get(&s, "/healthz", None);
    let r = metrics(&s);
    let lines: Vec<&str> = r
        .text
        .lines()
        .filter(|l| l.starts_with("confab_http_requests_total{"))
        .collect();
    assert!(
        !lines.is_empty(),
        "no confab_http_requests_total samples: {r}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("route=\"") && l.contains("status=\"")),
        "confab_http_requests_total needs route and status labels: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/api/users/me") && l.contains("status=\"401\"")),
        "expected a sample for the 401 on /api/users/me: {lines:?}"
    );
    assert!(
        r.text.contains("# TYPE confab_http_requests_total counter"),
        "confab_http_requests_total should be a counter: {r}"
    );
}

#[test]
fn metrics_have_request_duration_histogram() {
    let s = Server::start();
    let _ = get(&s, "/healthz", None);
    let r = metrics(&s);
    assert!(
        r.text
            .contains("# TYPE confab_http_request_duration_seconds histogram"),
        "confab_http_request_duration_seconds should be a histogram: {r}"
    );
    assert!(
        r.text
            .contains("confab_http_request_duration_seconds_bucket{"),
        "{r}"
    );
    assert!(
        r.text
            .contains("confab_http_request_duration_seconds_count"),
        "{r}"
    );
    assert!(
        r.text.contains("confab_http_request_duration_seconds_sum"),
        "{r}"
    );
}

#[test]
fn metrics_count_auth_failures() {
    let s = Server::start();
    register(&s, "failer");
    let before = metric_sum(&metrics(&s).text, "confab_auth_failures_total").unwrap_or(0.0);
    let r = post(
        &s,
        "/api/auth/login",
        None,
        Some(json!({"username": "failer", "password": "wrong password"})),
    );
    assert_error(&r, 401, "invalid_credentials");
    let m = metrics(&s);
    let after = metric_sum(&m.text, "confab_auth_failures_total")
        .unwrap_or_else(|| panic!("confab_auth_failures_total missing after a failed login: {m}"));
    assert!(
        after > before,
        "confab_auth_failures_total {before} -> {after}"
    );
}

#[test]
fn build_info_is_a_gauge_with_value_1() {
    let s = Server::start();
    let m = metrics(&s);
    let v = metric_sum(&m.text, "confab_build_info")
        .unwrap_or_else(|| panic!("confab_build_info has no sample: {m}"));
    assert_eq!(v, 1.0, "{m}");
}

#[test]
fn openapi_document_lists_the_api() {
    let s = Server::start();
    let r = get(&s, "/api/openapi.json", None);
    assert_eq!(r.status, 200, "{r}");
    assert!(r.json.is_object(), "openapi.json is JSON: {r}");
    let version = r.json["openapi"]
        .as_str()
        .unwrap_or_else(|| panic!("no openapi field: {r}"));
    assert!(version.starts_with("3."), "OpenAPI 3.x, got {version}");
    let paths = r.json["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths: {r}"));
    for p in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/sessions",
        "/api/users/me",
        "/api/users/search",
        "/api/users/me/privacy",
        "/api/users/me/contacts",
        "/api/users/me/blocked",
    ] {
        assert!(
            paths.contains_key(p),
            "openapi paths lack {p}: {:?}",
            paths.keys()
        );
    }
}

fn resolve(base_dir: &str, src: &str, s: &Server) -> String {
    if src.starts_with("http://") || src.starts_with("https://") || src.starts_with("//") {
        src.to_string()
    } else if src.starts_with('/') {
        s.url(src)
    } else {
        format!("{}{}", s.url(base_dir), src.trim_start_matches("./"))
    }
}

/// Every `src="..."` / `href="..."` value in `html`.
fn asset_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=", "href="] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let q = rest.chars().next();
            if let Some(q @ ('"' | '\'')) = q {
                if let Some(end) = rest[1..].find(q) {
                    out.push(rest[1..1 + end].to_string());
                }
            }
        }
    }
    out
}

#[test]
fn swagger_ui_is_served_by_the_binary() {
    let s = Server::start();
    let r = get(&s, "/api/docs/", None);
    assert_eq!(r.status, 200, "{r}");
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/html"), "HTML content type, got {ct:?}");
    assert!(r.text.to_ascii_lowercase().contains("<html"), "{r}");

    let refs = asset_refs(&r.text);
    let bundle = refs
        .iter()
        .find(|x| x.contains("swagger-ui-bundle"))
        .cloned()
        .unwrap_or_else(|| "./swagger-ui-bundle.js".to_string());
    let url = resolve("/api/docs/", &bundle, &s);
    assert!(
        url.starts_with(&s.base()),
        "the Swagger UI bundle must come from the binary, not {url} (no internet needed)"
    );
    for asset in refs
        .iter()
        .filter(|x| x.ends_with(".js") || x.ends_with(".css"))
    {
        let u = resolve("/api/docs/", asset, &s);
        assert!(
            u.starts_with(&s.base()),
            "external asset {u} (no internet needed)"
        );
    }

    let js = try_request(&url, "GET", None, None, None).expect("GET swagger bundle");
    assert_eq!(js.status, 200, "{}", js.request);
    assert!(
        js.text.len() > 100_000,
        "the bundle looks too small: {} bytes",
        js.text.len()
    );
    assert!(
        js.text.contains("SwaggerUIBundle"),
        "not the swagger-ui bundle"
    );
}

#[test]
fn error_responses_are_json() {
    let s = Server::start();
    let r = get(&s, "/api/users/me", None);
    assert_error(&r, 401, "unauthorized");
    let ct = r.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "errors are JSON, content-type {ct:?}"
    );
}
