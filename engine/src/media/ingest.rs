//! Taking an upload in: the gateway streams the body into a staged file (hashing it as it
//! goes); [`MediaService::ingest`] checks what the bytes are against the declared kind,
//! probes them (dimensions, thumbnail, duration) on the blocking pool, moves the file into
//! the blob store under its SHA-256 and records the upload.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use confab_storage::blob::{BlobStore, BlobStream};
use confab_storage::{MediaKind, MediaRecord, Store};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::probe::{self, ImageRules};
use super::sniff::{sniff, Sniffed};
use super::MediaError;
use crate::EngineError;

/// Per-kind size limits and image rules.
#[derive(Debug, Clone)]
pub struct MediaLimits {
    pub image_bytes: u64,
    pub video_bytes: u64,
    pub audio_bytes: u64,
    pub voice_bytes: u64,
    pub document_bytes: u64,
    pub sticker_bytes: u64,
    /// Most pixels of an image (decompression-bomb guard).
    pub max_image_pixels: u64,
    /// Longest side of thumbnails.
    pub thumbnail_px: u32,
}

impl MediaLimits {
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.image_bytes,
            MediaKind::Video => self.video_bytes,
            MediaKind::Audio => self.audio_bytes,
            MediaKind::Voice => self.voice_bytes,
            MediaKind::Document => self.document_bytes,
            MediaKind::Sticker => self.sticker_bytes,
        }
    }
}

/// An upload's body, streamed to a local file.
pub struct Staged {
    pub path: PathBuf,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// The first bytes, for sniffing.
    pub head: Vec<u8>,
}

pub struct MediaService {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    limits: MediaLimits,
    staging: PathBuf,
}

/// Longest file name kept.
const MAX_FILE_NAME: usize = 255;

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A file name as a client may give it: the last path component, no control characters.
pub fn clean_file_name(name: &str) -> Result<Option<String>, MediaError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() {
        return Ok(None);
    }
    if base.chars().any(char::is_control) || base.len() > MAX_FILE_NAME || base == ".." {
        return Err(MediaError::Validation(format!(
            "file_name: at most {MAX_FILE_NAME} bytes, no control characters"
        )));
    }
    Ok(Some(base.to_owned()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MediaError> + Send + 'static,
) -> Result<T, MediaError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| MediaError::Engine(EngineError::Internal))?
}

impl MediaService {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        limits: MediaLimits,
        staging: PathBuf,
    ) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(&staging)?;
        Ok(Arc::new(MediaService {
            store,
            blobs,
            limits,
            staging,
        }))
    }

    pub fn limits(&self) -> &MediaLimits {
        &self.limits
    }

    /// Where upload bodies are staged (local disk, whatever the blob backend).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    pub fn blob_backend(&self) -> &'static str {
        self.blobs.backend()
    }

    /// Checks and stores a staged upload. The staged file is consumed either way.
    pub async fn ingest(
        &self,
        uploader: Uuid,
        kind: MediaKind,
        file_name: Option<String>,
        staged: Staged,
    ) -> Result<MediaRecord, MediaError> {
        let path = staged.path.clone();
        let result = self.ingest_staged(uploader, kind, file_name, staged).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&path).await;
        }
        result
    }

    async fn ingest_staged(
        &self,
        uploader: Uuid,
        kind: MediaKind,
        file_name: Option<String>,
        staged: Staged,
    ) -> Result<MediaRecord, MediaError> {
        if staged.size == 0 {
            return Err(MediaError::Empty);
        }
        let limit = self.limits.max_bytes(kind);
        if staged.size > limit {
            return Err(MediaError::TooLarge {
                kind: kind.as_str(),
                limit,
            });
        }
        let format = sniff(&staged.head);
        if !format.fits(kind) {
            let found = match format {
                Sniffed::Unknown => "its bytes are not a recognised format".to_owned(),
                other => format!("its bytes are {}", other.content_type(kind)),
            };
            return Err(MediaError::KindMismatch {
                declared: kind.as_str(),
                found: format!(
                    "{found}; a {} must be {}",
                    kind.as_str(),
                    Sniffed::accepted(kind)
                ),
            });
        }
        let mut record = MediaRecord {
            id: Uuid::now_v7(),
            uploader,
            kind,
            content_type: format.content_type(kind).to_owned(),
            size: staged.size,
            sha256: staged.sha256.clone(),
            width: None,
            height: None,
            duration_ms: None,
            file_name,
            thumbnail_sha256: None,
            thumbnail_content_type: None,
            created_at: crate::clock::now_millis(),
        };
        let path = staged.path.clone();
        if format.is_image() {
            let rules = ImageRules {
                max_pixels: self.limits.max_image_pixels,
                thumbnail_px: self.limits.thumbnail_px,
            };
            let facts = blocking(move || probe::image(&path, rules)).await?;
            record.width = Some(facts.width);
            record.height = Some(facts.height);
            let thumb_key = hex(&Sha256::digest(&facts.thumbnail));
            self.blobs
                .put_bytes(&thumb_key, Bytes::from(facts.thumbnail))
                .await?;
            record.thumbnail_sha256 = Some(thumb_key);
            record.thumbnail_content_type = Some("image/jpeg".into());
        } else if matches!(kind, MediaKind::Audio | MediaKind::Voice | MediaKind::Video) {
            record.duration_ms = blocking(move || Ok(probe::duration_ms(&path, format))).await?;
        }
        self.blobs.put_file(&staged.sha256, &staged.path).await?;
        self.store.create_media(record.clone()).await?;
        tracing::debug!(media_id = %record.id, kind = kind.as_str(), size = record.size, "media stored");
        Ok(record)
    }

    /// Bytes `range` of blob `key`.
    pub async fn read(&self, key: &str, range: Range<u64>) -> Result<BlobStream, MediaError> {
        Ok(self.blobs.read(key, range).await?)
    }

    /// A blob's stored size.
    pub async fn blob_size(&self, key: &str) -> Result<Option<u64>, MediaError> {
        Ok(self.blobs.size(key).await?)
    }
}
