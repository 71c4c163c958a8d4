//! Opens the configured media blob store and the engine's media service.

use std::sync::Arc;

use confab_engine::media::MediaService;
use confab_storage::blob::{BlobStore, LocalBlobStore, S3BlobStore};
use confab_storage::Store;

use crate::config::Config;
use crate::server::StartError;

pub fn open(config: &Config, store: Arc<dyn Store>) -> Result<Arc<MediaService>, StartError> {
    let dir = config.media.dir(&config.data_dir);
    let blobs: Arc<dyn BlobStore> = match config.media.backend.as_str() {
        "s3" => Arc::new(
            S3BlobStore::open(&config.media.s3).map_err(|e| StartError::Media(e.to_string()))?,
        ),
        _ => Arc::new(
            LocalBlobStore::open(&dir.join("blobs"))
                .map_err(|e| StartError::Media(e.to_string()))?,
        ),
    };
    tracing::info!(backend = blobs.backend(), dir = %dir.display(), "media store open");
    // Staged uploads stay on local disk whatever the backend; leftovers of a crash are removed.
    let staging = dir.join("staging");
    let _ = std::fs::remove_dir_all(&staging);
    MediaService::new(store, blobs, config.media.limits(), staging)
        .map_err(|e| StartError::Media(format!("cannot create {}: {e}", dir.display())))
}
