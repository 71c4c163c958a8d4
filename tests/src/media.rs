//! Uploads and downloads over HTTP: real media bytes to upload, and downloads with their
//! status, headers and exact bytes.

use std::io::Cursor;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{enc, header_pairs, raw, Resp, Server, Value};

/// A real PNG, `w` x `h`, with a gradient (so it does not compress to nothing).
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A minimal MP4: `ftyp`, an `mdat`, and `moov/mvhd` saying 2.5 s.
pub fn mp4() -> Vec<u8> {
    let mut mvhd = vec![0u8; 4];
    mvhd.extend_from_slice(&[0; 8]);
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&2500u32.to_be_bytes());
    let mut v = Vec::new();
    v.extend_from_slice(&16u32.to_be_bytes());
    v.extend_from_slice(b"ftypisom\0\0\0\0");
    v.extend_from_slice(&4016u32.to_be_bytes());
    v.extend_from_slice(b"mdat");
    v.extend((0..4008u32).map(|i| (i % 251) as u8));
    let mvhd_len = 8 + mvhd.len() as u32;
    v.extend_from_slice(&(8 + mvhd_len).to_be_bytes());
    v.extend_from_slice(b"moov");
    v.extend_from_slice(&mvhd_len.to_be_bytes());
    v.extend_from_slice(b"mvhd");
    v.extend_from_slice(&mvhd);
    v
}

/// Lower-case hex SHA-256 (an upload's `sha256` and its download's `ETag`).
pub fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `POST /api/media?kind=..&file_name=..` with `bytes` as the raw body.
pub fn upload(s: &Server, token: &str, kind: &str, file_name: Option<&str>, bytes: &[u8]) -> Resp {
    let mut path = format!("/api/media?kind={kind}");
    if let Some(n) = file_name {
        path.push_str(&format!("&file_name={}", enc(n)));
    }
    raw(
        s,
        "POST",
        &path,
        Some(token),
        Some("application/octet-stream"),
        Some(bytes),
    )
}

/// [`upload`], which must succeed; the `Media` body.
#[track_caller]
pub fn upload_ok(
    s: &Server,
    token: &str,
    kind: &str,
    file_name: Option<&str>,
    bytes: &[u8],
) -> Value {
    let r = upload(s, token, kind, file_name, bytes);
    r.expect(201);
    r.json.clone()
}

/// A download: status, headers (lower-case names) and the exact bytes.
pub struct Download {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// `GET path` with extra headers, whatever the status, reading the body whole.
pub fn fetch(s: &Server, path: &str, token: Option<&str>, extra: &[(&str, &str)]) -> Download {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut rb = agent.get(&s.url(path));
    if let Some(t) = token {
        rb = rb.header("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    let mut res = rb.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = res.status().as_u16();
    let headers = header_pairs(res.headers());
    let body = res
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    Download {
        status,
        headers,
        body,
    }
}
