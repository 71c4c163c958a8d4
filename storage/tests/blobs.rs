//! The blob stores: the local backend always; the S3 backend against an S3-compatible server
//! when `CONFAB_TEST_S3_ENDPOINT` names one (e.g. `http://127.0.0.1:9000` of a local MinIO or
//! moto server, bucket `CONFAB_TEST_S3_BUCKET`, default `confab-test`, which must exist;
//! credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`). Without it the S3 test
//! says SKIPPED and passes.

use std::io::Write;

use confab_storage::blob::{BlobStore, LocalBlobStore, S3BlobStore, S3Config};
use confab_storage::StoreError;
use futures_util::StreamExt;

fn key_of(bytes: &[u8]) -> String {
    // Any 64-hex name will do for the store; tests use a fixed mapping of their contents.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}").repeat(4)
}

async fn read_all(store: &dyn BlobStore, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let mut stream = store.read(key, range).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

async fn exercise(store: &dyn BlobStore, staging: &std::path::Path) {
    // Larger than one read chunk and (for S3) than one single PUT, to cross the multipart path.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let key = key_of(&big);
    let staged = staging.join("upload.part");
    std::fs::File::create(&staged)
        .unwrap()
        .write_all(&big)
        .unwrap();
    assert!(store.put_file(&key, &staged).await.unwrap(), "new blob");
    assert!(!staged.exists(), "the staged file is consumed");
    assert_eq!(store.size(&key).await.unwrap(), Some(big.len() as u64));
    assert_eq!(read_all(store, &key, 0..big.len() as u64).await, big);
    assert_eq!(read_all(store, &key, 100..300).await, big[100..300]);

    // The same bytes again: kept once, the staged copy removed.
    std::fs::write(&staged, &big).unwrap();
    assert!(
        !store.put_file(&key, &staged).await.unwrap(),
        "already stored"
    );
    assert!(!staged.exists());

    let small = b"a thumbnail".to_vec();
    let skey = key_of(&small);
    assert!(store.put_bytes(&skey, small.clone().into()).await.unwrap());
    assert!(!store.put_bytes(&skey, small.clone().into()).await.unwrap());
    assert_eq!(read_all(store, &skey, 2..5).await, small[2..5]);

    let missing = "0".repeat(64);
    assert_eq!(store.size(&missing).await.unwrap(), None);
    assert!(matches!(
        store.read(&missing, 0..1).await,
        Err(StoreError::NotFound("blob"))
    ));
    assert!(matches!(
        store.size("../../etc/passwd").await,
        Err(StoreError::NotFound("blob"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_blob_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(&dir.path().join("blobs")).unwrap();
    exercise(&store, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_blob_store() {
    let Ok(endpoint) = std::env::var("CONFAB_TEST_S3_ENDPOINT") else {
        eprintln!("SKIPPED: set CONFAB_TEST_S3_ENDPOINT to test the S3 blob store");
        return;
    };
    let config = S3Config {
        bucket: std::env::var("CONFAB_TEST_S3_BUCKET").unwrap_or_else(|_| "confab-test".into()),
        region: "us-east-1".into(),
        endpoint: endpoint.clone(),
        prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
        allow_http: endpoint.starts_with("http://"),
    };
    let store = S3BlobStore::open(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    exercise(&store, dir.path()).await;
}
