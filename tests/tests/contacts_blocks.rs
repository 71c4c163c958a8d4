//! Contacts and blocks: add, duplicate, self, unknown, rename, paging, remove; block, unblock.

use confab_tests::*;
use std::collections::HashSet;

fn add_contact(s: &Server, who: &Account, body: Value) -> Resp {
    post(s, "/api/users/me/contacts", Some(&who.access), Some(body))
}

#[track_caller]
fn list(s: &Server, who: &Account, path: &str) -> Vec<Value> {
    let r = get(s, path, Some(&who.access));
    assert_eq!(r.status, 200, "{r}");
    assert!(
        r.json.get("next_cursor").is_some(),
        "list must have next_cursor: {r}"
    );
    r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {r}"))
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Contacts

#[test]
fn add_contact_returns_201_contact() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let b = register_body(
        &s,
        json!({"username": "bobby", "password": PASSWORD, "display_name": "Bobby B"}),
    );
    let b_id = b.str("/user/id");
    let r = add_contact(&s, &a, json!({"user_id": b_id}));
    assert_eq!(r.status, 201, "{r}");
    assert_eq!(r.json["user_id"], json!(b_id), "{r}");
    assert!(
        r.json.get("name").is_some_and(Value::is_null),
        "name is null when not given: {r}"
    );
    assert_eq!(r.json["username"], "bobby", "{r}");
    assert_eq!(r.json["display_name"], "Bobby B", "{r}");
    assert!(r.json["added_at"].is_i64(), "added_at is Unix ms: {r}");

    let items = list(&s, &a, "/api/users/me/contacts");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["user_id"], json!(b_id));
    assert_eq!(items[0]["username"], "bobby");
}

#[test]
fn add_contact_with_name() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let b = register_account(&s, "named");
    let r = add_contact(&s, &a, json!({"user_id": b.user_id, "name": "My Friend"}));
    assert_eq!(r.status, 201, "{r}");
    assert_eq!(r.json["name"], "My Friend", "{r}");
    let items = list(&s, &a, "/api/users/me/contacts");
    assert_eq!(items[0]["name"], "My Friend", "{items:?}");
}

#[test]
fn add_contact_twice_is_409_contact_exists() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let b = register_account(&s, "dupe");
    assert_eq!(
        add_contact(&s, &a, json!({"user_id": b.user_id})).status,
        201
    );
    let r = add_contact(&s, &a, json!({"user_id": b.user_id, "name": "again"}));
    assert_error(&r, 409, "contact_exists");
    assert_eq!(list(&s, &a, "/api/users/me/contacts").len(), 1);
}

#[test]
fn add_self_as_contact_is_422() {
    let s = Server::start();
    let a = register_account(&s, "narcissus");
    let r = add_contact(&s, &a, json!({"user_id": a.user_id}));
    assert_error(&r, 422, "unprocessable");
    assert!(list(&s, &a, "/api/users/me/contacts").is_empty());
}

#[test]
fn add_unknown_user_as_contact_is_404() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let r = add_contact(&s, &a, json!({"user_id": random_uuid()}));
    assert_error(&r, 404, "not_found");
}

#[test]
fn add_contact_with_bad_name_is_400_validation_failed() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let b = register_account(&s, "target");
    for bad in ["".to_string(), "   ".to_string(), "x".repeat(65)] {
        let r = add_contact(&s, &a, json!({"user_id": b.user_id, "name": bad}));
        assert_error(&r, 400, "validation_failed");
        assert!(
            error_message(&r).contains("name"),
            "message names the field: {r}"
        );
    }
}

#[test]
fn rename_contact_and_clear_name() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let b = register_account(&s, "renamed");
    assert_eq!(
        add_contact(&s, &a, json!({"user_id": b.user_id})).status,
        201
    );
    let path = format!("/api/users/me/contacts/{}", b.user_id);

    let r = patch(&s, &path, Some(&a.access), Some(json!({"name": "Robert"})));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["name"], "Robert", "{r}");
    assert_eq!(r.json["user_id"], json!(b.user_id), "{r}");
    assert_eq!(r.json["username"], "renamed", "{r}");
    assert_eq!(list(&s, &a, "/api/users/me/contacts")[0]["name"], "Robert");

    let r = patch(&s, &path, Some(&a.access), Some(json!({"name": null})));
    assert_eq!(r.status, 200, "{r}");
    assert!(
        r.json.get("name").is_some_and(Value::is_null),
        "name cleared: {r}"
    );
    assert!(list(&s, &a, "/api/users/me/contacts")[0]["name"].is_null());
}

#[test]
fn rename_non_contact_is_404() {
    let s = Server::start();
    let a = register_account(&s, "adder");
    let b = register_account(&s, "notcontact");
    let r = patch(
        &s,
        &format!("/api/users/me/contacts/{}", b.user_id),
        Some(&a.access),
        Some(json!({"name": "x"})),
    );
    assert_error(&r, 404, "not_found");
    let r = patch(
        &s,
        &format!("/api/users/me/contacts/{}", random_uuid()),
        Some(&a.access),
        Some(json!({"name": "x"})),
    );
    assert_error(&r, 404, "not_found");
}

#[test]
fn contacts_page_by_cursor_with_each_seen_once() {
    let s = Server::start();
    let a = register_account(&s, "pager");
    let mut expected = HashSet::new();
    for i in 0..5 {
        let c = register_account(&s, &format!("contact{i}"));
        assert_eq!(
            add_contact(&s, &a, json!({"user_id": c.user_id})).status,
            201
        );
        expected.insert(c.user_id);
    }
    let pages = collect_pages(&s, "/api/users/me/contacts", &a.access, 2);
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![2, 2, 1],
        "5 contacts at limit=2 come in pages of 2, 2, 1: {pages:?}"
    );
    let mut seen = Vec::new();
    for p in &pages {
        for it in p {
            seen.push(
                it["user_id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("user_id: {it}"))
                    .to_string(),
            );
        }
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a contact appeared twice: {seen:?}"
    );
    assert_eq!(unique, expected, "every contact seen exactly once");

    // Without a limit, all five on one page.
    let r = get(&s, "/api/users/me/contacts", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(5), "{r}");
    assert!(r.json["next_cursor"].is_null(), "{r}");
}

#[test]
fn contacts_default_page_is_50_and_limit_100_takes_all() {
    let s = Server::start_with(&[("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "1000")]);
    let a = register_account(&s, "collector");
    for i in 0..51 {
        let c = register_account(&s, &format!("c{i:03}"));
        assert_eq!(
            add_contact(&s, &a, json!({"user_id": c.user_id})).status,
            201
        );
    }
    let r = get(&s, "/api/users/me/contacts", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(
        r.json["items"].as_array().map(Vec::len),
        Some(50),
        "default limit is 50: {r}"
    );
    let cursor = r.json["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("51 contacts need a second page: {r}"))
        .to_string();
    let r = get(
        &s,
        &format!("/api/users/me/contacts?cursor={}", enc(&cursor)),
        Some(&a.access),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1), "{r}");
    assert!(r.json["next_cursor"].is_null(), "{r}");

    let r = get(&s, "/api/users/me/contacts?limit=100", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(51), "{r}");
    assert!(r.json["next_cursor"].is_null(), "{r}");
}

#[test]
fn contact_shows_the_users_current_display_name() {
    let s = Server::start();
    let a = register_account(&s, "watcher");
    let b = register_account(&s, "changer");
    assert_eq!(
        add_contact(&s, &a, json!({"user_id": b.user_id})).status,
        201
    );
    let r = patch(
        &s,
        "/api/users/me",
        Some(&b.access),
        Some(json!({"display_name": "New Name"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let items = list(&s, &a, "/api/users/me/contacts");
    assert_eq!(items[0]["display_name"], "New Name", "{items:?}");
}

#[test]
fn contacts_are_private_to_their_owner() {
    let s = Server::start();
    let a = register_account(&s, "first");
    let b = register_account(&s, "second");
    assert_eq!(
        add_contact(&s, &a, json!({"user_id": b.user_id})).status,
        201
    );
    assert!(list(&s, &b, "/api/users/me/contacts").is_empty());
}

#[test]
fn remove_contact_then_again_is_404() {
    let s = Server::start();
    let a = register_account(&s, "remover");
    let b = register_account(&s, "removed");
    assert_eq!(
        add_contact(&s, &a, json!({"user_id": b.user_id})).status,
        201
    );
    let path = format!("/api/users/me/contacts/{}", b.user_id);
    let r = delete(&s, &path, Some(&a.access));
    assert_eq!(r.status, 204, "{r}");
    assert!(r.text.is_empty(), "204 has no body: {r}");
    assert!(list(&s, &a, "/api/users/me/contacts").is_empty());
    let r = delete(&s, &path, Some(&a.access));
    assert_error(&r, 404, "not_found");
    // It can be added again.
    assert_eq!(
        add_contact(&s, &a, json!({"user_id": b.user_id})).status,
        201
    );
}

#[test]
fn contacts_require_auth() {
    let s = Server::start();
    let b = register_account(&s, "someone");
    assert_error(
        &get(&s, "/api/users/me/contacts", None),
        401,
        "unauthorized",
    );
    let r = post(
        &s,
        "/api/users/me/contacts",
        None,
        Some(json!({"user_id": b.user_id})),
    );
    assert_error(&r, 401, "unauthorized");
}

// ---------------------------------------------------------------------------------------------
// Blocks

fn block(s: &Server, who: &Account, target: &str) -> Resp {
    post(
        s,
        "/api/users/me/blocked",
        Some(&who.access),
        Some(json!({"user_id": target})),
    )
}

#[test]
fn block_is_201_then_200_when_repeated() {
    let s = Server::start();
    let a = register_account(&s, "blocker");
    let b = register_account(&s, "pest");
    let r = block(&s, &a, &b.user_id);
    assert_eq!(r.status, 201, "{r}");
    assert_eq!(r.json["user_id"], json!(b.user_id), "{r}");
    assert_eq!(r.json["username"], "pest", "{r}");
    assert!(r.json["blocked_at"].is_i64(), "blocked_at is Unix ms: {r}");

    let r = block(&s, &a, &b.user_id);
    assert_eq!(r.status, 200, "blocking again answers 200: {r}");
    assert_eq!(r.json["user_id"], json!(b.user_id), "{r}");
    assert_eq!(
        list(&s, &a, "/api/users/me/blocked").len(),
        1,
        "still one block"
    );
}

#[test]
fn blocked_list_shows_blocks() {
    let s = Server::start();
    let a = register_account(&s, "blocker");
    let b = register_account(&s, "pest1");
    let c = register_account(&s, "pest2");
    assert!(list(&s, &a, "/api/users/me/blocked").is_empty());
    assert_eq!(block(&s, &a, &b.user_id).status, 201);
    assert_eq!(block(&s, &a, &c.user_id).status, 201);
    let items = list(&s, &a, "/api/users/me/blocked");
    let ids: HashSet<_> = items
        .iter()
        .map(|i| i["user_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([b.user_id.clone(), c.user_id.clone()]),
        "{items:?}"
    );
    for i in &items {
        assert!(
            i["username"].is_string() && i["blocked_at"].is_i64(),
            "Blocked shape: {i}"
        );
    }
    // Paging works for blocks too.
    let pages = collect_pages(&s, "/api/users/me/blocked", &a.access, 1);
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![1, 1], "{pages:?}");
    // The blocked user's own list is unaffected.
    assert!(list(&s, &b, "/api/users/me/blocked").is_empty());
}

#[test]
fn block_self_is_422() {
    let s = Server::start();
    let a = register_account(&s, "selfblock");
    let r = block(&s, &a, &a.user_id);
    assert_error(&r, 422, "unprocessable");
}

#[test]
fn block_unknown_user_is_404() {
    let s = Server::start();
    let a = register_account(&s, "blocker");
    let r = block(&s, &a, &random_uuid());
    assert_error(&r, 404, "not_found");
}

#[test]
fn unblock_is_204_then_404() {
    let s = Server::start();
    let a = register_account(&s, "blocker");
    let b = register_account(&s, "forgiven");
    assert_eq!(block(&s, &a, &b.user_id).status, 201);
    let path = format!("/api/users/me/blocked/{}", b.user_id);
    let r = delete(&s, &path, Some(&a.access));
    assert_eq!(r.status, 204, "{r}");
    assert!(list(&s, &a, "/api/users/me/blocked").is_empty());
    let r = delete(&s, &path, Some(&a.access));
    assert_error(&r, 404, "not_found");
    // Never-blocked user.
    let r = delete(
        &s,
        &format!("/api/users/me/blocked/{}", random_uuid()),
        Some(&a.access),
    );
    assert_error(&r, 404, "not_found");
    // Blocking again after unblock is a fresh block.
    assert_eq!(block(&s, &a, &b.user_id).status, 201);
}

#[test]
fn blocks_require_auth() {
    let s = Server::start();
    let b = register_account(&s, "someone");
    assert_error(&get(&s, "/api/users/me/blocked", None), 401, "unauthorized");
    let r = post(
        &s,
        "/api/users/me/blocked",
        None,
        Some(json!({"user_id": b.user_id})),
    );
    assert_error(&r, 401, "unauthorized");
}
