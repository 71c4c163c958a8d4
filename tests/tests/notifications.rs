//! Notifications (docs/REST.md "Notifications"): the inbox provider, coalescing, mute, blocks,
//! group and reaction triggers, and the webhook provider delivering to a real HTTP listener.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_tests::ws::*;
use confab_tests::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Short coalescing window so tests run in about a second.
const COALESCE_MS: &str = "400";

fn server() -> Server {
    ws_server_with(&[("CONFAB_NOTIFICATIONS_COALESCE_MS", COALESCE_MS)])
}

fn inbox(s: &Server, who: &Account) -> Vec<Value> {
    let r = s.get("/api/notifications", Some(&who.access));
    r.expect(200);
    r.json["items"].as_array().cloned().unwrap_or_default()
}

/// Polls `who`'s inbox until it has at least `n` items (or 10 s pass).
fn wait_inbox(s: &Server, who: &Account, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let items = inbox(s, who);
        if items.len() >= n || Instant::now() > deadline {
            return items;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Long enough for a burst to have been flushed if one was going to be.
fn settle() {
    std::thread::sleep(Duration::from_millis(1500));
}

fn send_n(s: &Server, who: &Account, chat: &str, n: usize, tag: &str) {
    for i in 0..n {
        rest_send(s, who, chat, &format!("{tag}-{i}"), &format!("{tag} {i}")).expect(201);
    }
}

#[test]
fn offline_burst_becomes_one_notification_per_chat() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let direct = create_direct(&s, &a, &b.user_id);
    let family = create_group(&s, &a, "Family", &[&b.user_id, &c.user_id]);

    send_n(&s, &a, &direct, 5, "d");
    send_n(&s, &c, &family, 3, "g");
    let items = wait_inbox(&s, &b, 3);
    settle();
    let items = if items.len() == 3 {
        inbox(&s, &b)
    } else {
        items
    };
    // group_added (from the group's creation), the direct burst and the group burst.
    assert_eq!(items.len(), 3, "{items:?}");
    let of_kind = |chat: &str, kind: &str| {
        items
            .iter()
            .find(|n| n["chat_id"] == json!(chat) && n["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} for {chat}: {items:?}"))
    };
    let d = of_kind(&direct, "message");
    assert_eq!(d["count"], 5, "{d}");
    assert_eq!(d["title"], "alice", "{d}");
    assert_eq!(d["body"], "5 new messages from alice", "{d}");
    assert_eq!(d["actor_id"], json!(a.user_id), "{d}");
    assert!(d["read_at"].is_null(), "{d}");
    let g = of_kind(&family, "message");
    assert_eq!(g["count"], 3, "{g}");
    assert_eq!(g["title"], "Family", "{g}");
    assert_eq!(g["body"], "3 new messages in Family", "{g}");
    let added = of_kind(&family, "group_added");
    assert_eq!(added["body"], "alice added you", "{added}");
    // The sender gets nothing for their own messages (alice does hear of carol's).
    let alice = inbox(&s, &a);
    assert!(
        alice.iter().all(|n| n["chat_id"] != json!(direct)),
        "{alice:?}"
    );
    assert!(alice
        .iter()
        .any(|n| n["chat_id"] == json!(family) && n["count"] == 3));
}

#[test]
fn a_single_message_shows_its_text() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let direct = create_direct(&s, &a, &b.user_id);
    rest_send(&s, &a, &direct, "one", "see you at 8").expect(201);
    let items = wait_inbox(&s, &b, 1);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["body"], "see you at 8", "{items:?}");
    assert_eq!(items[0]["count"], 1, "{items:?}");
}

#[test]
fn a_recipient_with_a_live_session_is_not_notified() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let direct = create_direct(&s, &a, &b.user_id);
    let mut wb = connect_as(&s, &b);
    send_n(&s, &a, &direct, 2, "live");
    wb.next_event_in(&direct, Duration::from_secs(5));
    settle();
    assert!(inbox(&s, &b).is_empty(), "{:?}", inbox(&s, &b));
    drop(wb);
    // Gone offline: now it notifies.
    std::thread::sleep(Duration::from_millis(300));
    send_n(&s, &a, &direct, 1, "later");
    assert_eq!(wait_inbox(&s, &b, 1).len(), 1);
}

#[test]
fn mute_and_notification_level_silence_a_chat() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let direct = create_direct(&s, &a, &b.user_id);
    let prefs = |body: Value| {
        s.patch(
            &format!("/api/chats/{direct}/settings"),
            Some(&b.access),
            Some(body),
        )
        .expect(200);
    };
    prefs(json!({"mute": "always"}));
    send_n(&s, &a, &direct, 3, "muted");
    settle();
    assert!(inbox(&s, &b).is_empty(), "muted: {:?}", inbox(&s, &b));

    prefs(json!({"mute": "off", "notifications": "none"}));
    send_n(&s, &a, &direct, 1, "level");
    settle();
    assert!(inbox(&s, &b).is_empty(), "level none: {:?}", inbox(&s, &b));

    prefs(json!({"notifications": "all"}));
    send_n(&s, &a, &direct, 1, "on");
    let items = wait_inbox(&s, &b, 1);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["count"], 1, "only the unmuted message: {items:?}");
}

#[test]
fn messages_from_someone_i_blocked_do_not_notify_me() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "Club", &[&b.user_id, &c.user_id]);
    block(&s, &b, &a.user_id);
    let before_b = wait_inbox(&s, &b, 1).len();
    send_n(&s, &a, &g, 2, "blocked");
    assert_eq!(
        wait_inbox(&s, &c, 2).len(),
        2,
        "carol: added + messages {:?}",
        inbox(&s, &c)
    );
    settle();
    let b_items = inbox(&s, &b);
    assert_eq!(b_items.len(), before_b, "{b_items:?}");
    assert!(
        b_items.iter().all(|n| n["kind"] != "message"),
        "{b_items:?}"
    );
}

#[test]
fn made_admin_and_reactions_notify() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "Team", &[&b.user_id]);
    request(
        &s,
        "PUT",
        &format!("/api/chats/{g}/admins/{}", b.user_id),
        Some(&a.access),
        None,
    )
    .expect(200);
    let r = rest_send(&s, &b, &g, "m1", "ship it");
    r.expect(201);
    let seq = r.json["seq"].as_u64().unwrap();
    request(
        &s,
        "PUT",
        &format!("/api/messages/{g}/{seq}/reaction"),
        Some(&a.access),
        Some(json!({"emoji": "👍"})),
    )
    .expect(200);
    let items = wait_inbox(&s, &b, 3);
    let kinds: Vec<&str> = items.iter().filter_map(|n| n["kind"].as_str()).collect();
    assert!(kinds.contains(&"group_added"), "{items:?}");
    assert!(kinds.contains(&"group_admin"), "{items:?}");
    let reaction = items
        .iter()
        .find(|n| n["kind"] == "reaction")
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(
        reaction["body"], "alice reacted 👍 to your message",
        "{reaction}"
    );
    // The reactor is not notified of their own reaction.
    assert!(inbox(&s, &a).iter().all(|n| n["kind"] != "reaction"));
}

#[test]
fn inbox_pages_and_marks_read() {
    let s = server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    // Three groups: three group_added notifications for bob, at once.
    for t in ["g1", "g2", "g3"] {
        create_group(&s, &a, t, &[&b.user_id]);
        std::thread::sleep(Duration::from_millis(5));
    }
    let all = wait_inbox(&s, &b, 3);
    assert_eq!(all.len(), 3, "{all:?}");
    let titles: Vec<&str> = all.iter().filter_map(|n| n["title"].as_str()).collect();
    assert_eq!(titles, ["g3", "g2", "g1"], "newest first");

    let p1 = s.get("/api/notifications?limit=2", Some(&b.access));
    p1.expect(200);
    assert_eq!(p1.json["items"].as_array().unwrap().len(), 2, "{p1}");
    let next = p1.str("/next_before");
    let p2 = s.get(
        &format!("/api/notifications?limit=2&before={next}"),
        Some(&b.access),
    );
    p2.expect(200);
    assert_eq!(p2.json["items"][0]["title"], "g1", "{p2}");
    assert!(p2.json["next_before"].is_null(), "{p2}");

    let id = all[1]["id"].clone();
    let r = s.post(
        "/api/notifications/read",
        Some(&b.access),
        Some(json!({"ids": [id]})),
    );
    r.expect(200);
    assert_eq!(r.json["marked"], 1, "{r}");
    // Someone else's id marks nothing.
    let r = s.post(
        "/api/notifications/read",
        Some(&a.access),
        Some(json!({"ids": [all[0]["id"]]})),
    );
    assert_eq!(r.json["marked"], 0, "{r}");
    let now = inbox(&s, &b);
    assert!(
        now[1]["read_at"].is_i64() && now[0]["read_at"].is_null(),
        "{now:?}"
    );

    s.post(
        "/api/notifications/read",
        Some(&b.access),
        Some(json!({"all": true})),
    )
    .expect(200);
    assert!(inbox(&s, &b).iter().all(|n| n["read_at"].is_i64()));

    for bad in [
        json!({}),
        json!({"ids": [], "all": true}),
        json!({"ids": []}),
        json!({"all": 1}),
    ] {
        let r = s.post(
            "/api/notifications/read",
            Some(&b.access),
            Some(bad.clone()),
        );
        assert_eq!(r.status, 400, "{bad}: {r}");
    }
    let r = s.get("/api/notifications?limit=0", Some(&b.access));
    assert_eq!(r.status, 400, "{r}");
    let r = s.get("/api/notifications?before=nope", Some(&b.access));
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(s.get("/api/notifications", None).status, 401);
}

/// One HTTP request as the listener saw it.
#[derive(Debug, Clone)]
struct Hit {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP listener: answers the first `fail_first` requests 503, then 204.
fn webhook_listener(fail_first: usize) -> (String, Arc<Mutex<Vec<Hit>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/confab", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || !line.starts_with("POST /hooks/confab ") {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let n = {
                let mut all = seen.lock().unwrap();
                all.push(Hit { headers, body });
                all.len()
            };
            let status = if n <= fail_first {
                "503 Service Unavailable"
            } else {
                "204 No Content"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, hits)
}

#[test]
fn webhook_delivers_a_signed_notification_and_retries_failures() {
    let (url, hits) = webhook_listener(1);
    let secret = "a-test-secret-not-a-real-one";
    let s = ws_server_with(&[
        ("CONFAB_NOTIFICATIONS_COALESCE_MS", COALESCE_MS),
        ("CONFAB_NOTIFICATIONS_WEBHOOK_URL", &url),
        ("CONFAB_NOTIFICATIONS_WEBHOOK_SECRET", secret),
        ("CONFAB_NOTIFICATIONS_WEBHOOK_BACKOFF_MS", "100"),
    ]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let direct = create_direct(&s, &a, &b.user_id);
    send_n(&s, &a, &direct, 2, "hook");

    let deadline = Instant::now() + Duration::from_secs(10);
    while hits.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    settle();
    let hits = hits.lock().unwrap().clone();
    assert_eq!(
        hits.len(),
        2,
        "one 503, then one retry that succeeds: {hits:?}"
    );
    let (first, second) = (&hits[0], &hits[1]);
    assert_eq!(
        first.header("x-confab-notification-id"),
        second.header("x-confab-notification-id"),
        "a retry carries the same id"
    );
    assert_eq!(first.header("x-confab-attempt"), Some("1"));
    assert_eq!(second.header("x-confab-attempt"), Some("2"));
    assert_eq!(first.body, second.body);

    let body: Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(body["user_id"], json!(b.user_id), "{body}");
    assert_eq!(body["kind"], "message", "{body}");
    assert_eq!(body["count"], 2, "{body}");
    assert_eq!(body["chat_id"], json!(direct), "{body}");
    assert_eq!(
        second.header("x-confab-notification-id"),
        body["id"].as_str(),
        "{body}"
    );

    let ts = second.header("x-confab-timestamp").expect("timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&second.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        second.header("x-confab-signature"),
        Some(format!("v1={want}").as_str())
    );
    // The inbox provider ran too.
    assert_eq!(wait_inbox(&s, &b, 1).len(), 1);
}

#[test]
fn a_bad_webhook_url_is_refused_at_start() {
    let s = std::process::Command::new(confab_bin())
        .env(
            "CONFAB_NOTIFICATIONS_WEBHOOK_URL",
            "ftp://example.invalid/x",
        )
        .env("CONFAB_LISTEN", "127.0.0.1:0")
        .env("CONFAB_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!s.status.success());
    let err = String::from_utf8_lossy(&s.stderr);
    assert!(err.contains("notifications.webhook_url"), "{err}");
}
