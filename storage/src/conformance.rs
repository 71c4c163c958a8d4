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

mod media;
pub use media::*;

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
            invalid_cursor_is_rejected,
            direct_chat_is_one_per_pair,
            group_starts_with_its_first_event,
            append_assigns_gapless_sequences,
            append_is_idempotent_by_client_id,
            append_to_missing_chat_stores_nothing,
            history_pages_both_ways,
            unread_counts_others_messages_after_pointer,
            receipts_only_move_forward,
            last_seen_roundtrip,
            rewrites_replace_earlier_bodies_atomically,
            duplicate_does_not_apply_its_rewrites,
            group_changes_are_atomic_with_their_event,
            invites_one_live_per_group,
            account_flags,
            chat_prefs_and_user_settings,
            stars_page_newest_first,
            hidden_events_per_user,
            reports_page_newest_first,
            broadcast_lists_crud,
            notifications_inbox,
            writers_are_fenced_by_claims,
            statuses_fan_out_views_and_delete,
            statuses_expire_and_are_purged,
            calls_listed_for_everyone_concerned_newest_first,
            media_records_roundtrip,
            media_shares_grant_and_revoke,
            gallery_pages_newest_first_by_class
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
            server_admin: false,
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

fn chat(kind: ChatKind, by: Uuid) -> Chat {
    Chat {
        id: Uuid::now_v7(),
        kind,
        title: None,
        created_by: by,
        created_at: NOW,
        info: GroupInfo::default(),
    }
}

fn text(sender: Uuid, client_id: Option<&str>, body: &str) -> NewEvent {
    NewEvent {
        sender,
        at: NOW,
        client_id: client_id.map(str::to_owned),
        kind: MESSAGE_KIND.into(),
        body: body.into(),
        rewrites: Vec::new(),
    }
}

async fn group_of(store: &dyn Store, users: &[&User]) -> Chat {
    let c = chat(ChatKind::Group, users[0].id);
    let members = users
        .iter()
        .map(|u| Member {
            user_id: u.id,
            role: Role::Member,
            joined_at: NOW,
        })
        .collect();
    let first = NewEvent {
        kind: "group_created".into(),
        ..text(users[0].id, None, "{}")
    };
    store
        .create_group(c.clone(), members, first)
        .await
        .expect("create group");
    c
}

pub async fn direct_chat_is_one_per_pair(store: &dyn Store) {
    let a = new_user(store, "dc_a").await;
    let b = new_user(store, "dc_b").await;
    let (first, created) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    assert!(created);
    let (again, created) = store
        .get_or_create_direct(chat(ChatKind::Direct, b.id), b.id, a.id)
        .await
        .unwrap();
    assert!(!created, "the reversed pair must find the same chat");
    assert_eq!(again, first);
    let members: Vec<Uuid> = store
        .members(first.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members.len(), 2);
    assert!(members.contains(&a.id) && members.contains(&b.id));
    assert_eq!(store.user_chats(a.id).await.unwrap(), vec![first.id]);
    assert!(store.member(first.id, a.id).await.unwrap().is_some());
    assert_eq!(store.chat_state(first.id).await.unwrap().last_seq, 0);
}

pub async fn group_starts_with_its_first_event(store: &dyn Store) {
    let a = new_user(store, "g_a").await;
    let b = new_user(store, "g_b").await;
    let outsider = new_user(store, "g_c").await;
    let g = group_of(store, &[&a, &b]).await;
    assert_eq!(store.chat(g.id).await.unwrap(), Some(g.clone()));
    let events = store.events_after(g.id, 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].seq, events[0].kind.as_str()),
        (1, "group_created")
    );
    assert_eq!(store.chat_state(g.id).await.unwrap().last_seq, 1);
    assert!(store.member(g.id, outsider.id).await.unwrap().is_none());
    assert!(store.user_chats(outsider.id).await.unwrap().is_empty());
}

pub async fn append_assigns_gapless_sequences(store: &dyn Store) {
    let a = new_user(store, "seq_a").await;
    let b = new_user(store, "seq_b").await;
    let (c, _) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    let batch = vec![
        text(a.id, Some("1"), "one"),
        text(b.id, Some("1"), "two"),
        text(a.id, None, "three"),
    ];
    let out = store.append(c.id, batch).await.unwrap();
    let seqs: Vec<u64> = out.iter().map(|o| o.event().seq).collect();
    assert_eq!(
        seqs,
        vec![1, 2, 3],
        "same client id from different senders is not a duplicate"
    );
    assert!(out.iter().all(|o| matches!(o, AppendOutcome::Stored(_))));
    let more = store
        .append(c.id, vec![text(a.id, Some("2"), "four")])
        .await
        .unwrap();
    assert_eq!(more[0].event().seq, 4);
    let state = store.chat_state(c.id).await.unwrap();
    assert_eq!((state.last_seq, state.last_message_seq), (4, 4));
    let stored = store.event(c.id, 2).await.unwrap().unwrap();
    assert_eq!((stored.sender, stored.body.as_str()), (b.id, "two"));
}

pub async fn append_is_idempotent_by_client_id(store: &dyn Store) {
    let a = new_user(store, "idem_a").await;
    let b = new_user(store, "idem_b").await;
    let (c, _) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    let first = store
        .append(c.id, vec![text(a.id, Some("x"), "hello")])
        .await
        .unwrap();
    // A retry, also twice within one batch: one stored event, the rest duplicates of it.
    let retry = store
        .append(
            c.id,
            vec![
                text(a.id, Some("x"), "hello again"),
                text(a.id, Some("y"), "new"),
                text(a.id, Some("y"), "new"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(retry[0], AppendOutcome::Duplicate(first[0].event().clone()));
    assert!(matches!(&retry[1], AppendOutcome::Stored(e) if e.seq == 2));
    assert!(matches!(&retry[2], AppendOutcome::Duplicate(e) if e.seq == 2));
    assert_eq!(
        store.chat_state(c.id).await.unwrap().last_seq,
        2,
        "duplicates leave no gap"
    );
    assert_eq!(store.events_after(c.id, 0, 10).await.unwrap().len(), 2);
}

pub async fn append_to_missing_chat_stores_nothing(store: &dyn Store) {
    let a = new_user(store, "miss_a").await;
    let missing = Uuid::now_v7();
    let r = store
        .append(missing, vec![text(a.id, Some("1"), "x")])
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert!(store.events_after(missing, 0, 10).await.unwrap().is_empty());
}

pub async fn history_pages_both_ways(store: &dyn Store) {
    let a = new_user(store, "hist_a").await;
    let b = new_user(store, "hist_b").await;
    let (c, _) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    let events = (1..=10)
        .map(|i| text(a.id, Some(&i.to_string()), &format!("m{i}")))
        .collect();
    store.append(c.id, events).await.unwrap();
    let seqs = |v: Vec<StoredEvent>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.events_after(c.id, 0, 3).await.unwrap()),
        vec![1, 2, 3]
    );
    assert_eq!(
        seqs(store.events_after(c.id, 8, 5).await.unwrap()),
        vec![9, 10]
    );
    assert_eq!(
        seqs(store.events_after(c.id, 10, 5).await.unwrap()),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(store.events_before(c.id, 11, 3).await.unwrap()),
        vec![8, 9, 10]
    );
    assert_eq!(
        seqs(store.events_before(c.id, 3, 5).await.unwrap()),
        vec![1, 2]
    );
    assert_eq!(
        seqs(store.events_before(c.id, 1, 5).await.unwrap()),
        Vec::<u64>::new()
    );
}

pub async fn unread_counts_others_messages_after_pointer(store: &dyn Store) {
    let a = new_user(store, "unr_a").await;
    let b = new_user(store, "unr_b").await;
    let g = group_of(store, &[&a, &b]).await; // seq 1 is not a message
    let batch = vec![
        text(a.id, None, "1"),
        text(b.id, None, "2"),
        text(a.id, None, "3"),
        text(a.id, None, "4"),
    ];
    store.append(g.id, batch).await.unwrap(); // seqs 2..=5
    assert_eq!(store.unread_count(g.id, b.id, 0, 100).await.unwrap(), 3);
    assert_eq!(store.unread_count(g.id, b.id, 4, 100).await.unwrap(), 1);
    assert_eq!(
        store.unread_count(g.id, b.id, 0, 2).await.unwrap(),
        2,
        "capped"
    );
    assert_eq!(store.unread_count(g.id, a.id, 0, 100).await.unwrap(), 1);
}

pub async fn receipts_only_move_forward(store: &dyn Store) {
    let a = new_user(store, "rc_a").await;
    let b = new_user(store, "rc_b").await;
    let (c, _) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    assert_eq!(
        store.pointers(c.id, b.id).await.unwrap(),
        ReceiptPointers::default()
    );
    let moved = store
        .mark(c.id, b.id, ReceiptKind::Delivered, 3, NOW + 10)
        .await
        .unwrap();
    assert_eq!(
        moved,
        vec![ReceiptAdvance {
            kind: ReceiptKind::Delivered,
            from_seq: 0,
            to_seq: 3
        }]
    );
    assert!(store
        .mark(c.id, b.id, ReceiptKind::Delivered, 2, NOW + 11)
        .await
        .unwrap()
        .is_empty());
    let moved = store
        .mark(c.id, b.id, ReceiptKind::Read, 5, NOW + 20)
        .await
        .unwrap();
    assert_eq!(moved.len(), 2, "read implies delivered: {moved:?}");
    let p = store.pointers(c.id, b.id).await.unwrap();
    assert_eq!((p.delivered_seq, p.read_seq, p.read_at), (5, 5, NOW + 20));
    assert_eq!(
        store
            .reached_at(c.id, b.id, ReceiptKind::Delivered, 2)
            .await
            .unwrap(),
        Some(NOW + 10)
    );
    assert_eq!(
        store
            .reached_at(c.id, b.id, ReceiptKind::Delivered, 4)
            .await
            .unwrap(),
        Some(NOW + 20)
    );
    assert_eq!(
        store
            .reached_at(c.id, b.id, ReceiptKind::Read, 1)
            .await
            .unwrap(),
        Some(NOW + 20)
    );
    assert_eq!(
        store
            .reached_at(c.id, b.id, ReceiptKind::Read, 6)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.pointers(c.id, a.id).await.unwrap(),
        ReceiptPointers::default(),
        "per member"
    );
}

pub async fn last_seen_roundtrip(store: &dyn Store) {
    let a = new_user(store, "ls_a").await;
    assert_eq!(store.last_seen(a.id).await.unwrap(), None);
    store.set_last_seen(a.id, NOW).await.unwrap();
    store.set_last_seen(a.id, NOW + 5).await.unwrap();
    assert_eq!(store.last_seen(a.id).await.unwrap(), Some(NOW + 5));
}

pub async fn rewrites_replace_earlier_bodies_atomically(store: &dyn Store) {
    let a = new_user(store, "rw_a").await;
    let b = new_user(store, "rw_b").await;
    let (c, _) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    store
        .append(
            c.id,
            vec![text(a.id, Some("1"), "v1"), text(a.id, Some("2"), "other")],
        )
        .await
        .unwrap();
    let edit = NewEvent {
        kind: "edit".into(),
        rewrites: vec![
            Rewrite {
                seq: 1,
                body: "v2".into(),
            },
            Rewrite {
                seq: 99,
                body: "ignored".into(),
            },
        ],
        ..text(a.id, None, "edit of 1")
    };
    let out = store.append(c.id, vec![edit]).await.unwrap();
    assert_eq!(out[0].event().seq, 3);
    assert_eq!(store.event(c.id, 1).await.unwrap().unwrap().body, "v2");
    assert_eq!(store.event(c.id, 2).await.unwrap().unwrap().body, "other");
    assert_eq!(
        store.event(c.id, 3).await.unwrap().unwrap().body,
        "edit of 1"
    );
    assert_eq!(
        store.chat_state(c.id).await.unwrap().last_seq,
        3,
        "a rewrite of a missing seq adds nothing"
    );
}

pub async fn duplicate_does_not_apply_its_rewrites(store: &dyn Store) {
    let a = new_user(store, "dup_rw_a").await;
    let b = new_user(store, "dup_rw_b").await;
    let (c, _) = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap();
    store
        .append(c.id, vec![text(a.id, Some("m"), "orig")])
        .await
        .unwrap();
    let again = NewEvent {
        rewrites: vec![Rewrite {
            seq: 1,
            body: "changed".into(),
        }],
        ..text(a.id, Some("m"), "retry")
    };
    let out = store.append(c.id, vec![again]).await.unwrap();
    assert!(matches!(out[0], AppendOutcome::Duplicate(_)));
    assert_eq!(store.event(c.id, 1).await.unwrap().unwrap().body, "orig");
}

pub async fn group_changes_are_atomic_with_their_event(store: &dyn Store) {
    let a = new_user(store, "gc_a").await;
    let b = new_user(store, "gc_b").await;
    let c = new_user(store, "gc_c").await;
    let g = group_of(store, &[&a, &b]).await;
    let ev = |k: &str| NewEvent {
        kind: k.into(),
        ..text(a.id, None, "{}")
    };
    let info = GroupInfo {
        description: "desc".into(),
        photo: Some("p1".into()),
        only_admins_send: true,
        only_admins_edit_info: false,
    };
    let e = store
        .change_group(
            g.id,
            GroupChange::Info {
                title: "New".into(),
                info: info.clone(),
            },
            ev("info"),
        )
        .await
        .unwrap();
    assert_eq!(e.seq, 2);
    let stored = store.chat(g.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.title.as_deref(), &stored.info),
        (Some("New"), &info)
    );
    let added = Member {
        user_id: c.id,
        role: Role::Member,
        joined_at: NOW + 1,
    };
    store
        .change_group(
            g.id,
            GroupChange::AddMembers(vec![added.clone()]),
            ev("added"),
        )
        .await
        .unwrap();
    assert_eq!(store.member(g.id, c.id).await.unwrap(), Some(added));
    assert!(store.user_chats(c.id).await.unwrap().contains(&g.id));
    store
        .change_group(
            g.id,
            GroupChange::SetRole(c.id, Role::Admin),
            ev("promoted"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.member(g.id, c.id).await.unwrap().map(|m| m.role),
        Some(Role::Admin)
    );
    let e = store
        .change_group(g.id, GroupChange::RemoveMember(c.id), ev("removed"))
        .await
        .unwrap();
    assert_eq!(e.seq, 5);
    assert_eq!(store.member(g.id, c.id).await.unwrap(), None);
    assert!(!store.user_chats(c.id).await.unwrap().contains(&g.id));
    let missing = store
        .change_group(g.id, GroupChange::RemoveMember(c.id), ev("again"))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        store.chat_state(g.id).await.unwrap().last_seq,
        5,
        "a refused change appends nothing"
    );
    let kinds: Vec<String> = store
        .events_after(g.id, 1, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["info", "added", "promoted", "removed"]);
}

pub async fn invites_one_live_per_group(store: &dyn Store) {
    let a = new_user(store, "inv_a").await;
    let b = new_user(store, "inv_b").await;
    let g = group_of(store, &[&a, &b]).await;
    assert_eq!(store.invite_of(g.id).await.unwrap(), None);
    let first = Invite {
        code: "code1".into(),
        chat_id: g.id,
        created_by: a.id,
        created_at: NOW,
        expires_at: Some(NOW + DAY),
    };
    store.set_invite(first.clone()).await.unwrap();
    assert_eq!(
        store.invite_by_code("code1").await.unwrap(),
        Some(first.clone())
    );
    let second = Invite {
        code: "code2".into(),
        expires_at: None,
        ..first.clone()
    };
    store.set_invite(second.clone()).await.unwrap();
    assert_eq!(
        store.invite_by_code("code1").await.unwrap(),
        None,
        "the old link dies"
    );
    assert_eq!(store.invite_of(g.id).await.unwrap(), Some(second));
    store.revoke_invite(g.id).await.unwrap();
    assert_eq!(store.invite_by_code("code2").await.unwrap(), None);
    assert!(matches!(
        store.revoke_invite(g.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn account_flags(store: &dyn Store) {
    let a = new_user(store, "flag_a").await;
    store.set_disabled(a.id, true).await.unwrap();
    store.set_server_admin(a.id, true).await.unwrap();
    let u = store.user(a.id).await.unwrap().unwrap();
    assert!(u.disabled && u.server_admin);
    store.set_disabled(a.id, false).await.unwrap();
    assert!(!store.user(a.id).await.unwrap().unwrap().disabled);
    assert!(matches!(
        store.set_disabled(Uuid::now_v7(), true).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn chat_prefs_and_user_settings(store: &dyn Store) {
    let a = new_user(store, "pref_a").await;
    let c = Uuid::now_v7();
    assert_eq!(
        store.chat_prefs(a.id, c).await.unwrap(),
        ChatPrefs::default()
    );
    let prefs = ChatPrefs {
        pinned_at: Some(NOW),
        archived_at: None,
        muted_until: Some(Millis::MAX),
        notifications: NotificationLevel::None,
    };
    store.set_chat_prefs(a.id, c, prefs).await.unwrap();
    assert_eq!(store.chat_prefs(a.id, c).await.unwrap(), prefs);
    assert!(
        store.user_settings(a.id).await.unwrap().keep_chats_archived,
        "default keeps chats archived"
    );
    store
        .set_user_settings(
            a.id,
            UserSettings {
                keep_chats_archived: false,
            },
        )
        .await
        .unwrap();
    assert!(!store.user_settings(a.id).await.unwrap().keep_chats_archived);
}

pub async fn stars_page_newest_first(store: &dyn Store) {
    let a = new_user(store, "star_a").await;
    let c = Uuid::now_v7();
    for seq in 1..=5u64 {
        assert!(store
            .star(
                a.id,
                Star {
                    chat_id: c,
                    seq,
                    starred_at: NOW + seq as i64
                }
            )
            .await
            .unwrap());
    }
    assert!(
        !store
            .star(
                a.id,
                Star {
                    chat_id: c,
                    seq: 3,
                    starred_at: NOW + 99
                }
            )
            .await
            .unwrap(),
        "already starred"
    );
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .stars(
                a.id,
                PageRequest {
                    after: after.clone(),
                    limit: 2,
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|s| s.seq));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, vec![5, 4, 3, 2, 1]);
    store.unstar(a.id, c, 3).await.unwrap();
    assert!(matches!(
        store.unstar(a.id, c, 3).await,
        Err(StoreError::NotFound(_))
    ));
    let all = store
        .stars(
            a.id,
            PageRequest {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|s| s.seq).collect::<Vec<_>>(),
        vec![5, 4, 2, 1]
    );
    let bad = store
        .stars(
            a.id,
            PageRequest {
                after: Some("nope".into()),
                limit: 2,
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::InvalidCursor)), "{bad:?}");
}

pub async fn hidden_events_per_user(store: &dyn Store) {
    let a = new_user(store, "hid_a").await;
    let b = new_user(store, "hid_b").await;
    let c = Uuid::now_v7();
    store.hide(a.id, c, &[2, 5, 9]).await.unwrap();
    store.hide(a.id, c, &[5]).await.unwrap();
    assert_eq!(store.hidden(a.id, c, 1, 6).await.unwrap(), vec![2, 5]);
    assert_eq!(store.hidden(a.id, c, 1, 100).await.unwrap(), vec![2, 5, 9]);
    assert!(
        store.hidden(b.id, c, 1, 100).await.unwrap().is_empty(),
        "per user"
    );
    assert!(
        store
            .hidden(a.id, Uuid::now_v7(), 1, 100)
            .await
            .unwrap()
            .is_empty(),
        "per chat"
    );
}

pub async fn reports_page_newest_first(store: &dyn Store) {
    let a = new_user(store, "rep_a").await;
    let b = new_user(store, "rep_b").await;
    for i in 0..3i64 {
        let r = Report {
            id: Uuid::now_v7(),
            reporter: a.id,
            reported_user: b.id,
            chat_id: None,
            seq: None,
            reason: format!("r{i}"),
            created_at: NOW + i,
            evidence: Vec::new(),
        };
        store.add_report(r).await.unwrap();
    }
    let first = store
        .reports(PageRequest {
            after: None,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|r| r.reason.as_str())
            .collect::<Vec<_>>(),
        ["r2", "r1"]
    );
    let rest = store
        .reports(PageRequest {
            after: first.next,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|r| r.reason.as_str())
            .collect::<Vec<_>>(),
        ["r0"]
    );
    assert!(rest.next.is_none());
}

pub async fn broadcast_lists_crud(store: &dyn Store) {
    let a = new_user(store, "bc_a").await;
    let b = new_user(store, "bc_b").await;
    let list = BroadcastList {
        id: Uuid::now_v7(),
        owner: a.id,
        name: "family".into(),
        recipients: vec![b.id],
        created_at: NOW,
    };
    store.save_broadcast_list(list.clone()).await.unwrap();
    assert_eq!(
        store.broadcast_list(a.id, list.id).await.unwrap(),
        Some(list.clone())
    );
    assert_eq!(
        store.broadcast_list(b.id, list.id).await.unwrap(),
        None,
        "lists belong to their owner"
    );
    let renamed = BroadcastList {
        name: "fam".into(),
        recipients: vec![],
        ..list.clone()
    };
    store.save_broadcast_list(renamed.clone()).await.unwrap();
    let second = BroadcastList {
        id: Uuid::now_v7(),
        name: "work".into(),
        ..list.clone()
    };
    store.save_broadcast_list(second.clone()).await.unwrap();
    assert_eq!(
        store.broadcast_lists(a.id).await.unwrap(),
        vec![renamed, second.clone()]
    );
    store.delete_broadcast_list(a.id, list.id).await.unwrap();
    assert!(matches!(
        store.delete_broadcast_list(a.id, list.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.broadcast_lists(a.id).await.unwrap(), vec![second]);
    assert!(store.broadcast_lists(b.id).await.unwrap().is_empty());
}

pub async fn notifications_inbox(store: &dyn Store) {
    let a = new_user(store, "nt_a").await;
    let b = new_user(store, "nt_b").await;
    let make = |user: Uuid, n: u32, at: Millis| Notification {
        id: Uuid::now_v7(),
        user_id: user,
        kind: "message".into(),
        chat_id: Some(Uuid::now_v7()),
        actor_id: None,
        title: format!("t{n}"),
        body: format!("b{n}"),
        count: n,
        created_at: at,
        read_at: None,
    };
    let mut mine = Vec::new();
    for n in 0..5 {
        let note = make(a.id, n, NOW + i64::from(n));
        store.add_notification(note.clone()).await.unwrap();
        mine.push(note);
        // UUIDv7 ids order by millisecond: keep them distinct.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    store.add_notification(make(b.id, 9, NOW)).await.unwrap();

    let first = store.notifications(a.id, None, 3).await.unwrap();
    let titles = |v: &[Notification]| v.iter().map(|n| n.title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(&first), ["t4", "t3", "t2"], "newest first");
    let rest = store
        .notifications(a.id, Some(first[2].id), 10)
        .await
        .unwrap();
    assert_eq!(titles(&rest), ["t1", "t0"]);
    assert!(first.iter().chain(&rest).all(|n| n.read_at.is_none()));

    // Marking: only my own, only unread ones count.
    let other = store.notifications(b.id, None, 10).await.unwrap();
    assert_eq!(
        store
            .mark_notifications_read(a.id, &[mine[1].id, other[0].id, Uuid::now_v7()], NOW + 50)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .mark_notifications_read(a.id, &[mine[1].id], NOW + 60)
            .await
            .unwrap(),
        0,
        "already read"
    );
    let all = store.notifications(a.id, None, 10).await.unwrap();
    let read: Vec<_> = all.iter().map(|n| n.read_at).collect();
    assert_eq!(read, [None, None, None, Some(NOW + 50), None]);
    assert!(store.notifications(b.id, None, 10).await.unwrap()[0]
        .read_at
        .is_none());

    // "All read" up to a time: later notifications stay unread.
    store
        .mark_all_notifications_read(a.id, NOW + 2)
        .await
        .unwrap();
    store
        .mark_all_notifications_read(a.id, NOW + 1)
        .await
        .unwrap();
    let all = store.notifications(a.id, None, 10).await.unwrap();
    let read: Vec<_> = all.iter().map(|n| n.read_at).collect();
    assert_eq!(
        read,
        [None, None, Some(NOW + 2), Some(NOW + 50), Some(NOW + 2)],
        "the mark never moves back"
    );
}

pub async fn writers_are_fenced_by_claims(store: &dyn Store) {
    let a = new_user(store, "fence_a").await;
    let b = new_user(store, "fence_b").await;
    let chat = store
        .get_or_create_direct(chat(ChatKind::Direct, a.id), a.id, b.id)
        .await
        .unwrap()
        .0
        .id;
    let text = |t: &str| NewEvent {
        sender: a.id,
        at: NOW,
        client_id: Some(t.to_owned()),
        kind: MESSAGE_KIND.into(),
        body: format!("{{\"text\":\"{t}\"}}"),
        rewrites: Vec::new(),
    };
    // Never claimed: anyone may write.
    store.append(chat, vec![text("m1")]).await.unwrap();
    let first = store.claim_chat(chat).await.unwrap();
    assert!(store.holds_claim(chat, first));
    store.append(chat, vec![text("m2")]).await.unwrap();
    let second = store.claim_chat(chat).await.unwrap();
    assert!(second > first, "{first} then {second}");
    store.append(chat, vec![text("m3")]).await.unwrap();

    // A writer without the latest claim (here: the claim released, as by a stopped actor)
    // is fenced off and writes nothing.
    store.release_chat(chat, first);
    assert!(
        store.holds_claim(chat, second),
        "an older epoch does not release a newer one"
    );
    store.release_chat(chat, second);
    assert!(!store.holds_claim(chat, second));
    assert!(matches!(
        store.append(chat, vec![text("m4")]).await,
        Err(StoreError::Fenced(c)) if c == chat
    ));
    assert_eq!(store.chat_state(chat).await.unwrap().last_seq, 3);

    let third = store.claim_chat(chat).await.unwrap();
    assert!(third > second);
    let out = store.append(chat, vec![text("m4")]).await.unwrap();
    assert!(matches!(&out[0], AppendOutcome::Stored(e) if e.seq == 4));
    assert!(matches!(
        store.claim_chat(Uuid::now_v7()).await,
        Err(StoreError::NotFound("chat"))
    ));
}

fn wall_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

fn status_post(owner: Uuid, audience: &[Uuid], posted_at: Millis, life: Millis) -> StatusPost {
    let mut audience = audience.to_vec();
    audience.sort();
    StatusPost {
        id: Uuid::now_v7(),
        owner,
        content: StatusContent::Text {
            text: "at the beach".into(),
            background: "#FFAA00".into(),
            font: StatusFont::Serif,
        },
        privacy: StatusPrivacy::default(),
        audience,
        posted_at,
        expires_at: posted_at + life,
    }
}

pub async fn statuses_fan_out_views_and_delete(store: &dyn Store) {
    let owner = new_user(store, "st_owner").await;
    let b = new_user(store, "st_b").await;
    let c = new_user(store, "st_c").await;
    let now = wall_clock();
    let day = 24 * 3_600_000;
    let first = status_post(owner.id, &[b.id], now, day);
    let second = StatusPost {
        id: Uuid::now_v7(),
        content: StatusContent::Image {
            media_id: Uuid::now_v7(),
            caption: Some("sunset".into()),
        },
        ..first.clone()
    };
    store.post_status(first.clone()).await.unwrap();
    store.post_status(second.clone()).await.unwrap();

    assert_eq!(
        store.status(first.id, now).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.owner_statuses(owner.id, now).await.unwrap(),
        vec![first.clone(), second.clone()],
        "the owner's statuses, oldest first"
    );
    let feed = store.status_feed(b.id, now).await.unwrap();
    assert_eq!(feed, vec![first.feed_item(None), second.feed_item(None)]);
    assert!(
        store.status_feed(c.id, now).await.unwrap().is_empty(),
        "only the audience has it in their feed"
    );

    assert!(store
        .mark_status_seen(b.id, owner.id, first.id, now + 5)
        .await
        .unwrap());
    assert!(
        !store
            .mark_status_seen(b.id, owner.id, first.id, now + 9)
            .await
            .unwrap(),
        "seeing twice keeps the first time"
    );
    assert!(matches!(
        store.mark_status_seen(c.id, owner.id, first.id, now).await,
        Err(StoreError::NotFound(_))
    ));
    let feed = store.status_feed(b.id, now).await.unwrap();
    assert_eq!(feed[0].seen_at, Some(now + 5));
    assert_eq!(feed[1].seen_at, None);
    assert_eq!(
        store.status_viewers(first.id).await.unwrap(),
        vec![StatusView {
            viewer: b.id,
            viewed_at: now + 5
        }]
    );
    assert!(store.status_viewers(second.id).await.unwrap().is_empty());

    assert!(
        matches!(
            store.delete_status(b.id, first.id).await,
            Err(StoreError::NotFound(_))
        ),
        "only the owner deletes"
    );
    assert_eq!(
        store.delete_status(owner.id, first.id).await.unwrap(),
        first
    );
    assert!(matches!(
        store.delete_status(owner.id, first.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.status(first.id, now).await.unwrap(), None);
    assert_eq!(
        store.status_feed(b.id, now).await.unwrap(),
        vec![second.feed_item(None)]
    );
    assert_eq!(
        store.owner_statuses(owner.id, now).await.unwrap(),
        vec![second]
    );
    assert!(store.status_viewers(first.id).await.unwrap().is_empty());

    assert_eq!(
        store.status_privacy(owner.id).await.unwrap(),
        StatusPrivacy::default()
    );
    let except = StatusPrivacy {
        rule: AudienceRule::MyContactsExcept,
        users: vec![c.id],
    };
    store
        .set_status_privacy(owner.id, except.clone())
        .await
        .unwrap();
    assert_eq!(store.status_privacy(owner.id).await.unwrap(), except);
    assert_eq!(
        store.status_privacy(b.id).await.unwrap(),
        StatusPrivacy::default()
    );
}

/// Expiry on the real clock: an expired status leaves every listing at its expiry instant,
/// and is purged from the store (by the backend's TTL or its sweeper). Reading afterwards
/// with a `now` *before* the expiry proves the rows are gone, not merely filtered.
pub async fn statuses_expire_and_are_purged(store: &dyn Store) {
    let owner = new_user(store, "exp_owner").await;
    let b = new_user(store, "exp_b").await;
    let posted = wall_clock();
    let short = status_post(owner.id, &[b.id], posted, 1_500);
    let long = status_post(owner.id, &[b.id], posted, 24 * 3_600_000);
    store.post_status(short.clone()).await.unwrap();
    store.post_status(long.clone()).await.unwrap();
    assert!(store
        .mark_status_seen(b.id, owner.id, short.id, posted + 1)
        .await
        .unwrap());

    let at_expiry = short.expires_at;
    assert_eq!(store.status(short.id, at_expiry).await.unwrap(), None);
    assert_eq!(
        store.status_feed(b.id, at_expiry).await.unwrap(),
        vec![long.feed_item(None)],
        "gone from the feed at its expiry instant"
    );
    assert_eq!(
        store.owner_statuses(owner.id, at_expiry).await.unwrap(),
        vec![long.clone()]
    );
    assert!(matches!(
        store
            .mark_status_seen(b.id, owner.id, short.id, at_expiry)
            .await,
        Err(StoreError::NotFound(_))
    ));

    // TTLs count whole seconds: wait past the rounded-up lifetime.
    tokio::time::sleep(std::time::Duration::from_millis(2_600)).await;
    let purged = store
        .purge_expired_statuses(wall_clock(), 100)
        .await
        .unwrap();
    assert!(purged <= 1, "only the expired status is purged: {purged}");
    assert_eq!(
        store.status(short.id, posted).await.unwrap(),
        None,
        "purged from the store, not only filtered"
    );
    assert_eq!(
        store.status_feed(b.id, posted).await.unwrap(),
        vec![long.feed_item(None)]
    );
    assert_eq!(
        store.owner_statuses(owner.id, posted).await.unwrap(),
        vec![long.clone()]
    );
    assert!(store.status_viewers(short.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .purge_expired_statuses(wall_clock(), 100)
            .await
            .unwrap(),
        0,
        "nothing left to purge"
    );
    assert_eq!(store.status(long.id, posted).await.unwrap(), Some(long));
}

fn call(chat_id: Uuid, initiator: Uuid, invited: Vec<Uuid>, started_at: Millis) -> CallRecord {
    CallRecord {
        id: Uuid::now_v7(),
        chat_id,
        kind: CallKind::Voice,
        initiator,
        invited,
        participants: vec![CallParticipant {
            user_id: initiator,
            joined_at: started_at,
            left_at: started_at + 5_000,
        }],
        started_at,
        answered_at: Some(started_at + 1_000),
        ended_at: started_at + 5_000,
        duration_ms: 4_000,
        outcome: CallOutcome::Answered,
    }
}

pub async fn calls_listed_for_everyone_concerned_newest_first(store: &dyn Store) {
    let a = new_user(store, "call_a").await;
    let b = new_user(store, "call_b").await;
    let c = new_user(store, "call_c").await;
    let chat = Uuid::now_v7();
    let mut recorded = Vec::new();
    for i in 0..5i64 {
        let mut record = call(chat, a.id, vec![b.id], NOW + i * 60_000);
        if i == 4 {
            record.outcome = CallOutcome::Missed;
            record.answered_at = None;
            record.duration_ms = 0;
            record.kind = CallKind::Video;
        }
        store.record_call(record.clone()).await.unwrap();
        recorded.push(record);
    }
    // Two calls starting in the same millisecond are both listed.
    let twin = call(chat, b.id, vec![a.id], NOW + 4 * 60_000);
    store.record_call(twin.clone()).await.unwrap();
    let mut newest_first: Vec<CallRecord> = recorded.iter().rev().cloned().collect();
    newest_first.insert(0, twin.clone());
    newest_first[..2].sort_by_key(|r| std::cmp::Reverse(r.id));

    for who in [a.id, b.id] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .calls(who, PageRequest { after, limit: 2 })
                .await
                .unwrap();
            assert!(page.items.len() <= 2);
            seen.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(
            seen, newest_first,
            "every call once, newest first, as recorded"
        );
    }
    assert!(
        store
            .calls(
                c.id,
                PageRequest {
                    after: None,
                    limit: 10
                }
            )
            .await
            .unwrap()
            .items
            .is_empty(),
        "only the people a call concerned see it"
    );
    // Recording the same call again replaces it.
    let mut again = recorded[0].clone();
    again.outcome = CallOutcome::Failed;
    store.record_call(again.clone()).await.unwrap();
    let all = store
        .calls(
            b.id,
            PageRequest {
                after: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 6);
    assert_eq!(all.items.last(), Some(&again));
    assert!(matches!(
        store
            .calls(
                a.id,
                PageRequest {
                    after: Some("nope".into()),
                    limit: 2
                }
            )
            .await,
        Err(StoreError::InvalidCursor)
    ));
}
