//! Media: uploads (type sniffing, image thumbnails, durations), who may read or send an
//! upload, and the shares a media message records (the chat gallery and chat members' access).
//!
//! The authorization model, in one place:
//! - The uploader may always read and send their upload.
//! - A message that carries an upload *shares* it in its chat: every member of that chat may
//!   read it, and may send it on (forward) to other chats.
//! - Deleting that message for everyone removes the share: members of that chat lose the
//!   access it gave (other shares still count) and it leaves the chat's gallery.
//!
//! Other features (e.g. statuses) check an upload with [`usable`] (may this user send it, and
//! is it of this kind) and [`readable`] (may this user download it).

mod ingest;
pub mod probe;
pub mod shares;
mod sniff;

use confab_storage::{MediaKind, MediaRecord, Store, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::EngineError;

pub use ingest::{clean_file_name, hex as hex_digest, MediaLimits, MediaService, Staged};
pub use sniff::{sniff, Sniffed, SNIFF_BYTES};

/// Most chats looked at when deciding whether a user may read an upload.
pub const MAX_SHARES_CHECKED: usize = 10_000;

/// An upload's metadata as a message carries it (and the wire shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub id: Uuid,
    pub kind: MediaKind,
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Whether `GET /api/media/{id}/thumbnail` has a thumbnail.
    #[serde(default)]
    pub thumbnail: bool,
    pub sha256: String,
}

impl From<&MediaRecord> for MediaInfo {
    fn from(r: &MediaRecord) -> Self {
        MediaInfo {
            id: r.id,
            kind: r.kind,
            content_type: r.content_type.clone(),
            size: r.size,
            width: r.width,
            height: r.height,
            duration_ms: r.duration_ms,
            file_name: r.file_name.clone(),
            thumbnail: r.thumbnail_sha256.is_some(),
            sha256: r.sha256.clone(),
        }
    }
}

/// Why an upload or a media request was refused. Each has its own wire code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MediaError {
    #[error("media not found")]
    NotFound,
    #[error("you may not use this media: it is not yours and was not shared in a chat you are in")]
    Forbidden,
    #[error("the {declared} upload is not one: {found}")]
    KindMismatch {
        declared: &'static str,
        found: String,
    },
    #[error("media {id} is a {actual}, not a {declared}")]
    WrongKind {
        id: Uuid,
        actual: &'static str,
        declared: &'static str,
    },
    #[error("the upload is larger than the {kind} limit of {limit} bytes")]
    TooLarge { kind: &'static str, limit: u64 },
    #[error("the upload is empty")]
    Empty,
    #[error("the image is {width}x{height}; at most {max_pixels} pixels are accepted")]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("the image cannot be decoded: {0}")]
    InvalidImage(String),
    #[error("{0}")]
    Validation(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl MediaError {
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::NotFound => "not_found",
            MediaError::Forbidden => "forbidden",
            MediaError::KindMismatch { .. } => "media_kind_mismatch",
            MediaError::WrongKind { .. } => "media_kind_mismatch",
            MediaError::TooLarge { .. } => "payload_too_large",
            MediaError::Empty => "empty_upload",
            MediaError::ImageTooLarge { .. } => "image_too_large",
            MediaError::InvalidImage(_) => "invalid_image",
            MediaError::Validation(_) => "validation_failed",
            MediaError::Engine(e) => e.code(),
        }
    }
}

impl From<StoreError> for MediaError {
    fn from(e: StoreError) -> Self {
        MediaError::Engine(e.into())
    }
}

/// Media errors met while sending a message speak the message protocol's codes, with the
/// media reason in the message text.
impl From<MediaError> for EngineError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::NotFound => EngineError::NotFound("media"),
            MediaError::Forbidden => EngineError::Forbidden(
                "you may not use this media: it is not yours and was not shared in a chat you are in",
            ),
            MediaError::Engine(e) => e,
            other => EngineError::Validation(other.to_string()),
        }
    }
}

/// The upload `media_id` if `user` may read it: its uploader, or a member of a chat where it
/// was shared. `NotFound` if there is no such upload, `Forbidden` otherwise.
pub async fn readable(
    store: &dyn Store,
    user: Uuid,
    media_id: Uuid,
) -> Result<MediaRecord, MediaError> {
    let record = store.media(media_id).await?.ok_or(MediaError::NotFound)?;
    if record.uploader == user {
        return Ok(record);
    }
    let shared_in = store.media_chats(media_id, MAX_SHARES_CHECKED).await?;
    if shared_in.is_empty() {
        return Err(MediaError::Forbidden);
    }
    // Both lists are one partition read each; intersect them rather than asking per chat.
    let mine: std::collections::HashSet<Uuid> = store.user_chats(user).await?.into_iter().collect();
    if shared_in.iter().any(|c| mine.contains(c)) {
        Ok(record)
    } else {
        Err(MediaError::Forbidden)
    }
}

/// The upload `media_id` if `user` may send it as a `kind` (see [`readable`]): a message
/// kind must match the upload's kind.
pub async fn usable(
    store: &dyn Store,
    user: Uuid,
    media_id: Uuid,
    kind: MediaKind,
) -> Result<MediaRecord, MediaError> {
    let record = readable(store, user, media_id).await?;
    if record.kind != kind {
        return Err(MediaError::WrongKind {
            id: media_id,
            actual: record.kind.as_str(),
            declared: kind.as_str(),
        });
    }
    Ok(record)
}
