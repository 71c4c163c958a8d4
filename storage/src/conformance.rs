//! The backend conformance suite: every backend must pass every check here.
//!
//! Each check is a public async function taking a fresh, empty store. A backend's test file runs
//! them all with [`conformance_tests!`](crate::conformance_tests), one `#[tokio::test]` each:
//!
//! ```ignore
//! confab_storage::conformance_tests!(async { (store, guard) });
//! ```
//!
//! Checks panic (they are test code) with a message saying which rule a backend broke.

use uuid::Uuid;

use crate::model::*;
use crate::{Store, StoreError};

/// Generates one test per conformance check. `$make` is an expression evaluating to a future of
/// `(Arc<dyn Store>, G)`; `G` is kept alive for the test (e.g. a temporary directory).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            user_roundtrip,
            username_and_phone_are_unique,
            profile_update_changes_only_given_fields,
            refresh_rotation,
            refresh_reuse_revokes_session,
            revoke_only_own_live_session,
            expired_sessions_are_not_live,
            privacy_defaults_and_update,
            contacts_crud,
            contacts_page_in_order,
            blocks_crud_and_paging,
            invalid_cursor_is_rejected
        );
    };
    (@each $make:expr; $($name:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (store, _guard) = $make.await;
            $crate::conformance::$name(store.as_ref()).await;
        }
    )*};
}

const NOW: Millis = 1_700_000_000_000;
const DAY: Millis = 86_400_000;

fn user(username: &str, phone: Option<&str>) -> NewUser {
    NewUser {
        user: User {
            id: Uuid::now_v7(),
            username: username.to_owned(),
            phone: phone.map(str::to_owned),
            display_name: format!("{username} display"),
            about: String::new(),
            photo: None,
            created_at: NOW,
            disabled: false,
        },
        password_hash: format!("$argon2id$fake${username}"),
    }
}

async fn new_user(store: &dyn Store, username: &str) -> User {
    store
        .create_user(user(username, None))
        .await
        .expect("create user")
}

fn session(user_id: Uuid) -> DeviceSession {
    DeviceSession {
        id: Uuid::now_v7(),
        user_id,
        device_name: "phone".into(),
        created_at: NOW,
        last_refreshed_at: NOW,
        revoked_at: None,
        refresh_expires_at: NOW + 30 * DAY,
    }
}

pub async fn user_roundtrip(store: &dyn Store) {
    let new = user("ana", Some("+14155550100"));
    let created = store.create_user(new.clone()).await.expect("create");
    assert_eq!(created, new.user);
    assert_eq!(store.user(created.id).await.unwrap(), Some(created.clone()));
    assert_eq!(
        store.user_by_username("ana").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        store.user_by_phone("+14155550100").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        store.password_hash(created.id).await.unwrap(),
        Some(new.password_hash)
    );
    assert_eq!(store.user(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(store.user_by_username("nobody").await.unwrap(), None);
    assert_eq!(store.password_hash(Uuid::now_v7()).await.unwrap(), None);
}

pub async fn username_and_phone_are_unique(store: &dyn Store) {
    store
        .create_user(user("ben", Some("+441234567890")))
        .await
        .unwrap();
    let dup_name = store.create_user(user("ben", Some("+441234567891"))).await;
    assert!(
        matches!(dup_name, Err(StoreError::Conflict("username"))),
        "{dup_name:?}"
    );
    let dup_phone = store.create_user(user("bob", Some("+441234567890"))).await;
    assert!(
        matches!(dup_phone, Err(StoreError::Conflict("phone"))),
        "{dup_phone:?}"
    );
    // A refused registration writes nothing: the phone of the refused "ben" stays free.
    store
        .create_user(user("bea", Some("+441234567891")))
        .await
        .expect("phone must be free");
    assert!(store.user_by_username("bob").await.unwrap().is_none());
}

pub async fn profile_update_changes_only_given_fields(store: &dyn Store) {
    let u = new_user(store, "cai").await;
    let updated = store
        .update_profile(
            u.id,
            ProfileUpdate {
                about: Some("hi".into()),
                photo: Some(Some("p1".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.about, "hi");
    assert_eq!(updated.photo.as_deref(), Some("p1"));
    assert_eq!(updated.display_name, u.display_name);
    let cleared = store
        .update_profile(
            u.id,
            ProfileUpdate {
                photo: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.photo, None);
    assert_eq!(cleared.about, "hi");
    assert_eq!(store.user(u.id).await.unwrap(), Some(cleared));
    let missing = store
        .update_profile(Uuid::now_v7(), ProfileUpdate::default())
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

pub async fn refresh_rotation(store: &dyn Store) {
    let u = new_user(store, "dan").await;
    let s = session(u.id);
    store.create_session(s.clone(), b"token-1").await.unwrap();
    assert_eq!(store.session(s.id).await.unwrap(), Some(s.clone()));
    let later = NOW + 1000;
    match store
        .rotate_refresh(b"token-1", b"token-2", later, later + 30 * DAY)
        .await
        .unwrap()
    {
        RefreshOutcome::Rotated(r) => {
            assert_eq!(r.id, s.id);
            assert_eq!(r.last_refreshed_at, later);
            assert_eq!(r.refresh_expires_at, later + 30 * DAY);
        }
        other => panic!("expected rotation, got {other:?}"),
    }
    let next = store
        .rotate_refresh(b"token-2", b"token-3", later + 1, later + 30 * DAY)
        .await
        .unwrap();
    assert!(
        matches!(next, RefreshOutcome::Rotated(_)),
        "the new token must be live: {next:?}"
    );
    let unknown = store
        .rotate_refresh(b"nope", b"token-x", later, later)
        .await
        .unwrap();
    assert_eq!(unknown, RefreshOutcome::Invalid);
}

pub async fn refresh_reuse_revokes_session(store: &dyn Store) {
    let u = new_user(store, "eve").await;
    let s = session(u.id);
    store.create_session(s.clone(), b"r1").await.unwrap();
    store
        .rotate_refresh(b"r1", b"r2", NOW + 1, NOW + DAY)
        .await
        .unwrap();
    let reused = store
        .rotate_refresh(b"r1", b"r3", NOW + 2, NOW + DAY)
        .await
        .unwrap();
    assert_eq!(reused, RefreshOutcome::Reused { session_id: s.id });
    let stored = store.session(s.id).await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, Some(NOW + 2));
    // The newest token died with the session, and the thief's attempt created nothing.
    assert_eq!(
        store
            .rotate_refresh(b"r2", b"r4", NOW + 3, NOW + DAY)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(
        store
            .rotate_refresh(b"r3", b"r5", NOW + 3, NOW + DAY)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(store.live_sessions(u.id, NOW + 4).await.unwrap().is_empty());
}

pub async fn revoke_only_own_live_session(store: &dyn Store) {
    let a = new_user(store, "fay").await;
    let b = new_user(store, "gus").await;
    let (s1, s2) = (session(a.id), session(a.id));
    store.create_session(s1.clone(), b"a1").await.unwrap();
    store.create_session(s2.clone(), b"a2").await.unwrap();
    assert_eq!(store.live_sessions(a.id, NOW).await.unwrap().len(), 2);
    let foreign = store.revoke_session(b.id, s1.id, NOW).await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound(_))),
        "{foreign:?}"
    );
    store.revoke_session(a.id, s1.id, NOW + 5).await.unwrap();
    let again = store.revoke_session(a.id, s1.id, NOW + 6).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
    let live = store.live_sessions(a.id, NOW + 7).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s2.id]);
    assert_eq!(
        store
            .rotate_refresh(b"a1", b"a3", NOW + 8, NOW + DAY)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

pub async fn expired_sessions_are_not_live(store: &dyn Store) {
    let u = new_user(store, "hal").await;
    let s = session(u.id);
    store.create_session(s.clone(), b"h1").await.unwrap();
    let after = s.refresh_expires_at + 1;
    assert!(store.live_sessions(u.id, after).await.unwrap().is_empty());
    assert_eq!(
        store
            .rotate_refresh(b"h1", b"h2", after, after + DAY)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

pub async fn privacy_defaults_and_update(store: &dyn Store) {
    let u = new_user(store, "ivy").await;
    assert_eq!(
        store.privacy(u.id).await.unwrap(),
        PrivacySettings::default()
    );
    let custom = PrivacySettings {
        last_seen: Visibility::Nobody,
        profile_photo: Visibility::Contacts,
        about: Visibility::Everyone,
        status: Visibility::Nobody,
    };
    store.set_privacy(u.id, custom).await.unwrap();
    assert_eq!(store.privacy(u.id).await.unwrap(), custom);
}

pub async fn contacts_crud(store: &dyn Store) {
    let a = new_user(store, "jon").await;
    let b = new_user(store, "kim").await;
    let c = Contact {
        owner: a.id,
        user_id: b.id,
        name: Some("Kimmy".into()),
        added_at: NOW,
    };
    store.add_contact(c.clone()).await.unwrap();
    let dup = store.add_contact(c.clone()).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("contact"))),
        "{dup:?}"
    );
    assert_eq!(store.contact(a.id, b.id).await.unwrap(), Some(c.clone()));
    assert_eq!(
        store.contact(b.id, a.id).await.unwrap(),
        None,
        "contacts are one-way"
    );
    let renamed = store.rename_contact(a.id, b.id, None).await.unwrap();
    assert_eq!(renamed.name, None);
    assert_eq!(store.contact(a.id, b.id).await.unwrap(), Some(renamed));
    store.remove_contact(a.id, b.id).await.unwrap();
    assert!(matches!(
        store.remove_contact(a.id, b.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.rename_contact(a.id, b.id, None).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn contacts_page_in_order(store: &dyn Store) {
    let owner = new_user(store, "lee").await;
    let other = new_user(store, "mia").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let u = new_user(store, &format!("friend{i}")).await;
        store
            .add_contact(Contact {
                owner: owner.id,
                user_id: u.id,
                name: None,
                added_at: NOW,
            })
            .await
            .unwrap();
        ids.push(u.id);
    }
    // Another owner's rows must not leak into the page.
    store
        .add_contact(Contact {
            owner: other.id,
            user_id: owner.id,
            name: None,
            added_at: NOW,
        })
        .await
        .unwrap();
    ids.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .contacts(
                owner.id,
                PageRequest {
                    after: after.clone(),
                    limit: 3,
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| c.user_id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

pub async fn blocks_crud_and_paging(store: &dyn Store) {
    let a = new_user(store, "ned").await;
    let b = new_user(store, "ola").await;
    let c = new_user(store, "pat").await;
    let first_block = Block {
        blocker: a.id,
        blocked: b.id,
        blocked_at: NOW,
    };
    assert_eq!(store.block(first_block.clone()).await.unwrap(), None);
    let again = store
        .block(Block {
            blocker: a.id,
            blocked: b.id,
            blocked_at: NOW + 1,
        })
        .await
        .unwrap();
    assert_eq!(
        again,
        Some(first_block),
        "blocking twice keeps and returns the first block"
    );
    assert_eq!(
        store
            .block(Block {
                blocker: a.id,
                blocked: c.id,
                blocked_at: NOW
            })
            .await
            .unwrap(),
        None
    );
    assert!(store.is_blocked(a.id, b.id).await.unwrap());
    assert!(
        !store.is_blocked(b.id, a.id).await.unwrap(),
        "blocks are one-way"
    );
    let first = store
        .blocked(
            a.id,
            PageRequest {
                after: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);
    let second = store
        .blocked(
            a.id,
            PageRequest {
                after: first.next.clone(),
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_ne!(first.items[0].blocked, second.items[0].blocked);
    let all = store
        .blocked(
            a.id,
            PageRequest {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    assert!(all.next.is_none());
    let kept = all.items.iter().find(|x| x.blocked == b.id).unwrap();
    assert_eq!(kept.blocked_at, NOW, "blocking twice keeps the first block");
    store.unblock(a.id, b.id).await.unwrap();
    assert!(!store.is_blocked(a.id, b.id).await.unwrap());
    assert!(matches!(
        store.unblock(a.id, b.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn invalid_cursor_is_rejected(store: &dyn Store) {
    let a = new_user(store, "quinn").await;
    let bad = store
        .contacts(
            a.id,
            PageRequest {
                after: Some("not a cursor".into()),
                limit: 5,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)), "{bad:?}");
    let bad = store
        .blocked(
            a.id,
            PageRequest {
                after: Some("%%%".into()),
                limit: 5,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)), "{bad:?}");
}
