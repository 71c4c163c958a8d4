//! WebSocket protocol v1 heartbeats: the server pings every `heartbeat_secs` (20); a client that
//! answers (standard clients pong automatically) stays connected; one that sends nothing at all
//! for 60 s is closed with 4002. Takes about 75 s.

use std::time::{Duration, Instant};

use confab_tests::ws::*;
use confab_tests::*;

#[test]
fn heartbeat_pings_keep_a_live_client_and_drop_a_silent_one_with_4002() {
    let s = ws_server();
    let a = register_account(&s, "lively");
    let b = register_account(&s, "silent");
    let mut live = connect_as(&s, &a);
    let mut silent = connect_as(&s, &b);
    let t0 = Instant::now();

    // The live client only reads (its library answers pings); it never sends a frame itself.
    let mut got_frames = Vec::new();
    while t0.elapsed() < Duration::from_secs(75) {
        if let Some(f) = live.next_frame(Duration::from_secs(1)) {
            got_frames.push(f);
        }
        if live.closed().is_some() {
            live.fail("the live client (answering pings) was disconnected");
        }
    }
    assert!(got_frames.is_empty(), "no frames expected: {got_frames:?}");
    let pings = live.pings_seen();
    assert!(
        (2..=6).contains(&pings),
        "about one ping per 20 s over 75 s expected, saw {pings}"
    );
    live.assert_ping();

    // The silent one never read, so it never answered a ping: closed with 4002.
    let (frames, closed) = silent.read_until_closed(Duration::from_secs(10));
    assert_eq!(
        closed.as_ref().and_then(Closed::code),
        Some(4002),
        "no frame (nor pong) for 60 s: expected close 4002, got {closed:?}, frames {frames:?}\n{}",
        silent.transcript_tail(10)
    );
}
