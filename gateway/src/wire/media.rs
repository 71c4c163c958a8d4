//! Media bodies: an upload's record as returned by `POST /api/media`, and gallery pages.

use confab_engine::media::shares::GalleryEntry;
use confab_engine::model::MediaRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `POST /api/media?kind=..&file_name=..`: the body is the file's bytes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `image`, `video`, `audio`, `voice`, `document` or `sticker`.
    #[param(pattern = "^(image|video|audio|voice|document|sticker)$")]
    pub kind: String,
    /// The file's name (kept for documents, shown in `Content-Disposition`): its last path
    /// segment, trimmed, at most 255 bytes, no control characters; empty means none.
    #[serde(default)]
    #[param(schema_with = crate::wire::schema::file_name)]
    pub file_name: Option<String>,
}

/// `GET /api/media/{media_id}` and its `/thumbnail`: who may download.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MediaAccessQuery {
    /// A status showing this upload: its audience may download it while the status is active
    /// (the status's `media_url` and `thumbnail_url` carry it). Without it, or when it does not
    /// grant access, only the uploader and members of chats where it was shared may.
    #[serde(default)]
    #[param(nullable = false)]
    pub status: Option<Uuid>,
}

/// An upload, as stored. Send it in a message as `{"kind": <kind>, "media_id": id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaView {
    pub id: Uuid,
    pub uploader: Uuid,
    #[schema(example = "image")]
    pub kind: &'static str,
    /// Detected from the bytes, e.g. `image/png`.
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes; also the download's `ETag`.
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `/api/media/{id}`
    pub url: String,
    /// `/api/media/{id}/thumbnail`, for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    pub created_at: i64,
}

impl From<&MediaRecord> for MediaView {
    fn from(r: &MediaRecord) -> Self {
        MediaView {
            id: r.id,
            uploader: r.uploader,
            kind: r.kind.as_str(),
            content_type: r.content_type.clone(),
            size: r.size,
            sha256: r.sha256.clone(),
            width: r.width,
            height: r.height,
            duration_ms: r.duration_ms,
            file_name: r.file_name.clone(),
            url: format!("/api/media/{}", r.id),
            thumbnail_url: r
                .thumbnail_sha256
                .as_ref()
                .map(|_| format!("/api/media/{}/thumbnail", r.id)),
            created_at: r.created_at,
        }
    }
}

/// `GET /api/chats/{chat_id}/media?class=media|documents|links&before=&limit=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GalleryQuery {
    /// `media` (images, videos, stickers; the default), `documents` (documents, audio, voice
    /// notes) or `links` (links in text messages).
    #[serde(default)]
    #[param(schema_with = crate::wire::schema::gallery_class)]
    pub class: Option<String>,
    /// Entries older than this seq (the previous page's `next_before`).
    #[serde(default)]
    #[param(nullable = false)]
    pub before: Option<u64>,
    /// 1..=100, default 50.
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub limit: Option<usize>,
}

/// A gallery page, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct GalleryPage {
    /// Each: `seq`, `sender`, `at`, `kind` (message kind), and `media` (as in media messages)
    /// with `caption`, or `links`.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<GalleryEntry>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}
