//! Group administration (docs/REST.md "Group administration, message actions, my chat settings,
//! moderation" → "Groups"): info edits, who may administer, membership events over the
//! WebSocket, the last admin, only-admins-send, invite links, blocks and the member limit.

use std::time::Duration;

use confab_tests::ws::*;
use confab_tests::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn get_chat(s: &Server, token: &str, chat: &str) -> Value {
    let r = s.get(&format!("/api/chats/{chat}"), Some(token));
    r.expect(200);
    r.json.clone()
}

/// The role of `user` in `chat` (`None`: not a member).
fn role_of(chat: &Value, user: &str) -> Option<String> {
    chat["members"]
        .as_array()?
        .iter()
        .find(|m| m["user_id"] == json!(user))
        .and_then(|m| m["role"].as_str().map(str::to_string))
}

fn patch_chat(s: &Server, who: &Account, chat: &str, body: Value) -> Resp {
    s.patch(&format!("/api/chats/{chat}"), Some(&who.access), Some(body))
}

fn add_members(s: &Server, who: &Account, chat: &str, ids: &[&str]) -> Resp {
    s.post(
        &format!("/api/chats/{chat}/members"),
        Some(&who.access),
        Some(json!({"user_ids": ids})),
    )
}

fn create_invite(s: &Server, who: &Account, chat: &str, body: Value) -> Resp {
    s.post(
        &format!("/api/chats/{chat}/invite"),
        Some(&who.access),
        Some(body),
    )
}

fn join(s: &Server, who: &Account, code: &str) -> Resp {
    s.post(
        &format!("/api/invites/{}/join", enc(code)),
        Some(&who.access),
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// Group info
// ---------------------------------------------------------------------------------------------

/// By default any member may change title, description and photo; each change is a
/// `group_info_changed` event and shows in `GET /api/chats/{id}`.
#[test]
fn member_may_edit_group_info_by_default() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "Old title", &[&b.user_id]);
    let mut wa = connect_as(&s, &a);

    let r = patch_chat(&s, &b, &g, json!({"title": "New title"}));
    let seq = change_seq(&r, &g);
    assert_eq!(seq, 2, "first change after group_created: {r}");
    let ev = wait_kind(&mut wa, &g, "group_info_changed");
    assert_eq!(ev["seq"], json!(seq), "{ev}");
    assert_eq!(ev["sender"], json!(b.user_id), "{ev}");
    assert_eq!(ev["content"]["title"], "New title", "{ev}");

    let r = patch_chat(
        &s,
        &b,
        &g,
        json!({"description": "what we talk about", "photo": "photo-1.jpg"}),
    );
    let seq2 = change_seq(&r, &g);
    assert_eq!(seq2, 3, "{r}");
    let ev = event_at(&s, &a.access, &g, seq2);
    assert_eq!(ev["kind"], "group_info_changed", "{ev}");
    assert_eq!(ev["content"]["description"], "what we talk about", "{ev}");
    assert_eq!(ev["content"]["photo"], "photo-1.jpg", "{ev}");

    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(chat["title"], "New title", "{chat}");
    assert_eq!(chat["group"]["description"], "what we talk about", "{chat}");
    assert_eq!(chat["group"]["photo"], "photo-1.jpg", "{chat}");
    assert_eq!(chat["group"]["only_admins_send"], false, "{chat}");
    assert_eq!(chat["group"]["only_admins_edit_info"], false, "{chat}");

    // photo: null clears it.
    let r = patch_chat(&s, &b, &g, json!({"photo": null}));
    change_seq(&r, &g);
    let chat = get_chat(&s, &b.access, &g);
    assert!(chat["group"]["photo"].is_null(), "{chat}");
}

/// With `only_admins_edit_info`, a member's title/description/photo change is 403; an admin's
/// is fine.
#[test]
fn only_admins_edit_info_refuses_members() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "Locked", &[&b.user_id]);
    let r = patch_chat(&s, &a, &g, json!({"only_admins_edit_info": true}));
    change_seq(&r, &g);
    assert_eq!(
        get_chat(&s, &b.access, &g)["group"]["only_admins_edit_info"],
        true
    );

    for body in [
        json!({"title": "hijacked"}),
        json!({"description": "hijacked"}),
        json!({"photo": "hijacked.png"}),
    ] {
        let r = patch_chat(&s, &b, &g, body);
        assert_error(&r, 403, "forbidden");
    }
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(chat["title"], "Locked", "{chat}");
    assert_eq!(
        full_history(&s, &a.access, &g).len(),
        2,
        "refused edits store nothing"
    );

    let r = patch_chat(
        &s,
        &a,
        &g,
        json!({"title": "Admin title", "description": "by the admin"}),
    );
    change_seq(&r, &g);
    let chat = get_chat(&s, &b.access, &g);
    assert_eq!(chat["title"], "Admin title", "{chat}");
    assert_eq!(chat["group"]["description"], "by the admin", "{chat}");
}

/// Group changes on a 1:1 chat answer 422.
#[test]
fn group_changes_on_direct_chat_are_422() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let d = create_direct(&s, &a, &b.user_id);
    assert_error(
        &patch_chat(&s, &a, &d, json!({"title": "x"})),
        422,
        "unprocessable",
    );
    assert_error(
        &add_members(&s, &a, &d, &[&c.user_id]),
        422,
        "unprocessable",
    );
    assert_error(&create_invite(&s, &a, &d, json!({})), 422, "unprocessable");
}

// ---------------------------------------------------------------------------------------------
// Non-admins may not administer
// ---------------------------------------------------------------------------------------------

#[test]
fn non_admin_cannot_add_members() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    assert_error(&add_members(&s, &b, &g, &[&c.user_id]), 403, "forbidden");
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(role_of(&chat, &c.user_id), None, "{chat}");
}

#[test]
fn non_admin_cannot_remove_members() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    let r = s.delete(
        &format!("/api/chats/{g}/members/{}", c.user_id),
        Some(&b.access),
    );
    assert_error(&r, 403, "forbidden");
    let r = s.delete(
        &format!("/api/chats/{g}/members/{}", a.user_id),
        Some(&b.access),
    );
    assert_error(&r, 403, "forbidden");
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(role_of(&chat, &c.user_id).as_deref(), Some("member"));
    assert_eq!(role_of(&chat, &a.user_id).as_deref(), Some("admin"));
}

#[test]
fn non_admin_cannot_promote() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    // Promote someone else, or oneself.
    let r = put(
        &s,
        &format!("/api/chats/{g}/admins/{}", c.user_id),
        &b.access,
        None,
    );
    assert_error(&r, 403, "forbidden");
    let r = put(
        &s,
        &format!("/api/chats/{g}/admins/{}", b.user_id),
        &b.access,
        None,
    );
    assert_error(&r, 403, "forbidden");
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(role_of(&chat, &b.user_id).as_deref(), Some("member"));
    assert_eq!(role_of(&chat, &c.user_id).as_deref(), Some("member"));
    assert_eq!(full_history(&s, &a.access, &g).len(), 1, "no event");
}

#[test]
fn non_admin_cannot_demote() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    // Demote the admin.
    let r = s.delete(
        &format!("/api/chats/{g}/admins/{}", a.user_id),
        Some(&b.access),
    );
    assert_error(&r, 403, "forbidden");
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(role_of(&chat, &a.user_id).as_deref(), Some("admin"));
    assert_eq!(role_of(&chat, &b.user_id).as_deref(), Some("member"));
    assert_eq!(role_of(&chat, &c.user_id).as_deref(), Some("member"));
}

#[test]
fn non_admin_cannot_change_group_settings() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    for body in [
        json!({"only_admins_send": true}),
        json!({"only_admins_edit_info": true}),
    ] {
        assert_error(&patch_chat(&s, &b, &g, body), 403, "forbidden");
    }
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(chat["group"]["only_admins_send"], false, "{chat}");
    assert_eq!(chat["group"]["only_admins_edit_info"], false, "{chat}");
}

/// An admin promotes a member (who may then administer) and demotes them again.
#[test]
fn admin_promotes_and_demotes() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let mut wb = connect_as(&s, &b);

    let r = put(
        &s,
        &format!("/api/chats/{g}/admins/{}", b.user_id),
        &a.access,
        None,
    );
    let seq = change_seq(&r, &g);
    let ev = wait_kind(&mut wb, &g, "admin_promoted");
    assert_eq!(ev["seq"], json!(seq), "{ev}");
    assert_eq!(ev["content"]["user"], json!(b.user_id), "{ev}");
    assert_eq!(
        role_of(&get_chat(&s, &a.access, &g), &b.user_id).as_deref(),
        Some("admin")
    );
    // Bob may now add members.
    change_seq(&add_members(&s, &b, &g, &[&c.user_id]), &g);

    let r = s.delete(
        &format!("/api/chats/{g}/admins/{}", b.user_id),
        Some(&a.access),
    );
    let seq = change_seq(&r, &g);
    let ev = wait_kind(&mut wb, &g, "admin_demoted");
    assert_eq!(ev["seq"], json!(seq), "{ev}");
    assert_eq!(ev["content"]["user"], json!(b.user_id), "{ev}");
    assert_eq!(
        role_of(&get_chat(&s, &a.access, &g), &b.user_id).as_deref(),
        Some("member")
    );
}

// ---------------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------------

/// `members_added` reaches an existing member and the added member live.
#[test]
fn add_members_event_reaches_existing_and_added_member() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let mut wb = connect_as(&s, &b);
    let mut wc = connect_as(&s, &c);

    let r = add_members(&s, &a, &g, &[&c.user_id]);
    let seq = change_seq(&r, &g);
    for w in [&mut wb, &mut wc] {
        let ev = wait_kind(w, &g, "members_added");
        assert_eq!(ev["seq"], json!(seq), "[{}] {ev}", w.name);
        assert_eq!(ev["sender"], json!(a.user_id), "[{}] {ev}", w.name);
        assert_eq!(
            ev["content"]["users"],
            json!([c.user_id]),
            "[{}] {ev}",
            w.name
        );
    }
    let chat = get_chat(&s, &c.access, &g);
    assert_eq!(
        role_of(&chat, &c.user_id).as_deref(),
        Some("member"),
        "{chat}"
    );

    // Carol now gets the chat's traffic.
    let m = send_seq(&s, &a, &g, "after-add", "welcome carol");
    let ev = wc.next_where("message after add", TIMEOUT, |v| {
        v["type"] == "event" && v["kind"] == "message"
    });
    assert_eq!(ev["seq"], json!(m), "{ev}");

    // Adding only existing members is 422.
    assert_error(
        &add_members(&s, &a, &g, &[&c.user_id]),
        422,
        "unprocessable",
    );
}

/// A removed member gets `member_removed`, then nothing of the chat, and reads no history.
#[test]
fn removed_member_gets_removal_then_nothing() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    let mut wb = connect_as(&s, &b);
    let mut wc = connect_as(&s, &c);

    let r = s.delete(
        &format!("/api/chats/{g}/members/{}", b.user_id),
        Some(&a.access),
    );
    let seq = change_seq(&r, &g);
    let ev = wait_kind(&mut wb, &g, "member_removed");
    assert_eq!(ev["seq"], json!(seq), "{ev}");
    assert_eq!(ev["content"]["user"], json!(b.user_id), "{ev}");
    let ev = wait_kind(&mut wc, &g, "member_removed");
    assert_eq!(ev["seq"], json!(seq), "{ev}");

    // Whatever was buffered before the removal is older than it.
    for f in wb.drain_buffer() {
        assert!(
            f["type"] != "event" || f["seq"].as_u64().unwrap_or(0) < seq,
            "frame after the removal: {f}"
        );
    }
    let m = send_seq(&s, &a, &g, "after-removal", "bob is gone");
    wc.next_where("the message after removal", TIMEOUT, |v| {
        v["type"] == "event" && v["kind"] == "message"
    });
    let _ = m;
    wb.expect_silence(Duration::from_millis(1000));

    assert_error(&history_resp(&s, &b.access, &g, ""), 404, "not_found");
    assert_error(
        &s.get(&format!("/api/chats/{g}"), Some(&b.access)),
        404,
        "not_found",
    );
    let r = rest_send(&s, &b, &g, "removed-send", "still here?");
    assert_error_any(&r, 404, &["not_found"]);
    // Nor by sync.
    let (frames, ans) =
        wb.request_collect("sync", json!({"chats": [{"chat_id": g, "last_seq": 0}]}));
    assert!(
        frames.iter().all(|f| f["type"] != "event"),
        "sync must replay nothing to a removed member: {frames:?}"
    );
    assert_eq!(ans["chats"][0]["error"], "not_found", "{ans}");
}

/// A member who leaves gets `member_left`, then nothing, and reads no history.
#[test]
fn member_who_left_gets_nothing_after() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id, &c.user_id]);
    let mut wb = connect_as(&s, &b);
    let mut wa = connect_as(&s, &a);

    let r = s.post(&format!("/api/chats/{g}/leave"), Some(&b.access), None);
    let seq = change_seq(&r, &g);
    let ev = wait_kind(&mut wb, &g, "member_left");
    assert_eq!(ev["seq"], json!(seq), "{ev}");
    assert_eq!(ev["content"]["user"], json!(b.user_id), "{ev}");
    wait_kind(&mut wa, &g, "member_left");
    for f in wb.drain_buffer() {
        assert!(
            f["type"] != "event" || f["seq"].as_u64().unwrap_or(0) < seq,
            "frame after leaving: {f}"
        );
    }
    wa.send_ok(&g, "after-leave", "bye bob");
    wb.expect_silence(Duration::from_millis(1000));
    assert_error(&history_resp(&s, &b.access, &g, ""), 404, "not_found");
    // Leaving again: no longer a member.
    let r = s.post(&format!("/api/chats/{g}/leave"), Some(&b.access), None);
    assert!(r.status == 404 || r.status == 403, "leave twice: {r}");
}

/// An admin cannot remove themselves (leave instead).
#[test]
fn admin_cannot_remove_themselves() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let r = s.delete(
        &format!("/api/chats/{g}/members/{}", a.user_id),
        Some(&a.access),
    );
    assert!(
        r.status == 422 || r.status == 403,
        "an admin removing themselves must be refused: {r}"
    );
    assert_eq!(
        role_of(&get_chat(&s, &a.access, &g), &a.user_id).as_deref(),
        Some("admin")
    );
}

/// `description` is 0..=512 characters.
#[test]
fn description_longer_than_512_is_400() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let r = patch_chat(&s, &a, &g, json!({"description": "x".repeat(513)}));
    assert_error(&r, 400, "validation_failed");
    change_seq(
        &patch_chat(&s, &a, &g, json!({"description": "é".repeat(512)})),
        &g,
    );
    change_seq(&patch_chat(&s, &a, &g, json!({"description": ""})), &g);
}

/// Demoting the last admin is 422.
#[test]
fn demoting_the_last_admin_is_422() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let r = s.delete(
        &format!("/api/chats/{g}/admins/{}", a.user_id),
        Some(&a.access),
    );
    assert_error(&r, 422, "unprocessable");
    assert_eq!(
        role_of(&get_chat(&s, &a.access, &g), &a.user_id).as_deref(),
        Some("admin")
    );
}

/// The last admin leaving promotes the longest-standing remaining member automatically.
#[test]
fn last_admin_leaving_promotes_longest_standing_member() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let d = register_account(&s, "dave");
    // Carol joins first (at creation), bob and dave later.
    let g = create_group(&s, &a, "g", &[&c.user_id]);
    std::thread::sleep(Duration::from_millis(20));
    change_seq(&add_members(&s, &a, &g, &[&b.user_id]), &g);
    std::thread::sleep(Duration::from_millis(20));
    change_seq(&add_members(&s, &a, &g, &[&d.user_id]), &g);
    let mut wb = connect_as(&s, &b);

    let r = s.post(&format!("/api/chats/{g}/leave"), Some(&a.access), None);
    let left_seq = change_seq(&r, &g);
    let ev = wait_kind(&mut wb, &g, "member_left");
    assert_eq!(ev["seq"], json!(left_seq), "{ev}");
    assert_eq!(ev["content"]["user"], json!(a.user_id), "{ev}");
    let ev = wait_kind(&mut wb, &g, "admin_promoted");
    assert_eq!(ev["seq"], json!(left_seq + 1), "{ev}");
    assert_eq!(ev["content"]["user"], json!(c.user_id), "{ev}");
    assert_eq!(ev["content"]["automatic"], true, "{ev}");

    let chat = get_chat(&s, &b.access, &g);
    assert_eq!(
        role_of(&chat, &c.user_id).as_deref(),
        Some("admin"),
        "{chat}"
    );
    assert_eq!(
        role_of(&chat, &b.user_id).as_deref(),
        Some("member"),
        "{chat}"
    );
    assert_eq!(
        role_of(&chat, &d.user_id).as_deref(),
        Some("member"),
        "{chat}"
    );
    assert_eq!(role_of(&chat, &a.user_id), None, "{chat}");
    assert_error(&history_resp(&s, &a.access, &g, ""), 404, "not_found");
}

/// An admin leaving while another admin remains promotes nobody.
#[test]
fn admin_leaving_with_another_admin_promotes_nobody() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&c.user_id, &b.user_id]);
    change_seq(
        &put(
            &s,
            &format!("/api/chats/{g}/admins/{}", b.user_id),
            &a.access,
            None,
        ),
        &g,
    );
    let mut wc = connect_as(&s, &c);
    let r = s.post(&format!("/api/chats/{g}/leave"), Some(&a.access), None);
    let seq = change_seq(&r, &g);
    let ev = wait_kind(&mut wc, &g, "member_left");
    assert_eq!(ev["seq"], json!(seq), "{ev}");
    wc.expect_none_where("admin_promoted", Duration::from_millis(500), |v| {
        v["kind"] == "admin_promoted"
    });
    let chat = get_chat(&s, &c.access, &g);
    assert_eq!(
        role_of(&chat, &b.user_id).as_deref(),
        Some("admin"),
        "{chat}"
    );
    assert_eq!(
        role_of(&chat, &c.user_id).as_deref(),
        Some("member"),
        "{chat}"
    );
    assert_eq!(full_history(&s, &c.access, &g).len() as u64, seq, "{chat}");
}

/// With `only_admins_send`, a member's send is refused (REST 403 forbidden, WS error
/// forbidden); the admin's goes through.
#[test]
fn only_admins_send_refuses_members() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "announcements", &[&b.user_id]);
    change_seq(
        &patch_chat(&s, &a, &g, json!({"only_admins_send": true})),
        &g,
    );
    assert_eq!(
        get_chat(&s, &b.access, &g)["group"]["only_admins_send"],
        true
    );
    let mut wb = connect_as(&s, &b);

    assert_error(&rest_send(&s, &b, &g, "m-rest", "hi"), 403, "forbidden");
    let ans = wb.send_msg(&g, "m-ws", "hi");
    assert_ws_error(&ans, &["forbidden"]);

    let seq = send_seq(&s, &a, &g, "admin-1", "announcement");
    let mut wa = connect_as(&s, &a);
    let ack = wa.send_ok(&g, "admin-2", "another one");
    assert_eq!(ack["seq"], json!(seq + 1), "{ack}");
    let kinds: Vec<Value> = full_history(&s, &b.access, &g)
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            json!("group_created"),
            json!("group_info_changed"),
            json!("message"),
            json!("message")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Invite links
// ---------------------------------------------------------------------------------------------

#[test]
fn invite_links_are_admin_only() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);

    assert_error(&create_invite(&s, &b, &g, json!({})), 403, "forbidden");
    let r = s.get(&format!("/api/chats/{g}/invite"), Some(&a.access));
    assert_error(&r, 404, "not_found");

    let t0 = now_ms();
    let r = create_invite(&s, &a, &g, json!({}));
    r.expect(201);
    let code = r.str("/code");
    assert!(!code.is_empty(), "{r}");
    assert_eq!(r.json["chat_id"], json!(g), "{r}");
    assert_eq!(r.json["created_by"], json!(a.user_id), "{r}");
    let created = r.json["created_at"].as_i64().unwrap();
    assert!((created - t0).abs() < 60_000, "{r}");
    assert!(r.json["expires_at"].is_null(), "{r}");

    let r = s.get(&format!("/api/chats/{g}/invite"), Some(&a.access));
    r.expect(200);
    assert_eq!(r.json["code"], json!(code), "{r}");

    let r = s.get(&format!("/api/chats/{g}/invite"), Some(&b.access));
    assert_error(&r, 403, "forbidden");
    let r = s.delete(&format!("/api/chats/{g}/invite"), Some(&b.access));
    assert_error(&r, 403, "forbidden");
    // Still live after the refused revoke.
    let r = s.get(&format!("/api/chats/{g}/invite"), Some(&a.access));
    assert_eq!(r.json["code"], json!(code), "{r}");
}

/// Joining by code: the joiner becomes a member, members see `member_joined` (via invite),
/// and the joiner gets the chat's events after that.
#[test]
fn join_by_invite_code() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let d = register_account(&s, "dave");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let code = create_invite(&s, &a, &g, json!({}))
        .expect(201)
        .str("/code");
    let mut wb = connect_as(&s, &b);
    let mut wd = connect_as(&s, &d);

    let r = join(&s, &d, &code);
    r.expect(200);
    assert_eq!(r.json["chat_id"], json!(g), "{r}");
    assert_eq!(
        role_of(&r.json, &d.user_id).as_deref(),
        Some("member"),
        "{r}"
    );

    let ev = wait_kind(&mut wb, &g, "member_joined");
    assert_eq!(ev["content"]["user"], json!(d.user_id), "{ev}");
    assert_eq!(ev["content"]["via"], "invite", "{ev}");
    assert_eq!(ev["sender"], json!(d.user_id), "{ev}");
    let joined_seq = ev["seq"].as_u64().unwrap();
    // The joiner is a member after the change: it gets the join event too.
    let evd = wait_kind(&mut wd, &g, "member_joined");
    assert_eq!(evd["seq"], json!(joined_seq), "{evd}");

    let m = send_seq(&s, &a, &g, "hello-dave", "hi dave");
    assert!(m > joined_seq);
    let ev = wd.next_where("message after join", TIMEOUT, |v| {
        v["type"] == "event" && v["kind"] == "message"
    });
    assert_eq!(ev["seq"], json!(m), "{ev}");
    assert_eq!(ev["content"]["text"], "hi dave", "{ev}");
    history(&s, &d.access, &g, "");
}

#[test]
fn revoked_invite_is_404() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let d = register_account(&s, "dave");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let code = create_invite(&s, &a, &g, json!({}))
        .expect(201)
        .str("/code");
    s.delete(&format!("/api/chats/{g}/invite"), Some(&a.access))
        .expect(204);
    assert_error(&join(&s, &d, &code), 404, "not_found");
    assert_error(
        &s.get(&format!("/api/chats/{g}/invite"), Some(&a.access)),
        404,
        "not_found",
    );
    assert_eq!(role_of(&get_chat(&s, &a.access, &g), &d.user_id), None);
}

/// A new link replaces the earlier one: the old code stops working.
#[test]
fn new_invite_replaces_old_one() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let d = register_account(&s, "dave");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let old = create_invite(&s, &a, &g, json!({}))
        .expect(201)
        .str("/code");
    let new = create_invite(&s, &a, &g, json!({}))
        .expect(201)
        .str("/code");
    assert_ne!(old, new);
    assert_error(&join(&s, &d, &old), 404, "not_found");
    join(&s, &d, &new).expect(200);
}

#[test]
fn expired_invite_is_404() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let d = register_account(&s, "dave");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let r = create_invite(&s, &a, &g, json!({"expires_in_secs": 1}));
    r.expect(201);
    let created = r.json["created_at"].as_i64().unwrap();
    let expires = r.json["expires_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("expires_at must be set: {r}"));
    assert!(
        (expires - created - 1000).abs() <= 1000,
        "expires_at about created_at + 1 s: {r}"
    );
    let code = r.str("/code");
    std::thread::sleep(Duration::from_secs(2));
    assert_error(&join(&s, &d, &code), 404, "not_found");
    assert_eq!(role_of(&get_chat(&s, &a.access, &g), &d.user_id), None);
}

/// `GET .../invite` answers the live link: an expired one is not live (404).
#[test]
fn expired_invite_is_not_the_live_link() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    create_invite(&s, &a, &g, json!({"expires_in_secs": 1})).expect(201);
    s.get(&format!("/api/chats/{g}/invite"), Some(&a.access))
        .expect(200);
    std::thread::sleep(Duration::from_secs(2));
    assert_error(
        &s.get(&format!("/api/chats/{g}/invite"), Some(&a.access)),
        404,
        "not_found",
    );
}

#[test]
fn joining_twice_is_422() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let d = register_account(&s, "dave");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    let code = create_invite(&s, &a, &g, json!({}))
        .expect(201)
        .str("/code");
    join(&s, &d, &code).expect(200);
    let n = full_history(&s, &a.access, &g).len();
    assert_error(&join(&s, &d, &code), 422, "unprocessable");
    // An existing member too.
    assert_error(&join(&s, &b, &code), 422, "unprocessable");
    assert_eq!(
        full_history(&s, &a.access, &g).len(),
        n,
        "no event for refused joins"
    );
}

// ---------------------------------------------------------------------------------------------
// Blocks and limits
// ---------------------------------------------------------------------------------------------

#[test]
fn adding_a_user_who_blocked_the_adder_is_403_blocked() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    block(&s, &c, &a.user_id);
    assert_error(&add_members(&s, &a, &g, &[&c.user_id]), 403, "blocked");
    assert_eq!(role_of(&get_chat(&s, &a.access, &g), &c.user_id), None);
}

#[test]
fn member_limit_is_422() {
    let s = ws_server_with(&[("CONFAB_CHAT_MAX_GROUP_MEMBERS", "3")]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let d = register_account(&s, "dave");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    // 2 -> 3 members: fine.
    change_seq(&add_members(&s, &a, &g, &[&c.user_id]), &g);
    // A 4th: over the limit.
    assert_error(
        &add_members(&s, &a, &g, &[&d.user_id]),
        422,
        "unprocessable",
    );
    // Joining a full group by invite too.
    let code = create_invite(&s, &a, &g, json!({}))
        .expect(201)
        .str("/code");
    assert_error(&join(&s, &d, &code), 422, "unprocessable");
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(chat["members"].as_array().unwrap().len(), 3, "{chat}");
}

/// Adding more users than there are free places adds none of them.
#[test]
fn member_limit_is_all_or_nothing() {
    let s = ws_server_with(&[("CONFAB_CHAT_MAX_GROUP_MEMBERS", "3")]);
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let d = register_account(&s, "dave");
    let g = create_group(&s, &a, "g", &[&b.user_id]);
    assert_error(
        &add_members(&s, &a, &g, &[&c.user_id, &d.user_id]),
        422,
        "unprocessable",
    );
    let chat = get_chat(&s, &a.access, &g);
    assert_eq!(chat["members"].as_array().unwrap().len(), 2, "{chat}");
    assert_eq!(full_history(&s, &a.access, &g).len(), 1, "no event");
}
