//! Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2, ...) through
//! `object_store`. Credentials come from the standard environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), never from the config file.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::{check_key, relative_path, BlobStore, BlobStream};
use crate::{StoreError, StoreResult};

/// Files up to this size go up in one request; larger ones as a multipart upload.
const SINGLE_PUT_MAX: u64 = 8 * 1024 * 1024;
/// Part size of multipart uploads (S3's minimum is 5 MiB).
const PART: usize = 8 * 1024 * 1024;

/// `[media.s3]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// Region, e.g. `us-east-1` (also used by most S3-compatible services).
    pub region: String,
    /// The service URL for S3-compatible stores (e.g. `http://127.0.0.1:9000`); empty = AWS.
    pub endpoint: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// Allow a plain-HTTP endpoint (local MinIO).
    pub allow_http: bool,
}

pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    prefix: String,
}

fn s3_error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound("blob"),
        other => StoreError::Unavailable(format!("S3 blob store: {other}")),
    }
}

impl S3BlobStore {
    pub fn open(config: &S3Config) -> StoreResult<Self> {
        if config.bucket.is_empty() {
            return Err(StoreError::Unavailable(
                "media.s3.bucket must be set for the s3 backend".into(),
            ));
        }
        // TLS is rustls with ring (no aws-lc C build): make ring the process's provider, once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_allow_http(config.allow_http);
        if !config.region.is_empty() {
            builder = builder.with_region(&config.region);
        }
        if !config.endpoint.is_empty() {
            builder = builder.with_endpoint(&config.endpoint);
        }
        let store = builder.build().map_err(s3_error)?;
        Ok(S3BlobStore {
            store: Arc::new(store),
            prefix: config.prefix.trim_matches('/').to_owned(),
        })
    }

    fn location(&self, key: &str) -> ObjectPath {
        let rel = relative_path(key);
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    async fn exists(&self, location: &ObjectPath) -> StoreResult<bool> {
        match self.store.head(location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(s3_error(e)),
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("staged upload {}: {e}", path.display()))
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn put_file(&self, key: &str, file: &Path) -> StoreResult<bool> {
        check_key(key)?;
        let location = self.location(key);
        let result = async {
            if self.exists(&location).await? {
                return Ok(false);
            }
            let mut f = tokio::fs::File::open(file)
                .await
                .map_err(|e| io_error(file, e))?;
            let len = f.metadata().await.map_err(|e| io_error(file, e))?.len();
            if len <= SINGLE_PUT_MAX {
                let mut buf = Vec::with_capacity(len as usize);
                f.read_to_end(&mut buf)
                    .await
                    .map_err(|e| io_error(file, e))?;
                self.store
                    .put(&location, PutPayload::from(buf))
                    .await
                    .map_err(s3_error)?;
                return Ok(true);
            }
            let upload = self
                .store
                .put_multipart(&location)
                .await
                .map_err(s3_error)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = f.read(&mut buf).await.map_err(|e| io_error(file, e))?;
                if n == 0 {
                    break;
                }
                // At most two parts in flight: memory stays bounded for any file size.
                writer.wait_for_capacity(2).await.map_err(s3_error)?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(s3_error)?;
            Ok(true)
        }
        .await;
        let _ = tokio::fs::remove_file(file).await;
        result
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> StoreResult<bool> {
        check_key(key)?;
        let location = self.location(key);
        if self.exists(&location).await? {
            return Ok(false);
        }
        self.store
            .put(&location, PutPayload::from(bytes))
            .await
            .map_err(s3_error)?;
        Ok(true)
    }

    async fn size(&self, key: &str) -> StoreResult<Option<u64>> {
        check_key(key)?;
        match self.store.head(&self.location(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn read(&self, key: &str, range: Range<u64>) -> StoreResult<BlobStream> {
        check_key(key)?;
        if range.start >= range.end {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&self.location(key), options)
            .await
            .map_err(s3_error)?;
        Ok(Box::pin(
            result
                .into_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other)),
        ))
    }
}
