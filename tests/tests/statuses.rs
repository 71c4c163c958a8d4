//! Status stories (docs/REST.md "Statuses", docs/PROTOCOL.md `status` pushes): contacts see
//! them grouped with seen/unseen; the owner sees who viewed; the privacy rules and blocks hold;
//! new and deleted statuses are pushed live; they expire and are purged; image and video
//! statuses need the poster's own upload of that kind, and their audience downloads it with
//! `?status=`.

use std::time::{Duration, Instant};

use confab_tests::media::*;
use confab_tests::ws::*;
use confab_tests::*;

fn post_status(s: &Server, who: &Account, body: Value) -> Value {
    let r = s.post("/api/statuses", Some(&who.access), Some(body));
    r.expect(201);
    r.json.clone()
}

fn text_status(s: &Server, who: &Account, text_: &str) -> String {
    let r = post_status(
        s,
        who,
        json!({"content": {"kind": "text", "text": text_, "background": "#1e88e5", "font": "serif"}}),
    );
    r["id"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned()
}

/// My status feed: the groups, in order.
fn feed(s: &Server, who: &Account) -> Vec<Value> {
    let r = s.get("/api/statuses", Some(&who.access));
    r.expect(200);
    r.json["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{r}"))
}

/// Every status id in my feed.
fn feed_ids(s: &Server, who: &Account) -> Vec<String> {
    feed(s, who)
        .iter()
        .flat_map(|g| g["statuses"].as_array().cloned().unwrap_or_default())
        .map(|st| st["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn my_ids(s: &Server, who: &Account) -> Vec<String> {
    let r = s.get("/api/statuses/me", Some(&who.access));
    r.expect(200);
    r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|st| st["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn view(s: &Server, who: &Account, id: &str) -> Resp {
    s.post(&format!("/api/statuses/{id}/view"), Some(&who.access), None)
}

fn accounts<const N: usize>(s: &Server, prefix: &str) -> [Account; N] {
    std::array::from_fn(|i| register_account(s, &format!("{prefix}{i}x{}", unique())))
}

/// Uploads `bytes` as a `kind`; its id.
fn upload_id(s: &Server, who: &Account, kind: &str, bytes: &[u8]) -> String {
    upload_ok(s, &who.access, kind, None, bytes)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Uploads `bytes` as a `kind` and posts them as a status of that kind, for my contacts but
/// `except` (or per my setting): the media id and the posted status.
fn media_status(
    s: &Server,
    owner: &Account,
    kind: &str,
    bytes: &[u8],
    caption: Option<&str>,
    except: Option<&Account>,
) -> (String, Value) {
    let media = upload_id(s, owner, kind, bytes);
    let mut body = json!({"content": {"kind": kind, "media_id": media, "caption": caption}});
    if let Some(user) = except {
        body["privacy"] = json!({"audience": "my_contacts_except", "users": [user.user_id]});
    }
    (media.clone(), post_status(s, owner, body))
}

/// `GET /api/media/{media_id}` (plus `suffix`, e.g. `/thumbnail`) through status `status_id`.
fn fetch_via(s: &Server, who: &Account, media_id: &str, suffix: &str, status_id: &str) -> Download {
    fetch(
        s,
        &format!("/api/media/{media_id}{suffix}?status={status_id}"),
        Some(&who.access),
        &[],
    )
}

/// `who` may download neither an image nor its thumbnail through status `status_id`: the
/// answer is the one without `?status=` (403 for someone else's upload).
#[track_caller]
fn assert_no_access_via(s: &Server, who: &Account, media_id: &str, status_id: &str) {
    for suffix in ["", "/thumbnail"] {
        assert_refused(
            &fetch_via(s, who, media_id, suffix, status_id),
            403,
            "forbidden",
        );
    }
}

#[track_caller]
fn assert_refused(d: &Download, status: u16, code: &str) {
    assert_eq!(
        (d.status, d.json()["error"]["code"].as_str()),
        (status, Some(code)),
        "{}",
        String::from_utf8_lossy(&d.body)
    );
}

#[test]
fn contacts_see_a_text_status_grouped_and_viewing_marks_it_seen() {
    let s = Server::start();
    let [owner, bea, cal, stranger, other] = accounts(&s, "st");
    for c in [&bea, &cal] {
        add_contact(&s, &owner, &c.user_id);
    }
    add_contact(&s, &other, &bea.user_id);

    let posted = post_status(
        &s,
        &owner,
        json!({"content": {"kind": "text", "text": "Gone fishing", "background": "#1e88e5", "font": "serif"}}),
    );
    assert_eq!(posted["audience_size"], 2, "{posted}");
    assert_eq!(posted["view_count"], 0, "{posted}");
    assert_eq!(posted["privacy"]["audience"], "my_contacts", "{posted}");
    let id = posted["id"].as_str().unwrap().to_owned();

    let groups = feed(&s, &bea);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    assert_eq!(g["user_id"], json!(owner.user_id));
    assert_eq!(g["username"], json!(owner.username));
    assert_eq!(g["has_unseen"], true);
    let st = &g["statuses"][0];
    assert_eq!(st["id"], json!(id));
    assert_eq!(st["seen"], false);
    assert_eq!(
        st["content"],
        json!({"kind": "text", "text": "Gone fishing", "background": "#1E88E5", "font": "serif"})
    );
    assert!(st["expires_at"].as_i64().unwrap() > st["posted_at"].as_i64().unwrap());

    assert!(feed(&s, &stranger).is_empty(), "not a contact of the owner");
    assert_error(&view(&s, &stranger, &id), 404, "not_found");

    let before = now_ms();
    view(&s, &bea, &id).expect(204);
    view(&s, &bea, &id).expect(204);
    let after = now_ms();
    let g = &feed(&s, &bea)[0];
    assert_eq!(g["has_unseen"], false, "{g}");
    assert_eq!(g["statuses"][0]["seen"], true, "{g}");

    let r = s.get(&format!("/api/statuses/{id}/viewers"), Some(&owner.access));
    r.expect(200);
    let viewers = r.json["items"].as_array().unwrap();
    assert_eq!(viewers.len(), 1, "viewing twice counts once: {r}");
    assert_eq!(viewers[0]["user_id"], json!(bea.user_id));
    let at = viewers[0]["viewed_at"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );
    assert_error(
        &s.get(&format!("/api/statuses/{id}/viewers"), Some(&bea.access)),
        403,
        "forbidden",
    );
    assert_error(
        &s.get(
            &format!("/api/statuses/{id}/viewers"),
            Some(&stranger.access),
        ),
        404,
        "not_found",
    );
    let mine = s.get("/api/statuses/me", Some(&owner.access));
    assert_eq!(mine.json["items"][0]["view_count"], 1, "{mine}");

    // Someone else's new status comes first while it is unseen.
    let other_id = text_status(&s, &other, "hello");
    let groups = feed(&s, &bea);
    let order: Vec<&Value> = groups.iter().map(|g| &g["user_id"]).collect();
    assert_eq!(order, [&json!(other.user_id), &json!(owner.user_id)]);
    assert_eq!(groups[0]["has_unseen"], true);
    view(&s, &bea, &other_id).expect(204);
    // All seen: newest first.
    let second = text_status(&s, &owner, "still fishing");
    view(&s, &bea, &second).expect(204);
    let groups = feed(&s, &bea);
    let order: Vec<&Value> = groups.iter().map(|g| &g["user_id"]).collect();
    assert_eq!(order, [&json!(owner.user_id), &json!(other.user_id)]);
    assert_eq!(
        groups[0]["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|st| st["id"].clone())
            .collect::<Vec<_>>(),
        vec![json!(id), json!(second)],
        "oldest first within a person"
    );
}

#[test]
fn except_and_only_share_with_limit_the_audience() {
    let s = Server::start();
    let [owner, bea, cal, dee] = accounts(&s, "sp");
    for c in [&bea, &cal, &dee] {
        add_contact(&s, &owner, &c.user_id);
    }
    let posted = post_status(
        &s,
        &owner,
        json!({"content": {"kind": "text", "text": "not for Cal", "background": "#000000", "font": "sans"},
               "privacy": {"audience": "my_contacts_except", "users": [cal.user_id]}}),
    );
    let id = posted["id"].as_str().unwrap().to_owned();
    assert_eq!(posted["audience_size"], 2, "{posted}");
    assert_eq!(feed_ids(&s, &bea), vec![id.clone()]);
    assert_eq!(feed_ids(&s, &dee), vec![id.clone()]);
    assert!(feed_ids(&s, &cal).is_empty(), "excluded");
    assert_error(&view(&s, &cal, &id), 404, "not_found");

    // My default: only Dee.
    let r = s.get("/api/statuses/privacy", Some(&owner.access));
    r.expect(200);
    assert_eq!(r.json, json!({"audience": "my_contacts", "users": []}));
    let body = json!({"audience": "only_share_with", "users": [dee.user_id]});
    let r = request(
        &s,
        "PUT",
        "/api/statuses/privacy",
        Some(&owner.access),
        Some(body.clone()),
    );
    r.expect(200);
    assert_eq!(r.json, body);
    assert_eq!(
        s.get("/api/statuses/privacy", Some(&owner.access)).json,
        body
    );

    let only = text_status(&s, &owner, "just Dee");
    assert_eq!(feed_ids(&s, &dee), vec![id.clone(), only.clone()]);
    assert_eq!(feed_ids(&s, &bea), vec![id.clone()]);
    assert!(feed_ids(&s, &cal).is_empty());
    assert_error(&view(&s, &bea, &only), 404, "not_found");
    view(&s, &dee, &only).expect(204);

    // The audience is fixed when posting: changing the setting later does not widen it.
    let body = json!({"audience": "my_contacts"});
    request(
        &s,
        "PUT",
        "/api/statuses/privacy",
        Some(&owner.access),
        Some(body),
    )
    .expect(200);
    assert_eq!(feed_ids(&s, &bea), vec![id]);
    let mine = s.get("/api/statuses/me", Some(&owner.access));
    assert_eq!(
        mine.json["items"][1]["privacy"],
        json!({"audience": "only_share_with", "users": [dee.user_id]}),
        "{mine}"
    );
}

#[test]
fn blocked_users_never_see_statuses_either_way() {
    let s = Server::start();
    let [owner, blocks_owner, blocked_by_owner, later] = accounts(&s, "sb");
    for c in [&blocks_owner, &blocked_by_owner, &later] {
        add_contact(&s, &owner, &c.user_id);
    }
    block(&s, &blocks_owner, &owner.user_id);
    block(&s, &owner, &blocked_by_owner.user_id);
    let mut ws_blocked = connect_as(&s, &blocked_by_owner);
    let id = text_status(&s, &owner, "no blocked viewers");
    assert!(feed_ids(&s, &blocks_owner).is_empty());
    assert!(feed_ids(&s, &blocked_by_owner).is_empty());
    assert_error(&view(&s, &blocks_owner, &id), 404, "not_found");
    assert_error(&view(&s, &blocked_by_owner, &id), 404, "not_found");
    ws_blocked.expect_no_frame("status", QUIET);

    // A block after posting hides it at once, in both directions.
    assert_eq!(feed_ids(&s, &later), vec![id.clone()]);
    block(&s, &later, &owner.user_id);
    assert!(feed_ids(&s, &later).is_empty());
    assert_error(&view(&s, &later, &id), 404, "not_found");
    let r = s.delete(
        &format!("/api/users/me/blocked/{}", owner.user_id),
        Some(&later.access),
    );
    r.expect(204);
    assert_eq!(feed_ids(&s, &later), vec![id.clone()]);
    block(&s, &owner, &later.user_id);
    assert!(feed_ids(&s, &later).is_empty());
    assert_error(&view(&s, &later, &id), 404, "not_found");
}

#[test]
fn new_and_deleted_statuses_are_pushed_live_to_the_audience_only() {
    let s = Server::start();
    let [owner, bea, cal] = accounts(&s, "sw");
    add_contact(&s, &owner, &bea.user_id);
    add_contact(&s, &owner, &cal.user_id);
    let mut ws_bea = connect_as(&s, &bea);
    let mut ws_cal = connect_as(&s, &cal);
    let bytes = png(24, 16);
    let (media, posted) = media_status(&s, &owner, "image", &bytes, Some("view"), Some(&cal));
    let id = posted["id"].as_str().unwrap().to_owned();
    let frame = ws_bea.next_of("status", TIMEOUT);
    assert_eq!(frame["status"]["id"], json!(id), "{frame}");
    assert_eq!(frame["status"]["user_id"], json!(owner.user_id), "{frame}");
    assert_eq!(frame["status"]["content"]["kind"], "image", "{frame}");
    assert_eq!(
        frame["status"]["content"]["media_id"],
        json!(media),
        "{frame}"
    );
    assert_eq!(frame["status"]["content"]["caption"], "view", "{frame}");
    assert_eq!(frame["status"]["seen"], false, "{frame}");
    let url = format!("/api/media/{media}?status={id}");
    assert_eq!(frame["status"]["media_url"], json!(url), "{frame}");
    let got = fetch(&s, &url, Some(&bea.access), &[]);
    assert_eq!((got.status, &got.body), (200, &bytes));
    ws_cal.expect_no_frame("status", QUIET);

    // Only the owner deletes; others get 404 as if it did not exist.
    assert_error(
        &s.delete(&format!("/api/statuses/{id}"), Some(&bea.access)),
        404,
        "not_found",
    );
    s.delete(&format!("/api/statuses/{id}"), Some(&owner.access))
        .expect(204);
    let frame = ws_bea.next_of("status_deleted", TIMEOUT);
    assert_eq!(
        (&frame["status_id"], &frame["user_id"]),
        (&json!(id), &json!(owner.user_id)),
        "{frame}"
    );
    ws_cal.expect_no_frame("status_deleted", QUIET);
    assert!(feed_ids(&s, &bea).is_empty());
    assert!(my_ids(&s, &owner).is_empty());
    assert_error(&view(&s, &bea, &id), 404, "not_found");
    assert_error(
        &s.delete(&format!("/api/statuses/{id}"), Some(&owner.access)),
        404,
        "not_found",
    );
    // A deleted status no longer lends its media: the answer is the one without `?status=`.
    assert_no_access_via(&s, &bea, &media, &id);
    assert_eq!(fetch_via(&s, &owner, &media, "", &id).status, 200, "mine");
}

fn metric(s: &Server, name: &str) -> f64 {
    let r = s.get("/metrics", None);
    r.expect(200);
    metric_sum(&r.text, name).unwrap_or(0.0)
}

#[test]
fn statuses_expire_from_listings_and_are_purged() {
    let mut s = Server::start_with(&[
        ("CONFAB_STATUS_TTL_SECS", "2"),
        ("CONFAB_STATUS_SWEEP_INTERVAL_SECS", "1"),
    ]);
    let [owner, bea] = accounts(&s, "se");
    add_contact(&s, &owner, &bea.user_id);
    let video = mp4();
    let (media, posted) = media_status(&s, &owner, "video", &video, None, None);
    let id = posted["id"].as_str().unwrap().to_owned();
    let life = posted["expires_at"].as_i64().unwrap() - posted["posted_at"].as_i64().unwrap();
    assert_eq!(life, 2000, "{posted}");
    assert_eq!(
        posted["media_url"],
        json!(format!("/api/media/{media}?status={id}"))
    );
    assert!(
        posted.get("thumbnail_url").is_none(),
        "videos have none: {posted}"
    );
    assert_eq!(metric(&s, "confab_statuses_posted_total"), 1.0);
    assert_eq!(feed_ids(&s, &bea), vec![id.clone()]);
    assert_eq!(my_ids(&s, &owner), vec![id.clone()]);
    let got = fetch_via(&s, &bea, &media, "", &id);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("video/mp4"));
    assert_eq!(got.body, video);

    std::thread::sleep(Duration::from_millis(2300));
    assert!(feed_ids(&s, &bea).is_empty(), "expired: gone from the feed");
    assert!(my_ids(&s, &owner).is_empty(), "and from my own list");
    assert_error(&view(&s, &bea, &id), 404, "not_found");
    assert_refused(&fetch_via(&s, &bea, &media, "", &id), 403, "forbidden");
    assert_error(
        &s.delete(&format!("/api/statuses/{id}"), Some(&owner.access)),
        404,
        "not_found",
    );

    // The sweeper purges it from the store (it counts what it removed).
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&s, "confab_statuses_expired_total") < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the sweeper never purged the status"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(metric(&s, "confab_statuses_expired_total"), 1.0);
    s.restart();
    assert!(feed_ids(&s, &bea).is_empty());
    assert!(my_ids(&s, &owner).is_empty());
}

#[test]
fn bad_input_is_refused_with_typed_errors_and_stores_nothing() {
    let s = Server::start();
    let [owner, bea] = accounts(&s, "sx");
    add_contact(&s, &owner, &bea.user_id);
    let text = |t: &str, bg: &str, font: &str| json!({"content": {"kind": "text", "text": t, "background": bg, "font": font}});
    let long = "é".repeat(701);
    let cases = [
        (text("hi", "blue", "sans"), "validation_failed"),
        (text("hi", "#12345", "sans"), "validation_failed"),
        (text("hi", "#12345G", "sans"), "validation_failed"),
        (text("   ", "#123456", "sans"), "validation_failed"),
        (text(&long, "#123456", "sans"), "validation_failed"),
        (text("hi", "#123456", "comic"), "malformed_json"),
        (
            json!({"content": {"kind": "audio", "media_id": random_uuid()}}),
            "malformed_json",
        ),
        (
            json!({"content": {"kind": "image", "media_id": "not-a-uuid"}}),
            "malformed_json",
        ),
        (
            json!({"content": {"kind": "image", "media_id": "00000000-0000-0000-0000-000000000000"}}),
            "validation_failed",
        ),
        (
            json!({"content": {"kind": "image", "media_id": random_uuid(), "caption": "x".repeat(1025)}}),
            "validation_failed",
        ),
        (
            json!({"content": {"kind": "text", "text": "hi", "background": "#123456", "font": "sans"},
                   "privacy": {"audience": "only_share_with", "users": [random_uuid()]}}),
            "validation_failed",
        ),
        (
            json!({"content": {"kind": "text", "text": "hi", "background": "#123456", "font": "sans"},
                   "privacy": {"audience": "only_share_with", "users": []}}),
            "validation_failed",
        ),
        (
            json!({"content": {"kind": "text", "text": "hi", "background": "#123456", "font": "sans"},
                   "privacy": {"audience": "my_contacts", "users": [bea.user_id]}}),
            "validation_failed",
        ),
        (
            json!({"content": {"kind": "text", "text": "hi", "background": "#123456", "font": "sans"},
                   "privacy": {"audience": "everyone"}}),
            "malformed_json",
        ),
    ];
    for (body, code) in cases {
        let r = s.post("/api/statuses", Some(&owner.access), Some(body.clone()));
        assert_error(&r, 400, code);
        assert!(
            error_message(&r).len() > 5,
            "a message that says what is wrong: {r}"
        );
    }
    let r = s.post(
        "/api/statuses",
        Some(&owner.access),
        Some(text("hi", "blue", "sans")),
    );
    assert!(error_message(&r).contains("background"), "{r}");
    let r = s.post(
        "/api/statuses",
        Some(&owner.access),
        Some(json!({"content": {"kind": "text", "text": "hi", "background": "#123456", "font": "sans"},
                    "privacy": {"audience": "my_contacts_except", "users": [owner.user_id]}})),
    );
    assert_error(&r, 400, "validation_failed");
    assert!(my_ids(&s, &owner).is_empty(), "nothing was posted");
    assert!(feed_ids(&s, &bea).is_empty());

    let unknown = random_uuid();
    let r = request(
        &s,
        "PUT",
        "/api/statuses/privacy",
        Some(&owner.access),
        Some(json!({"audience": "my_contacts_except", "users": [unknown]})),
    );
    assert_error(&r, 400, "validation_failed");
    assert!(error_message(&r).contains(&unknown), "{r}");
    assert_eq!(
        s.get("/api/statuses/privacy", Some(&owner.access)).json,
        json!({"audience": "my_contacts", "users": []}),
        "unchanged"
    );
    assert_error(&view(&s, &bea, "nope"), 400, "invalid_path");
    assert_error(&view(&s, &bea, &random_uuid()), 404, "not_found");
    assert_error(&s.get("/api/statuses", None), 401, "unauthorized");
}

#[test]
fn image_and_video_statuses_need_my_own_upload_of_that_kind() {
    let s = Server::start();
    let [owner, bea, other] = accounts(&s, "sm");
    add_contact(&s, &owner, &bea.user_id);
    let image = upload_id(&s, &owner, "image", &png(8, 8));
    let video = upload_id(&s, &owner, "video", &mp4());
    let document = upload_id(&s, &owner, "document", b"just some notes");
    let audio = upload_id(&s, &owner, "audio", b"OggS\0\x02\0\0\0\0\0\0\0\0OpusHead..");
    let others = upload_id(&s, &other, "image", &png(9, 9));
    let status = |kind: &str, media: &str| json!({"content": {"kind": kind, "media_id": media}});
    let try_post = |body: Value| s.post("/api/statuses", Some(&owner.access), Some(body));

    let r = try_post(status("image", &random_uuid()));
    assert_error(&r, 404, "not_found");
    assert!(error_message(&r).contains("media"), "{r}");
    assert_error(&try_post(status("image", &others)), 403, "forbidden");
    for (kind, media, actual) in [
        ("image", &document, "document"),
        ("image", &audio, "audio"),
        ("image", &video, "video"),
        ("video", &image, "image"),
        ("video", &document, "document"),
    ] {
        let r = try_post(status(kind, media));
        assert_error(&r, 400, "validation_failed");
        let message = error_message(&r);
        assert!(
            message.contains(actual) && message.contains(kind),
            "names both kinds: {r}"
        );
    }
    assert!(my_ids(&s, &owner).is_empty(), "nothing was posted");
    assert!(feed_ids(&s, &bea).is_empty());

    // An upload shared with me in a chat is mine to use, as in a message.
    let chat = create_direct(&s, &other, &owner.user_id);
    s.post(
        "/api/messages",
        Some(&other.access),
        Some(json!({"chat_id": chat, "client_id": "share", "content": {"kind": "image", "media_id": others}})),
    )
    .expect(201);
    let shared = post_status(&s, &owner, status("image", &others));
    let ok_image = post_status(&s, &owner, status("image", &image));
    let ok_video = post_status(&s, &owner, status("video", &video));
    assert_eq!(
        my_ids(&s, &owner),
        [&shared, &ok_image, &ok_video].map(|p| p["id"].as_str().unwrap().to_owned())
    );
}

#[test]
fn the_audience_of_a_status_downloads_its_media_with_the_status_parameter() {
    let s = Server::start();
    let [owner, bea, cal, dee, eve, stranger] = accounts(&s, "sd");
    for c in [&bea, &cal, &dee, &eve] {
        add_contact(&s, &owner, &c.user_id);
    }
    let bytes = png(64, 48);
    let (media, posted) = media_status(&s, &owner, "image", &bytes, Some("sunset"), Some(&cal));
    let id = posted["id"].as_str().unwrap().to_owned();
    let other_bytes = png(10, 10);
    let (other_media, other_status) = media_status(&s, &owner, "image", &other_bytes, None, None);
    let other_id = other_status["id"].as_str().unwrap().to_owned();
    let text_id = text_status(&s, &owner, "words only");

    // The links in the feed carry the status.
    let item = &feed(&s, &bea)[0]["statuses"][0];
    assert_eq!(item["id"], json!(id), "{item}");
    let url = format!("/api/media/{media}?status={id}");
    let thumb_url = format!("/api/media/{media}/thumbnail?status={id}");
    assert_eq!(item["media_url"], json!(url), "{item}");
    assert_eq!(item["thumbnail_url"], json!(thumb_url), "{item}");
    assert_eq!(posted["media_url"], json!(url), "{posted}");
    assert!(
        feed(&s, &bea)[0]["statuses"][2].get("media_url").is_none(),
        "text"
    );

    // Without the status, a contact may not download it; with it, they may.
    let plain = fetch(&s, &format!("/api/media/{media}"), Some(&bea.access), &[]);
    assert_refused(&plain, 403, "forbidden");
    let got = fetch(&s, &url, Some(&bea.access), &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bytes);
    assert_eq!(got.header("content-type"), Some("image/png"));
    let etag = format!("\"{}\"", sha_hex(&bytes));
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    let part = fetch(&s, &url, Some(&bea.access), &[("Range", "bytes=0-9")]);
    assert_eq!((part.status, &part.body[..]), (206, &bytes[..10]));
    let cached = fetch(&s, &url, Some(&bea.access), &[("If-None-Match", &etag)]);
    assert_eq!(cached.status, 304);
    let thumb = fetch(&s, &thumb_url, Some(&bea.access), &[]);
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    assert!(
        image::load_from_memory(&thumb.body).is_ok(),
        "a real JPEG thumbnail"
    );
    assert_eq!(
        fetch(&s, &url, Some(&owner.access), &[]).status,
        200,
        "mine"
    );

    // The status must show exactly this upload.
    assert_refused(
        &fetch_via(&s, &bea, &media, "", &other_id),
        403,
        "forbidden",
    );
    assert_refused(
        &fetch_via(&s, &bea, &other_media, "", &id),
        403,
        "forbidden",
    );
    assert_refused(&fetch_via(&s, &bea, &media, "", &text_id), 403, "forbidden");
    assert_eq!(
        fetch_via(&s, &bea, &other_media, "", &other_id).body,
        other_bytes
    );
    // An unknown status changes nothing (no telling whether it exists); unknown media is 404.
    assert_refused(
        &fetch_via(&s, &bea, &media, "", &random_uuid()),
        403,
        "forbidden",
    );
    assert_refused(
        &fetch_via(&s, &bea, &random_uuid(), "", &id),
        404,
        "not_found",
    );
    let bad = fetch(
        &s,
        &format!("/api/media/{media}?status=nope"),
        Some(&bea.access),
        &[],
    );
    assert_refused(&bad, 400, "invalid_query");

    // Left out by the privacy rule, or not a contact: refused, thumbnail too.
    for who in [&cal, &stranger] {
        assert_no_access_via(&s, who, &media, &id);
    }
    // Only share with: the others are refused.
    let only = post_status(
        &s,
        &owner,
        json!({"content": {"kind": "image", "media_id": media},
               "privacy": {"audience": "only_share_with", "users": [dee.user_id]}}),
    );
    let only = only["id"].as_str().unwrap().to_owned();
    assert_eq!(fetch_via(&s, &dee, &media, "", &only).status, 200);
    assert_refused(&fetch_via(&s, &bea, &media, "", &only), 403, "forbidden");

    // A block, made after posting, either way: refused at once.
    assert_eq!(fetch_via(&s, &dee, &media, "", &id).status, 200);
    assert_eq!(fetch_via(&s, &eve, &media, "", &id).status, 200);
    block(&s, &owner, &dee.user_id);
    block(&s, &eve, &owner.user_id);
    for who in [&dee, &eve] {
        assert_no_access_via(&s, who, &media, &id);
    }
    assert_refused(&fetch_via(&s, &dee, &media, "", &only), 403, "forbidden");
    assert_eq!(
        fetch_via(&s, &bea, &media, "", &id).status,
        200,
        "others keep it"
    );
}

#[test]
fn openapi_documents_every_status_route() {
    let s = Server::start();
    let r = s.get("/api/openapi.json", None);
    r.expect(200);
    for (path, methods) in [
        ("/api/statuses", &["get", "post"][..]),
        ("/api/statuses/me", &["get"]),
        ("/api/statuses/privacy", &["get", "put"]),
        ("/api/statuses/{status_id}", &["delete"]),
        ("/api/statuses/{status_id}/view", &["post"]),
        ("/api/statuses/{status_id}/viewers", &["get"]),
    ] {
        for m in methods {
            assert!(
                r.json["paths"][path][m].is_object(),
                "openapi lacks {m} {path}"
            );
        }
    }
    let params = r.json["paths"]["/api/media/{media_id}"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        params
            .iter()
            .any(|p| p["name"] == "status" && p["in"] == "query"),
        "openapi lacks the status parameter of media downloads: {params:?}"
    );
    for schema in [
        "PostStatusRequest",
        "StatusContentDto",
        "StatusPrivacyDto",
        "StatusFeed",
        "MyStatusList",
        "StatusViewerList",
    ] {
        assert!(
            r.json["components"]["schemas"][schema].is_object(),
            "openapi lacks schema {schema}"
        );
    }
}

/// The same flow with `storage.backend = "scylla"` (rows purged by their CQL TTL). Needs
/// `CONFAB_TEST_CQL=host:port`; without it this prints SKIPPED and passes, unless
/// `CONFAB_REQUIRE_CQL=1`.
#[test]
fn statuses_on_scylla_share_view_and_expire() {
    let Ok(contact) = std::env::var("CONFAB_TEST_CQL") else {
        assert!(
            std::env::var("CONFAB_REQUIRE_CQL").as_deref() != Ok("1"),
            "CONFAB_REQUIRE_CQL=1 but CONFAB_TEST_CQL is not set"
        );
        eprintln!("SKIPPED: set CONFAB_TEST_CQL=127.0.0.1:9042 to run against a CQL database");
        return;
    };
    let keyspace = format!("stt_{}_{}", std::process::id(), unique());
    let s = Server::start_with(&[
        ("CONFAB_STORAGE_BACKEND", "scylla"),
        ("CONFAB_STORAGE_SCYLLA_CONTACT_POINTS", contact.as_str()),
        ("CONFAB_STORAGE_SCYLLA_KEYSPACE", keyspace.as_str()),
        ("CONFAB_STORAGE_SCYLLA_CONSISTENCY", "one"),
        ("CONFAB_STATUS_TTL_SECS", "3"),
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.get("/readyz", None).status != 200 {
        assert!(Instant::now() < deadline, "never ready: {}", s.stderr());
        std::thread::sleep(Duration::from_millis(200));
    }
    let [owner, bea, cal] = accounts(&s, "sc");
    add_contact(&s, &owner, &bea.user_id);
    add_contact(&s, &owner, &cal.user_id);
    let mut ws_bea = connect_as(&s, &bea);
    let posted = post_status(
        &s,
        &owner,
        json!({"content": {"kind": "text", "text": "over cql", "background": "#00ff00", "font": "monospace"},
               "privacy": {"audience": "my_contacts_except", "users": [cal.user_id]}}),
    );
    let id = posted["id"].as_str().unwrap().to_owned();
    assert_eq!(ws_bea.next_of("status", TIMEOUT)["status"]["id"], json!(id));
    assert_eq!(feed_ids(&s, &bea), vec![id.clone()]);
    assert!(feed_ids(&s, &cal).is_empty());
    assert_error(&view(&s, &cal, &id), 404, "not_found");
    view(&s, &bea, &id).expect(204);
    assert_eq!(feed(&s, &bea)[0]["statuses"][0]["seen"], true);
    let r = s.get(&format!("/api/statuses/{id}/viewers"), Some(&owner.access));
    assert_eq!(r.json["items"][0]["user_id"], json!(bea.user_id), "{r}");

    std::thread::sleep(Duration::from_millis(3300));
    assert!(feed_ids(&s, &bea).is_empty(), "expired");
    assert!(my_ids(&s, &owner).is_empty());
    assert_error(&view(&s, &bea, &id), 404, "not_found");
}
