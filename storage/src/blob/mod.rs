//! Media blob storage: the bytes of uploads and thumbnails, content-addressed by SHA-256 (hex),
//! so the same bytes uploaded or forwarded many times are stored once.
//!
//! Two backends behind [`BlobStore`]: [`LocalBlobStore`] (files under the data directory, the
//! default) and [`S3BlobStore`] (any S3-compatible service, through `object_store`). Uploads are
//! always staged in a local file first (streamed and hashed as they arrive), then handed to
//! the store under their hash.

mod local;
mod s3;

use std::ops::Range;
use std::path::Path;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

pub use local::LocalBlobStore;
pub use s3::{S3BlobStore, S3Config};

use crate::{StoreError, StoreResult};

/// A blob's bytes, in chunks, read as they are sent (never the whole blob in memory).
pub type BlobStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    /// `"local"` or `"s3"`.
    fn backend(&self) -> &'static str;
    /// Takes the finished staged file `file`, whose SHA-256 is `key`, into the store (the file
    /// is moved or consumed). If the blob exists already, it is kept and the file removed.
    /// Returns whether the blob is new.
    async fn put_file(&self, key: &str, file: &Path) -> StoreResult<bool>;
    /// Stores small bytes (a thumbnail) under `key`, their SHA-256. Returns whether new.
    async fn put_bytes(&self, key: &str, bytes: Bytes) -> StoreResult<bool>;
    /// The blob's size, `None` if there is no such blob.
    async fn size(&self, key: &str) -> StoreResult<Option<u64>>;
    /// Bytes `range` (end exclusive, within the blob) of the blob. `NotFound("blob")`.
    async fn read(&self, key: &str, range: Range<u64>) -> StoreResult<BlobStream>;
}

/// A blob key is 64 lower-case hex digits; anything else never names a blob (and never
/// reaches a file path).
pub fn check_key(key: &str) -> StoreResult<()> {
    let ok = key.len() == 64
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::NotFound("blob"))
    }
}

/// Where a blob lives relative to the store's root: `ab/cd/abcd...` (two levels of fan-out
/// keep directories small).
pub fn relative_path(key: &str) -> String {
    format!("{}/{}/{}", &key[0..2], &key[2..4], key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hex_sha256_only() {
        assert!(check_key(&"a1".repeat(32)).is_ok());
        assert!(check_key("../../etc/passwd").is_err());
        assert!(check_key(&"A1".repeat(32)).is_err());
        assert!(check_key(&"a1".repeat(31)).is_err());
        assert_eq!(relative_path(&"ab".repeat(32))[..6], *"ab/ab/");
    }
}
