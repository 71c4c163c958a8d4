//! Conformance checks for [`MediaStore`](crate::MediaStore).

use uuid::Uuid;

use super::NOW;
use crate::model::*;
use crate::{Store, StoreError};

fn record(uploader: Uuid, kind: MediaKind) -> MediaRecord {
    MediaRecord {
        id: Uuid::now_v7(),
        uploader,
        kind,
        content_type: "image/png".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        width: Some(640),
        height: Some(480),
        duration_ms: None,
        file_name: Some("cat.png".into()),
        thumbnail_sha256: Some("cd".repeat(32)),
        thumbnail_content_type: Some("image/jpeg".into()),
        created_at: NOW,
    }
}

fn share(chat_id: Uuid, seq: u64, class: GalleryClass, media_id: Option<Uuid>) -> MediaShare {
    MediaShare {
        chat_id,
        seq,
        class,
        media_id,
        at: NOW + seq as i64,
        body: format!("{{\"seq\":{seq}}}"),
    }
}

pub async fn media_records_roundtrip(store: &dyn Store) {
    let r = record(Uuid::now_v7(), MediaKind::Image);
    store.create_media(r.clone()).await.unwrap();
    assert_eq!(store.media(r.id).await.unwrap(), Some(r.clone()));
    assert!(store.media(Uuid::now_v7()).await.unwrap().is_none());
    let mut again = record(r.uploader, MediaKind::Document);
    again.id = r.id;
    assert!(
        matches!(
            store.create_media(again).await,
            Err(StoreError::Conflict("media"))
        ),
        "a second record with the same id must be refused"
    );
    assert_eq!(
        store.media(r.id).await.unwrap(),
        Some(r),
        "a refused create changes nothing"
    );
}

pub async fn media_shares_grant_and_revoke(store: &dyn Store) {
    let m = Uuid::now_v7();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    assert!(store.media_chats(m, 10).await.unwrap().is_empty());
    store
        .share_media(share(a, 3, GalleryClass::Media, Some(m)))
        .await
        .unwrap();
    store
        .share_media(share(a, 7, GalleryClass::Media, Some(m)))
        .await
        .unwrap();
    store
        .share_media(share(b, 2, GalleryClass::Media, Some(m)))
        .await
        .unwrap();
    // Idempotent: the same share again changes nothing.
    store
        .share_media(share(b, 2, GalleryClass::Media, Some(m)))
        .await
        .unwrap();
    let mut chats = store.media_chats(m, 10).await.unwrap();
    chats.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(chats, want, "each chat once");
    assert_eq!(store.media_chats(m, 1).await.unwrap().len(), 1, "limit");

    // Unsharing one of two messages in chat a keeps a's access; both revokes it.
    store.unshare_media(a, 3).await.unwrap();
    assert!(store.media_chats(m, 10).await.unwrap().contains(&a));
    store.unshare_media(a, 7).await.unwrap();
    assert_eq!(store.media_chats(m, 10).await.unwrap(), vec![b]);
    // Unsharing what is not shared is a no-op.
    store.unshare_media(a, 99).await.unwrap();
}

pub async fn gallery_pages_newest_first_by_class(store: &dyn Store) {
    let chat = Uuid::now_v7();
    for seq in 1..=7u64 {
        let class = if seq % 3 == 0 {
            GalleryClass::Documents
        } else {
            GalleryClass::Media
        };
        store
            .share_media(share(chat, seq, class, Some(Uuid::now_v7())))
            .await
            .unwrap();
    }
    store
        .share_media(share(chat, 8, GalleryClass::Links, None))
        .await
        .unwrap();
    let seqs = |v: Vec<MediaShare>| v.into_iter().map(|s| s.seq).collect::<Vec<_>>();
    let first = store
        .gallery(chat, GalleryClass::Media, u64::MAX, 3)
        .await
        .unwrap();
    assert_eq!(seqs(first), vec![7, 5, 4]);
    let next = store
        .gallery(chat, GalleryClass::Media, 4, 3)
        .await
        .unwrap();
    assert_eq!(seqs(next), vec![2, 1]);
    let docs = store
        .gallery(chat, GalleryClass::Documents, u64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(seqs(docs.clone()), vec![6, 3]);
    assert_eq!(docs[0].body, "{\"seq\":6}");
    assert_eq!(docs[0].chat_id, chat);
    let links = store
        .gallery(chat, GalleryClass::Links, u64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].media_id, None);

    store.unshare_media(chat, 5).await.unwrap();
    store.unshare_media(chat, 8).await.unwrap();
    let after = store
        .gallery(chat, GalleryClass::Media, u64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(seqs(after), vec![7, 4, 2, 1]);
    assert!(store
        .gallery(chat, GalleryClass::Links, u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .gallery(Uuid::now_v7(), GalleryClass::Media, u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
}
