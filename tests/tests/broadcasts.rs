//! Broadcast lists (docs/REST.md "Broadcast lists"): I send once; each recipient who has me as
//! a contact gets it in our 1:1 chat; others are skipped; blocks hold; retries do not repeat.

use confab_tests::ws::*;
use confab_tests::*;

fn create_list(s: &Server, me: &Account, name: &str, recipients: &[&Account]) -> String {
    let ids: Vec<&str> = recipients.iter().map(|a| a.user_id.as_str()).collect();
    let r = s.post(
        "/api/broadcasts",
        Some(&me.access),
        Some(json!({"name": name, "recipients": ids})),
    );
    r.expect(201);
    assert_eq!(r.json["name"], json!(name), "{r}");
    r.str("/id")
}

fn broadcast(s: &Server, me: &Account, list: &str, client_id: &str, text_: &str) -> Vec<Value> {
    let r = s.post(
        &format!("/api/broadcasts/{list}/messages"),
        Some(&me.access),
        Some(json!({"client_id": client_id, "content": {"kind": "text", "text": text_}})),
    );
    r.expect(200);
    r.json["results"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no results: {r}"))
}

fn result_for<'a>(results: &'a [Value], user: &Account) -> &'a Value {
    results
        .iter()
        .find(|r| r["user_id"] == json!(user.user_id))
        .unwrap_or_else(|| panic!("no result for {}", user.username))
}

#[test]
fn only_recipients_who_have_me_as_contact_get_it_in_our_direct_chat() {
    let s = Server::start();
    let [me, friend, stranger] =
        [0, 1, 2].map(|i| register_account(&s, &format!("bc{i}x{}", unique())));
    add_contact(&s, &friend, &me.user_id);
    let list = create_list(&s, &me, "Family", &[&friend, &stranger]);
    let mut friend_ws = connect_as(&s, &friend);
    let results = broadcast(&s, &me, &list, "b1", "happy new year");
    let sent = result_for(&results, &friend);
    assert!(sent["seq"].is_u64(), "{sent}");
    assert_eq!(
        result_for(&results, &stranger)["skipped"],
        json!("not_a_contact")
    );
    let chat = sent["chat_id"].as_str().unwrap().to_owned();
    assert_eq!(
        create_direct(&s, &me, &friend.user_id),
        chat,
        "delivered in our 1:1 chat"
    );
    let ev = friend_ws.next_where("broadcast event", TIMEOUT, |v| {
        v["type"] == "event" && v["kind"] == "message"
    });
    assert_eq!(ev["content"]["text"], json!("happy new year"));
    assert!(
        chat_list(&s, &stranger.access).is_empty(),
        "the stranger got no chat at all"
    );
}

#[test]
fn a_retried_broadcast_sends_nothing_twice() {
    let s = Server::start();
    let [me, friend] = [0, 1].map(|i| register_account(&s, &format!("bcr{i}x{}", unique())));
    add_contact(&s, &friend, &me.user_id);
    let list = create_list(&s, &me, "One", &[&friend]);
    let first = broadcast(&s, &me, &list, "same", "once");
    let again = broadcast(&s, &me, &list, "same", "once");
    assert_eq!(
        result_for(&first, &friend)["seq"],
        result_for(&again, &friend)["seq"]
    );
    let chat = result_for(&first, &friend)["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(full_history(&s, &friend.access, &chat).len(), 1);
}

#[test]
fn blocks_hold_for_broadcasts() {
    let s = Server::start();
    let [me, friend] = [0, 1].map(|i| register_account(&s, &format!("bcb{i}x{}", unique())));
    add_contact(&s, &friend, &me.user_id);
    block(&s, &friend, &me.user_id);
    let list = create_list(&s, &me, "Blocked", &[&friend]);
    let results = broadcast(&s, &me, &list, "b1", "hello?");
    assert_eq!(result_for(&results, &friend)["skipped"], json!("blocked"));
    assert!(chat_list(&s, &friend.access).is_empty());
}

#[test]
fn lists_are_mine_and_validated() {
    let s = Server::start();
    let [me, other, friend] =
        [0, 1, 2].map(|i| register_account(&s, &format!("bcl{i}x{}", unique())));
    let list = create_list(&s, &me, "Work", &[&friend]);
    let mine = s.get("/api/broadcasts", Some(&me.access));
    mine.expect(200);
    assert_eq!(mine.json["items"].as_array().map(Vec::len), Some(1));
    assert_error(
        &s.get(&format!("/api/broadcasts/{list}"), Some(&other.access)),
        404,
        "not_found",
    );
    let empty = s.post(
        "/api/broadcasts",
        Some(&me.access),
        Some(json!({"name": "x", "recipients": []})),
    );
    assert_error(&empty, 400, "validation_failed");
    let own = s.post(
        "/api/broadcasts",
        Some(&me.access),
        Some(json!({"name": "x", "recipients": [me.user_id]})),
    );
    assert_error(&own, 422, "unprocessable");
    let ghost = s.post(
        "/api/broadcasts",
        Some(&me.access),
        Some(json!({"name": "x", "recipients": [random_uuid()]})),
    );
    assert_error(&ghost, 404, "not_found");
    let renamed = s.patch(
        &format!("/api/broadcasts/{list}"),
        Some(&me.access),
        Some(json!({"name": "Office"})),
    );
    renamed.expect(200);
    assert_eq!(renamed.json["name"], json!("Office"));
    s.delete(&format!("/api/broadcasts/{list}"), Some(&me.access))
        .expect(204);
    assert_error(
        &s.delete(&format!("/api/broadcasts/{list}"), Some(&me.access)),
        404,
        "not_found",
    );
}

#[test]
fn broadcast_over_websocket() {
    let s = Server::start();
    let [me, friend] = [0, 1].map(|i| register_account(&s, &format!("bcw{i}x{}", unique())));
    add_contact(&s, &friend, &me.user_id);
    let list = create_list(&s, &me, "WS", &[&friend]);
    let mut ws = connect_as(&s, &me);
    let answer = ws.request(
        "broadcast",
        json!({"list_id": list, "client_id": "w1", "content": {"kind": "text", "text": "hi"}}),
    );
    assert_eq!(answer["type"], json!("broadcasted"), "{answer}");
    let line = &answer["results"][0];
    assert_eq!(line["user_id"], json!(friend.user_id));
    assert!(line["seq"].is_u64(), "{answer}");
}
