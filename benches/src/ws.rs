//! The WebSocket side: connecting from a chosen source address, the `hello` handshake, a
//! minimal frame reader that looks only at the fields the load generator needs, and the send
//! frame with its embedded timestamp.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::stats::{self, H};

pub type Ws = WebSocketStream<TcpStream>;

/// Where and how to connect.
pub struct Target {
    /// The server nodes: session `idx` connects to `nodes[idx % nodes.len()]`.
    pub nodes: Vec<Node>,
    /// Client sockets are bound round-robin to these (empty: let the kernel choose).
    pub sources: Vec<IpAddr>,
    pub config: WebSocketConfig,
    pub connect_timeout: Duration,
}

pub struct Node {
    pub addr: SocketAddr,
    /// `host:port` as given in `--url`, for the request line and `Host` header.
    pub authority: String,
}

pub struct Hello {
    pub user_id: String,
}

/// Let the kernel pick the source port at connect() time, from the full 4-tuple, instead of at
/// bind() time from the source address alone (more connections per source address).
fn bind_address_no_port(sock: &TcpSocket) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a valid fd with a c_int option value.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn handshake_error(e: WsError) -> String {
    match e {
        WsError::Http(resp) => {
            let code = resp
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v["error"]["code"].as_str().map(String::from))
                .unwrap_or_default();
            format!("upgrade refused: HTTP {} {code}", resp.status().as_u16())
        }
        WsError::Io(e) => format!("upgrade: io {}", e.kind()),
        e => format!("upgrade: {e}"),
    }
}

/// How a read loop ended, as an error category.
pub fn end_reason(m: Option<Result<Message, WsError>>) -> String {
    match m {
        None => "eof without close frame".into(),
        Some(Ok(Message::Close(Some(f)))) => {
            format!("closed by server: code {}", u16::from(f.code))
        }
        Some(Ok(Message::Close(None))) => "closed by server: no code".into(),
        Some(Ok(_)) => "unexpected frame".into(),
        Some(Err(WsError::Io(e))) => format!("io error: {}", e.kind()),
        Some(Err(WsError::ConnectionClosed)) | Some(Err(WsError::AlreadyClosed)) => {
            "connection closed".into()
        }
        Some(Err(e)) => format!("ws error: {e}"),
    }
}

/// TCP connect to node `idx % nodes` from source address `idx % sources` (`TCP_NODELAY`), then
/// the WebSocket upgrade for `path` (with its query). No timeout: callers bound the whole
/// handshake.
pub async fn open(t: &Target, idx: usize, path: &str) -> Result<Ws, String> {
    let node = &t.nodes[idx % t.nodes.len()];
    let sock = if node.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {e}"))?;
    if !t.sources.is_empty() {
        let src = t.sources[idx % t.sources.len()];
        bind_address_no_port(&sock);
        sock.bind(SocketAddr::new(src, 0))
            .map_err(|e| format!("bind {src}: {e}"))?;
    }
    let stream = sock
        .connect(node.addr)
        .await
        .map_err(|e| format!("tcp connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let url = format!("ws://{}{path}", node.authority);
    let (ws, _resp) = tokio_tungstenite::client_async_with_config(url, stream, Some(t.config))
        .await
        .map_err(handshake_error)?;
    Ok(ws)
}

/// `open` with the token in the query, then wait for `hello`. Records connect->hello time.
pub async fn connect(t: &Target, idx: usize, token: &str) -> Result<(Ws, Hello), String> {
    let start = Instant::now();
    let fut = async {
        let mut ws = open(t, idx, &format!("/ws?access_token={token}")).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(s))) => {
                    let v: serde_json::Value = serde_json::from_str(s.as_str())
                        .map_err(|_| "first frame is not JSON".to_string())?;
                    if v["type"] != "hello" {
                        return Err(format!("first frame is {} (expected hello)", v["type"]));
                    }
                    if v["v"] != 1 {
                        return Err(format!("hello has v={} (expected 1)", v["v"]));
                    }
                    let user_id = v["user_id"].as_str().unwrap_or_default().to_string();
                    return Ok((ws, Hello { user_id }));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return Err(format!("before hello: {}", end_reason(other))),
            }
        }
    };
    let r = tokio::time::timeout(t.connect_timeout, fut)
        .await
        .map_err(|_| "timeout before hello".to_string())??;
    stats::rec(H::Connect, start.elapsed().as_nanos() as u64);
    Ok(r)
}

/// Polite close: send a close frame, give it a moment, drop.
pub async fn close(ws: &mut Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
}

pub async fn send_text(ws: &mut Ws, s: String) -> Result<(), String> {
    ws.send(Message::text(s))
        .await
        .map_err(|e| format!("send failed: {}", end_reason(Some(Err(e)))))
}

// ---------------------------------------------------------------------------------------------
// Frames out.

/// The text of a load message: `@t=<ns>;s=<sender conn>;r=<round>;` padded with `x` to `size`.
pub fn marker_text(t: u64, sender: usize, round: u32, size: usize) -> String {
    let mut text = format!("@t={t};s={sender};r={round};");
    if text.len() < size {
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// A `send` frame carrying `marker_text`. `id` is `s<ns>` so the ack's latency needs no lookup
/// table.
pub fn send_frame(
    chat_id: &str,
    client_id: &str,
    t: u64,
    sender: usize,
    round: u32,
    size: usize,
) -> String {
    let text = marker_text(t, sender, round, size);
    format!(
        r#"{{"v":1,"id":"s{t}","type":"send","chat_id":"{chat_id}","client_id":"{client_id}","content":{{"kind":"text","text":"{text}"}}}}"#
    )
}

// ---------------------------------------------------------------------------------------------
// Frames in. A JSON string never contains an unescaped `"`, so `"key":` found in the raw frame
// is a real key. The keys read here (`type`, `chat_id`, `seq`, `id`, `code`) occur once per
// frame in the frames they are read from (`event`, `sent`, `error`); `synced` is parsed fully.

fn after_key<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let i = s.find(key)?;
    Some(s[i + key.len()..].trim_start())
}

/// The string value of `key` (given as `"name":`).
pub fn field_str<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let rest = after_key(s, key)?.strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

pub fn field_u64(s: &str, key: &str) -> Option<u64> {
    let rest = after_key(s, key)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    pub t: u64,
    pub sender: usize,
    pub round: u32,
}

fn num_after<'a>(s: &'a str, prefix: &str) -> Option<(u64, &'a str)> {
    let rest = s.strip_prefix(prefix)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    Some((rest[..end].parse().ok()?, &rest[end..]))
}

pub fn marker(s: &str) -> Option<Marker> {
    let i = s.find("@t=")?;
    let (t, rest) = num_after(&s[i..], "@t=")?;
    let (sender, rest) = num_after(rest, ";s=")?;
    let (round, _) = num_after(rest, ";r=")?;
    Some(Marker {
        t,
        sender: sender as usize,
        round: round as u32,
    })
}

#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    Event {
        chat_id: &'a str,
        seq: u64,
        marker: Option<Marker>,
    },
    Sent {
        id_t: Option<u64>,
        chat_id: &'a str,
        seq: u64,
        duplicate: bool,
    },
    Error {
        id: Option<&'a str>,
        code: &'a str,
    },
    Synced,
    Other(&'a str),
}

pub fn classify(s: &str) -> Frame<'_> {
    match field_str(s, "\"type\":") {
        Some("event") => Frame::Event {
            chat_id: field_str(s, "\"chat_id\":").unwrap_or(""),
            seq: field_u64(s, "\"seq\":").unwrap_or(0),
            marker: marker(s),
        },
        Some("sent") => Frame::Sent {
            id_t: field_str(s, "\"id\":").and_then(|id| id.strip_prefix('s')?.parse().ok()),
            chat_id: field_str(s, "\"chat_id\":").unwrap_or(""),
            seq: field_u64(s, "\"seq\":").unwrap_or(0),
            duplicate: s.contains("\"duplicate\":true"),
        },
        Some("error") => Frame::Error {
            id: field_str(s, "\"id\":"),
            code: field_str(s, "\"code\":").unwrap_or("?"),
        },
        Some("synced") => Frame::Synced,
        Some(other) => Frame::Other(other),
        None => Frame::Other("?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_documented_frames() {
        let ev = r#"{"v":1,"type":"event","chat_id":"0192-a","seq":42,"sender":"0192-b","at":1795645141425,"kind":"message","client_id":"c-5f1e","content":{"kind":"text","text":"@t=123456;s=7;r=3;xxxx"}}"#;
        assert_eq!(
            classify(ev),
            Frame::Event {
                chat_id: "0192-a",
                seq: 42,
                marker: Some(Marker {
                    t: 123456,
                    sender: 7,
                    round: 3
                })
            }
        );
        let sent = r#"{"v":1,"type":"sent","id":"s99","chat_id":"c1","seq":4,"client_id":"x","at":1,"duplicate":false}"#;
        assert_eq!(
            classify(sent),
            Frame::Sent {
                id_t: Some(99),
                chat_id: "c1",
                seq: 4,
                duplicate: false
            }
        );
        let err =
            r#"{"v":1,"type":"error","id":"r7","code":"not_found","message":"chat not found"}"#;
        assert_eq!(
            classify(err),
            Frame::Error {
                id: Some("r7"),
                code: "not_found"
            }
        );
        let err_null = r#"{"v":1,"type":"error","id":null,"code":"malformed_json","message":"x"}"#;
        assert_eq!(
            classify(err_null),
            Frame::Error {
                id: None,
                code: "malformed_json"
            }
        );
        // Spaces after colons and other key orders are fine.
        let spaced = r#"{"seq": 5, "type": "event", "chat_id": "c", "content": {"kind":"text","text":"hi \"seq\": 9"}}"#;
        assert_eq!(
            classify(spaced),
            Frame::Event {
                chat_id: "c",
                seq: 5,
                marker: None
            }
        );
        let gc = r#"{"v":1,"type":"event","chat_id":"g","seq":1,"kind":"group_created","content":{"title":"t","members":["a"]}}"#;
        assert_eq!(
            classify(gc),
            Frame::Event {
                chat_id: "g",
                seq: 1,
                marker: None
            }
        );
    }

    #[test]
    fn send_frame_round_trips() {
        let f = send_frame("chat-1", "run-3-9", 555, 3, 12, 64);
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["type"], "send");
        assert_eq!(v["id"], "s555");
        assert_eq!(v["client_id"], "run-3-9");
        let text = v["content"]["text"].as_str().unwrap();
        assert_eq!(text.len(), 64);
        assert_eq!(
            marker(text),
            Some(Marker {
                t: 555,
                sender: 3,
                round: 12
            })
        );
    }
}
