//! Uploaded media: one record per upload, the blob it points at (content-addressed, shared by
//! every upload of the same bytes), and where it was shared (which grants chat members access
//! and feeds each chat's gallery).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;

/// What an upload was declared as (and checked to be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Voice,
    Document,
    Sticker,
}

impl MediaKind {
    pub const ALL: [MediaKind; 6] = [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Voice,
        MediaKind::Document,
        MediaKind::Sticker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Voice => "voice",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    pub fn parse(s: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The gallery tab a message carrying this kind lands in.
    pub fn gallery_class(self) -> GalleryClass {
        match self {
            MediaKind::Document | MediaKind::Audio | MediaKind::Voice => GalleryClass::Documents,
            MediaKind::Image | MediaKind::Video | MediaKind::Sticker => GalleryClass::Media,
        }
    }
}

/// One upload. `sha256` (lower-case hex) names the blob; several records may share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    pub id: Uuid,
    pub uploader: Uuid,
    pub kind: MediaKind,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The thumbnail's blob (SHA-256 hex), for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_content_type: Option<String>,
    pub created_at: Millis,
}

/// A chat's gallery tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GalleryClass {
    /// Images, videos, stickers.
    Media,
    /// Documents, audio, voice notes.
    Documents,
    /// Links found in text messages.
    Links,
}

impl GalleryClass {
    pub const ALL: [GalleryClass; 3] = [
        GalleryClass::Media,
        GalleryClass::Documents,
        GalleryClass::Links,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GalleryClass::Media => "media",
            GalleryClass::Documents => "documents",
            GalleryClass::Links => "links",
        }
    }

    pub fn parse(s: &str) -> Option<GalleryClass> {
        GalleryClass::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            GalleryClass::Media => 0,
            GalleryClass::Documents => 1,
            GalleryClass::Links => 2,
        }
    }
}

/// Message `seq` of `chat_id` shared media (or links): members of the chat may download
/// `media_id`, and the chat's gallery lists it under `class`. `body` is the engine's JSON for
/// the gallery entry; opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaShare {
    pub chat_id: Uuid,
    pub seq: u64,
    pub class: GalleryClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<Uuid>,
    pub at: Millis,
    pub body: String,
}
