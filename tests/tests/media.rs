//! Media (docs/REST.md "Media"): streaming uploads checked against their bytes, thumbnails,
//! content-addressed blobs, authorized downloads with ranges and caching headers, media
//! messages over REST and WebSocket, forwarding, delete for everyone, and chat galleries.

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use confab_tests::media::*;
use confab_tests::ws::*;
use confab_tests::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `w` x `h` pixels (a decompression bomb's header: a few bytes that
/// would decode to gigabytes).
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        v.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        v.extend_from_slice(&body);
        v.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    v
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn blobs(s: &Server) -> Vec<std::path::PathBuf> {
    files_under(&s.data_dir().join("media").join("blobs"))
}

fn send_content(s: &Server, who: &Account, chat: &str, cid: &str, content: Value) -> Resp {
    s.post(
        "/api/messages",
        Some(&who.access),
        Some(json!({"chat_id": chat, "client_id": cid, "content": content})),
    )
}

#[track_caller]
fn send_media(s: &Server, who: &Account, chat: &str, cid: &str, content: Value) -> u64 {
    let r = send_content(s, who, chat, cid, content);
    r.expect(201);
    r.json["seq"].as_u64().unwrap()
}

fn gallery(s: &Server, token: &str, chat: &str, query: &str) -> Resp {
    s.get(&format!("/api/chats/{chat}/media{query}"), Some(token))
}

fn seqs(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seq"].as_u64().unwrap())
        .collect()
}

/// Reads an HTTP response head from a raw socket (up to the blank line).
fn read_status_line(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Uploads
// ---------------------------------------------------------------------------------------------

#[test]
fn png_upload_gets_dimensions_and_a_thumbnail() {
    let s = Server::start();
    let a = register_account(&s, "alice");
    let bytes = png(800, 600);
    let m = upload_ok(&s, &a.access, "image", Some("cat.png"), &bytes);
    assert_eq!(m["kind"], "image");
    assert_eq!(m["content_type"], "image/png");
    assert_eq!(m["width"], 800);
    assert_eq!(m["height"], 600);
    assert_eq!(m["size"], bytes.len() as u64);
    assert_eq!(m["sha256"], json!(sha_hex(&bytes)));
    assert_eq!(m["uploader"], json!(a.user_id));
    let id = m["id"].as_str().unwrap();
    assert_eq!(m["url"], json!(format!("/api/media/{id}")));

    let thumb = fetch(
        &s,
        &format!("/api/media/{id}/thumbnail"),
        Some(&a.access),
        &[],
    );
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    let decoded = image::load_from_memory(&thumb.body).expect("the thumbnail is an image");
    assert_eq!((decoded.width(), decoded.height()), (320, 240));

    let full = fetch(&s, &format!("/api/media/{id}"), Some(&a.access), &[]);
    assert_eq!(full.status, 200);
    assert_eq!(
        full.body, bytes,
        "the download is the upload, byte for byte"
    );
    assert_eq!(full.header("content-type"), Some("image/png"));
    assert_eq!(
        full.header("content-length"),
        Some(bytes.len().to_string().as_str())
    );

    let metrics = s.get("/metrics", None).text;
    assert!(
        metric_sum(&metrics, "confab_media_uploads_total").unwrap_or(0.0) >= 1.0,
        "{metrics}"
    );
    assert!(
        metric_sum(&metrics, "confab_media_upload_bytes_total").unwrap_or(0.0)
            >= bytes.len() as f64
    );
}

#[test]
fn the_same_bytes_are_stored_once() {
    let s = Server::start();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let bytes = png(64, 48);
    let first = upload_ok(&s, &a.access, "image", None, &bytes);
    let second = upload_ok(&s, &b.access, "image", None, &bytes);
    assert_ne!(first["id"], second["id"], "each upload is its own record");
    assert_eq!(second["uploader"], json!(b.user_id));
    assert_eq!(first["sha256"], second["sha256"]);
    let sha = first["sha256"].as_str().unwrap();
    let files = blobs(&s);
    let named = files
        .iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()) == Some(sha))
        .count();
    assert_eq!(named, 1, "one blob for both uploads: {files:?}");
    assert_eq!(files.len(), 2, "the image and its thumbnail: {files:?}");
    assert!(
        files_under(&s.data_dir().join("media").join("staging")).is_empty(),
        "nothing left staged"
    );
}

#[test]
fn bytes_that_are_not_the_declared_kind_are_refused() {
    let s = Server::start();
    let a = register_account(&s, "alice");
    let r = upload(
        &s,
        &a.access,
        "image",
        Some("x.png"),
        b"this is not a picture at all",
    );
    assert_error(&r, 422, "media_kind_mismatch");
    assert!(error_message(&r).contains("image"), "{r}");
    let r = upload(&s, &a.access, "video", None, b"%PDF-1.7 not a video");
    assert_error(&r, 422, "media_kind_mismatch");
    let jpeg = {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::new(8, 8)
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .unwrap();
        out.into_inner()
    };
    assert_error(
        &upload(&s, &a.access, "sticker", None, &jpeg),
        422,
        "media_kind_mismatch",
    );
    let mut broken = png(16, 16);
    broken.truncate(40);
    assert_error(
        &upload(&s, &a.access, "image", None, &broken),
        422,
        "invalid_image",
    );
    assert_error(
        &upload(&s, &a.access, "photo", None, &png(4, 4)),
        400,
        "validation_failed",
    );
    assert_error(
        &upload(&s, &a.access, "image", None, b""),
        400,
        "empty_upload",
    );
    assert_error(
        &upload(&s, &a.access, "document", Some("a\u{1}b"), b"x"),
        400,
        "validation_failed",
    );
    let r = raw(
        &s,
        "POST",
        "/api/media?kind=image",
        None,
        None,
        Some(&png(4, 4)),
    );
    assert_eq!(r.status, 401, "{r}");
    assert!(blobs(&s).is_empty(), "a refused upload stores nothing");
    let metrics = s.get("/metrics", None).text;
    assert!(
        metrics.contains("confab_media_rejected_total{reason=\"media_kind_mismatch\"} 3"),
        "{metrics}"
    );

    // Documents take anything; the type comes from the bytes when recognised.
    let d = upload_ok(
        &s,
        &a.access,
        "document",
        Some("notes.bin"),
        b"\x00\x01plain bytes",
    );
    assert_eq!(d["content_type"], "application/octet-stream");
    assert_eq!(d["file_name"], "notes.bin");
    let pdf = upload_ok(
        &s,
        &a.access,
        "document",
        Some("../Report 2026 é.pdf"),
        b"%PDF-1.7\n...",
    );
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(
        pdf["file_name"], "Report 2026 é.pdf",
        "only the last path component"
    );
    let got = fetch(&s, pdf["url"].as_str().unwrap(), Some(&a.access), &[]);
    let disposition = got
        .header("content-disposition")
        .unwrap_or_default()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"Report 2026 _.pdf\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''Report%202026%20%C3%A9.pdf"),
        "{disposition}"
    );
    let v = upload_ok(&s, &a.access, "video", None, &mp4());
    assert_eq!(v["content_type"], "video/mp4");
    assert_eq!(v["duration_ms"], 2500);
}

#[test]
fn a_decompression_bomb_is_refused_and_nothing_is_stored() {
    let s = Server::start_with(&[("CONFAB_MEDIA_MAX_IMAGE_PIXELS", "1000000")]);
    let a = register_account(&s, "alice");
    // A few dozen bytes claiming 100000 x 100000 pixels.
    let r = upload(
        &s,
        &a.access,
        "image",
        None,
        &png_claiming(100_000, 100_000),
    );
    assert_error(&r, 422, "image_too_large");
    // A real image, small on disk, over the configured pixel limit once decoded.
    let flat = {
        let img = image::RgbImage::new(2000, 1000);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    assert!(flat.len() < 100_000);
    assert_error(
        &upload(&s, &a.access, "image", None, &flat),
        422,
        "image_too_large",
    );
    assert!(blobs(&s).is_empty(), "nothing stored");
    upload_ok(&s, &a.access, "image", None, &png(1000, 1000));
}

#[test]
fn an_oversized_upload_gets_413_without_the_server_reading_it_all() {
    let s = Server::start_with(&[("CONFAB_MEDIA_IMAGE_MAX_BYTES", "100000")]);
    let a = register_account(&s, "alice");
    let addr = format!("127.0.0.1:{}", s.port());

    // A declared Content-Length over the limit: refused from the headers, before any body.
    let mut tcp = TcpStream::connect(&addr).unwrap();
    write!(
        tcp,
        "POST /api/media?kind=image HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n",
        a.access
    )
    .unwrap();
    tcp.write_all(&png(16, 16)).unwrap();
    let status = read_status_line(&mut tcp);
    assert!(status.contains(" 413 "), "got {status:?}");

    // A chunked body that never ends: cut off once it passes the limit.
    let mut tcp = TcpStream::connect(&addr).unwrap();
    write!(
        tcp,
        "POST /api/media?kind=image HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
        a.access
    )
    .unwrap();
    let chunk = vec![0x42u8; 16 * 1024];
    for _ in 0..8 {
        write!(tcp, "{:x}\r\n", chunk.len()).unwrap();
        tcp.write_all(&chunk).unwrap();
        tcp.write_all(b"\r\n").unwrap();
    }
    // 128 KiB sent, no terminating chunk: the answer must come anyway.
    let status = read_status_line(&mut tcp);
    assert!(status.contains(" 413 "), "got {status:?}");

    // Through an ordinary client too, with the typed error body.
    let r = upload(&s, &a.access, "image", None, &vec![0u8; 100_001]);
    assert_error(&r, 413, "payload_too_large");
    assert!(blobs(&s).is_empty());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        files_under(&s.data_dir().join("media").join("staging")).is_empty(),
        "a cut-off upload leaves no staged file"
    );
    // Other kinds keep their own (default) limits.
    upload_ok(&s, &a.access, "document", None, &vec![7u8; 200_000]);
    s.get("/healthz", None).expect(200);
}

// ---------------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------------

#[test]
fn downloads_are_for_the_uploader_and_members_of_chats_where_it_was_shared() {
    let s = Server::start();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let m = upload_ok(&s, &a.access, "image", None, &png(40, 30));
    let id = m["id"].as_str().unwrap();
    let path = format!("/api/media/{id}");

    assert_eq!(fetch(&s, &path, Some(&a.access), &[]).status, 200);
    let denied = fetch(&s, &path, Some(&b.access), &[]);
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["error"]["code"], "forbidden");
    assert_eq!(
        fetch(&s, &format!("{path}/thumbnail"), Some(&b.access), &[]).status,
        403
    );
    assert_eq!(fetch(&s, &path, None, &[]).status, 401);
    let unknown = fetch(
        &s,
        &format!("/api/media/{}", random_uuid()),
        Some(&a.access),
        &[],
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["code"], "not_found");
    assert_eq!(
        fetch(&s, "/api/media/not-a-uuid", Some(&a.access), &[]).status,
        400
    );

    let ab = create_direct(&s, &a, &b.user_id);
    send_media(
        &s,
        &a,
        &ab,
        "img-1",
        json!({"kind": "image", "media_id": id}),
    );
    assert_eq!(
        fetch(&s, &path, Some(&b.access), &[]).status,
        200,
        "member of the chat"
    );
    assert_eq!(
        fetch(&s, &format!("{path}/thumbnail"), Some(&b.access), &[]).status,
        200
    );
    assert_eq!(
        fetch(&s, &path, Some(&c.access), &[]).status,
        403,
        "not a member"
    );
}

#[test]
fn range_requests_etags_and_caching_headers() {
    let s = Server::start_with(&[("CONFAB_MEDIA_CACHE_MAX_AGE_SECS", "600")]);
    let a = register_account(&s, "alice");
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let m = upload_ok(&s, &a.access, "document", Some("data.bin"), &bytes);
    let path = m["url"].as_str().unwrap().to_owned();
    let tok = Some(a.access.as_str());

    let whole = fetch(&s, &path, tok, &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, bytes);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("cache-control"), Some("private, max-age=600"));
    let etag = format!("\"{}\"", sha_hex(&bytes));
    assert_eq!(whole.header("etag"), Some(etag.as_str()));

    let part = fetch(&s, &path, tok, &[("Range", "bytes=100-199")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 100-199/10000"));
    assert_eq!(part.header("content-length"), Some("100"));
    assert_eq!(part.body, bytes[100..200]);
    let tail = fetch(&s, &path, tok, &[("Range", "bytes=-10")]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, bytes[9990..]);
    let open = fetch(&s, &path, tok, &[("Range", "bytes=9000-")]);
    assert_eq!(open.header("content-range"), Some("bytes 9000-9999/10000"));
    assert_eq!(open.body, bytes[9000..]);
    let past = fetch(&s, &path, tok, &[("Range", "bytes=5000-999999")]);
    assert_eq!(past.body, bytes[5000..]);

    let bad = fetch(&s, &path, tok, &[("Range", "bytes=10000-")]);
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("content-range"), Some("bytes */10000"));
    assert_eq!(bad.json()["error"]["code"], "range_not_satisfiable");

    let cached = fetch(&s, &path, tok, &[("If-None-Match", &etag)]);
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    let stale = fetch(&s, &path, tok, &[("If-None-Match", "\"something-else\"")]);
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, bytes);
}

// ---------------------------------------------------------------------------------------------
// Media messages
// ---------------------------------------------------------------------------------------------

#[test]
fn media_messages_over_websocket_and_rest_carry_the_metadata() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let chat = create_direct(&s, &a, &b.user_id);
    let img = upload_ok(&s, &a.access, "image", Some("sunset.png"), &png(200, 100));
    let img_id = img["id"].as_str().unwrap().to_owned();
    let mut wa = connect_as(&s, &a);
    let mut wb = connect_as(&s, &b);

    let sent = wa.request(
        "send",
        json!({"chat_id": chat, "client_id": "ws-img",
               "content": {"kind": "image", "media_id": img_id, "caption": "look"}}),
    );
    assert_eq!(sent["type"], "sent", "{sent}");
    let ev = wb.next_event_in(&chat, TIMEOUT);
    let content = &ev["content"];
    assert_eq!(content["kind"], "image", "{ev}");
    assert_eq!(content["caption"], "look");
    assert_eq!(content["media"]["id"], json!(img_id));
    assert_eq!(content["media"]["kind"], "image");
    assert_eq!(content["media"]["content_type"], "image/png");
    assert_eq!(content["media"]["width"], 200);
    assert_eq!(content["media"]["height"], 100);
    assert_eq!(content["media"]["size"], img["size"]);
    assert_eq!(content["media"]["thumbnail"], true);
    assert_eq!(content["media"]["sha256"], img["sha256"]);

    let video = upload_ok(&s, &a.access, "video", Some("clip.mp4"), &mp4());
    let vseq = send_media(
        &s,
        &a,
        &chat,
        "rest-video",
        json!({"kind": "video", "media_id": video["id"]}),
    );
    let ev = wb.next_event_in(&chat, TIMEOUT);
    assert_eq!(ev["seq"], vseq);
    assert_eq!(ev["content"]["media"]["duration_ms"], 2500);
    assert_eq!(ev["content"]["media"]["content_type"], "video/mp4");
    let stored = full_history(&s, &b.access, &chat);
    let last = stored.last().unwrap();
    assert_eq!(last["content"]["kind"], "video");
    assert_eq!(last["content"]["media"]["file_name"], "clip.mp4");

    // A voice note and a sticker (no caption allowed).
    let voice = upload_ok(
        &s,
        &a.access,
        "voice",
        None,
        b"OggS\0\x02\0\0\0\0\0\0\0\0OpusHead..",
    );
    send_media(
        &s,
        &a,
        &chat,
        "voice-1",
        json!({"kind": "voice", "media_id": voice["id"]}),
    );
    let sticker = upload_ok(&s, &a.access, "sticker", None, &png(64, 64));
    send_media(
        &s,
        &a,
        &chat,
        "st-1",
        json!({"kind": "sticker", "media_id": sticker["id"]}),
    );
    let r = send_content(
        &s,
        &a,
        &chat,
        "st-2",
        json!({"kind": "sticker", "media_id": sticker["id"], "caption": "x"}),
    );
    assert_eq!(r.status, 400, "{r}");

    // The declared message kind must match the upload's kind.
    let r = send_content(
        &s,
        &a,
        &chat,
        "wrong-kind",
        json!({"kind": "video", "media_id": img_id}),
    );
    assert_error(&r, 400, "validation_failed");
    assert!(error_message(&r).contains("image"), "{r}");
    let e = wa.request(
        "send",
        json!({"chat_id": chat, "client_id": "ws-wrong", "content": {"kind": "document", "media_id": img_id}}),
    );
    assert_ws_error(&e, &["validation_failed"]);
    // Unknown media, and someone else's unshared media.
    let r = send_content(
        &s,
        &a,
        &chat,
        "unknown",
        json!({"kind": "image", "media_id": random_uuid()}),
    );
    assert_error(&r, 404, "not_found");
    let carols = upload_ok(&s, &c.access, "image", None, &png(10, 10));
    let r = send_content(
        &s,
        &a,
        &chat,
        "not-mine",
        json!({"kind": "image", "media_id": carols["id"]}),
    );
    assert_error(&r, 403, "forbidden");
    // Bob received the image in this chat, so he may send it on.
    send_media(
        &s,
        &b,
        &chat,
        "bob-resend",
        json!({"kind": "image", "media_id": img_id}),
    );

    // Editing a media message changes its caption; a sticker has none to change.
    let img_seq = sent["seq"].as_u64().unwrap();
    s.patch(
        &format!("/api/messages/{chat}/{img_seq}"),
        Some(&a.access),
        Some(json!({"content": text("look again")})),
    )
    .expect(200);
    let edited = full_history(&s, &b.access, &chat)
        .into_iter()
        .find(|e| e["seq"] == json!(img_seq))
        .unwrap();
    assert_eq!(edited["content"]["caption"], "look again", "{edited}");
    assert_eq!(edited["content"]["media"]["id"], json!(img_id));

    // A reply to a media message previews it.
    let r = s.post(
        "/api/messages",
        Some(&b.access),
        Some(json!({"chat_id": chat, "client_id": "re-1", "content": text("nice"), "reply_to": sent["seq"]})),
    );
    r.expect(201);
    let reply = full_history(&s, &b.access, &chat).last().cloned().unwrap();
    assert_eq!(
        reply["content"]["reply_to"]["preview"], "look again",
        "{reply}"
    );
}

#[test]
fn forwarding_a_media_message_lets_the_other_chats_members_download_it() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let d = register_account(&s, "dave");
    let ab = create_direct(&s, &a, &b.user_id);
    let group = create_group(&s, &b, "bc", &[&c.user_id]);
    let m = upload_ok(
        &s,
        &a.access,
        "document",
        Some("plan.pdf"),
        b"%PDF-1.4 the plan",
    );
    let path = m["url"].as_str().unwrap().to_owned();
    let seq = send_media(
        &s,
        &a,
        &ab,
        "doc-1",
        json!({"kind": "document", "media_id": m["id"], "caption": "the plan"}),
    );
    assert_eq!(fetch(&s, &path, Some(&c.access), &[]).status, 403);

    let r = s.post(
        "/api/messages/forward",
        Some(&b.access),
        Some(json!({"chat_id": ab, "seq": seq, "to": [group], "client_id": "fw-1"})),
    );
    r.expect(200);
    let fseq = r.json["results"][0]["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("{r}"));
    let forwarded = full_history(&s, &c.access, &group)
        .into_iter()
        .find(|e| e["seq"] == json!(fseq))
        .unwrap();
    assert_eq!(forwarded["content"]["kind"], "document");
    assert_eq!(forwarded["content"]["forwarded"], 1);
    assert_eq!(forwarded["content"]["caption"], "the plan");
    assert_eq!(forwarded["content"]["media"]["id"], m["id"]);
    let got = fetch(&s, &path, Some(&c.access), &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, b"%PDF-1.4 the plan");
    assert_eq!(fetch(&s, &path, Some(&d.access), &[]).status, 403);
}

#[test]
fn delete_for_everyone_removes_it_from_the_gallery_and_revokes_access() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let chat = create_direct(&s, &a, &b.user_id);
    let m = upload_ok(&s, &a.access, "image", None, &png(30, 30));
    let path = m["url"].as_str().unwrap().to_owned();
    let seq = send_media(
        &s,
        &a,
        &chat,
        "img",
        json!({"kind": "image", "media_id": m["id"]}),
    );
    let g = gallery(&s, &b.access, &chat, "");
    g.expect(200);
    assert_eq!(seqs(&g.json["items"]), vec![seq]);
    assert_eq!(g.json["items"][0]["media"]["id"], m["id"]);
    assert_eq!(fetch(&s, &path, Some(&b.access), &[]).status, 200);

    s.delete(&format!("/api/messages/{chat}/{seq}"), Some(&a.access))
        .expect(200);
    let g = gallery(&s, &b.access, &chat, "");
    assert_eq!(g.json["items"], json!([]), "{g}");
    assert_eq!(
        fetch(&s, &path, Some(&b.access), &[]).status,
        403,
        "the share is revoked"
    );
    assert_eq!(
        fetch(&s, &path, Some(&a.access), &[]).status,
        200,
        "the uploader keeps it"
    );
    let deleted = full_history(&s, &b.access, &chat)
        .into_iter()
        .find(|e| e["seq"] == json!(seq))
        .unwrap();
    assert_eq!(
        deleted["content"],
        json!({"kind": "deleted"}),
        "no media left in the tombstone"
    );
}

#[test]
fn gallery_pages_newest_first_by_class() {
    let s = ws_server();
    let a = register_account(&s, "alice");
    let b = register_account(&s, "bob");
    let c = register_account(&s, "carol");
    let chat = create_direct(&s, &a, &b.user_id);
    let img = upload_ok(&s, &a.access, "image", None, &png(20, 20));
    let doc = upload_ok(&s, &a.access, "document", Some("a.txt"), b"hello");
    let mut images = Vec::new();
    for i in 0..5 {
        images.push(send_media(
            &s,
            &a,
            &chat,
            &format!("i{i}"),
            json!({"kind": "image", "media_id": img["id"], "caption": format!("n{i}")}),
        ));
        if i % 2 == 0 {
            send_media(
                &s,
                &a,
                &chat,
                &format!("d{i}"),
                json!({"kind": "document", "media_id": doc["id"]}),
            );
        }
    }
    let link_seq = rest_send(
        &s,
        &b,
        &chat,
        "l1",
        "see https://example.com/x, and http://confab.test/y.",
    )
    .json["seq"]
        .as_u64()
        .unwrap();
    rest_send(&s, &b, &chat, "t1", "no links here").expect(201);

    let mut newest_first = images.clone();
    newest_first.reverse();
    let p1 = gallery(&s, &b.access, &chat, "?class=media&limit=2");
    p1.expect(200);
    assert_eq!(seqs(&p1.json["items"]), newest_first[..2]);
    assert_eq!(p1.json["items"][0]["caption"], "n4");
    assert_eq!(p1.json["items"][0]["sender"], json!(a.user_id));
    let next = p1.json["next_before"].as_u64().unwrap();
    let p2 = gallery(
        &s,
        &b.access,
        &chat,
        &format!("?class=media&limit=2&before={next}"),
    );
    assert_eq!(seqs(&p2.json["items"]), newest_first[2..4]);
    let next = p2.json["next_before"].as_u64().unwrap();
    let p3 = gallery(
        &s,
        &b.access,
        &chat,
        &format!("?class=media&limit=2&before={next}"),
    );
    assert_eq!(seqs(&p3.json["items"]), newest_first[4..]);
    assert!(p3.json.get("next_before").is_none(), "last page: {p3}");

    let docs = gallery(&s, &a.access, &chat, "?class=documents");
    assert_eq!(docs.json["items"].as_array().unwrap().len(), 3);
    assert_eq!(docs.json["items"][0]["media"]["file_name"], "a.txt");
    let links = gallery(&s, &a.access, &chat, "?class=links");
    assert_eq!(seqs(&links.json["items"]), vec![link_seq]);
    assert_eq!(
        links.json["items"][0]["links"],
        json!(["https://example.com/x", "http://confab.test/y"])
    );

    assert_error(&gallery(&s, &c.access, &chat, ""), 404, "not_found");
    assert_error(
        &gallery(&s, &a.access, &chat, "?class=photos"),
        400,
        "invalid_query",
    );
    assert_error(
        &gallery(&s, &a.access, &chat, "?limit=0"),
        400,
        "invalid_query",
    );
    assert_error(
        &gallery(&s, &a.access, &random_uuid(), ""),
        404,
        "not_found",
    );
}

// ---------------------------------------------------------------------------------------------
// The S3 backend, end to end (needs an S3-compatible server; skipped otherwise)
// ---------------------------------------------------------------------------------------------

#[test]
fn uploads_and_downloads_through_the_s3_backend() {
    let Ok(endpoint) = std::env::var("CONFAB_TEST_S3_ENDPOINT") else {
        eprintln!(
            "SKIPPED: set CONFAB_TEST_S3_ENDPOINT (and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, \
             bucket CONFAB_TEST_S3_BUCKET, default confab-test) to test the s3 media backend"
        );
        return;
    };
    let bucket = std::env::var("CONFAB_TEST_S3_BUCKET").unwrap_or_else(|_| "confab-test".into());
    let prefix = format!("e2e-{}", unique());
    let s = Server::start_with(&[
        ("CONFAB_MEDIA_BACKEND", "s3"),
        ("CONFAB_MEDIA_S3_BUCKET", &bucket),
        ("CONFAB_MEDIA_S3_ENDPOINT", &endpoint),
        ("CONFAB_MEDIA_S3_REGION", "us-east-1"),
        ("CONFAB_MEDIA_S3_PREFIX", &prefix),
        ("CONFAB_MEDIA_S3_ALLOW_HTTP", "true"),
    ]);
    let a = register_account(&s, "alice");
    let bytes = png(300, 150);
    let m = upload_ok(&s, &a.access, "image", None, &bytes);
    assert!(
        blobs(&s).is_empty(),
        "nothing on local disk with the s3 backend"
    );
    let path = m["url"].as_str().unwrap().to_owned();
    let got = fetch(&s, &path, Some(&a.access), &[]);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bytes);
    let part = fetch(&s, &path, Some(&a.access), &[("Range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, bytes[10..20]);
    let thumb = fetch(
        &s,
        m["thumbnail_url"].as_str().unwrap(),
        Some(&a.access),
        &[],
    );
    let decoded = image::load_from_memory(&thumb.body).unwrap();
    // Smaller than the thumbnail size: the thumbnail keeps the image's size.
    assert_eq!((decoded.width(), decoded.height()), (300, 150));
}
