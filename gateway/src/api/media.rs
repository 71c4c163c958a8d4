//! `/api/media`: streaming uploads, authorized downloads (ranges, ETag, caching), and chat
//! galleries (`/api/chats/{chat_id}/media`).
//!
//! An upload's body is the raw file (any `Content-Type`), streamed to a staged file while it
//! is hashed: a declared `Content-Length` over the kind's limit is refused before reading,
//! and a body (chunked or not) that passes the limit is cut off there with 413. Nothing holds
//! a whole file in memory, uploads or downloads.

use std::io::Write as _;
use std::path::PathBuf;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use confab_engine::media::{hex_digest, Staged};
use confab_engine::model::{GalleryClass, MediaKind, MediaRecord};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::auth::Authed;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorDetail};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::wire::media::*;

/// Leading bytes kept for type sniffing.
const HEAD_BYTES: usize = confab_engine::media::SNIFF_BYTES;
/// Write buffer of a staged upload.
const STAGE_BUFFER: usize = 256 * 1024;

/// Removes a staged file unless it was handed on.
struct StagedFile {
    path: Option<PathBuf>,
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[utoipa::path(post, path = "/api/media", tag = "media", security(("bearer" = [])),
    params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes (raw body, Content-Length or chunked)"),
    responses((status = 201, description = "Stored; send it in a message by id", body = MediaView),
        (status = 400, description = "validation_failed (kind, file_name), empty_upload", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "payload_too_large: over the kind's limit (refused before reading when Content-Length says so)", body = ErrorBody),
        (status = 422, description = "media_kind_mismatch (the bytes are not the declared kind), invalid_image, image_too_large (decompression-bomb guard)", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn upload(
    state: web::Data<AppState>,
    me: Authed,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let metrics = Metrics::global();
    match receive(&state, me, &req, query.into_inner(), body).await {
        Ok(record) => {
            metrics
                .media_uploads
                .with_label_values(&[record.kind.as_str()])
                .inc();
            metrics.media_upload_bytes.inc_by(record.size);
            Ok(HttpResponse::Created()
                .insert_header((header::LOCATION, format!("/api/media/{}", record.id)))
                .json(MediaView::from(&record)))
        }
        Err(e) => {
            metrics.media_rejected.with_label_values(&[e.code()]).inc();
            Err(e)
        }
    }
}

async fn receive(
    state: &AppState,
    me: Authed,
    req: &HttpRequest,
    query: UploadQuery,
    mut body: web::Payload,
) -> ApiResult<MediaRecord> {
    let kind = MediaKind::parse(&query.kind).ok_or_else(|| {
        ApiError::Validation("kind: one of image, video, audio, voice, document, sticker".into())
    })?;
    let file_name = match query.file_name.as_deref() {
        Some(name) => confab_engine::media::clean_file_name(name)?,
        None => None,
    };
    let limit = state.media.limits().max_bytes(kind);
    let too_large = || ApiError::PayloadTooLarge(usize::try_from(limit).unwrap_or(usize::MAX));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let path = state
        .media
        .staging_dir()
        .join(format!("{}.part", Uuid::new_v4().simple()));
    let mut staged = StagedFile {
        path: Some(path.clone()),
    };
    let file = tokio::fs::File::create(&path).await.map_err(|e| {
        tracing::error!(error = %e, path = %path.display(), "cannot stage an upload");
        ApiError::Unavailable
    })?;
    let mut out = tokio::io::BufWriter::with_capacity(STAGE_BUFFER, file);
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(HEAD_BYTES);
    let mut size: u64 = 0;
    let write_failed = |e: std::io::Error| {
        tracing::error!(error = %e, "writing a staged upload failed");
        ApiError::Unavailable
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::Validation(format!("body: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large());
        }
        hasher.update(&chunk);
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        out.write_all(&chunk).await.map_err(write_failed)?;
    }
    out.flush().await.map_err(write_failed)?;
    // Durable before it is renamed into the blob store and acknowledged.
    out.get_ref().sync_all().await.map_err(write_failed)?;
    drop(out);
    staged.path = None;
    let record = state
        .media
        .ingest(
            me.user_id,
            kind,
            file_name,
            Staged {
                path,
                size,
                sha256: hex_digest(&hasher.finalize()[..]),
                head,
            },
        )
        .await?;
    Ok(record)
}

#[utoipa::path(get, path = "/api/media/{media_id}", tag = "media", security(("bearer" = [])),
    params(("media_id" = Uuid, Path), MediaAccessQuery,
        ("Range" = Option<String>, Header, description = "One range: bytes=a-b, bytes=a-, bytes=-n"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag you hold")),
    responses((status = 200, description = "The bytes, with Content-Type, Content-Length, ETag, Cache-Control (private), Accept-Ranges; Content-Disposition for documents", content_type = "application/octet-stream"),
        (status = 206, description = "The requested range, with Content-Range"),
        (status = 304, description = "Not modified (If-None-Match matched the ETag)"),
        (status = 400, description = "invalid_path, invalid_query (`status` not a UUID)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "forbidden: neither the uploader nor a member of a chat where it was shared, nor (with `status`) in the audience of an active status that shows it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 416, description = "range_not_satisfiable, with Content-Range: bytes */size", body = ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    me: Authed,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<MediaAccessQuery>,
) -> ApiResult<HttpResponse> {
    let record = state
        .engine
        .readable_media(me.user_id, path.into_inner(), query.status)
        .await?;
    let disposition = disposition(&record);
    serve(
        &state,
        &req,
        &record.sha256,
        record.size,
        &record.content_type,
        Some(disposition),
    )
    .await
}

#[utoipa::path(get, path = "/api/media/{media_id}/thumbnail", tag = "media", security(("bearer" = [])),
    params(("media_id" = Uuid, Path), MediaAccessQuery),
    responses((status = 200, description = "A JPEG thumbnail (longest side media.thumbnail_px), with ETag and Cache-Control", content_type = "image/jpeg"),
        (status = 304, description = "Not modified"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "forbidden: as for the media itself", body = ErrorBody),
        (status = 404, description = "no such media, or it has no thumbnail (not an image)", body = ErrorBody)))]
pub async fn thumbnail(
    state: web::Data<AppState>,
    me: Authed,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<MediaAccessQuery>,
) -> ApiResult<HttpResponse> {
    let record = state
        .engine
        .readable_media(me.user_id, path.into_inner(), query.status)
        .await?;
    let Some(key) = record.thumbnail_sha256.as_deref() else {
        return Err(ApiError::NotFound("thumbnail"));
    };
    let size = state
        .media
        .blob_size(key)
        .await?
        .ok_or(ApiError::NotFound("thumbnail"))?;
    let content_type = record
        .thumbnail_content_type
        .as_deref()
        .unwrap_or("image/jpeg");
    serve(&state, &req, key, size, content_type, None).await
}

#[utoipa::path(get, path = "/api/chats/{chat_id}/media", tag = "media", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path), GalleryQuery),
    responses((status = 200, description = "The chat's gallery tab, newest first", body = GalleryPage),
        (status = 404, description = "no such chat, or not a member", body = ErrorBody)))]
pub async fn gallery(
    state: web::Data<AppState>,
    me: Authed,
    path: web::Path<Uuid>,
    query: web::Query<GalleryQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let class = match query.class.as_deref() {
        None => GalleryClass::Media,
        Some(c) => GalleryClass::parse(c).ok_or_else(|| {
            ApiError::InvalidQuery("class: one of media, documents, links".into())
        })?,
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=confab_engine::media::shares::MAX_GALLERY_PAGE).contains(&limit) {
        return Err(ApiError::InvalidQuery("limit: 1 to 100".into()));
    }
    let items = state
        .engine
        .gallery(me.user_id, path.into_inner(), class, query.before, limit)
        .await?;
    let next_before = (items.len() == limit)
        .then(|| items.last().map(|e| e.seq))
        .flatten();
    Ok(HttpResponse::Ok().json(GalleryPage { items, next_before }))
}

/// `attachment` with the file name for documents (browsers save them), `inline` otherwise.
fn disposition(record: &MediaRecord) -> String {
    let kind = if record.kind == MediaKind::Document {
        "attachment"
    } else {
        "inline"
    };
    match &record.file_name {
        None => kind.to_owned(),
        Some(name) => {
            let ascii: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let mut encoded = String::new();
            for b in name.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    encoded.push(b as char);
                } else {
                    let _ = write!(EncodeTo(&mut encoded), "%{b:02X}");
                }
            }
            format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
        }
    }
}

/// `write!` into a String through io::Write (keeps `std::fmt::Write` out of scope).
struct EncodeTo<'a>(&'a mut String);

impl std::io::Write for EncodeTo<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a `Range` header asks of a blob of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeAsk {
    Whole,
    /// Inclusive bounds.
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range; several ranges, or a header that does not parse, are served whole
/// (RFC 9110 lets a server ignore Range).
fn parse_range(value: &str, size: u64) -> RangeAsk {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // The last n bytes.
        return match b.parse::<u64>() {
            Ok(0) => RangeAsk::Unsatisfiable,
            Ok(_) if size == 0 => RangeAsk::Unsatisfiable,
            Ok(n) => RangeAsk::Part(size.saturating_sub(n), size - 1),
            Err(_) => RangeAsk::Whole,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeAsk::Whole;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e,
            _ => return RangeAsk::Whole,
        }
    };
    if start >= size {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Part(start, end.min(size - 1))
}

async fn serve(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    size: u64,
    content_type: &str,
    disposition: Option<String>,
) -> ApiResult<HttpResponse> {
    let etag = format!("\"{key}\"");
    let cache = format!("private, max-age={}", state.config.media.cache_max_age_secs);
    let matches_etag = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim() == "*"
                || v.split(',')
                    .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    if matches_etag {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    let ask = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map_or(RangeAsk::Whole, |v| parse_range(v, size));
    let (status, start, end) = match ask {
        RangeAsk::Whole => (StatusCode::OK, 0, size),
        RangeAsk::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b + 1),
        RangeAsk::Unsatisfiable => {
            return Ok(HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                .json(ErrorBody {
                    error: ErrorDetail {
                        code: "range_not_satisfiable",
                        message: format!("the range is outside the {size} bytes of this file"),
                    },
                }))
        }
    };
    let stream = state.media.read(key, start..end).await?;
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let Some(d) = disposition {
        if let Ok(v) = HeaderValue::from_str(&d) {
            response.insert_header((header::CONTENT_DISPOSITION, v));
        }
    }
    if status == StatusCode::PARTIAL_CONTENT {
        response.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end - 1),
        ));
    }
    Ok(response.no_chunking(end - start).streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeAsk::Part(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range("bytes=50-500", 100), RangeAsk::Part(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeAsk::Whole);
        assert_eq!(parse_range("items=0-1", 100), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=9-1", 100), RangeAsk::Whole);
    }
}
