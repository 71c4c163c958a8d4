//! Profiles as seen by the owner, a contact and a stranger; privacy settings; blocking; search.

use confab_tests::*;

const ABOUT: &str = "hello there";
const PHOTO: &str = "media_abc";

/// The owner (with about and photo set), a viewer the owner has in their contacts, a stranger.
struct World {
    s: Server,
    owner: Account,
    contact: Account,
    stranger: Account,
}

fn world() -> World {
    let s = Server::start();
    let owner = register_account(&s, "owner");
    let contact = register_account(&s, "friend");
    let stranger = register_account(&s, "stranger");
    let r = patch(
        &s,
        "/api/users/me",
        Some(&owner.access),
        Some(json!({"about": ABOUT, "photo": PHOTO})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["photo"], PHOTO, "{r}");
    assert_eq!(r.json["about"], ABOUT, "{r}");
    // "contacts" privacy means: people the *owner* has in their contacts.
    let r = post(
        &s,
        "/api/users/me/contacts",
        Some(&owner.access),
        Some(json!({"user_id": contact.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");
    World {
        s,
        owner,
        contact,
        stranger,
    }
}

#[track_caller]
fn profile(s: &Server, viewer: &Account, owner_id: &str) -> Value {
    let r = get(s, &format!("/api/users/{owner_id}"), Some(&viewer.access));
    assert_eq!(r.status, 200, "{r}");
    for k in ["id", "username", "display_name", "is_contact", "blocked"] {
        assert!(r.json.get(k).is_some(), "Profile lacks {k}: {r}");
    }
    assert_eq!(r.json["id"], json!(owner_id), "{r}");
    r.json
}

#[track_caller]
fn set_privacy(s: &Server, who: &Account, body: Value) -> Value {
    let r = patch(s, "/api/users/me/privacy", Some(&who.access), Some(body));
    assert_eq!(r.status, 200, "{r}");
    r.json
}

/// Assert presence (with the right value) or absence of `key` in a profile.
#[track_caller]
fn assert_field(p: &Value, key: &str, expected: &str, visible: bool, who: &str) {
    if visible {
        assert_eq!(
            p.get(key),
            Some(&json!(expected)),
            "{who} should see {key}: {p}"
        );
    } else {
        assert!(
            p.get(key).is_none(),
            "{who} must not see {key} (the key must be absent): {p}"
        );
    }
}

fn check_visibility(privacy_key: &str, setting: &str) {
    let w = world();
    let (profile_key, value, other_key, other_value) = match privacy_key {
        "about" => ("about", ABOUT, "photo", PHOTO),
        "profile_photo" => ("photo", PHOTO, "about", ABOUT),
        _ => unreachable!(),
    };
    let p = set_privacy(&w.s, &w.owner, json!({ privacy_key: setting }));
    assert_eq!(p[privacy_key], setting, "{p}");

    let by_contact = profile(&w.s, &w.contact, &w.owner.user_id);
    let by_stranger = profile(&w.s, &w.stranger, &w.owner.user_id);
    let contact_sees = setting != "nobody";
    let stranger_sees = setting == "everyone";
    assert_field(
        &by_contact,
        profile_key,
        value,
        contact_sees,
        "a contact of the owner",
    );
    assert_field(
        &by_stranger,
        profile_key,
        value,
        stranger_sees,
        "a stranger",
    );
    // The other field keeps its default (everyone).
    assert_field(
        &by_contact,
        other_key,
        other_value,
        true,
        "a contact of the owner",
    );
    assert_field(&by_stranger, other_key, other_value, true, "a stranger");

    // The owner always sees everything, via /me and via their own profile.
    let me = get(&w.s, "/api/users/me", Some(&w.owner.access));
    assert_eq!(me.status, 200, "{me}");
    assert_eq!(me.json["about"], ABOUT, "{me}");
    assert_eq!(me.json["photo"], PHOTO, "{me}");
    let own = profile(&w.s, &w.owner, &w.owner.user_id);
    assert_field(&own, "about", ABOUT, true, "the owner");
    assert_field(&own, "photo", PHOTO, true, "the owner");
}

#[test]
fn about_everyone_is_visible_to_contact_and_stranger() {
    check_visibility("about", "everyone");
}

#[test]
fn about_contacts_is_visible_to_contact_only() {
    check_visibility("about", "contacts");
}

#[test]
fn about_nobody_is_hidden_from_contact_and_stranger() {
    check_visibility("about", "nobody");
}

#[test]
fn photo_everyone_is_visible_to_contact_and_stranger() {
    check_visibility("profile_photo", "everyone");
}

#[test]
fn photo_contacts_is_visible_to_contact_only() {
    check_visibility("profile_photo", "contacts");
}

#[test]
fn photo_nobody_is_hidden_from_contact_and_stranger() {
    check_visibility("profile_photo", "nobody");
}

#[test]
fn contacts_privacy_follows_the_owners_contacts_not_the_viewers() {
    let w = world();
    set_privacy(
        &w.s,
        &w.owner,
        json!({"about": "contacts", "profile_photo": "contacts"}),
    );
    // The stranger adds the owner; that does not make the owner share with them.
    let r = post(
        &w.s,
        "/api/users/me/contacts",
        Some(&w.stranger.access),
        Some(json!({"user_id": w.owner.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");
    let p = profile(&w.s, &w.stranger, &w.owner.user_id);
    assert_eq!(
        p["is_contact"], true,
        "the stranger has the owner as contact: {p}"
    );
    assert_field(
        &p,
        "about",
        ABOUT,
        false,
        "a viewer the owner does not have as contact",
    );
    assert_field(
        &p,
        "photo",
        PHOTO,
        false,
        "a viewer the owner does not have as contact",
    );

    // The owner's contact sees both, although they do not have the owner as contact.
    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_eq!(
        p["is_contact"], false,
        "the contact has not added the owner: {p}"
    );
    assert_field(&p, "about", ABOUT, true, "a contact of the owner");
    assert_field(&p, "photo", PHOTO, true, "a contact of the owner");

    // Once the owner removes the contact, contacts-only fields disappear for them.
    let r = delete(
        &w.s,
        &format!("/api/users/me/contacts/{}", w.contact.user_id),
        Some(&w.owner.access),
    );
    assert_eq!(r.status, 204, "{r}");
    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_field(&p, "about", ABOUT, false, "a removed contact");
    assert_field(&p, "photo", PHOTO, false, "a removed contact");
}

#[test]
fn is_contact_is_from_the_viewers_perspective() {
    let w = world();
    // The owner has `contact` in their contacts, but `contact` has not added the owner.
    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_eq!(p["is_contact"], false, "{p}");
    let p = profile(&w.s, &w.owner, &w.contact.user_id);
    assert_eq!(p["is_contact"], true, "{p}");
    let p = profile(&w.s, &w.stranger, &w.owner.user_id);
    assert_eq!(p["is_contact"], false, "{p}");
    assert_eq!(p["blocked"], false, "{p}");

    let r = post(
        &w.s,
        "/api/users/me/contacts",
        Some(&w.contact.access),
        Some(json!({"user_id": w.owner.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");
    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_eq!(p["is_contact"], true, "{p}");
}

#[test]
fn profile_shows_username_and_display_name() {
    let w = world();
    let p = profile(&w.s, &w.stranger, &w.owner.user_id);
    assert_eq!(p["username"], "owner", "{p}");
    assert_eq!(p["display_name"], "owner", "{p}");
    let r = patch(
        &w.s,
        "/api/users/me",
        Some(&w.owner.access),
        Some(json!({"display_name": "The Owner"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let p = profile(&w.s, &w.stranger, &w.owner.user_id);
    assert_eq!(p["display_name"], "The Owner", "{p}");
    // Profiles never expose the phone number or private fields.
    assert!(
        p.get("phone").is_none(),
        "Profile must not contain phone: {p}"
    );
}

#[test]
fn blocking_the_viewer_hides_about_and_photo_even_from_everyone() {
    let w = world();
    // Defaults: about and photo are `everyone`.
    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_field(&p, "about", ABOUT, true, "a contact before the block");
    assert_field(&p, "photo", PHOTO, true, "a contact before the block");

    let r = post(
        &w.s,
        "/api/users/me/blocked",
        Some(&w.owner.access),
        Some(json!({"user_id": w.contact.user_id})),
    );
    assert_eq!(r.status, 201, "{r}");

    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_field(&p, "about", ABOUT, false, "a blocked viewer");
    assert_field(&p, "photo", PHOTO, false, "a blocked viewer");
    assert_eq!(
        p["blocked"], false,
        "`blocked` is whether the viewer blocked the owner: {p}"
    );

    // Search results are Profiles too: hidden there as well.
    let r = get(&w.s, "/api/users/search?q=owner", Some(&w.contact.access));
    assert_eq!(r.status, 200, "{r}");
    let found = &r.json["items"][0];
    assert_eq!(found["id"], json!(w.owner.user_id), "{r}");
    assert_field(found, "about", ABOUT, false, "a blocked viewer (search)");
    assert_field(found, "photo", PHOTO, false, "a blocked viewer (search)");

    // Others still see them.
    let p = profile(&w.s, &w.stranger, &w.owner.user_id);
    assert_field(&p, "about", ABOUT, true, "an unblocked stranger");
    assert_field(&p, "photo", PHOTO, true, "an unblocked stranger");

    // From the blocker's side, `blocked` is true.
    let p = profile(&w.s, &w.owner, &w.contact.user_id);
    assert_eq!(p["blocked"], true, "{p}");

    // Unblocking restores visibility.
    let r = delete(
        &w.s,
        &format!("/api/users/me/blocked/{}", w.contact.user_id),
        Some(&w.owner.access),
    );
    assert_eq!(r.status, 204, "{r}");
    let p = profile(&w.s, &w.contact, &w.owner.user_id);
    assert_field(&p, "about", ABOUT, true, "an unblocked viewer");
    assert_field(&p, "photo", PHOTO, true, "an unblocked viewer");
    let p = profile(&w.s, &w.owner, &w.contact.user_id);
    assert_eq!(p["blocked"], false, "{p}");
}

#[test]
fn unknown_user_profile_is_404() {
    let s = Server::start();
    let a = register_account(&s, "looker");
    let r = get(
        &s,
        &format!("/api/users/{}", random_uuid()),
        Some(&a.access),
    );
    assert_error(&r, 404, "not_found");
}

#[test]
fn profile_requires_auth() {
    let s = Server::start();
    let a = register_account(&s, "someone");
    let r = get(&s, &format!("/api/users/{}", a.user_id), None);
    assert_error(&r, 401, "unauthorized");
}

#[test]
fn patch_me_updates_and_clears_fields() {
    let s = Server::start();
    let a = register_account(&s, "patcher");
    let r = patch(
        &s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"display_name": "Pat", "about": "about me", "photo": "media_abc"})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["display_name"], "Pat", "{r}");
    assert_eq!(r.json["about"], "about me", "{r}");
    assert_eq!(r.json["photo"], "media_abc", "{r}");
    assert_eq!(r.json["id"], json!(a.user_id), "{r}");
    assert_eq!(r.json["username"], "patcher", "{r}");

    // Partial update leaves the rest alone.
    let r = patch(
        &s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"about": "changed"})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["display_name"], "Pat", "{r}");
    assert_eq!(r.json["about"], "changed", "{r}");
    assert_eq!(r.json["photo"], "media_abc", "{r}");

    // photo: null clears it.
    let r = patch(
        &s,
        "/api/users/me",
        Some(&a.access),
        Some(json!({"photo": null})),
    );
    assert_eq!(r.status, 200, "{r}");
    assert!(
        r.json.get("photo").is_some_and(Value::is_null),
        "photo cleared: {r}"
    );

    let r = get(&s, "/api/users/me", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["display_name"], "Pat", "{r}");
    assert_eq!(r.json["about"], "changed", "{r}");
    assert!(r.json["photo"].is_null(), "{r}");
}

#[test]
fn privacy_defaults() {
    let s = Server::start();
    let a = register_account(&s, "defaults");
    let r = get(&s, "/api/users/me/privacy", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(
        r.json,
        json!({"last_seen": "everyone", "profile_photo": "everyone", "about": "everyone"}),
        "{r}"
    );
}

#[test]
fn privacy_patch_is_partial_and_persists() {
    let s = Server::start();
    let a = register_account(&s, "private");
    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&a.access),
        Some(json!({"profile_photo": "nobody", "about": "contacts"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let expected = json!({"last_seen": "everyone", "profile_photo": "nobody",
                          "about": "contacts"});
    assert_eq!(r.json, expected, "{r}");
    let r = get(&s, "/api/users/me/privacy", Some(&a.access));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json, expected, "{r}");

    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&a.access),
        Some(json!({"last_seen": "nobody"})),
    );
    assert_eq!(r.status, 200, "{r}");
    let expected = json!({"last_seen": "nobody", "profile_photo": "nobody",
                          "about": "contacts"});
    assert_eq!(r.json, expected, "{r}");
    let r = get(&s, "/api/users/me/privacy", Some(&a.access));
    assert_eq!(r.json, expected, "{r}");
}

#[test]
fn invalid_privacy_value_is_400_malformed_json() {
    let s = Server::start();
    let a = register_account(&s, "badprivacy");
    for body in [
        json!({"about": "friends"}),
        json!({"last_seen": "EVERYONE"}),
        json!({"status": "contacts"}),
        json!({"last_seen": 1}),
    ] {
        let r = patch(&s, "/api/users/me/privacy", Some(&a.access), Some(body));
        assert_error(&r, 400, "malformed_json");
    }
    // Nothing changed.
    let r = get(&s, "/api/users/me/privacy", Some(&a.access));
    assert_eq!(r.json["about"], "everyone", "{r}");
    assert_eq!(r.json["last_seen"], "everyone", "{r}");
}

#[test]
fn null_privacy_value_is_400_malformed_json() {
    // `null` is not one of "everyone" | "contacts" | "nobody".
    let s = Server::start();
    let a = register_account(&s, "nullprivacy");
    let r = patch(
        &s,
        "/api/users/me/privacy",
        Some(&a.access),
        Some(json!({"profile_photo": null})),
    );
    assert_error(&r, 400, "malformed_json");
}

// ---------------------------------------------------------------------------------------------
// Search

fn search(s: &Server, who: &Account, q: &str) -> Resp {
    get(
        s,
        &format!("/api/users/search?q={}", enc(q)),
        Some(&who.access),
    )
}

#[track_caller]
fn items(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{r}");
    r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {r}"))
        .clone()
}

#[test]
fn search_finds_exact_username_case_insensitively() {
    let s = Server::start();
    let target = register_account(&s, "alice");
    register_account(&s, "alicia");
    let me = register_account(&s, "searcher");
    for q in ["alice", "ALICE", "Alice"] {
        let r = search(&s, &me, q);
        let it = items(&r);
        assert_eq!(it.len(), 1, "q={q}: exactly alice: {r}");
        assert_eq!(it[0]["id"], json!(target.user_id), "{r}");
        assert_eq!(it[0]["username"], "alice", "{r}");
        assert!(
            it[0].get("is_contact").is_some() && it[0].get("blocked").is_some(),
            "Profile: {r}"
        );
    }
}

#[test]
fn search_is_exact_not_prefix() {
    let s = Server::start();
    register_account(&s, "alice");
    let me = register_account(&s, "searcher");
    let r = search(&s, &me, "ali");
    assert!(items(&r).is_empty(), "a prefix must not match: {r}");
}

#[test]
fn search_finds_exact_phone() {
    let s = Server::start();
    let phone = unique_phone();
    let target = register_with_phone(&s, "phoned", &phone);
    let me = register_account(&s, "searcher");
    let r = search(&s, &me, &phone);
    let it = items(&r);
    assert_eq!(it.len(), 1, "{r}");
    assert_eq!(it[0]["id"], json!(target.user_id), "{r}");
    assert!(
        it[0].get("phone").is_none(),
        "search results are Profiles (no phone): {r}"
    );
}

#[test]
fn search_unknown_name_gives_empty_items() {
    let s = Server::start();
    let me = register_account(&s, "searcher");
    let r = search(&s, &me, "no_such_user");
    assert!(items(&r).is_empty(), "{r}");
    let r = search(&s, &me, "+19990001111");
    assert!(items(&r).is_empty(), "{r}");
}

#[test]
fn search_applies_privacy() {
    let w = world();
    set_privacy(&w.s, &w.owner, json!({"about": "nobody"}));
    let r = search(&w.s, &w.stranger, "owner");
    let it = items(&r);
    assert_eq!(it.len(), 1, "{r}");
    assert!(
        it[0].get("about").is_none(),
        "about hidden in search too: {r}"
    );
    assert_eq!(it[0]["photo"], PHOTO, "{r}");
}

#[test]
fn search_without_q_is_400() {
    let s = Server::start();
    let me = register_account(&s, "searcher");
    let r = get(&s, "/api/users/search", Some(&me.access));
    assert_error_any(&r, 400, &["invalid_query", "validation_failed"]);
}

#[test]
fn search_requires_auth() {
    let s = Server::start();
    register_account(&s, "alice");
    let r = get(&s, "/api/users/search?q=alice", None);
    assert_error(&r, 401, "unauthorized");
}
