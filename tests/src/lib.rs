//! Black-box test harness for Confab.
//!
//! Starts the real `confab` binary (env `CONFAB_BIN`, else `<workspace>/target/debug/confab`) on a
//! free port with a fresh data directory, and talks to it over HTTP with a tiny synchronous client.
//! Every test starts its own server, so tests run in parallel without sharing state.

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use serde_json::{json, Value};

pub mod calls;
pub mod cluster;
pub mod media;
pub mod ws;

/// The default password used by [`register`].
pub const PASSWORD: &str = "correct horse battery";

/// How long to wait for `/healthz` after spawning the server.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the process to exit after SIGTERM.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Server harness
// ---------------------------------------------------------------------------------------------

/// A running `confab` child process with its own data directory and port.
pub struct Server {
    child: Option<Child>,
    port: u16,
    env: Vec<(String, String)>,
    tmp: tempfile::TempDir,
    data_dir: PathBuf,
    bin: PathBuf,
    starts: u32,
}

/// Path of the `confab` binary under test.
pub fn confab_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CONFAB_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "CONFAB_BIN={} does not exist; run `cargo build -p confab-gateway` or fix CONFAB_BIN",
            p.display()
        );
        return p;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = workspace.join("target").join("debug").join("confab");
    assert!(
        p.exists(),
        "the confab binary was not found at {}; run `cargo build -p confab-gateway` first \
         (or set CONFAB_BIN)",
        p.display()
    );
    p
}

pub(crate) fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

impl Server {
    /// Start a server with the default configuration (plus `CONFAB_LOG=warn`).
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Start a server with extra `CONFAB_*` environment variables (they override the defaults).
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let bin = confab_bin();
        let tmp = tempfile::Builder::new()
            .prefix("confab-test-")
            .tempdir()
            .expect("create temp dir");
        let data_dir = tmp.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("create data dir");
        let mut s = Server {
            child: None,
            port: free_port(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            tmp,
            data_dir,
            bin,
            starts: 0,
        };
        s.spawn_and_wait();
        s
    }

    fn log_path(&self, which: &str) -> PathBuf {
        self.tmp.path().join(format!("{which}.log"))
    }

    fn open_log(&self, which: &str) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(which))
            .expect("open log file")
    }

    fn spawn_and_wait(&mut self) {
        assert!(self.child.is_none(), "server already running");
        self.starts += 1;
        let mut cmd = Command::new(&self.bin);
        // Do not leak the developer's CONFAB_* settings into the test server.
        for (k, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
            if k.starts_with("CONFAB_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("CONFAB_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("CONFAB_DATA_DIR", &self.data_dir)
            .env("CONFAB_LOG", "warn");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut out = self.open_log("stdout");
        let mut err = self.open_log("stderr");
        use std::io::Write;
        let _ = writeln!(out, "==== start #{} ====", self.starts);
        let _ = writeln!(err, "==== start #{} ====", self.starts);
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("failed to spawn {}: {e}", self.bin.display()));
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().expect("try_wait") {
                self.child = None;
                panic!(
                    "confab exited before becoming ready ({status}).\n--- stderr ---\n{}\n--- stdout ---\n{}",
                    self.stderr(),
                    self.stdout()
                );
            }
            if let Ok(r) = try_request(&self.url("/healthz"), "GET", None, None, None) {
                if r.status == 200 {
                    return;
                }
            }
            if Instant::now() > deadline {
                let _ = self.child.as_mut().unwrap().kill();
                let _ = self.child.as_mut().unwrap().wait();
                self.child = None;
                panic!(
                    "confab did not answer GET /healthz 200 within {READY_TIMEOUT:?}.\n--- stderr ---\n{}\n--- stdout ---\n{}",
                    self.stderr(),
                    self.stdout()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Graceful restart: SIGTERM, wait for exit, start again on the same port and data dir.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.terminate();
        }
        self.spawn_and_wait();
    }

    /// Send SIGTERM and wait (up to 30 s) for the process to exit. Returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server is not running");
        let st = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run `kill -TERM`");
        assert!(st.success(), "`kill -TERM {}` failed: {st}", child.id());
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "confab did not exit within {SHUTDOWN_TIMEOUT:?} after SIGTERM.\n--- stderr ---\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Crash: SIGKILL the process and reap it. Call [`Server::restart`] to start it again.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the process (SIGSTOP) as a long GC pause or a stalled VM would: its sockets
    /// stay open and whatever it had in flight resumes on [`Server::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes a process frozen by [`Server::pause`] (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let Some(child) = &self.child else {
            panic!("signal {sig}: the server is not running")
        };
        let status = std::process::Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} failed");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr")).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.log_path("stdout")).unwrap_or_default()
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().map(|s| s.is_none()).unwrap_or(false),
            None => false,
        }
    }

    /// Assert the process is alive and `/healthz` answers 200.
    pub fn assert_alive(&mut self) {
        assert!(
            self.is_running(),
            "confab process died.\n--- stderr ---\n{}",
            tail(&self.stderr(), 4000)
        );
        let r = get(self, "/healthz", None);
        assert_eq!(r.status, 200, "GET /healthz after the test: {r}");
    }

    // Client shortcuts -------------------------------------------------------------------

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        get(self, path, token)
    }
    pub fn post(&self, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        post(self, path, token, body)
    }
    pub fn patch(&self, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        patch(self, path, token, body)
    }
    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        delete(self, path, token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- confab stderr (port {}, data dir {}) ---\n{}\n--- end of confab stderr ---",
                self.port,
                self.data_dir.display(),
                tail(&self.stderr(), 6000)
            );
        }
    }
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

// ---------------------------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------------------------

/// A response: status, headers (names lower-case), body as text and (if it parses) JSON.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or `Value::Null` if empty or not JSON.
    pub json: Value,
    pub text: String,
    /// Method and URL, for failure messages.
    pub request: String,
}

impl Resp {
    /// First header value named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The error code of a `{"error":{"code":...}}` body, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.json.pointer("/error/code").and_then(Value::as_str)
    }

    /// Assert the status, printing the whole response otherwise. Returns `self` for chaining.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Resp {
        assert_eq!(self.status, status, "unexpected status: {self}");
        self
    }

    /// A string field of the JSON body (`/a/b` pointer), panicking with the body if absent.
    #[track_caller]
    pub fn str(&self, pointer: &str) -> String {
        match self.json.pointer(pointer).and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => panic!("no string at {pointer} in response: {self}"),
        }
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = if self.text.len() > 2000 {
            format!(
                "{}... ({} bytes)",
                &self.text[..self.text.floor_char_boundary_compat(2000)],
                self.text.len()
            )
        } else {
            self.text.clone()
        };
        write!(f, "{} -> {} {}", self.request, self.status, body)
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorCharBoundary for String {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Send one request. `body` is sent as-is with `content_type` (if any). A fresh agent per call
/// keeps no pooled connections around (they would go stale across restarts).
pub fn try_request(
    url: &str,
    method: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Resp, ureq::Error> {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_headers {
        ($rb:expr) => {{
            let mut rb = $rb;
            if let Some(a) = &auth {
                rb = rb.header("Authorization", a.as_str());
            }
            rb
        }};
    }
    macro_rules! send_with_body {
        ($rb:expr) => {{
            let mut rb = with_headers!($rb);
            if let Some(ct) = content_type {
                rb = rb.header("Content-Type", ct);
            }
            match body {
                Some(b) => rb.send(b),
                None => rb.send_empty(),
            }
        }};
    }
    macro_rules! send_without_body {
        ($rb:expr) => {{
            let rb = with_headers!($rb);
            match body {
                Some(b) => {
                    let mut rb = rb.force_send_body();
                    if let Some(ct) = content_type {
                        rb = rb.header("Content-Type", ct);
                    }
                    rb.send(b)
                }
                None => rb.call(),
            }
        }};
    }
    let res = match method {
        "GET" => send_without_body!(agent.get(url)),
        "DELETE" => send_without_body!(agent.delete(url)),
        "HEAD" => send_without_body!(agent.head(url)),
        "OPTIONS" => send_without_body!(agent.options(url)),
        "POST" => send_with_body!(agent.post(url)),
        "PUT" => send_with_body!(agent.put(url)),
        "PATCH" => send_with_body!(agent.patch(url)),
        other => panic!("unsupported method {other}"),
    };
    let mut res = res?;
    let status = res.status().as_u16();
    let headers = header_pairs(res.headers());
    let text = if method == "HEAD" {
        String::new()
    } else {
        res.body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .lossy_utf8(true)
            .read_to_string()?
    };
    let json = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    Ok(Resp {
        status,
        headers,
        json,
        text,
        request: match body {
            Some(b) if !b.is_empty() => {
                let shown = String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned();
                let more = if b.len() > 300 {
                    format!("... ({} bytes)", b.len())
                } else {
                    String::new()
                };
                format!("{method} {url} {shown}{more}")
            }
            _ => format!("{method} {url}"),
        },
    })
}

/// POST `body` with chunked transfer encoding (no `Content-Length`), so the server only learns
/// the size by reading. Panics on transport errors.
pub fn post_chunked(server: &Server, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
    let url = server.url(path);
    let len = body.len();
    let res = agent()
        .post(&url)
        .header("Content-Type", content_type)
        .send(ureq::SendBody::from_owned_reader(std::io::Cursor::new(
            body,
        )));
    let mut res = res.unwrap_or_else(|e| panic!("POST {url} (chunked): transport error: {e}"));
    let status = res.status().as_u16();
    let headers = header_pairs(res.headers());
    let text = res.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        json,
        text,
        request: format!("POST {url} (chunked, {len} bytes)"),
    }
}

/// A response's headers as (lower-case name, value) pairs.
pub(crate) fn header_pairs(headers: &ureq::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Send a request with a raw body and an explicit content type (or none); panics on I/O errors.
pub fn raw(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Resp {
    let url = server.url(path);
    try_request(&url, method, token, content_type, body)
        .unwrap_or_else(|e| panic!("{method} {url}: transport error: {e}"))
}

/// Send a request with an optional JSON body (`Content-Type: application/json`).
pub fn request(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    match body {
        Some(v) => {
            let bytes = serde_json::to_vec(&v).unwrap();
            raw(
                server,
                method,
                path,
                token,
                Some("application/json"),
                Some(&bytes),
            )
        }
        None => raw(server, method, path, token, None, None),
    }
}

pub fn get(server: &Server, path: &str, token: Option<&str>) -> Resp {
    request(server, "GET", path, token, None)
}

pub fn post(server: &Server, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
    request(server, "POST", path, token, body)
}

pub fn patch(server: &Server, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
    request(server, "PATCH", path, token, body)
}

pub fn delete(server: &Server, path: &str, token: Option<&str>) -> Resp {
    request(server, "DELETE", path, token, None)
}

/// Assert `resp` is an error with `status` and `code`, in the `{"error":{"code","message"}}`
/// shape with a non-empty message.
#[track_caller]
pub fn assert_error(resp: &Resp, status: u16, code: &str) {
    assert_error_any(resp, status, &[code]);
}

/// Like [`assert_error`] but accepts any of `codes`.
#[track_caller]
pub fn assert_error_any(resp: &Resp, status: u16, codes: &[&str]) {
    assert_eq!(
        resp.status, status,
        "expected {status} {codes:?}, got: {resp}"
    );
    let err = resp
        .json
        .get("error")
        .unwrap_or_else(|| panic!("expected an {{\"error\":{{...}}}} body, got: {resp}"));
    let code = err
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("error.code missing or not a string: {resp}"));
    assert!(
        codes.contains(&code),
        "expected error code in {codes:?}, got {code:?}: {resp}"
    );
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("error.message missing or not a string: {resp}"));
    assert!(!message.trim().is_empty(), "error.message is empty: {resp}");
}

/// The `error.message` of an error response (panics if absent).
#[track_caller]
pub fn error_message(resp: &Resp) -> String {
    resp.str("/error/message")
}

// ---------------------------------------------------------------------------------------------
// Domain helpers
// ---------------------------------------------------------------------------------------------

/// A registered or logged-in account: ids and tokens from the auth answer.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub username: String,
    pub access: String,
    pub refresh: String,
    pub session_id: String,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A process-unique suffix for usernames and phones.
pub fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

/// A valid E.164 phone number, unique within this test process.
pub fn unique_phone() -> String {
    format!("+1555{:07}", unique() % 10_000_000)
}

fn account_from(resp: &Resp, username: &str) -> Account {
    Account {
        user_id: resp.str("/user/id"),
        username: username.to_string(),
        access: resp.str("/tokens/access_token"),
        refresh: resp.str("/tokens/refresh_token"),
        session_id: resp.str("/tokens/session_id"),
    }
}

/// POST /api/auth/register with `body`, asserting 201.
#[track_caller]
pub fn register_body(server: &Server, body: Value) -> Resp {
    let r = post(server, "/api/auth/register", None, Some(body));
    assert_eq!(r.status, 201, "register failed: {r}");
    r
}

/// Register `username` with [`PASSWORD`] and display name = username.
/// Returns `(user_id, access_token, refresh_token, session_id)`.
#[track_caller]
pub fn register(server: &Server, username: &str) -> (String, String, String, String) {
    let a = register_account(server, username);
    (a.user_id, a.access, a.refresh, a.session_id)
}

/// Like [`register`] but returns an [`Account`].
#[track_caller]
pub fn register_account(server: &Server, username: &str) -> Account {
    let r = register_body(
        server,
        json!({"username": username, "password": PASSWORD, "display_name": username}),
    );
    account_from(&r, &username.to_ascii_lowercase())
}

/// Register with a phone number too.
#[track_caller]
pub fn register_with_phone(server: &Server, username: &str, phone: &str) -> Account {
    let r = register_body(
        server,
        json!({"username": username, "password": PASSWORD, "display_name": username, "phone": phone}),
    );
    account_from(&r, &username.to_ascii_lowercase())
}

/// Log in by username with `password`, asserting 200.
/// Returns `(user_id, access_token, refresh_token, session_id)`.
#[track_caller]
pub fn login(server: &Server, username: &str, password: &str) -> (String, String, String, String) {
    let a = login_account(server, username, password);
    (a.user_id, a.access, a.refresh, a.session_id)
}

/// Like [`login`] but returns an [`Account`].
#[track_caller]
pub fn login_account(server: &Server, username: &str, password: &str) -> Account {
    let r = post(
        server,
        "/api/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    );
    assert_eq!(r.status, 200, "login failed: {r}");
    account_from(&r, &username.to_ascii_lowercase())
}

/// A syntactically valid UUIDv7 that names nothing on the server.
pub fn random_uuid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let ms = nanos / 1_000_000;
    let r =
        nanos ^ (unique().wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ (std::process::id() as u64) << 32;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        (ms >> 16) as u32,
        (ms & 0xffff) as u16,
        (r & 0xfff) as u16,
        0x8000 | ((r >> 12) & 0x3fff) as u16,
        (r >> 16) & 0xffff_ffff_ffff,
    )
}

/// Percent-encode a query-string value (everything but unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Follow `next_cursor` from `path` (which may already have a query string) with `limit`,
/// returning every page's items. Panics on non-200 pages or after 100 pages.
#[track_caller]
pub fn collect_pages(server: &Server, path: &str, token: &str, limit: u32) -> Vec<Vec<Value>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={}", enc(c)),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = get(server, &url, Some(token));
        assert_eq!(r.status, 200, "page request failed: {r}");
        let items = r
            .json
            .get("items")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no items array: {r}"))
            .clone();
        pages.push(items);
        match r.json.get("next_cursor") {
            Some(Value::Null) => return pages,
            Some(Value::String(c)) => cursor = Some(c.clone()),
            _ => panic!("next_cursor missing or not string/null: {r}"),
        }
    }
    panic!("pagination did not end after 100 pages");
}

// ---------------------------------------------------------------------------------------------
// base64url and JWT helpers (for tampering tests)
// ---------------------------------------------------------------------------------------------

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decode base64url (padding optional; `+`/`/` accepted too).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32;
        bits = bits << 6 | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

/// Split a JWT into its three segments.
#[track_caller]
pub fn jwt_parts(token: &str) -> (String, String, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(
        parts.len(),
        3,
        "access token is not a JWT (3 segments): {token}"
    );
    (
        parts[0].to_string(),
        parts[1].to_string(),
        parts[2].to_string(),
    )
}

/// The decoded JSON payload (claims) of a JWT.
#[track_caller]
pub fn jwt_claims(token: &str) -> Value {
    let (_, p, _) = jwt_parts(token);
    let bytes = b64url_decode(&p).expect("payload is base64url");
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

/// Replace the character at `idx` of `s` with a different base64url character.
pub fn flip_char(s: &str, idx: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[idx] = if b[idx] == b'A' { b'Q' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// Parse Prometheus text and sum all samples of `metric` (any labels).
/// `None` if the metric has no samples.
pub fn metric_sum(text: &str, metric: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let rest = match line.strip_prefix(metric) {
            Some(r) => r,
            None => continue,
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue; // a longer metric name with this prefix
        }
        let value_part = if rest.starts_with('{') {
            match rest.rfind('}') {
                Some(i) => &rest[i + 1..],
                None => continue,
            }
        } else {
            rest
        };
        if let Some(v) = value_part
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            sum = Some(sum.unwrap_or(0.0) + v);
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_roundtrip() {
        for s in ["", "a", "ab", "abc", "abcd", "{\"sub\":\"x\"}"] {
            let e = b64url_encode(s.as_bytes());
            assert_eq!(b64url_decode(&e).unwrap(), s.as_bytes(), "{s} -> {e}");
        }
        assert_eq!(b64url_encode(b"hello"), "aGVsbG8");
    }

    #[test]
    fn uuid_shape() {
        let u = random_uuid();
        assert_eq!(u.len(), 36, "{u}");
        assert_eq!(&u[14..15], "7", "{u}");
        assert_ne!(random_uuid(), random_uuid());
    }

    #[test]
    fn metric_parsing() {
        let t = "# TYPE x counter\nx_total{a=\"1\"} 2\nx_total 3\nx_total_other 9\n";
        assert_eq!(metric_sum(t, "x_total"), Some(5.0));
        assert_eq!(metric_sum(t, "y"), None);
    }
}
