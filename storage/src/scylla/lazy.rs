//! A scylla store that may start before its database: the server can come up, answer
//! `/readyz` with "unavailable", and connect once the cluster answers, instead of dying in a
//! restart loop while the database boots (a common order of events in a fresh deployment).
//!
//! Until connected, every operation and `ping` fails with [`StoreError::Unavailable`] naming
//! the contact points; at most one connection attempt runs at a time and attempts are at
//! least [`RETRY_INTERVAL`] apart, driven by the calls themselves (no background task), so
//! `/readyz` probes are what retries when no traffic comes in. Once connected it is the
//! [`ScyllaStore`], whose driver handles later outages and reconnects by itself.

use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OnceCell};
use uuid::Uuid;

use super::{ScyllaConfig, ScyllaStore};
use crate::model::*;
use crate::{
    BlockStore, ChatStore, ContactStore, NotificationStore, PrefsStore, PresenceStore,
    PrivacyStore, ReceiptStore, ReportStore, SessionStore, Store, StoreError, StoreResult,
    TimelineStore, UserStore,
};

pub const RETRY_INTERVAL: Duration = Duration::from_secs(2);

pub struct LazyScyllaStore {
    config: ScyllaConfig,
    nodes: String,
    store: OnceCell<ScyllaStore>,
    attempt: Mutex<Attempt>,
}

struct Attempt {
    at: Instant,
    error: String,
}

impl LazyScyllaStore {
    /// Validates `config` (a bad one is an error now, not at every retry) and tries to
    /// connect once. Returns the store either way, with the connection error if there was one.
    pub async fn connect(
        config: ScyllaConfig,
    ) -> StoreResult<(LazyScyllaStore, Option<StoreError>)> {
        config.validate()?;
        let nodes = config.contact_points.join(",");
        let first = ScyllaStore::connect(&config).await;
        let (store, error) = match first {
            Ok(s) => (OnceCell::new_with(Some(s)), None),
            Err(e) => (OnceCell::new(), Some(e)),
        };
        let attempt = Attempt {
            at: Instant::now(),
            error: error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        };
        Ok((
            LazyScyllaStore {
                config,
                nodes,
                store,
                attempt: Mutex::new(attempt),
            },
            error,
        ))
    }

    /// The connected store, connecting now if it is time to try again.
    async fn get(&self) -> StoreResult<&ScyllaStore> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let Ok(mut attempt) = self.attempt.try_lock() else {
            return Err(StoreError::Unavailable(format!(
                "still connecting to Cassandra/ScyllaDB at {}",
                self.nodes
            )));
        };
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        if attempt.at.elapsed() < RETRY_INTERVAL {
            return Err(StoreError::Unavailable(attempt.error.clone()));
        }
        match ScyllaStore::connect(&self.config).await {
            Ok(s) => {
                tracing::info!(nodes = %self.nodes, "connected to Cassandra/ScyllaDB");
                Ok(self.store.get_or_init(|| async { s }).await)
            }
            Err(e) => {
                attempt.at = Instant::now();
                attempt.error = e.to_string();
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl UserStore for LazyScyllaStore {
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        self.get().await?.create_user(new).await
    }
    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.get().await?.user(id).await
    }
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.get().await?.user_by_username(username).await
    }
    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>> {
        self.get().await?.user_by_phone(phone).await
    }
    async fn password_hash(&self, id: Uuid) -> StoreResult<Option<String>> {
        self.get().await?.password_hash(id).await
    }
    async fn update_profile(&self, id: Uuid, update: ProfileUpdate) -> StoreResult<User> {
        self.get().await?.update_profile(id, update).await
    }
    async fn set_disabled(&self, id: Uuid, disabled: bool) -> StoreResult<()> {
        self.get().await?.set_disabled(id, disabled).await
    }
    async fn set_server_admin(&self, id: Uuid, admin: bool) -> StoreResult<()> {
        self.get().await?.set_server_admin(id, admin).await
    }
}

#[async_trait::async_trait]
impl SessionStore for LazyScyllaStore {
    async fn create_session(&self, session: DeviceSession, refresh_hash: &[u8]) -> StoreResult<()> {
        self.get()
            .await?
            .create_session(session, refresh_hash)
            .await
    }
    async fn session(&self, id: Uuid) -> StoreResult<Option<DeviceSession>> {
        SessionStore::session(self.get().await?, id).await
    }
    async fn live_sessions(&self, user_id: Uuid, now: Millis) -> StoreResult<Vec<DeviceSession>> {
        self.get().await?.live_sessions(user_id, now).await
    }
    async fn rotate_refresh(
        &self,
        presented: &[u8],
        new_hash: &[u8],
        now: Millis,
        refresh_expires_at: Millis,
    ) -> StoreResult<RefreshOutcome> {
        self.get()
            .await?
            .rotate_refresh(presented, new_hash, now, refresh_expires_at)
            .await
    }
    async fn revoke_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: Millis,
    ) -> StoreResult<()> {
        self.get()
            .await?
            .revoke_session(user_id, session_id, now)
            .await
    }
}

#[async_trait::async_trait]
impl PrivacyStore for LazyScyllaStore {
    async fn privacy(&self, user_id: Uuid) -> StoreResult<PrivacySettings> {
        self.get().await?.privacy(user_id).await
    }
    async fn set_privacy(&self, user_id: Uuid, settings: PrivacySettings) -> StoreResult<()> {
        self.get().await?.set_privacy(user_id, settings).await
    }
}

#[async_trait::async_trait]
impl ContactStore for LazyScyllaStore {
    async fn add_contact(&self, contact: Contact) -> StoreResult<()> {
        self.get().await?.add_contact(contact).await
    }
    async fn contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<Option<Contact>> {
        self.get().await?.contact(owner, user_id).await
    }
    async fn rename_contact(
        &self,
        owner: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> StoreResult<Contact> {
        self.get().await?.rename_contact(owner, user_id, name).await
    }
    async fn remove_contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<()> {
        self.get().await?.remove_contact(owner, user_id).await
    }
    async fn contacts(&self, owner: Uuid, page: PageRequest) -> StoreResult<Page<Contact>> {
        self.get().await?.contacts(owner, page).await
    }
}

#[async_trait::async_trait]
impl BlockStore for LazyScyllaStore {
    async fn block(&self, block: Block) -> StoreResult<Option<Block>> {
        self.get().await?.block(block).await
    }
    async fn unblock(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<()> {
        self.get().await?.unblock(blocker, blocked).await
    }
    async fn is_blocked(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<bool> {
        self.get().await?.is_blocked(blocker, blocked).await
    }
    async fn blocked(&self, blocker: Uuid, page: PageRequest) -> StoreResult<Page<Block>> {
        self.get().await?.blocked(blocker, page).await
    }
}

#[async_trait::async_trait]
impl ChatStore for LazyScyllaStore {
    async fn get_or_create_direct(
        &self,
        chat: Chat,
        a: Uuid,
        b: Uuid,
    ) -> StoreResult<(Chat, bool)> {
        self.get().await?.get_or_create_direct(chat, a, b).await
    }
    async fn create_group(
        &self,
        chat: Chat,
        members: Vec<Member>,
        first: NewEvent,
    ) -> StoreResult<StoredEvent> {
        self.get().await?.create_group(chat, members, first).await
    }
    async fn chat(&self, id: Uuid) -> StoreResult<Option<Chat>> {
        self.get().await?.chat(id).await
    }
    async fn members(&self, chat_id: Uuid) -> StoreResult<Vec<Member>> {
        self.get().await?.members(chat_id).await
    }
    async fn member(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        self.get().await?.member(chat_id, user_id).await
    }
    async fn user_chats(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
        self.get().await?.user_chats(user_id).await
    }
    async fn chat_state(&self, chat_id: Uuid) -> StoreResult<ChatState> {
        self.get().await?.chat_state(chat_id).await
    }
    async fn change_group(
        &self,
        chat_id: Uuid,
        change: GroupChange,
        event: NewEvent,
    ) -> StoreResult<StoredEvent> {
        self.get().await?.change_group(chat_id, change, event).await
    }
    async fn set_invite(&self, invite: Invite) -> StoreResult<()> {
        self.get().await?.set_invite(invite).await
    }
    async fn revoke_invite(&self, chat_id: Uuid) -> StoreResult<()> {
        self.get().await?.revoke_invite(chat_id).await
    }
    async fn invite_by_code(&self, code: &str) -> StoreResult<Option<Invite>> {
        self.get().await?.invite_by_code(code).await
    }
    async fn invite_of(&self, chat_id: Uuid) -> StoreResult<Option<Invite>> {
        self.get().await?.invite_of(chat_id).await
    }
}

#[async_trait::async_trait]
impl TimelineStore for LazyScyllaStore {
    async fn claim_chat(&self, chat_id: Uuid) -> StoreResult<u64> {
        self.get().await?.claim_chat(chat_id).await
    }
    fn holds_claim(&self, chat_id: Uuid, epoch: u64) -> bool {
        self.store
            .get()
            .is_some_and(|s| s.holds_claim(chat_id, epoch))
    }
    fn release_chat(&self, chat_id: Uuid, epoch: u64) {
        if let Some(s) = self.store.get() {
            s.release_chat(chat_id, epoch);
        }
    }
    async fn append(
        &self,
        chat_id: Uuid,
        events: Vec<NewEvent>,
    ) -> StoreResult<Vec<AppendOutcome>> {
        self.get().await?.append(chat_id, events).await
    }
    async fn events_after(
        &self,
        chat_id: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.get()
            .await?
            .events_after(chat_id, after_seq, limit)
            .await
    }
    async fn events_before(
        &self,
        chat_id: Uuid,
        before_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.get()
            .await?
            .events_before(chat_id, before_seq, limit)
            .await
    }
    async fn event(&self, chat_id: Uuid, seq: u64) -> StoreResult<Option<StoredEvent>> {
        self.get().await?.event(chat_id, seq).await
    }
    async fn unread_count(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        after_seq: u64,
        cap: u32,
    ) -> StoreResult<u32> {
        self.get()
            .await?
            .unread_count(chat_id, user_id, after_seq, cap)
            .await
    }
}

#[async_trait::async_trait]
impl ReceiptStore for LazyScyllaStore {
    async fn mark(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        up_to_seq: u64,
        at: Millis,
    ) -> StoreResult<Vec<ReceiptAdvance>> {
        self.get()
            .await?
            .mark(chat_id, user_id, kind, up_to_seq, at)
            .await
    }
    async fn pointers(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<ReceiptPointers> {
        self.get().await?.pointers(chat_id, user_id).await
    }
    async fn reached_at(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        seq: u64,
    ) -> StoreResult<Option<Millis>> {
        self.get()
            .await?
            .reached_at(chat_id, user_id, kind, seq)
            .await
    }
}

#[async_trait::async_trait]
impl PresenceStore for LazyScyllaStore {
    async fn set_last_seen(&self, user_id: Uuid, at: Millis) -> StoreResult<()> {
        self.get().await?.set_last_seen(user_id, at).await
    }
    async fn last_seen(&self, user_id: Uuid) -> StoreResult<Option<Millis>> {
        self.get().await?.last_seen(user_id).await
    }
}

#[async_trait::async_trait]
impl PrefsStore for LazyScyllaStore {
    async fn chat_prefs(&self, user: Uuid, chat_id: Uuid) -> StoreResult<ChatPrefs> {
        self.get().await?.chat_prefs(user, chat_id).await
    }
    async fn set_chat_prefs(&self, user: Uuid, chat_id: Uuid, prefs: ChatPrefs) -> StoreResult<()> {
        self.get().await?.set_chat_prefs(user, chat_id, prefs).await
    }
    async fn user_settings(&self, user: Uuid) -> StoreResult<UserSettings> {
        self.get().await?.user_settings(user).await
    }
    async fn set_user_settings(&self, user: Uuid, settings: UserSettings) -> StoreResult<()> {
        self.get().await?.set_user_settings(user, settings).await
    }
    async fn star(&self, user: Uuid, star: Star) -> StoreResult<bool> {
        self.get().await?.star(user, star).await
    }
    async fn unstar(&self, user: Uuid, chat_id: Uuid, seq: u64) -> StoreResult<()> {
        self.get().await?.unstar(user, chat_id, seq).await
    }
    async fn stars(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<Star>> {
        self.get().await?.stars(user, page).await
    }
    async fn hide(&self, user: Uuid, chat_id: Uuid, seqs: &[u64]) -> StoreResult<()> {
        self.get().await?.hide(user, chat_id, seqs).await
    }
    async fn hidden(&self, user: Uuid, chat_id: Uuid, from: u64, to: u64) -> StoreResult<Vec<u64>> {
        self.get().await?.hidden(user, chat_id, from, to).await
    }
}

#[async_trait::async_trait]
impl ReportStore for LazyScyllaStore {
    async fn add_report(&self, report: Report) -> StoreResult<()> {
        self.get().await?.add_report(report).await
    }
    async fn reports(&self, page: PageRequest) -> StoreResult<Page<Report>> {
        self.get().await?.reports(page).await
    }
}

#[async_trait::async_trait]
impl NotificationStore for LazyScyllaStore {
    async fn add_notification(&self, notification: Notification) -> StoreResult<()> {
        self.get().await?.add_notification(notification).await
    }
    async fn notifications(
        &self,
        user: Uuid,
        before: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        self.get().await?.notifications(user, before, limit).await
    }
    async fn mark_notifications_read(
        &self,
        user: Uuid,
        ids: &[Uuid],
        at: Millis,
    ) -> StoreResult<usize> {
        self.get()
            .await?
            .mark_notifications_read(user, ids, at)
            .await
    }
    async fn mark_all_notifications_read(&self, user: Uuid, at: Millis) -> StoreResult<()> {
        self.get()
            .await?
            .mark_all_notifications_read(user, at)
            .await
    }
}

#[async_trait::async_trait]
impl Store for LazyScyllaStore {
    fn backend(&self) -> &'static str {
        "scylla"
    }
    async fn ping(&self) -> StoreResult<()> {
        self.get().await?.ping().await
    }
}

#[async_trait::async_trait]
impl crate::BroadcastStore for LazyScyllaStore {
    async fn save_broadcast_list(&self, list: BroadcastList) -> StoreResult<()> {
        self.get().await?.save_broadcast_list(list).await
    }

    async fn broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<BroadcastList>> {
        self.get().await?.broadcast_list(owner, id).await
    }

    async fn broadcast_lists(&self, owner: Uuid) -> StoreResult<Vec<BroadcastList>> {
        self.get().await?.broadcast_lists(owner).await
    }

    async fn delete_broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<()> {
        self.get().await?.delete_broadcast_list(owner, id).await
    }
}

#[async_trait::async_trait]
impl crate::StatusStore for LazyScyllaStore {
    async fn post_status(&self, post: StatusPost) -> StoreResult<()> {
        self.get().await?.post_status(post).await
    }

    async fn status(&self, id: Uuid, now: Millis) -> StoreResult<Option<StatusPost>> {
        self.get().await?.status(id, now).await
    }

    async fn owner_statuses(&self, owner: Uuid, now: Millis) -> StoreResult<Vec<StatusPost>> {
        self.get().await?.owner_statuses(owner, now).await
    }

    async fn status_feed(&self, viewer: Uuid, now: Millis) -> StoreResult<Vec<FeedItem>> {
        self.get().await?.status_feed(viewer, now).await
    }

    async fn mark_status_seen(
        &self,
        viewer: Uuid,
        owner: Uuid,
        id: Uuid,
        at: Millis,
    ) -> StoreResult<bool> {
        self.get()
            .await?
            .mark_status_seen(viewer, owner, id, at)
            .await
    }

    async fn status_viewers(&self, id: Uuid) -> StoreResult<Vec<StatusView>> {
        self.get().await?.status_viewers(id).await
    }

    async fn delete_status(&self, owner: Uuid, id: Uuid) -> StoreResult<StatusPost> {
        self.get().await?.delete_status(owner, id).await
    }

    async fn purge_expired_statuses(&self, now: Millis, limit: usize) -> StoreResult<usize> {
        self.get().await?.purge_expired_statuses(now, limit).await
    }

    async fn status_privacy(&self, owner: Uuid) -> StoreResult<StatusPrivacy> {
        self.get().await?.status_privacy(owner).await
    }

    async fn set_status_privacy(&self, owner: Uuid, privacy: StatusPrivacy) -> StoreResult<()> {
        self.get().await?.set_status_privacy(owner, privacy).await
    }
}

#[async_trait::async_trait]
impl crate::CallStore for LazyScyllaStore {
    async fn record_call(&self, call: CallRecord) -> StoreResult<()> {
        self.get().await?.record_call(call).await
    }

    async fn calls(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<CallRecord>> {
        self.get().await?.calls(user, page).await
    }
}

#[async_trait::async_trait]
impl crate::MediaStore for LazyScyllaStore {
    async fn create_media(&self, record: MediaRecord) -> StoreResult<()> {
        self.get().await?.create_media(record).await
    }

    async fn media(&self, id: Uuid) -> StoreResult<Option<MediaRecord>> {
        self.get().await?.media(id).await
    }

    async fn share_media(&self, share: MediaShare) -> StoreResult<()> {
        self.get().await?.share_media(share).await
    }

    async fn unshare_media(&self, chat_id: Uuid, seq: u64) -> StoreResult<()> {
        self.get().await?.unshare_media(chat_id, seq).await
    }

    async fn media_chats(&self, media_id: Uuid, limit: usize) -> StoreResult<Vec<Uuid>> {
        self.get().await?.media_chats(media_id, limit).await
    }

    async fn gallery(
        &self,
        chat_id: Uuid,
        class: GalleryClass,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<MediaShare>> {
        self.get()
            .await?
            .gallery(chat_id, class, before, limit)
            .await
    }
}
