//! The embedded backend against the conformance suite, plus what only it must do.

use std::sync::Arc;

use confab_storage::embedded::EmbeddedStore;
use confab_storage::{Store, UserStore};

async fn fresh() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    (Arc::new(store), dir)
}

confab_storage::conformance_tests!(fresh());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let new = confab_storage::NewUser {
            user: confab_storage::User {
                id: uuid::Uuid::now_v7(),
                username: "rae".into(),
                phone: None,
                display_name: "Rae".into(),
                about: String::new(),
                photo: None,
                created_at: 1,
                disabled: false,
                server_admin: false,
            },
            password_hash: "h".into(),
        };
        store.create_user(new).await.unwrap().id
    };
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        store.user(id).await.unwrap().map(|u| u.username),
        Some("rae".into())
    );
}
