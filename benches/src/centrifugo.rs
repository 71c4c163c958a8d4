//! The Centrifugo side of `fanout --server centrifugo` (benches/compare_centrifugo.sh): the same
//! sockets, pacing and bookkeeping as for Confab, spoken in Centrifugo's bidirectional JSON
//! client protocol (v2, the only one Centrifugo v6 speaks) over `/connection/websocket`.
//!
//! - Auth: an HS256 JWT (`sub`, `exp`) minted here with the server's `client.token.hmac_secret_key`.
//! - Handshake: one text frame with two commands, newline-separated:
//!   `{"id":1,"connect":{"token":"<jwt>"}}` and `{"id":2,"subscribe":{"channel":"chat:<room>"}}`;
//!   both replies (`{"id":1,"connect":{...}}`, `{"id":2,"subscribe":{...}}`) must come back
//!   without `error`.
//! - Send: `{"id":N,"publish":{"channel":"chat:<room>","data":{"text":"<marker text>"}}}`; the
//!   reply `{"id":N,"publish":{}}` is the ack (its latency is send -> reply).
//! - Receive: `{"push":{"channel":"chat:<room>","pub":{"data":{"text":"..."},"info":{...},
//!   "offset":K}}}`, to every subscriber, the sender included (its own copy counts as an echo).
//!   With history on, `offset` is the channel's sequence (1, 2, ... in a fresh channel): gaps and
//!   duplicates are checked as for Confab's `seq`.
//! - Several replies/pushes may share one WebSocket frame, one JSON object per line.
//! - Server pings are `{}` (every `client.ping_interval`); the client answers `{}`.

use std::collections::VecDeque;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::{self, H};
use crate::ws::{self, field_str, field_u64, marker, Marker, Target, Ws};

/// The WebSocket endpoint of Centrifugo's bidirectional transport.
pub const PATH: &str = "/connection/websocket";

/// An HS256 JWT `{"sub":sub,"exp":exp}` signed with `secret` (`sub`: no quotes or backslashes).
pub fn jwt_hs256(secret: &[u8], sub: &str, exp: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = format!(r#"{{"sub":"{sub}","exp":{exp}}}"#);
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// One line of a frame from the server, reduced to what the load generator needs.
#[derive(Debug, PartialEq)]
pub enum Msg<'a> {
    /// A publication pushed to a subscription.
    Pub {
        channel: &'a str,
        offset: u64,
        marker: Option<Marker>,
    },
    /// The reply to command `id`; `error` is its error code, if any.
    Reply { id: u64, error: Option<u64> },
    /// A server ping (`{}`): answer with `{}`.
    Ping,
    /// Anything else (other pushes: join/leave, unsubscribe, disconnect, ...).
    Other,
}

/// Every JSON object in a frame (one per line). Keys are found in the raw text as in
/// `ws::classify`: the data we publish is our marker text, which contains no quotes or keys.
pub fn parse(frame: &str, mut f: impl FnMut(Msg)) {
    for line in frame.split('\n') {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        f(parse_line(line));
    }
}

fn parse_line(s: &str) -> Msg<'_> {
    if s == "{}" {
        return Msg::Ping;
    }
    if s.starts_with(r#"{"push":"#) {
        if !s.contains(r#""pub":"#) {
            return Msg::Other;
        }
        return Msg::Pub {
            channel: field_str(s, r#""channel":"#).unwrap_or(""),
            offset: field_u64(s, r#""offset":"#).unwrap_or(0),
            marker: marker(s),
        };
    }
    match field_u64(s, r#""id":"#) {
        Some(id) => {
            let error = s
                .find(r#""error":"#)
                .map(|i| field_u64(&s[i..], r#""code":"#).unwrap_or(0));
            Msg::Reply { id, error }
        }
        None => Msg::Other,
    }
}

/// Connect (source address, TCP, upgrade), authenticate and subscribe to `channel`; returns
/// once both replies arrived. Records TCP connect -> subscribed under `connect_to_hello`.
pub async fn connect(t: &Target, idx: usize, token: &str, channel: &str) -> Result<Ws, String> {
    let start = Instant::now();
    let fut = async {
        let mut ws = ws::open(t, idx, PATH).await?;
        let hello = format!(
            "{{\"id\":1,\"connect\":{{\"token\":\"{token}\"}}}}\n{{\"id\":2,\"subscribe\":{{\"channel\":\"{channel}\"}}}}"
        );
        ws::send_text(&mut ws, hello).await?;
        let (mut connected, mut subscribed) = (false, false);
        while !(connected && subscribed) {
            let txt = match ws.next().await {
                Some(Ok(Message::Text(s))) => s,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return Err(format!("before subscribed: {}", ws::end_reason(other))),
            };
            let mut err = None;
            parse(txt.as_str(), |m| match m {
                Msg::Reply {
                    id,
                    error: Some(code),
                } => {
                    err = Some(format!(
                        "{} refused: code {code}",
                        if id == 1 { "connect" } else { "subscribe" }
                    ));
                }
                Msg::Reply { id: 1, .. } => connected = true,
                Msg::Reply { id: 2, .. } => subscribed = true,
                _ => {}
            });
            if let Some(e) = err {
                return Err(e);
            }
        }
        Ok(ws)
    };
    let ws = tokio::time::timeout(t.connect_timeout, fut)
        .await
        .map_err(|_| "timeout before subscribed".to_string())??;
    stats::rec(H::Connect, start.elapsed().as_nanos() as u64);
    Ok(ws)
}

/// One connection's publishing state: command ids and the send time of each unanswered publish
/// (Centrifugo answers one connection's commands in order).
pub struct Session {
    channel: std::sync::Arc<str>,
    next_id: u64,
    pending: VecDeque<(u64, u64)>,
}

impl Session {
    pub fn new(channel: std::sync::Arc<str>) -> Session {
        Session {
            channel,
            next_id: 3, // 1 and 2: connect and subscribe
            pending: VecDeque::new(),
        }
    }

    /// A publish command carrying `ws::marker_text(t, sender, 0, size)`.
    pub fn publish(&mut self, t: u64, sender: usize, size: usize) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push_back((id, t));
        let text = ws::marker_text(t, sender, 0, size);
        format!(
            "{{\"id\":{id},\"publish\":{{\"channel\":\"{}\",\"data\":{{\"text\":\"{text}\"}}}}}}",
            self.channel
        )
    }

    /// The reply to command `id` arrived: the send time of that publish, if it was one.
    pub fn answered(&mut self, id: u64) -> Option<u64> {
        while let Some(&(pid, t)) = self.pending.front() {
            if pid > id {
                break;
            }
            self.pending.pop_front();
            if pid == id {
                return Some(t);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_matches_a_reference() {
        // python3: hmac.new(b"secret", b"<header>.<claims>", hashlib.sha256), base64url, no pad,
        // claims {"sub":"u1","exp":2000000000}.
        let t = jwt_hs256(b"secret", "u1", 2000000000);
        assert_eq!(
            t,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsImV4cCI6MjAwMDAwMDAwMH0.\
             tZtrWifTYBtxjvIlfXC06lzMHyf_p6bwL_Z82AUTYtM"
        );
    }

    #[test]
    fn parses_replies_pushes_and_pings() {
        let frame = "{\"id\":1,\"connect\":{\"client\":\"c\",\"version\":\"0.0.0\",\"ping\":120,\"pong\":true}}\n\
                     {\"id\":2,\"subscribe\":{}}\n\
                     {\"push\":{\"channel\":\"chat:r-1\",\"pub\":{\"data\":{\"text\":\"@t=77;s=4;r=0;xx\"},\"info\":{\"user\":\"u4\",\"client\":\"c\"},\"offset\":9}}}\n\
                     {\"id\":5,\"error\":{\"code\":103,\"message\":\"permission denied\"}}\n\
                     {}";
        let mut got = Vec::new();
        parse(frame, |m| got.push(format!("{m:?}")));
        assert_eq!(
            got,
            vec![
                "Reply { id: 1, error: None }",
                "Reply { id: 2, error: None }",
                "Pub { channel: \"chat:r-1\", offset: 9, marker: Some(Marker { t: 77, sender: 4, round: 0 }) }",
                "Reply { id: 5, error: Some(103) }",
                "Ping",
            ]
        );
        assert_eq!(
            parse_line(r#"{"push":{"channel":"chat:x","leave":{}}}"#),
            Msg::Other
        );
    }

    #[test]
    fn publish_and_answers() {
        let mut s = Session::new("chat:a".into());
        let p = s.publish(5, 2, 32);
        let v: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(v["id"], 3);
        assert_eq!(v["publish"]["channel"], "chat:a");
        let text = v["publish"]["data"]["text"].as_str().unwrap();
        assert_eq!(text.len(), 32);
        assert_eq!(marker(text).unwrap().t, 5);
        s.publish(6, 2, 32);
        s.publish(7, 2, 32);
        assert_eq!(s.answered(2), None);
        assert_eq!(s.answered(4), Some(6)); // 3 never answered: dropped
        assert_eq!(s.answered(3), None);
        assert_eq!(s.answered(5), Some(7));
    }
}
