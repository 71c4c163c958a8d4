//! Message actions (docs/REST.md "Messages", docs/PROTOCOL.md "Message actions" and
//! "Reconnect and sync"): replies, edits, deletes (for everyone and for me), reactions,
//! forwards, stars, and the WebSocket frames for them.

use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn send_reply(s: &Server, who: &Account, chat: &str, cid: &str, txt: &str, reply_to: u64) -> Resp {
    s.post(
        "/api/messages",
        Some(&who.access),
        Some(
            json!({"chat_id": chat, "client_id": cid, "content": text(txt), "reply_to": reply_to}),
        ),
    )
}

fn edit(s: &Server, who: &Account, chat: &str, seq: u64, txt: &str) -> Resp {
    s.patch(
        &format!("/api/messages/{chat}/{seq}"),
        Some(&who.access),
        Some(json!({"content": text(txt)})),
    )
}

fn del(s: &Server, who: &Account, chat: &str, seq: u64) -> Resp {
    s.delete(&format!("/api/messages/{chat}/{seq}"), Some(&who.access))
}

fn react(s: &Server, who: &Account, chat: &str, seq: u64, emoji: &str) -> Resp {
    put(
        s,
        &format!("/api/messages/{chat}/{seq}/reaction"),
        &who.access,
        Some(json!({"emoji": emoji})),
    )
}

fn forward(s: &Server, who: &Account, chat: &str, seq: u64, to: &[&str], cid: &str) -> Resp {
    s.post(
        "/api/messages/forward",
        Some(&who.access),
        Some(json!({"chat_id": chat, "seq": seq, "to": to, "client_id": cid})),
    )
}

/// The forward result for `chat` in a `{"results": [...]}` answer.
#[track_caller]
fn result_for(results: &Value, chat: &str) -> Value {
    results
        .as_array()
        .unwrap_or_else(|| panic!("results must be an array: {results}"))
        .iter()
        .find(|r| r["chat_id"] == json!(chat))
        .cloned()
        .unwrap_or_else(|| panic!("no result for {chat}: {results}"))
}

/// Forward and return the new seq in `to` (a single target).
#[track_caller]
fn forward_one(s: &Server, who: &Account, chat: &str, seq: u64, to: &str, cid: &str) -> u64 {
    let r = forward(s, who, chat, seq, &[to], cid);
    r.expect(200);
    let res = result_for(&r.json["results"], to);
    res["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("forward to {to} failed: {r}"))
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

/// A reply quotes `{seq, sender, preview}`; once the quoted message is deleted for everyone,
/// it quotes `{seq, deleted: true}` without a preview.
#[test]
fn reply_quotes_and_shows_deleted_quote() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let q = send_seq(&s, &a, &chat, "q", "hello there");

    let r = send_reply(&s, &b, &chat, "reply", "general kenobi", q);
    r.expect(201);
    let rs = r.json["seq"].as_u64().unwrap();
    let ev = event_at(&s, &a.access, &chat, rs);
    assert_eq!(ev["kind"], "message", "{ev}");
    assert_eq!(ev["content"]["text"], "general kenobi", "{ev}");
    let rt = &ev["content"]["reply_to"];
    assert_eq!(rt["seq"], json!(q), "{ev}");
    assert_eq!(rt["sender"], json!(a.user_id), "{ev}");
    assert_eq!(rt["preview"], "hello there", "{ev}");
    assert!(rt.get("deleted").is_none_or(|d| d == false), "{ev}");

    change_seq(&del(&s, &a, &chat, q), &chat);
    let ev = event_at(&s, &b.access, &chat, rs);
    let rt = &ev["content"]["reply_to"];
    assert_eq!(rt["seq"], json!(q), "{ev}");
    assert_eq!(rt["deleted"], true, "{ev}");
    assert!(
        rt.get("preview").is_none(),
        "no preview of a deleted message: {ev}"
    );
    assert_eq!(
        ev["content"]["text"], "general kenobi",
        "the reply itself stays: {ev}"
    );
}

#[test]
fn reply_to_a_deleted_message_is_422() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let q = send_seq(&s, &a, &chat, "q", "oops");
    change_seq(&del(&s, &a, &chat, q), &chat);
    let n = full_history(&s, &a.access, &chat).len();
    let r = send_reply(&s, &b, &chat, "reply", "to what?", q);
    assert_error(&r, 422, "unprocessable");
    assert_eq!(
        full_history(&s, &a.access, &chat).len(),
        n,
        "nothing stored"
    );
}

// ---------------------------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------------------------

/// Editing my message: an `edit` event `{target, text}` live; history shows the new text and
/// `edited_at`.
#[test]
fn edit_own_message() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wb = connect_as(&s, &b);
    let m = send_seq(&s, &a, &chat, "m", "teh typo");
    wait_kind(&mut wb, &chat, "message");

    let t0 = now_ms();
    let r = edit(&s, &a, &chat, m, "the typo");
    let e = change_seq(&r, &chat);
    assert_eq!(e, m + 1, "{r}");
    let ev = wait_kind(&mut wb, &chat, "edit");
    assert_eq!(ev["seq"], json!(e), "{ev}");
    assert_eq!(ev["sender"], json!(a.user_id), "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");
    assert_eq!(ev["content"]["text"], "the typo", "{ev}");

    let msg = event_at(&s, &b.access, &chat, m);
    assert_eq!(msg["kind"], "message", "{msg}");
    assert_eq!(msg["content"]["kind"], "text", "{msg}");
    assert_eq!(msg["content"]["text"], "the typo", "{msg}");
    let edited_at = msg["content"]["edited_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("edited_at must be set: {msg}"));
    assert!((edited_at - t0).abs() < 60_000, "edited_at near now: {msg}");
}

#[test]
fn editing_someone_elses_message_is_403() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = send_seq(&s, &a, &chat, "m", "mine");
    assert_error(&edit(&s, &b, &chat, m, "yours now"), 403, "forbidden");
    let msg = event_at(&s, &a.access, &chat, m);
    assert_eq!(msg["content"], text("mine"), "{msg}");
}

#[test]
fn editing_after_the_window_is_403() {
    let s = ws_server_with(&[("CONFAB_CHAT_EDIT_WINDOW_SECS", "2")]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = send_seq(&s, &a, &chat, "m", "old words");
    std::thread::sleep(Duration::from_secs(3));
    assert_error(&edit(&s, &a, &chat, m, "new words"), 403, "forbidden");
    let msg = event_at(&s, &a.access, &chat, m);
    assert_eq!(msg["content"], text("old words"), "{msg}");
}

#[test]
fn editing_a_deleted_message_is_422() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = send_seq(&s, &a, &chat, "m", "gone soon");
    change_seq(&del(&s, &a, &chat, m), &chat);
    assert_error(&edit(&s, &a, &chat, m, "back?"), 422, "unprocessable");
}

// ---------------------------------------------------------------------------------------------
// Delete for everyone
// ---------------------------------------------------------------------------------------------

/// The sender deletes for everyone: the message becomes `{"kind":"deleted"}`, its edits lose
/// their text, its reactions go; a `delete` event `{target}` arrives live.
#[test]
fn delete_for_everyone_by_sender() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wb = connect_as(&s, &b);
    let m = send_seq(&s, &a, &chat, "m", "regrettable");
    let e = change_seq(&edit(&s, &a, &chat, m, "very regrettable"), &chat);
    change_seq(&react(&s, &b, &chat, m, "😮"), &chat);
    let msg = event_at(&s, &a.access, &chat, m);
    assert_eq!(msg["content"]["reactions"][&b.user_id], "😮", "{msg}");

    let d = change_seq(&del(&s, &a, &chat, m), &chat);
    let ev = wait_kind(&mut wb, &chat, "delete");
    assert_eq!(ev["seq"], json!(d), "{ev}");
    assert_eq!(ev["sender"], json!(a.user_id), "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");

    for who in [&a, &b] {
        let msg = event_at(&s, &who.access, &chat, m);
        assert_eq!(msg["kind"], "message", "{msg}");
        assert_eq!(msg["content"], json!({"kind": "deleted"}), "{msg}");
        let ed = event_at(&s, &who.access, &chat, e);
        assert_eq!(ed["kind"], "edit", "{ed}");
        assert!(
            ed["content"].get("text").is_none(),
            "the edit of a deleted message must lose its text: {ed}"
        );
    }
    // The deleted text is nowhere in the history.
    let all = serde_json::to_string(&full_history(&s, &b.access, &chat)).unwrap();
    assert!(
        !all.contains("regrettable"),
        "deleted text still in history: {all}"
    );
}

#[test]
fn delete_for_everyone_after_the_window_by_sender_is_403() {
    let s = ws_server_with(&[("CONFAB_CHAT_DELETE_WINDOW_SECS", "2")]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = send_seq(&s, &a, &chat, "m", "too late to take back");
    std::thread::sleep(Duration::from_secs(3));
    assert_error(&del(&s, &a, &chat, m), 403, "forbidden");
    let msg = event_at(&s, &b.access, &chat, m);
    assert_eq!(msg["content"], text("too late to take back"), "{msg}");
}

/// A group admin deletes another member's message, also after the sender's window.
#[test]
fn group_admin_deletes_members_old_message() {
    let s = ws_server_with(&[("CONFAB_CHAT_DELETE_WINDOW_SECS", "2")]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let m = send_seq(&s, &b, &g, "m", "spam spam spam");
    std::thread::sleep(Duration::from_secs(3));
    let d = change_seq(&del(&s, &a, &g, m), &g);
    let ev = event_at(&s, &b.access, &g, d);
    assert_eq!(ev["kind"], "delete", "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");
    let msg = event_at(&s, &b.access, &g, m);
    assert_eq!(msg["content"], json!({"kind": "deleted"}), "{msg}");
}

#[test]
fn non_admin_cannot_delete_anothers_message() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    let m = send_seq(&s, &b, &g, "m", "bob's words");
    assert_error(&del(&s, &c, &g, m), 403, "forbidden");
    // Nor in a 1:1 chat.
    let d = create_direct(&s, &a, &b.user_id);
    let m2 = send_seq(&s, &a, &d, "m2", "alice's words");
    assert_error(&del(&s, &b, &d, m2), 403, "forbidden");
    assert_eq!(
        event_at(&s, &a.access, &g, m)["content"],
        text("bob's words")
    );
    assert_eq!(
        event_at(&s, &a.access, &d, m2)["content"],
        text("alice's words")
    );
}

// ---------------------------------------------------------------------------------------------
// Reactions
// ---------------------------------------------------------------------------------------------

/// Set, replace (one per user), remove; history aggregates by user; events arrive live.
#[test]
fn reactions_set_replace_remove() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    let mut wa = connect_as(&s, &a);
    let m = send_seq(&s, &a, &g, "m", "react to me");

    let r1 = change_seq(&react(&s, &b, &g, m, "👍"), &g);
    let ev = wait_kind(&mut wa, &g, "reaction");
    assert_eq!(ev["seq"], json!(r1), "{ev}");
    assert_eq!(ev["sender"], json!(b.user_id), "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");
    assert_eq!(ev["content"]["emoji"], "👍", "{ev}");

    change_seq(&react(&s, &c, &g, m, "❤️"), &g);
    let msg = event_at(&s, &a.access, &g, m);
    assert_eq!(
        msg["content"]["reactions"],
        json!({b.user_id.clone(): "👍", c.user_id.clone(): "❤️"}),
        "{msg}"
    );

    // Replace: still one per user.
    let r3 = change_seq(&react(&s, &b, &g, m, "😂"), &g);
    let ev = wa.next_where("replacing reaction", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(r3)
    });
    assert_eq!(ev["kind"], "reaction", "{ev}");
    assert_eq!(ev["sender"], json!(b.user_id), "{ev}");
    assert_eq!(ev["content"]["emoji"], "😂", "{ev}");
    let msg = event_at(&s, &c.access, &g, m);
    assert_eq!(
        msg["content"]["reactions"],
        json!({b.user_id.clone(): "😂", c.user_id.clone(): "❤️"}),
        "{msg}"
    );

    // Remove mine.
    let r = s.delete(&format!("/api/messages/{g}/{m}/reaction"), Some(&b.access));
    let r4 = change_seq(&r, &g);
    let ev = wa.next_where("reaction removal", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(r4)
    });
    assert_eq!(ev["kind"], "reaction", "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");
    assert!(ev["content"]["emoji"].is_null(), "{ev}");
    assert!(
        ev["content"].get("emoji").is_some(),
        "emoji: null must be present: {ev}"
    );
    let msg = event_at(&s, &b.access, &g, m);
    assert_eq!(
        msg["content"]["reactions"],
        json!({c.user_id.clone(): "❤️"}),
        "{msg}"
    );
    assert_eq!(msg["content"]["text"], "react to me", "{msg}");
}

// ---------------------------------------------------------------------------------------------
// Forwarding
// ---------------------------------------------------------------------------------------------

/// Forward to two chats: copies with `forwarded: 1`; forwarding a copy counts hops;
/// `forwarded_many` from 5 hops.
#[test]
fn forward_counts_hops() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let ab = create_direct(&s, &a, &b.user_id);
    let ac = create_direct(&s, &a, &c.user_id);
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    let m = send_seq(&s, &b, &ab, "orig", "pass it on");

    let r = forward(&s, &a, &ab, m, &[&ac, &g], "fw-1");
    r.expect(200);
    let results = r.json["results"].clone();
    assert_eq!(results.as_array().map(Vec::len), Some(2), "{r}");
    let mut hop_chat = ac.clone();
    let mut hop_seq = 0;
    for target in [&ac, &g] {
        let res = result_for(&results, target);
        let seq = res["seq"].as_u64().unwrap_or_else(|| panic!("{r}"));
        assert!(res.get("error").is_none_or(Value::is_null), "{r}");
        let copy = event_at(&s, &c.access, target, seq);
        assert_eq!(copy["kind"], "message", "{copy}");
        assert_eq!(
            copy["sender"],
            json!(a.user_id),
            "the forwarder sends the copy: {copy}"
        );
        assert_eq!(copy["content"]["text"], "pass it on", "{copy}");
        assert_eq!(copy["content"]["forwarded"], 1, "{copy}");
        assert!(
            copy["content"]
                .get("forwarded_many")
                .is_none_or(|v| v == false),
            "{copy}"
        );
        if target == &ac {
            hop_seq = seq;
        }
    }
    // The original is no forward.
    let orig = event_at(&s, &a.access, &ab, m);
    assert!(
        orig["content"].get("forwarded").is_none_or(Value::is_null),
        "{orig}"
    );

    // Chain: ac -> g -> ac -> g -> ac gives hops 2, 3, 4, 5.
    for hops in 2..=5u64 {
        let to = if hop_chat == ac {
            g.clone()
        } else {
            ac.clone()
        };
        let seq = forward_one(&s, &a, &hop_chat, hop_seq, &to, &format!("fw-hop-{hops}"));
        let copy = event_at(&s, &a.access, &to, seq);
        assert_eq!(copy["content"]["text"], "pass it on", "{copy}");
        assert_eq!(
            copy["content"]["forwarded"],
            json!(hops),
            "hop {hops}: {copy}"
        );
        if hops >= 5 {
            assert_eq!(
                copy["content"]["forwarded_many"], true,
                "hop {hops}: {copy}"
            );
        } else {
            assert!(
                copy["content"]
                    .get("forwarded_many")
                    .is_none_or(|v| v == false),
                "hop {hops}: {copy}"
            );
        }
        hop_chat = to;
        hop_seq = seq;
    }
}

/// A target I am not in gives an error entry; the other target still gets its copy.
#[test]
fn forward_to_chat_i_am_not_in_is_an_error_entry() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let ab = create_direct(&s, &a, &b.user_id);
    let ac = create_direct(&s, &a, &c.user_id);
    let bc = create_direct(&s, &b, &c.user_id);
    let m = send_seq(&s, &a, &ab, "m", "share");
    let before = full_history(&s, &b.access, &bc).len();

    let r = forward(&s, &a, &ab, m, &[&bc, &ac], "fw");
    r.expect(200);
    let bad = result_for(&r.json["results"], &bc);
    assert_eq!(bad["error"], "not_found", "{r}");
    assert!(bad.get("seq").is_none_or(Value::is_null), "{r}");
    let good = result_for(&r.json["results"], &ac);
    let seq = good["seq"].as_u64().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(
        event_at(&s, &c.access, &ac, seq)["content"]["text"],
        "share"
    );
    assert_eq!(
        full_history(&s, &b.access, &bc).len(),
        before,
        "nothing in bc"
    );
}

/// Retrying a forward with the same `client_id` does not duplicate.
#[test]
fn forward_retry_does_not_duplicate() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let ab = create_direct(&s, &a, &b.user_id);
    let ac = create_direct(&s, &a, &c.user_id);
    let m = send_seq(&s, &a, &ab, "m", "once only");

    let r1 = forward(&s, &a, &ab, m, &[&ac], "fw-retry");
    r1.expect(200);
    let n = full_history(&s, &a.access, &ac).len();
    let r2 = forward(&s, &a, &ab, m, &[&ac], "fw-retry");
    r2.expect(200);
    assert_eq!(
        result_for(&r1.json["results"], &ac)["seq"],
        result_for(&r2.json["results"], &ac)["seq"],
        "the retry answers the original seq: {r1} / {r2}"
    );
    assert_eq!(
        full_history(&s, &a.access, &ac).len(),
        n,
        "no duplicate copy"
    );
    assert_eq!(n, 1);
}

// ---------------------------------------------------------------------------------------------
// Delete for me
// ---------------------------------------------------------------------------------------------

/// Hidden for me (kind `hidden`, content null) on every device of mine; the other member still
/// sees the message.
#[test]
fn delete_for_me() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let a2 = login_account(&s, &a.username, PASSWORD);
    let mut wa1 = connect_as(&s, &a);
    let mut wa2 = connect_as(&s, &a2);
    let mut wb = connect_as(&s, &b);
    let m = send_seq(&s, &b, &chat, "m", "for your eyes");
    let m2 = send_seq(&s, &b, &chat, "m2", "keep this");

    let r = s.post(
        &format!("/api/messages/{chat}/hide"),
        Some(&a.access),
        Some(json!({"seqs": [m]})),
    );
    r.expect(204);
    for w in [&mut wa1, &mut wa2] {
        let f = w.next_of("hidden", TIMEOUT);
        assert_eq!(f["chat_id"], json!(chat), "[{}] {f}", w.name);
        assert_eq!(f["seqs"], json!([m]), "[{}] {f}", w.name);
    }
    wb.expect_no_frame("hidden", Duration::from_millis(300));

    let mine = event_at(&s, &a.access, &chat, m);
    assert_eq!(mine["kind"], "hidden", "{mine}");
    assert!(mine["content"].is_null(), "{mine}");
    assert!(
        mine.get("content").is_some(),
        "content: null must be present: {mine}"
    );
    assert_eq!(
        event_at(&s, &a.access, &chat, m2)["content"],
        text("keep this")
    );
    let theirs = event_at(&s, &b.access, &chat, m);
    assert_eq!(theirs["kind"], "message", "{theirs}");
    assert_eq!(theirs["content"], text("for your eyes"), "{theirs}");

    // Also in my sync.
    let mut wa3 = connect_as(&s, &a);
    let (frames, ans) =
        wa3.request_collect("sync", json!({"chats": [{"chat_id": chat, "last_seq": 0}]}));
    assert_eq!(ans["type"], "synced", "{ans}");
    let ev = frames
        .iter()
        .find(|f| f["type"] == "event" && f["seq"] == json!(m))
        .unwrap_or_else(|| panic!("sync lacks seq {m}: {frames:?}"));
    assert_eq!(ev["kind"], "hidden", "{ev}");
    assert!(ev["content"].is_null(), "{ev}");
}

// ---------------------------------------------------------------------------------------------
// Stars
// ---------------------------------------------------------------------------------------------

#[test]
fn stars_list_newest_first_and_unstar() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let ab = create_direct(&s, &a, &b.user_id);
    let ac = create_direct(&s, &a, &c.user_id);
    let bc = create_direct(&s, &b, &c.user_id);
    let m1 = send_seq(&s, &b, &ab, "m1", "first");
    let m2 = send_seq(&s, &a, &ac, "m2", "second");
    let m3 = send_seq(&s, &a, &ab, "m3", "third");

    // Star in an order that is neither by seq nor by chat.
    put(
        &s,
        &format!("/api/messages/{ab}/{m3}/star"),
        &a.access,
        None,
    )
    .expect(201);
    put(
        &s,
        &format!("/api/messages/{ac}/{m2}/star"),
        &a.access,
        None,
    )
    .expect(201);
    put(
        &s,
        &format!("/api/messages/{ab}/{m1}/star"),
        &a.access,
        None,
    )
    .expect(201);
    put(
        &s,
        &format!("/api/messages/{ab}/{m1}/star"),
        &a.access,
        None,
    )
    .expect(200);

    let r = s.get("/api/users/me/starred", Some(&a.access));
    r.expect(200);
    let got: Vec<(Value, Value)> = r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| (e["chat_id"].clone(), e["seq"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!(ab), json!(m1)),
            (json!(ac), json!(m2)),
            (json!(ab), json!(m3))
        ],
        "newest star first: {r}"
    );
    assert_eq!(r.json["items"][0]["content"]["text"], "first", "{r}");

    // "As they are now": an edit shows.
    change_seq(&edit(&s, &a, &ac, m2, "second, edited"), &ac);
    let r = s.get("/api/users/me/starred", Some(&a.access));
    assert_eq!(
        r.json["items"][1]["content"]["text"], "second, edited",
        "{r}"
    );

    // Unstar.
    s.delete(&format!("/api/messages/{ab}/{m1}/star"), Some(&a.access))
        .expect(204);
    assert_error(
        &s.delete(&format!("/api/messages/{ab}/{m1}/star"), Some(&a.access)),
        404,
        "not_found",
    );
    let r = s.get("/api/users/me/starred", Some(&a.access));
    let seqs: Vec<Value> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].clone())
        .collect();
    assert_eq!(seqs, vec![json!(m2), json!(m3)], "{r}");

    // Pages.
    let pages = collect_pages(&s, "/api/users/me/starred", &a.access, 1);
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 2, "{pages:?}");

    // Starring a message of a chat I am not in.
    let x = send_seq(&s, &b, &bc, "x", "private");
    assert_error(
        &put(&s, &format!("/api/messages/{bc}/{x}/star"), &a.access, None),
        404,
        "not_found",
    );
    // Or a message that does not exist.
    assert_error(
        &put(&s, &format!("/api/messages/{ab}/999/star"), &a.access, None),
        404,
        "not_found",
    );
    // Bob's stars are his own.
    let r = s.get("/api/users/me/starred", Some(&b.access));
    assert_eq!(r.json["items"], json!([]), "{r}");
}

// ---------------------------------------------------------------------------------------------
// WebSocket frames
// ---------------------------------------------------------------------------------------------

/// edit / delete / react / forward / delete-for-me over the WebSocket get their typed answers.
#[test]
fn ws_message_action_answers() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let ab = create_direct(&s, &a, &b.user_id);
    let ac = create_direct(&s, &a, &c.user_id);
    let bc = create_direct(&s, &b, &c.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);

    let m = wa.send_ok(&ab, "m1", "first draft")["seq"]
        .as_u64()
        .unwrap();
    // Reply over WS.
    let ack = wb.request_ok(
        "send",
        json!({"chat_id": ab, "client_id": "r1", "content": text("a reply"), "reply_to": m}),
        "sent",
    );
    let reply = ack["seq"].as_u64().unwrap();
    let ev = wa.next_where("reply event", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(reply)
    });
    assert_eq!(ev["content"]["reply_to"]["seq"], json!(m), "{ev}");
    assert_eq!(
        ev["content"]["reply_to"]["sender"],
        json!(a.user_id),
        "{ev}"
    );

    // edit -> sent with the edit event's seq.
    let ack = wa.request_ok(
        "edit",
        json!({"chat_id": ab, "seq": m, "content": text("final draft")}),
        "sent",
    );
    let e = ack["seq"].as_u64().unwrap_or_else(|| panic!("{ack}"));
    assert_eq!(ack["chat_id"], json!(ab), "{ack}");
    let ev = wb.next_where("edit event", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(e)
    });
    assert_eq!(ev["kind"], "edit", "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");
    assert_eq!(ev["content"]["text"], "final draft", "{ev}");

    // Editing bob's message is refused.
    wa.request_err(
        "edit",
        json!({"chat_id": ab, "seq": reply, "content": text("nope")}),
        &["forbidden"],
    );

    // react -> sent.
    let ack = wb.request_ok(
        "react",
        json!({"chat_id": ab, "seq": m, "emoji": "🔥"}),
        "sent",
    );
    let r = ack["seq"].as_u64().unwrap_or_else(|| panic!("{ack}"));
    let ev = wa.next_where("reaction event", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(r)
    });
    assert_eq!(ev["kind"], "reaction", "{ev}");
    assert_eq!(ev["content"]["emoji"], "🔥", "{ev}");
    let ack = wb.request_ok(
        "react",
        json!({"chat_id": ab, "seq": m, "emoji": null}),
        "sent",
    );
    let r2 = ack["seq"].as_u64().unwrap_or_else(|| panic!("{ack}"));
    let ev = wa.next_where("reaction removal", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(r2)
    });
    assert!(ev["content"]["emoji"].is_null(), "{ev}");

    // forward -> forwarded with per-target results.
    let id = wa.send_frame(
        "forward",
        json!({"chat_id": ab, "seq": m, "to": [ac, bc], "client_id": "fw1"}),
    );
    let ans = wa.wait_answer(&id, TIMEOUT);
    assert_eq!(ans["type"], "forwarded", "{ans}");
    let good = result_for(&ans["results"], &ac);
    let fseq = good["seq"].as_u64().unwrap_or_else(|| panic!("{ans}"));
    assert_eq!(
        result_for(&ans["results"], &bc)["error"],
        "not_found",
        "{ans}"
    );
    let copy = event_at(&s, &c.access, &ac, fseq);
    assert_eq!(copy["content"]["text"], "final draft", "{copy}");
    assert_eq!(copy["content"]["forwarded"], 1, "{copy}");

    // delete for everyone -> sent.
    let ack = wa.request_ok(
        "delete",
        json!({"chat_id": ab, "seq": m, "for": "everyone"}),
        "sent",
    );
    let d = ack["seq"].as_u64().unwrap_or_else(|| panic!("{ack}"));
    let ev = wb.next_where("delete event", TIMEOUT, |v| {
        v["type"] == "event" && v["seq"] == json!(d)
    });
    assert_eq!(ev["kind"], "delete", "{ev}");
    assert_eq!(ev["content"]["target"], json!(m), "{ev}");

    // delete for me -> ok, then a hidden frame on my devices.
    let ans = wb.request_ok(
        "delete",
        json!({"chat_id": ab, "seq": reply, "for": "me"}),
        "ok",
    );
    assert_eq!(ans["type"], "ok");
    let h = wb.next_of("hidden", TIMEOUT);
    assert_eq!(h["chat_id"], json!(ab), "{h}");
    assert_eq!(h["seqs"], json!([reply]), "{h}");
    wa.expect_no_frame("hidden", Duration::from_millis(300));
    assert_eq!(event_at(&s, &b.access, &ab, reply)["kind"], "hidden");
    assert_eq!(event_at(&s, &a.access, &ab, reply)["kind"], "message");
}

/// A reconnecting device's `sync` replays message, edit, reaction, delete and membership
/// events in seq order.
#[test]
fn sync_replays_actions_in_seq_order() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    {
        let mut wb = connect_as(&s, &b);
        let (_, ans) =
            wb.request_collect("sync", json!({"chats": [{"chat_id": g, "last_seq": 0}]}));
        assert_eq!(ans["chats"][0]["last_seq"], 1, "{ans}");
        wb.close();
    }

    // While bob is offline.
    let m = send_seq(&s, &a, &g, "m", "hello");
    change_seq(&edit(&s, &a, &g, m, "hello!"), &g);
    change_seq(&react(&s, &a, &g, m, "👋"), &g);
    let m2 = send_seq(&s, &a, &g, "m2", "second");
    change_seq(&del(&s, &a, &g, m2), &g);
    change_seq(
        &s.post(
            &format!("/api/chats/{g}/members"),
            Some(&a.access),
            Some(json!({"user_ids": [c.user_id]})),
        ),
        &g,
    );
    change_seq(
        &s.patch(
            &format!("/api/chats/{g}"),
            Some(&a.access),
            Some(json!({"title": "g2"})),
        ),
        &g,
    );
    change_seq(
        &put(
            &s,
            &format!("/api/chats/{g}/admins/{}", c.user_id),
            &a.access,
            None,
        ),
        &g,
    );
    change_seq(
        &s.delete(
            &format!("/api/chats/{g}/members/{}", c.user_id),
            Some(&a.access),
        ),
        &g,
    );

    let mut wb = connect_as(&s, &b);
    let (frames, ans) =
        wb.request_collect("sync", json!({"chats": [{"chat_id": g, "last_seq": 1}]}));
    assert_eq!(ans["type"], "synced", "{ans}");
    let evs: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "event" && f["chat_id"] == json!(g))
        .collect();
    let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (2..=10).collect::<Vec<u64>>(), "{frames:?}");
    let kinds: Vec<&str> = evs.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "message",
            "edit",
            "reaction",
            "message",
            "delete",
            "members_added",
            "group_info_changed",
            "admin_promoted",
            "member_removed",
        ],
        "{frames:?}"
    );
    let chat = &ans["chats"][0];
    assert_eq!(chat["from_seq"], 2, "{ans}");
    assert_eq!(chat["to_seq"], 10, "{ans}");
    assert_eq!(chat["last_seq"], 10, "{ans}");
    assert_eq!(chat["has_more"], false, "{ans}");
    // The replayed messages show their current state.
    assert_eq!(evs[0]["content"]["text"], "hello!", "{}", evs[0]);
    assert_eq!(
        evs[0]["content"]["reactions"][&a.user_id], "👋",
        "{}",
        evs[0]
    );
    assert_eq!(evs[3]["content"], json!({"kind": "deleted"}), "{}", evs[3]);
}

/// Over the WebSocket too: the quote of a deleted message shows `deleted: true` and no
/// preview; replying to a deleted message is refused.
#[test]
fn ws_reply_to_deleted_message() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);
    let q = wa.send_ok(&chat, "q", "quote me")["seq"].as_u64().unwrap();
    let ack = wb.request_ok(
        "send",
        json!({"chat_id": chat, "client_id": "r", "content": text("quoted"), "reply_to": q}),
        "sent",
    );
    let r = ack["seq"].as_u64().unwrap();
    let ev = event_at(&s, &a.access, &chat, r);
    assert_eq!(
        ev["content"]["reply_to"],
        json!({"seq": q, "sender": a.user_id, "preview": "quote me"}),
        "{ev}"
    );
    wa.request_ok(
        "delete",
        json!({"chat_id": chat, "seq": q, "for": "everyone"}),
        "sent",
    );
    let ev = event_at(&s, &b.access, &chat, r);
    assert_eq!(ev["content"]["reply_to"]["seq"], json!(q), "{ev}");
    assert_eq!(ev["content"]["reply_to"]["deleted"], true, "{ev}");
    assert!(ev["content"]["reply_to"].get("preview").is_none(), "{ev}");
    let ans = wb.request(
        "send",
        json!({"chat_id": chat, "client_id": "r2", "content": text("late"), "reply_to": q}),
    );
    assert_ws_error(&ans, &["unprocessable"]);
}

/// Bounds: forward to 1..=20 chats, hide 1..=100 seqs.
#[test]
fn forward_and_hide_bounds_are_400() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = send_seq(&s, &a, &chat, "m", "x");
    assert_error(
        &forward(&s, &a, &chat, m, &[], "fw0"),
        400,
        "validation_failed",
    );
    // 21 distinct targets (duplicates might be folded into one).
    let many: Vec<String> = std::iter::once(chat.clone())
        .chain((0..20).map(|_| random_uuid()))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_error(
        &forward(&s, &a, &chat, m, &many, "fw21"),
        400,
        "validation_failed",
    );
    let hide = |seqs: Value| {
        s.post(
            &format!("/api/messages/{chat}/hide"),
            Some(&a.access),
            Some(json!({"seqs": seqs})),
        )
    };
    assert_error(&hide(json!([])), 400, "validation_failed");
    let seqs: Vec<u64> = (1..=101).collect();
    assert_error(&hide(json!(seqs)), 400, "validation_failed");
    assert_eq!(full_history(&s, &a.access, &chat).len(), 1);
    assert_eq!(event_at(&s, &a.access, &chat, m)["kind"], "message");
}

/// A starred message shows as it is now: deleted for everyone -> `{"kind":"deleted"}`.
#[test]
fn starred_message_shows_deletion() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = send_seq(&s, &b, &chat, "m", "star then delete");
    put(
        &s,
        &format!("/api/messages/{chat}/{m}/star"),
        &a.access,
        None,
    )
    .expect(201);
    change_seq(&del(&s, &b, &chat, m), &chat);
    let r = s.get("/api/users/me/starred", Some(&a.access));
    r.expect(200);
    let items = r.json["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|e| !e.to_string().contains("star then delete")),
        "deleted text must not show in starred: {r}"
    );
    if let Some(e) = items.first() {
        assert_eq!(e["content"], json!({"kind": "deleted"}), "{r}");
    }
}
