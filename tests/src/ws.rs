//! WebSocket client helpers for the black-box tests of the realtime protocol v1
//! (`docs/PROTOCOL.md`), plus REST shortcuts for chats and messages (`docs/REST.md`).
//!
//! The client is the synchronous `tungstenite` over a plain `TcpStream`; every read uses a read
//! timeout on that stream, so a test never hangs on a silent server. Frames that arrive while the
//! client waits for something else are buffered, in order, and handed out later.
//!
//! Every frame sent and received is kept in a transcript; failures print its tail, so a failing
//! test shows the frames that led to it.

use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::{Message, WebSocket};

use crate::{enc, get, json, post, register_account, Account, Resp, Server, Value};

/// Default time to wait for an answer or an event. Generous: debug build, 2 cores, parallel tests.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// How long "nothing more arrives" is watched for by default.
pub const QUIET: Duration = Duration::from_millis(1500);

// ---------------------------------------------------------------------------------------------
// Server extras
// ---------------------------------------------------------------------------------------------

/// Start a server for WebSocket tests: like [`Server::start`], with the login/register and
/// send/typing budgets raised so that tests creating many users and devices, or sending
/// thousands of messages, are not throttled by them (rate_limit.rs sets its own).
pub fn ws_server() -> Server {
    ws_server_with(&[])
}

/// [`ws_server`] with extra `CONFAB_*` variables.
pub fn ws_server_with(extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, &str)> = vec![
        ("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "10000"),
        ("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN", "10000"),
        ("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "10000"),
        ("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN", "1000000"),
        ("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN", "1000000"),
    ];
    env.extend_from_slice(extra);
    Server::start_with(&env)
}

impl Server {
    /// Process id of the running `confab` child, if it runs.
    /// (Lives here, not in lib.rs: a child module may read the harness' private fields.)
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Resident set size of the server process in KiB (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child_pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------------------------

/// How the access token is presented at the upgrade.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `GET /ws?access_token=<token>`
    Query(&'a str),
    /// `Authorization: Bearer <token>`
    Header(&'a str),
    /// No token at all.
    None,
}

/// Why an upgrade failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The server answered the HTTP request with a non-101 status.
    Http {
        status: u16,
        body: String,
        json: Value,
    },
    /// Anything else (I/O, protocol).
    Other(String),
}

/// How a socket ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Closed {
    /// The server sent a close frame with this code and reason.
    Frame(u16, String),
    /// The server sent a close frame without a status code.
    FrameNoCode,
    /// The TCP connection ended without a close frame (EOF, reset, ...).
    Tcp(String),
}

impl Closed {
    /// The close code, if a close frame with one was received.
    pub fn code(&self) -> Option<u16> {
        match self {
            Closed::Frame(c, _) => Some(*c),
            _ => None,
        }
    }
}

/// The client's TCP stream. Once a write fails because the server has closed the connection
/// (broken pipe / reset), further writes are swallowed, so that reads can still return what
/// the server sent before closing (typically its close frame): tungstenite flushes a queued pong
/// before every read, and that flush must not hide the close code.
pub struct Tcp {
    stream: TcpStream,
    broken: Option<String>,
}

impl Tcp {
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl std::io::Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.broken.is_some() {
            return Ok(buf.len());
        }
        match self.stream.write(buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::BrokenPipe
                        | ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                ) =>
            {
                self.broken = Some(e.to_string());
                Ok(buf.len())
            }
            r => r,
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.broken.is_some() {
            return Ok(());
        }
        self.stream.flush()
    }
}

static WS_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A connected protocol-v1 client.
pub struct Ws {
    sock: WebSocket<Tcp>,
    /// The `hello` frame (or `Null` for [`try_connect_no_hello`] until [`Ws::read_hello`]).
    pub hello: Value,
    /// A label for failure messages.
    pub name: String,
    buf: VecDeque<Value>,
    next_id: u64,
    transcript: Vec<String>,
    closed: Option<Closed>,
    pings: u64,
}

fn handshake(port: u16, auth: Auth<'_>) -> Result<WebSocket<Tcp>, ConnectError> {
    let url = match auth {
        Auth::Query(t) => format!("ws://127.0.0.1:{port}/ws?access_token={}", enc(t)),
        _ => format!("ws://127.0.0.1:{port}/ws"),
    };
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Other(format!("bad request {url}: {e}")))?;
    if let Auth::Header(t) = auth {
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {t}")
                .parse()
                .map_err(|e| ConnectError::Other(format!("header: {e}")))?,
        );
    }
    let stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| ConnectError::Other(format!("TCP connect to {port}: {e}")))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| ConnectError::Other(e.to_string()))?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| ConnectError::Other(e.to_string()))?;
    let stream = Tcp {
        stream,
        broken: None,
    };
    match tungstenite::client::client_with_config(req, stream, None) {
        Ok((ws, _resp)) => Ok(ws),
        Err(HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let json = serde_json::from_str(&body).unwrap_or(Value::Null);
            Err(ConnectError::Http { status, body, json })
        }
        Err(HandshakeError::Failure(e)) => Err(ConnectError::Other(format!("handshake: {e}"))),
        Err(HandshakeError::Interrupted(_)) => Err(ConnectError::Other(
            "handshake interrupted (read timeout)".into(),
        )),
    }
}

/// Upgrade without reading the `hello` frame.
pub fn try_connect_no_hello(server: &Server, auth: Auth<'_>) -> Result<Ws, ConnectError> {
    try_connect_port_no_hello(server.port(), auth)
}

/// Upgrade `ws://127.0.0.1:<port>/ws` without reading the `hello` frame.
pub fn try_connect_port_no_hello(port: u16, auth: Auth<'_>) -> Result<Ws, ConnectError> {
    let sock = handshake(port, auth)?;
    let n = WS_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Ws {
        sock,
        hello: Value::Null,
        name: format!("ws#{n}"),
        buf: VecDeque::new(),
        next_id: 0,
        transcript: Vec::new(),
        closed: None,
        pings: 0,
    })
}

/// Upgrade and read the `hello` frame (asserting its shape).
pub fn try_connect(server: &Server, auth: Auth<'_>) -> Result<Ws, ConnectError> {
    let mut ws = try_connect_no_hello(server, auth)?;
    ws.read_hello();
    Ok(ws)
}

/// Connect with `?access_token=`, read and check `hello`. Panics on failure.
#[track_caller]
pub fn connect(server: &Server, access_token: &str) -> Ws {
    match try_connect(server, Auth::Query(access_token)) {
        Ok(ws) => ws,
        Err(e) => panic!("WebSocket connect (query token) failed: {e:?}"),
    }
}

/// Connect to `ws://127.0.0.1:<port>/ws` with `?access_token=` and read `hello` (for threads
/// that hold a port rather than a `Server`). Panics on failure.
#[track_caller]
pub fn connect_port(port: u16, access_token: &str) -> Ws {
    let mut ws = match try_connect_port_no_hello(port, Auth::Query(access_token)) {
        Ok(ws) => ws,
        Err(e) => panic!("WebSocket connect to port {port} failed: {e:?}"),
    };
    ws.read_hello();
    ws
}

/// Connect with `Authorization: Bearer`, read and check `hello`. Panics on failure.
#[track_caller]
pub fn connect_header(server: &Server, access_token: &str) -> Ws {
    match try_connect(server, Auth::Header(access_token)) {
        Ok(ws) => ws,
        Err(e) => panic!("WebSocket connect (Authorization header) failed: {e:?}"),
    }
}

/// Connect `account` (query token) and label the socket with its username.
#[track_caller]
pub fn connect_as(server: &Server, account: &Account) -> Ws {
    let mut ws = connect(server, &account.access);
    ws.name = account.username.clone();
    assert_eq!(
        ws.hello["user_id"],
        json!(account.user_id),
        "hello.user_id must be the token's user: {}",
        ws.hello
    );
    assert_eq!(
        ws.hello["session_id"],
        json!(account.session_id),
        "hello.session_id must be the token's session: {}",
        ws.hello
    );
    ws
}

fn short(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut i = n;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    format!("{}...({} bytes)", &s[..i], s.len())
}

impl Ws {
    // -- diagnostics ---------------------------------------------------------------------------

    fn note(&mut self, line: String) {
        self.transcript.push(line);
    }

    /// The last `n` lines of the transcript (`> ` sent, `< ` received, `# ` notes).
    pub fn transcript_tail(&self, n: usize) -> String {
        let start = self.transcript.len().saturating_sub(n);
        let mut out = format!(
            "--- transcript of {} (last {} of {} lines) ---\n",
            self.name,
            self.transcript.len() - start,
            self.transcript.len()
        );
        for l in &self.transcript[start..] {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Panic with `msg` and the transcript tail.
    #[track_caller]
    pub fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("[{}] {msg}\n{}", self.name, self.transcript_tail(40))
    }

    /// The frames received but not yet consumed.
    pub fn buffered(&self) -> &VecDeque<Value> {
        &self.buf
    }

    /// How many WebSocket pings the server sent (seen by reads so far).
    pub fn pings_seen(&self) -> u64 {
        self.pings
    }

    /// How the socket ended, if it did (as far as reads have seen).
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// The raw TCP stream (for socket options, or writing raw bytes behind tungstenite's back).
    pub fn tcp(&self) -> &TcpStream {
        &self.sock.get_ref().stream
    }

    // -- reading --------------------------------------------------------------------------------

    /// Read one frame from the socket (not the buffer), waiting until `deadline`.
    /// `Ok(None)` on timeout; `Err` once the socket is closed.
    fn read_raw(&mut self, deadline: Instant) -> Result<Option<Value>, Closed> {
        if let Some(c) = &self.closed {
            return Err(c.clone());
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            let _ = self.sock.get_mut().stream.set_read_timeout(Some(wait));
            match self.sock.read() {
                Ok(Message::Text(t)) => {
                    let s: &str = t.as_str();
                    self.note(format!("< {}", short(s, 400)));
                    let v: Value = match serde_json::from_str(s) {
                        Ok(v) => v,
                        Err(e) => self.fail(format!(
                            "server sent a text frame that is not JSON ({e}): {}",
                            short(s, 400)
                        )),
                    };
                    if v.get("v") != Some(&json!(1)) {
                        self.fail(format!("server frame without \"v\":1: {v}"));
                    }
                    if !v.get("type").is_some_and(Value::is_string) {
                        self.fail(format!("server frame without a string \"type\": {v}"));
                    }
                    return Ok(Some(v));
                }
                Ok(Message::Binary(b)) => self.fail(format!(
                    "server sent a binary frame ({} bytes); protocol v1 is JSON text only",
                    b.len()
                )),
                Ok(Message::Ping(_)) => {
                    // tungstenite queues the pong; it goes out with the next read or write.
                    self.pings += 1;
                    self.note("< <ping>".into());
                    continue;
                }
                Ok(Message::Pong(_)) | Ok(Message::Frame(_)) => continue,
                Ok(Message::Close(cf)) => {
                    let c = match cf {
                        Some(f) => Closed::Frame(u16::from(f.code), f.reason.as_str().to_string()),
                        None => Closed::FrameNoCode,
                    };
                    self.note(format!("# closed by server: {c:?}"));
                    // Let tungstenite answer the close (best effort).
                    let _ = self.sock.flush();
                    self.closed = Some(c.clone());
                    return Err(c);
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let c = Closed::Tcp(e.to_string());
                    self.note(format!("# connection ended: {c:?}"));
                    self.closed = Some(c.clone());
                    return Err(c);
                }
            }
        }
    }

    /// The next frame (buffered first), or `None` after `timeout` or once closed.
    pub fn next_frame(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(v) = self.buf.pop_front() {
            return Some(v);
        }
        let deadline = Instant::now() + timeout;
        self.read_raw(deadline).ok().flatten()
    }

    /// The first frame (buffered or new) for which `pred` holds; others stay buffered in order.
    /// `None` on timeout or close.
    pub fn try_next_where(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(i) = self.buf.iter().position(&pred) {
            return self.buf.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_raw(deadline) {
                Ok(Some(v)) if pred(&v) => return Some(v),
                Ok(Some(v)) => self.buf.push_back(v),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Like [`Ws::try_next_where`] but panics (with the transcript) when nothing matches.
    #[track_caller]
    pub fn next_where(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        match self.try_next_where(timeout, pred) {
            Some(v) => v,
            None => self.fail(format!(
                "no {what} within {timeout:?} (closed: {:?}; {} other frames buffered)",
                self.closed,
                self.buf.len()
            )),
        }
    }

    /// The next frame of `type` (others stay buffered). Panics on timeout.
    #[track_caller]
    pub fn next_of(&mut self, ty: &str, timeout: Duration) -> Value {
        let t = ty.to_string();
        self.next_where(&format!("\"{ty}\" frame"), timeout, move |v| v["type"] == t)
    }

    /// The next `event` frame (others stay buffered). Panics on timeout.
    #[track_caller]
    pub fn next_event(&mut self, timeout: Duration) -> Value {
        self.next_of("event", timeout)
    }

    /// The next `event` of `chat_id`. Panics on timeout.
    #[track_caller]
    pub fn next_event_in(&mut self, chat_id: &str, timeout: Duration) -> Value {
        let c = chat_id.to_string();
        self.next_where(&format!("event of chat {chat_id}"), timeout, move |v| {
            v["type"] == "event" && v["chat_id"] == json!(c)
        })
    }

    /// Panics if a frame matching `pred` is buffered or arrives within `dur`.
    /// Frames that do not match stay buffered.
    #[track_caller]
    pub fn expect_none_where(&mut self, what: &str, dur: Duration, pred: impl Fn(&Value) -> bool) {
        if let Some(v) = self.buf.iter().find(|v| pred(v)).cloned() {
            self.fail(format!("expected no {what}, but got (buffered): {v}"));
        }
        let deadline = Instant::now() + dur;
        loop {
            match self.read_raw(deadline) {
                Ok(Some(v)) if pred(&v) => {
                    self.fail(format!("expected no {what} within {dur:?}, but got: {v}"))
                }
                Ok(Some(v)) => self.buf.push_back(v),
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Panics if a frame of `type` is buffered or arrives within `dur`.
    #[track_caller]
    pub fn expect_no_frame(&mut self, ty: &str, dur: Duration) {
        let t = ty.to_string();
        self.expect_none_where(&format!("\"{ty}\" frame"), dur, move |v| v["type"] == t)
    }

    /// Panics if any frame at all is buffered or arrives within `dur`.
    #[track_caller]
    pub fn expect_silence(&mut self, dur: Duration) {
        self.expect_none_where("frame at all", dur, |_| true)
    }

    /// Drop every buffered frame and return them.
    pub fn drain_buffer(&mut self) -> Vec<Value> {
        self.buf.drain(..).collect()
    }

    /// Read (and collect) frames until the socket closes or `timeout` passes.
    /// Returns the frames read (buffered ones first) and how it closed (`None`: still open).
    pub fn read_until_closed(&mut self, timeout: Duration) -> (Vec<Value>, Option<Closed>) {
        let mut frames: Vec<Value> = self.buf.drain(..).collect();
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_raw(deadline) {
                Ok(Some(v)) => frames.push(v),
                Ok(None) => return (frames, None),
                Err(c) => return (frames, Some(c)),
            }
        }
    }

    /// Read the first frame and check it is a well-formed `hello`.
    #[track_caller]
    pub fn read_hello(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        let v = match self.read_raw(deadline) {
            Ok(Some(v)) => v,
            Ok(None) => self.fail("no hello frame within the timeout"),
            Err(c) => self.fail(format!("socket closed before hello: {c:?}")),
        };
        if v["type"] != "hello" {
            self.fail(format!("the first frame must be hello, got: {v}"));
        }
        for f in ["user_id", "session_id"] {
            if !v[f].is_string() {
                self.fail(format!("hello.{f} must be a string: {v}"));
            }
        }
        if !v["server_time"].is_i64() && !v["server_time"].is_u64() {
            self.fail(format!("hello.server_time must be an integer (ms): {v}"));
        }
        let now = crate::ws::now_ms();
        let st = v["server_time"].as_i64().unwrap_or(0);
        if (st - now).abs() > 60_000 {
            self.fail(format!(
                "hello.server_time {st} is not Unix milliseconds near {now}: {v}"
            ));
        }
        if v["heartbeat_secs"] != json!(20) {
            self.fail(format!("hello.heartbeat_secs must be 20: {v}"));
        }
        if v["max_frame_bytes"] != json!(65536) {
            self.fail(format!("hello.max_frame_bytes must be 65536: {v}"));
        }
        self.hello = v;
    }

    // -- writing -------------------------------------------------------------------------------

    /// A fresh request id.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("r{}", self.next_id)
    }

    /// Send a text frame as-is. Errors (e.g. the socket was closed) are returned.
    pub fn try_send_text(&mut self, text: &str) -> Result<(), String> {
        self.note(format!("> {}", short(text, 400)));
        self.sock
            .send(Message::text(text.to_string()))
            .map_err(|e| e.to_string())?;
        match &self.sock.get_ref().broken {
            Some(e) => Err(format!("connection closed by the server: {e}")),
            None => Ok(()),
        }
    }

    /// Send a text frame as-is; panics on error.
    #[track_caller]
    pub fn send_text(&mut self, text: &str) {
        if let Err(e) = self.try_send_text(text) {
            self.fail(format!("sending a text frame failed: {e}"));
        }
    }

    /// Send a binary frame; panics on error.
    #[track_caller]
    pub fn send_binary(&mut self, data: Vec<u8>) {
        self.note(format!("> <binary {} bytes>", data.len()));
        if let Err(e) = self.sock.send(Message::binary(data)) {
            self.fail(format!("sending a binary frame failed: {e}"));
        }
        if let Some(e) = &self.sock.get_ref().broken {
            self.fail(format!("sending a binary frame failed: {e}"));
        }
    }

    /// Send a JSON value as one text frame.
    #[track_caller]
    pub fn send_json(&mut self, v: &Value) {
        self.send_text(&v.to_string());
    }

    /// Send `{"v":1,"id":<new>,"type":ty,...fields}` without waiting; returns the id.
    #[track_caller]
    pub fn send_frame(&mut self, ty: &str, fields: Value) -> String {
        let id = self.new_id();
        let mut frame = json!({"v": 1, "id": id, "type": ty});
        if let Value::Object(m) = fields {
            for (k, v) in m {
                frame[k] = v;
            }
        } else if !fields.is_null() {
            panic!("fields must be a JSON object or null, got {fields}");
        }
        self.send_json(&frame);
        id
    }

    /// Wait for the answer carrying `id` (other frames stay buffered). Panics on timeout/close.
    #[track_caller]
    pub fn wait_answer(&mut self, id: &str, timeout: Duration) -> Value {
        let i = json!(id);
        self.next_where(&format!("answer to {id}"), timeout, move |v| {
            v.get("id") == Some(&i) && v["type"] != "event"
        })
    }

    /// Send a request and return its answer (ack or error), buffering other frames.
    #[track_caller]
    pub fn request(&mut self, ty: &str, fields: Value) -> Value {
        let id = self.send_frame(ty, fields);
        let ans = self.wait_answer(&id, TIMEOUT);
        self.check_answer_shape(&ans, &id);
        ans
    }

    /// Send a request and return (frames that arrived before its answer, the answer).
    /// Frames already buffered come first in that list.
    #[track_caller]
    pub fn request_collect(&mut self, ty: &str, fields: Value) -> (Vec<Value>, Value) {
        let id = self.send_frame(ty, fields);
        let mut before: Vec<Value> = self.buf.drain(..).collect();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.read_raw(deadline) {
                Ok(Some(v)) if v.get("id") == Some(&json!(id)) => {
                    self.check_answer_shape(&v, &id);
                    return (before, v);
                }
                Ok(Some(v)) => before.push(v),
                Ok(None) => self.fail(format!("no answer to {id} within {TIMEOUT:?}")),
                Err(c) => self.fail(format!("closed before the answer to {id}: {c:?}")),
            }
        }
    }

    #[track_caller]
    fn check_answer_shape(&self, ans: &Value, id: &str) {
        if ans["type"] == "error" {
            if !ans["code"].is_string() {
                self.fail(format!("error frame without a string code: {ans}"));
            }
            if ans["message"].as_str().is_none_or(|m| m.trim().is_empty()) {
                self.fail(format!("error frame without a non-empty message: {ans}"));
            }
        }
        if ans["id"] != json!(id) {
            self.fail(format!("answer does not echo id {id}: {ans}"));
        }
    }

    /// Send a request and assert its answer has type `expect_type`; returns it.
    #[track_caller]
    pub fn request_ok(&mut self, ty: &str, fields: Value, expect_type: &str) -> Value {
        let ans = self.request(ty, fields);
        if ans["type"] != expect_type {
            self.fail(format!(
                "{ty}: expected a \"{expect_type}\" answer, got: {ans}"
            ));
        }
        ans
    }

    /// Send a request and assert it answers `error` with one of `codes`; returns the frame.
    #[track_caller]
    pub fn request_err(&mut self, ty: &str, fields: Value, codes: &[&str]) -> Value {
        let ans = self.request(ty, fields);
        if ans["type"] != "error" || !codes.iter().any(|c| ans["code"] == *c) {
            self.fail(format!(
                "{ty}: expected an error with code in {codes:?}, got: {ans}"
            ));
        }
        ans
    }

    /// `send` a text message and return the answer (ack or error).
    #[track_caller]
    pub fn send_msg(&mut self, chat_id: &str, client_id: &str, text: &str) -> Value {
        self.request(
            "send",
            json!({"chat_id": chat_id, "client_id": client_id, "content": {"kind": "text", "text": text}}),
        )
    }

    /// `send` a text message and assert a well-formed `sent` ack; returns it.
    #[track_caller]
    pub fn send_ok(&mut self, chat_id: &str, client_id: &str, text: &str) -> Value {
        let ack = self.send_msg(chat_id, client_id, text);
        if ack["type"] != "sent" {
            self.fail(format!("send {client_id}: expected a sent ack, got: {ack}"));
        }
        if ack["chat_id"] != json!(chat_id)
            || ack["client_id"] != json!(client_id)
            || !ack["seq"].is_u64()
            || !ack["at"].is_i64()
            || !ack["duplicate"].is_boolean()
        {
            self.fail(format!(
                "malformed sent ack (chat_id, client_id, seq, at, duplicate): {ack}"
            ));
        }
        ack
    }

    /// `ping` → `pong` with the same id; panics otherwise.
    #[track_caller]
    pub fn assert_ping(&mut self) {
        let ans = self.request("ping", Value::Null);
        if ans["type"] != "pong" {
            self.fail(format!("ping: expected pong, got: {ans}"));
        }
    }

    /// Close the socket normally (1000) and wait briefly for the server's close.
    pub fn close(mut self) {
        self.note("# client close 1000".into());
        let _ = self.sock.close(Some(tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "bye".into(),
        }));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let _ = self
                .sock
                .get_mut()
                .stream
                .set_read_timeout(Some(Duration::from_millis(200)));
            match self.sock.read() {
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue
                }
                Err(_) => break,
            }
        }
    }

    /// Write raw bytes on the TCP stream (bypassing tungstenite), e.g. a hand-made frame.
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let s = &mut self.sock.get_mut().stream;
        s.write_all(bytes)?;
        s.flush()
    }
}

/// A masked client text frame with `payload` (FIN set), bytes ready for the wire.
pub fn raw_text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x81);
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

// ---------------------------------------------------------------------------------------------
// Frame assertions
// ---------------------------------------------------------------------------------------------

/// Current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Assert `frame` is an `error` with `code` (one of `codes`) and a non-empty message.
#[track_caller]
pub fn assert_ws_error(frame: &Value, codes: &[&str]) {
    assert_eq!(
        frame["type"], "error",
        "expected an error frame, got {frame}"
    );
    assert!(
        codes.iter().any(|c| frame["code"] == *c),
        "expected error code in {codes:?}, got {frame}"
    );
    assert!(
        frame["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "error frame needs a non-empty message: {frame}"
    );
}

/// Assert `ev` is a `message` event of `chat_id` with `seq`, `sender`, `client_id` and `text`.
#[track_caller]
pub fn assert_msg_event(
    ev: &Value,
    chat_id: &str,
    seq: u64,
    sender: &str,
    client_id: &str,
    text: &str,
) {
    assert_eq!(ev["type"], "event", "{ev}");
    assert_eq!(ev["chat_id"], json!(chat_id), "event chat_id: {ev}");
    assert_eq!(ev["seq"], json!(seq), "event seq: {ev}");
    assert_eq!(ev["sender"], json!(sender), "event sender: {ev}");
    assert_eq!(ev["kind"], "message", "event kind: {ev}");
    assert_eq!(ev["client_id"], json!(client_id), "event client_id: {ev}");
    assert_eq!(
        ev["content"],
        json!({"kind": "text", "text": text}),
        "event content: {ev}"
    );
    assert!(ev["at"].is_i64(), "event at must be integer ms: {ev}");
}

/// A `text` content object.
pub fn text(s: &str) -> Value {
    json!({"kind": "text", "text": s})
}

/// The event as stored (REST shape): the WS frame without `v` and `type`.
pub fn event_body(ev: &Value) -> Value {
    let mut e = ev.clone();
    if let Value::Object(m) = &mut e {
        m.remove("v");
        m.remove("type");
    }
    e
}

// ---------------------------------------------------------------------------------------------
// REST: chats and messages
// ---------------------------------------------------------------------------------------------

/// Register `n` users named `{prefix}{i}`.
pub fn register_many(server: &Server, prefix: &str, n: usize) -> Vec<Account> {
    (0..n)
        .map(|i| register_account(server, &format!("{prefix}{i}")))
        .collect()
}

/// `POST /api/chats/direct` as `me` with `other`; asserts 200/201 and returns the chat id.
#[track_caller]
pub fn create_direct(server: &Server, me: &Account, other_user_id: &str) -> String {
    let r = post(
        server,
        "/api/chats/direct",
        Some(&me.access),
        Some(json!({"user_id": other_user_id})),
    );
    assert!(
        r.status == 201 || r.status == 200,
        "create direct chat: {r}"
    );
    assert_eq!(r.json["kind"], "direct", "{r}");
    r.str("/chat_id")
}

/// `POST /api/chats/groups`; asserts 201 and returns the chat id.
#[track_caller]
pub fn create_group(
    server: &Server,
    creator: &Account,
    title: &str,
    member_ids: &[&str],
) -> String {
    let r = post(
        server,
        "/api/chats/groups",
        Some(&creator.access),
        Some(json!({"title": title, "member_ids": member_ids})),
    );
    assert_eq!(r.status, 201, "create group: {r}");
    assert_eq!(r.json["kind"], "group", "{r}");
    r.str("/chat_id")
}

/// `POST /api/messages` with a text message; returns the response (not asserted).
pub fn rest_send(
    server: &Server,
    who: &Account,
    chat_id: &str,
    client_id: &str,
    txt: &str,
) -> Resp {
    post(
        server,
        "/api/messages",
        Some(&who.access),
        Some(json!({"chat_id": chat_id, "client_id": client_id, "content": text(txt)})),
    )
}

/// `GET /api/chats/{chat_id}/messages{query}`; asserts 200 and returns the items.
#[track_caller]
pub fn history(server: &Server, token: &str, chat_id: &str, query: &str) -> Vec<Value> {
    let r = history_resp(server, token, chat_id, query);
    assert_eq!(r.status, 200, "history: {r}");
    r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("history without items: {r}"))
        .clone()
}

/// `GET /api/chats/{chat_id}/messages{query}` (not asserted).
pub fn history_resp(server: &Server, token: &str, chat_id: &str, query: &str) -> Resp {
    get(
        server,
        &format!("/api/chats/{chat_id}/messages{query}"),
        Some(token),
    )
}

/// Every event of a chat via REST history, paging forward with `after_seq`.
#[track_caller]
pub fn full_history(server: &Server, token: &str, chat_id: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = 0u64;
    for _ in 0..1000 {
        let r = history_resp(
            server,
            token,
            chat_id,
            &format!("?after_seq={after}&limit=100"),
        );
        assert_eq!(r.status, 200, "history page: {r}");
        let items = r.json["items"].as_array().cloned().unwrap_or_default();
        if let Some(last) = items.last() {
            after = last["seq"].as_u64().unwrap_or_else(|| panic!("seq: {r}"));
        }
        out.extend(items);
        match r.json["has_more"].as_bool() {
            Some(true) => continue,
            Some(false) => return out,
            None => panic!("history without has_more: {r}"),
        }
    }
    panic!("history did not end after 1000 pages");
}

/// `GET /api/chats` items; asserts 200.
#[track_caller]
pub fn chat_list(server: &Server, token: &str) -> Vec<Value> {
    let r = get(server, "/api/chats", Some(token));
    assert_eq!(r.status, 200, "GET /api/chats: {r}");
    r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /api/chats without items: {r}"))
        .clone()
}

/// The `ChatSummary` of `chat_id` in `GET /api/chats`; panics if absent.
#[track_caller]
pub fn chat_summary(server: &Server, token: &str, chat_id: &str) -> Value {
    let items = chat_list(server, token);
    items
        .iter()
        .find(|c| c["chat_id"] == json!(chat_id))
        .cloned()
        .unwrap_or_else(|| panic!("chat {chat_id} not in GET /api/chats: {items:?}"))
}

/// Block `whom` as `who` (201 or 200).
#[track_caller]
pub fn block(server: &Server, who: &Account, whom: &str) {
    let r = post(
        server,
        "/api/users/me/blocked",
        Some(&who.access),
        Some(json!({"user_id": whom})),
    );
    assert!(r.status == 201 || r.status == 200, "block: {r}");
}

/// Set `who`'s privacy `last_seen`.
#[track_caller]
pub fn set_last_seen_privacy(server: &Server, who: &Account, value: &str) {
    let r = crate::patch(
        server,
        "/api/users/me/privacy",
        Some(&who.access),
        Some(json!({"last_seen": value})),
    );
    assert_eq!(r.status, 200, "privacy: {r}");
    assert_eq!(r.json["last_seen"], json!(value), "{r}");
}

/// Add `whom` to `who`'s contacts (201).
#[track_caller]
pub fn add_contact(server: &Server, who: &Account, whom: &str) {
    let r = post(
        server,
        "/api/users/me/contacts",
        Some(&who.access),
        Some(json!({"user_id": whom})),
    );
    assert_eq!(r.status, 201, "add contact: {r}");
}

/// Wait until the server's `/ws` route exists (a plain GET without upgrade is not 404).
/// Useful in smoke checks; tests themselves just connect.
pub fn ws_route_exists(server: &Server) -> bool {
    get(server, "/ws", None).status != 404
}

// Chat helpers shared by the chat_* test files.

/// `PUT path` with a bearer token and an optional JSON body.
pub fn put(s: &Server, path: &str, token: &str, body: Option<Value>) -> Resp {
    crate::request(s, "PUT", path, Some(token), body)
}

/// Assert a `ChangeView` answer (200 or 201) for `chat`; returns its seq.
#[track_caller]
pub fn change_seq(r: &Resp, chat: &str) -> u64 {
    assert!(
        r.status == 200 || r.status == 201,
        "expected a ChangeView answer: {r}"
    );
    assert_eq!(r.json["chat_id"], json!(chat), "ChangeView.chat_id: {r}");
    assert!(r.json["at"].is_i64(), "ChangeView.at: {r}");
    r.json["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("ChangeView.seq: {r}"))
}

/// The event `seq` of `chat` as seen by `token` in REST history.
#[track_caller]
pub fn event_at(s: &Server, token: &str, chat: &str, seq: u64) -> Value {
    full_history(s, token, chat)
        .into_iter()
        .find(|e| e["seq"] == json!(seq))
        .unwrap_or_else(|| panic!("no event with seq {seq} in history of {chat}"))
}

/// Wait for an event of `chat` with `kind` on `ws`.
#[track_caller]
pub fn wait_kind(ws: &mut Ws, chat: &str, kind: &str) -> Value {
    let c = json!(chat);
    let k = kind.to_string();
    ws.next_where(&format!("{kind} event of {chat}"), TIMEOUT, move |v| {
        v["type"] == "event" && v["chat_id"] == c && v["kind"] == json!(k)
    })
}

/// Send a text over REST, assert 201, return its seq.
#[track_caller]
pub fn send_seq(s: &Server, who: &Account, chat: &str, cid: &str, txt: &str) -> u64 {
    let r = rest_send(s, who, chat, cid, txt);
    r.expect(201);
    r.json["seq"].as_u64().unwrap()
}
