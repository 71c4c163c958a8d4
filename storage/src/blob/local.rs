//! Blobs as files under a root directory (by default `<data_dir>/media/blobs`).

use std::io::SeekFrom;
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{check_key, relative_path, BlobStore, BlobStream};
use crate::{StoreError, StoreResult};

/// Chunk size of downloads.
const READ_CHUNK: usize = 64 * 1024;

pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn open(root: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(root).map_err(|e| io_error(root, e))?;
        Ok(LocalBlobStore { root: root.into() })
    }

    /// The file of blob `key` (which must have passed [`check_key`]).
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(relative_path(key))
    }

    async fn prepare(&self, key: &str) -> StoreResult<Option<PathBuf>> {
        check_key(key)?;
        let path = self.path_of(key);
        if tokio::fs::try_exists(&path)
            .await
            .map_err(|e| io_error(&path, e))?
        {
            return Ok(None);
        }
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io_error(dir, e))?;
        }
        Ok(Some(path))
    }
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("media blob {}: {e}", path.display()))
}

/// Makes a rename durable: the directory entry must reach the disk too.
async fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = tokio::fs::File::open(dir).await {
            let _ = d.sync_all().await;
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn put_file(&self, key: &str, file: &Path) -> StoreResult<bool> {
        let Some(path) = self.prepare(key).await? else {
            let _ = tokio::fs::remove_file(file).await;
            return Ok(false);
        };
        // The staged file lives under the data dir too, so this is a rename: no copy. Two
        // uploads of the same bytes racing here both rename identical content: harmless.
        if tokio::fs::rename(file, &path).await.is_err() {
            // Another filesystem: copy, then drop the staged file.
            tokio::fs::copy(file, &path)
                .await
                .map_err(|e| io_error(&path, e))?;
            let _ = tokio::fs::remove_file(file).await;
        }
        sync_dir(&path).await;
        Ok(true)
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> StoreResult<bool> {
        let Some(path) = self.prepare(key).await? else {
            return Ok(false);
        };
        let staged = path.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
        let mut f = tokio::fs::File::create(&staged)
            .await
            .map_err(|e| io_error(&staged, e))?;
        f.write_all(&bytes)
            .await
            .map_err(|e| io_error(&staged, e))?;
        f.sync_all().await.map_err(|e| io_error(&staged, e))?;
        drop(f);
        tokio::fs::rename(&staged, &path)
            .await
            .map_err(|e| io_error(&path, e))?;
        sync_dir(&path).await;
        Ok(true)
    }

    async fn size(&self, key: &str) -> StoreResult<Option<u64>> {
        check_key(key)?;
        let path = self.path_of(key);
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    async fn read(&self, key: &str, range: Range<u64>) -> StoreResult<BlobStream> {
        check_key(key)?;
        let path = self.path_of(key);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound("blob"))
            }
            Err(e) => return Err(io_error(&path, e)),
        };
        file.seek(SeekFrom::Start(range.start))
            .await
            .map_err(|e| io_error(&path, e))?;
        let left = range.end.saturating_sub(range.start);
        let stream = futures_util::stream::unfold((file, left), |(mut file, left)| async move {
            if left == 0 {
                return None;
            }
            let want = left.min(READ_CHUNK as u64) as usize;
            let mut buf = BytesMut::zeroed(want);
            match file.read(&mut buf).await {
                Ok(0) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob shorter than expected",
                    )),
                    (file, 0),
                )),
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(buf.freeze()), (file, left - n as u64)))
                }
                Err(e) => Some((Err(e), (file, 0))),
            }
        });
        Ok(Box::pin(stream))
    }
}
