//! My chat settings (docs/REST.md "My settings"): pinning (at most 3, listed first), archiving
//! and `keep_chats_archived`, muting.

use confab_tests::ws::*;
use confab_tests::*;

fn settings(s: &Server, who: &Account, chat: &str, body: Value) -> Resp {
    s.patch(
        &format!("/api/chats/{chat}/settings"),
        Some(&who.access),
        Some(body),
    )
}

/// Assert a full `ChatSettingsView`.
#[track_caller]
fn assert_settings_shape(r: &Resp) {
    r.expect(200);
    assert!(r.json["pinned"].is_boolean(), "pinned: {r}");
    assert!(r.json["archived"].is_boolean(), "archived: {r}");
    assert!(
        r.json["muted_until"].is_null() || r.json["muted_until"].is_i64(),
        "muted_until: {r}"
    );
    assert!(
        r.json.get("muted_until").is_some(),
        "muted_until must be present (null when not muted): {r}"
    );
    assert!(
        r.json["notifications"] == "all" || r.json["notifications"] == "none",
        "notifications: {r}"
    );
}

/// Alice and `n` partners, with a direct chat to each (in creation order).
fn alice_with_chats(s: &Server, n: usize) -> (Account, Vec<Account>, Vec<String>) {
    let a = register_account(s, "alice");
    let others = register_many(s, "friend", n);
    let chats = others
        .iter()
        .map(|o| create_direct(s, &a, &o.user_id))
        .collect();
    (a, others, chats)
}

#[test]
fn pinning_three_chats_is_fine_a_fourth_is_422() {
    let s = ws_server();
    let (a, _, chats) = alice_with_chats(&s, 4);
    for c in &chats[..3] {
        let r = settings(&s, &a, c, json!({"pinned": true}));
        assert_settings_shape(&r);
        assert_eq!(r.json["pinned"], true, "{r}");
    }
    // Pinning an already pinned chat again is not a 4th.
    let r = settings(&s, &a, &chats[0], json!({"pinned": true}));
    assert_settings_shape(&r);
    assert_error(
        &settings(&s, &a, &chats[3], json!({"pinned": true})),
        422,
        "unprocessable",
    );
    assert_eq!(
        chat_summary(&s, &a.access, &chats[3])["settings"]["pinned"],
        false
    );

    // Unpin one: now the 4th fits.
    let r = settings(&s, &a, &chats[1], json!({"pinned": false}));
    assert_eq!(r.json["pinned"], false, "{r}");
    let r = settings(&s, &a, &chats[3], json!({"pinned": true}));
    assert_settings_shape(&r);
    assert_eq!(r.json["pinned"], true, "{r}");
}

/// `GET /api/chats` lists pinned chats first (most recently pinned first), then by activity.
#[test]
fn chat_list_puts_pinned_chats_first() {
    let s = ws_server();
    let (a, others, chats) = alice_with_chats(&s, 5);
    // Activity: chats[4] newest ... chats[0] oldest.
    for (i, c) in chats.iter().enumerate() {
        send_seq(&s, &others[i], c, &format!("m{i}"), "hi");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    settings(&s, &a, &chats[0], json!({"pinned": true})).expect(200);
    std::thread::sleep(std::time::Duration::from_millis(5));
    settings(&s, &a, &chats[2], json!({"pinned": true})).expect(200);

    let list = chat_list(&s, &a.access);
    let order: Vec<&str> = list
        .iter()
        .map(|c| c["chat_id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = [2usize, 0, 4, 3, 1]
        .iter()
        .map(|&i| chats[i].as_str())
        .collect();
    assert_eq!(
        order, want,
        "pinned (newest pin first), then by activity: {list:?}"
    );
    for c in &list {
        let pinned = c["chat_id"] == json!(chats[0]) || c["chat_id"] == json!(chats[2]);
        assert_eq!(c["settings"]["pinned"], json!(pinned), "{c}");
    }

    // New activity in an unpinned chat does not move it above the pinned ones.
    send_seq(&s, &others[1], &chats[1], "late", "bump");
    let list = chat_list(&s, &a.access);
    let order: Vec<&str> = list
        .iter()
        .map(|c| c["chat_id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = [2usize, 0, 1, 4, 3]
        .iter()
        .map(|&i| chats[i].as_str())
        .collect();
    assert_eq!(order, want, "{list:?}");

    // Settings are mine: bob's view of chat 0 is not pinned.
    let theirs = chat_summary(&s, &others[0].access, &chats[0]);
    assert_eq!(theirs["settings"]["pinned"], false, "{theirs}");
}

/// With `keep_chats_archived` (default true), a new message leaves an archived chat archived.
#[test]
fn archived_chat_stays_archived_by_default() {
    let s = ws_server();
    let (a, others, chats) = alice_with_chats(&s, 1);
    let r = s.get("/api/users/me/settings", Some(&a.access));
    r.expect(200);
    assert_eq!(r.json["keep_chats_archived"], true, "default: {r}");

    let r = settings(&s, &a, &chats[0], json!({"archived": true}));
    assert_settings_shape(&r);
    assert_eq!(r.json["archived"], true, "{r}");
    send_seq(&s, &others[0], &chats[0], "m", "are you there?");
    let sum = chat_summary(&s, &a.access, &chats[0]);
    assert_eq!(sum["settings"]["archived"], true, "{sum}");
    assert_eq!(sum["last_seq"], 1, "{sum}");

    // Un-archive explicitly.
    let r = settings(&s, &a, &chats[0], json!({"archived": false}));
    assert_eq!(r.json["archived"], false, "{r}");
    assert_eq!(
        chat_summary(&s, &a.access, &chats[0])["settings"]["archived"],
        false
    );
}

/// With `keep_chats_archived: false`, a message after the archiving un-archives the chat.
#[test]
fn new_message_unarchives_when_keep_chats_archived_is_false() {
    let s = ws_server();
    let (a, others, chats) = alice_with_chats(&s, 2);
    let r = put(
        &s,
        "/api/users/me/settings",
        &a.access,
        Some(json!({"keep_chats_archived": false})),
    );
    r.expect(200);
    assert_eq!(r.json["keep_chats_archived"], false, "{r}");
    let r = s.get("/api/users/me/settings", Some(&a.access));
    assert_eq!(r.json["keep_chats_archived"], false, "{r}");

    for c in &chats {
        settings(&s, &a, c, json!({"archived": true})).expect(200);
    }
    assert_eq!(
        chat_summary(&s, &a.access, &chats[0])["settings"]["archived"],
        true
    );
    send_seq(&s, &others[0], &chats[0], "m", "wake up");
    let sum = chat_summary(&s, &a.access, &chats[0]);
    assert_eq!(sum["settings"]["archived"], false, "{sum}");
    // The other archived chat got no message: still archived.
    let sum = chat_summary(&s, &a.access, &chats[1]);
    assert_eq!(sum["settings"]["archived"], true, "{sum}");
}

/// mute 8h / week / always / off; a bad value is 400.
#[test]
fn mute_values() {
    let s = ws_server();
    let (a, _, chats) = alice_with_chats(&s, 1);
    let c = &chats[0];
    let hour = 3_600_000i64;

    let t0 = now_ms();
    let r = settings(&s, &a, c, json!({"mute": "8h"}));
    assert_settings_shape(&r);
    let until = r.json["muted_until"]
        .as_i64()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        (until - (t0 + 8 * hour)).abs() <= 60_000,
        "8h: muted_until {until} should be about now+8h ({}): {r}",
        t0 + 8 * hour
    );
    let sum = chat_summary(&s, &a.access, c);
    assert_eq!(sum["settings"]["muted_until"], json!(until), "{sum}");

    let t0 = now_ms();
    let r = settings(&s, &a, c, json!({"mute": "week"}));
    let until = r.json["muted_until"]
        .as_i64()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        (until - (t0 + 7 * 24 * hour)).abs() <= 60_000,
        "week: muted_until should be about now+7d: {r}"
    );

    let r = settings(&s, &a, c, json!({"mute": "always"}));
    assert_settings_shape(&r);
    let until = r.json["muted_until"]
        .as_i64()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        until > now_ms() + 100 * 365 * 24 * hour,
        "always: a very large value: {r}"
    );

    let r = settings(&s, &a, c, json!({"mute": "off"}));
    assert_settings_shape(&r);
    assert!(r.json["muted_until"].is_null(), "off: {r}");
    assert!(chat_summary(&s, &a.access, c)["settings"]["muted_until"].is_null());

    for bad in [json!("forever"), json!("8H"), json!(8), json!("")] {
        let r = settings(&s, &a, c, json!({"mute": bad}));
        assert_error_any(&r, 400, &["malformed_json", "validation_failed"]);
    }
    assert!(chat_summary(&s, &a.access, c)["settings"]["muted_until"].is_null());
}

/// notifications all/none, and settings of a chat I am not in.
#[test]
fn notifications_and_foreign_chat() {
    let s = ws_server();
    let (a, others, chats) = alice_with_chats(&s, 2);
    let r = settings(&s, &a, &chats[0], json!({"notifications": "none"}));
    assert_settings_shape(&r);
    assert_eq!(r.json["notifications"], "none", "{r}");
    assert_eq!(
        chat_summary(&s, &a.access, &chats[0])["settings"]["notifications"],
        "none"
    );
    let r = settings(&s, &a, &chats[0], json!({"notifications": "all"}));
    assert_eq!(r.json["notifications"], "all", "{r}");

    let foreign = create_direct(&s, &others[0], &others[1].user_id);
    let r = settings(&s, &a, &foreign, json!({"pinned": true}));
    assert!(
        r.status == 404 || r.status == 403,
        "settings of a chat I am not in: {r}"
    );
}
