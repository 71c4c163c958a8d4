//! The store traits, one per concern. Each method is one atomic operation: a backend must never
//! leave half of it applied.

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::*;
use crate::StoreResult;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user with their credentials. `Conflict("username")` / `Conflict("phone")`
    /// when either is taken; then nothing is written.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// `username` must already be lower-case.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_phone(&self, phone: &str) -> StoreResult<Option<User>>;
    /// The PHC string of the user's password.
    async fn password_hash(&self, id: Uuid) -> StoreResult<Option<String>>;
    async fn update_profile(&self, id: Uuid, update: ProfileUpdate) -> StoreResult<User>;
    /// Disables or re-enables an account. `NotFound("user")` if there is none.
    async fn set_disabled(&self, id: Uuid, disabled: bool) -> StoreResult<()>;
    async fn set_server_admin(&self, id: Uuid, admin: bool) -> StoreResult<()>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new device session whose live refresh token hashes to `refresh_hash`.
    async fn create_session(&self, session: DeviceSession, refresh_hash: &[u8]) -> StoreResult<()>;
    async fn session(&self, id: Uuid) -> StoreResult<Option<DeviceSession>>;
    /// Live (not revoked, not expired) sessions of a user, oldest first.
    async fn live_sessions(&self, user_id: Uuid, now: Millis) -> StoreResult<Vec<DeviceSession>>;
    /// Spends the refresh token hashing to `presented`, making `new_hash` live; see
    /// [`RefreshOutcome`]. `refresh_expires_at` is the new token's expiry.
    async fn rotate_refresh(
        &self,
        presented: &[u8],
        new_hash: &[u8],
        now: Millis,
        refresh_expires_at: Millis,
    ) -> StoreResult<RefreshOutcome>;
    /// Revokes one of `user_id`'s sessions. `NotFound` if it is not theirs or not live.
    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: Millis)
        -> StoreResult<()>;
}

#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// The user's settings, or the defaults if they never changed them.
    async fn privacy(&self, user_id: Uuid) -> StoreResult<PrivacySettings>;
    async fn set_privacy(&self, user_id: Uuid, settings: PrivacySettings) -> StoreResult<()>;
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// `Conflict("contact")` if `contact.user_id` is already in the owner's contacts.
    async fn add_contact(&self, contact: Contact) -> StoreResult<()>;
    async fn contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<Option<Contact>>;
    async fn rename_contact(
        &self,
        owner: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> StoreResult<Contact>;
    /// `NotFound("contact")` if it was not there.
    async fn remove_contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<()>;
    /// Contacts ordered by their user id.
    async fn contacts(&self, owner: Uuid, page: PageRequest) -> StoreResult<Page<Contact>>;
}

#[async_trait]
pub trait BlockStore: Send + Sync {
    /// `None` when newly blocked; `Some(original)` when it was blocked already (kept as it was).
    async fn block(&self, block: Block) -> StoreResult<Option<Block>>;
    /// `NotFound("block")` if it was not blocked.
    async fn unblock(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<()>;
    async fn is_blocked(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<bool>;
    async fn blocked(&self, blocker: Uuid, page: PageRequest) -> StoreResult<Page<Block>>;
}

#[async_trait]
pub trait PrefsStore: Send + Sync {
    /// `user`'s settings for `chat_id`, defaults if never set.
    async fn chat_prefs(&self, user: Uuid, chat_id: Uuid) -> StoreResult<ChatPrefs>;
    async fn set_chat_prefs(&self, user: Uuid, chat_id: Uuid, prefs: ChatPrefs) -> StoreResult<()>;
    async fn user_settings(&self, user: Uuid) -> StoreResult<UserSettings>;
    async fn set_user_settings(&self, user: Uuid, settings: UserSettings) -> StoreResult<()>;
    /// `false` if it was starred already.
    async fn star(&self, user: Uuid, star: Star) -> StoreResult<bool>;
    /// `NotFound("star")` if it was not starred.
    async fn unstar(&self, user: Uuid, chat_id: Uuid, seq: u64) -> StoreResult<()>;
    /// My stars, newest first.
    async fn stars(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<Star>>;
    /// Hides events from `user` only ("delete for me").
    async fn hide(&self, user: Uuid, chat_id: Uuid, seqs: &[u64]) -> StoreResult<()>;
    /// Which of the seqs in `from..=to` `user` hid.
    async fn hidden(&self, user: Uuid, chat_id: Uuid, from: u64, to: u64) -> StoreResult<Vec<u64>>;
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn add_report(&self, report: Report) -> StoreResult<()>;
    /// Reports, newest first.
    async fn reports(&self, page: PageRequest) -> StoreResult<Page<Report>>;
}

#[async_trait]
pub trait BroadcastStore: Send + Sync {
    /// Creates or replaces the list (keyed by owner and id).
    async fn save_broadcast_list(&self, list: BroadcastList) -> StoreResult<()>;
    async fn broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<BroadcastList>>;
    /// The owner's lists, by id.
    async fn broadcast_lists(&self, owner: Uuid) -> StoreResult<Vec<BroadcastList>>;
    /// `NotFound("broadcast list")` if it was not there.
    async fn delete_broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<()>;
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn add_notification(&self, notification: Notification) -> StoreResult<()>;
    /// The user's notifications newest first, those with an id below `before` if given. A
    /// notification created at or before the user's "all read" mark reads as read then.
    async fn notifications(
        &self,
        user: Uuid,
        before: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>>;
    /// Marks those of `ids` that are the user's and unread as read at `at`; how many it marked.
    async fn mark_notifications_read(
        &self,
        user: Uuid,
        ids: &[Uuid],
        at: Millis,
    ) -> StoreResult<usize>;
    /// Marks every notification the user has, up to `at`, as read.
    async fn mark_all_notifications_read(&self, user: Uuid, at: Millis) -> StoreResult<()>;
}

/// Status stories. Every read takes `now` and leaves out what expired by then, so a status is
/// gone from every listing the instant it expires, whenever the purge runs.
#[async_trait]
pub trait StatusStore: Send + Sync {
    /// Stores the post, its entry in its owner's list and one feed entry per member of
    /// `post.audience` (fan-out on write). Every row of it expires at `post.expires_at`.
    async fn post_status(&self, post: StatusPost) -> StoreResult<()>;
    /// The post, unless it is gone or expired by `now`.
    async fn status(&self, id: Uuid, now: Millis) -> StoreResult<Option<StatusPost>>;
    /// The owner's active posts, oldest first.
    async fn owner_statuses(&self, owner: Uuid, now: Millis) -> StoreResult<Vec<StatusPost>>;
    /// The active posts shared with `viewer`, by owner, each owner's oldest first: one read
    /// of the viewer's feed, whatever the number of contacts.
    async fn status_feed(&self, viewer: Uuid, now: Millis) -> StoreResult<Vec<FeedItem>>;
    /// Records that `viewer` saw `owner`'s post `id` at `at`; `false` if they had already (the
    /// first time is kept). `NotFound("status")` if it is not in the viewer's feed or expired.
    async fn mark_status_seen(
        &self,
        viewer: Uuid,
        owner: Uuid,
        id: Uuid,
        at: Millis,
    ) -> StoreResult<bool>;
    /// Who saw the post and when, earliest first.
    async fn status_viewers(&self, id: Uuid) -> StoreResult<Vec<StatusView>>;
    /// Removes the owner's post with its feed entries and views, and returns it.
    /// `NotFound("status")` if the owner has no such post.
    async fn delete_status(&self, owner: Uuid, id: Uuid) -> StoreResult<StatusPost>;
    /// Removes up to `limit` posts that expired by `now`, with their feed entries and views,
    /// and returns how many. A backend whose rows carry a TTL purges by itself and returns 0.
    async fn purge_expired_statuses(&self, now: Millis, limit: usize) -> StoreResult<usize>;
    /// The owner's default audience for new posts (`MyContacts` if never set).
    async fn status_privacy(&self, owner: Uuid) -> StoreResult<StatusPrivacy>;
    async fn set_status_privacy(&self, owner: Uuid, privacy: StatusPrivacy) -> StoreResult<()>;
}

/// Every concern at once: what the server holds.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + PrivacyStore
    + ContactStore
    + BlockStore
    + ChatStore
    + TimelineStore
    + ReceiptStore
    + PresenceStore
    + PrefsStore
    + ReportStore
    + BroadcastStore
    + NotificationStore
    + StatusStore
    + CallStore
    + MediaStore
{
    /// `"embedded"` or `"scylla"`, for metrics and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Succeeds when the store can serve reads and writes.
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait ChatStore: Send + Sync {
    /// The pair's 1:1 chat, creating it (with both members) if there is none. The flag says
    /// whether it was created. One chat per unordered pair, whatever the race.
    async fn get_or_create_direct(&self, chat: Chat, a: Uuid, b: Uuid)
        -> StoreResult<(Chat, bool)>;
    /// Creates a group with its members and, atomically, its first timeline event (seq 1).
    async fn create_group(
        &self,
        chat: Chat,
        members: Vec<Member>,
        first: NewEvent,
    ) -> StoreResult<StoredEvent>;
    async fn chat(&self, id: Uuid) -> StoreResult<Option<Chat>>;
    /// Members in user id order.
    async fn members(&self, chat_id: Uuid) -> StoreResult<Vec<Member>>;
    async fn member(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>>;
    /// Every chat the user is a member of.
    async fn user_chats(&self, user_id: Uuid) -> StoreResult<Vec<Uuid>>;
    async fn chat_state(&self, chat_id: Uuid) -> StoreResult<ChatState>;
    /// Applies a group change and appends the event recording it, atomically. For
    /// `AddMembers`, members already in the chat are left as they are.
    async fn change_group(
        &self,
        chat_id: Uuid,
        change: GroupChange,
        event: NewEvent,
    ) -> StoreResult<StoredEvent>;
    /// Replaces the group's invite link (one live link per group).
    async fn set_invite(&self, invite: Invite) -> StoreResult<()>;
    /// Revokes the group's invite link; `NotFound("invite")` if it has none.
    async fn revoke_invite(&self, chat_id: Uuid) -> StoreResult<()>;
    async fn invite_by_code(&self, code: &str) -> StoreResult<Option<Invite>>;
    async fn invite_of(&self, chat_id: Uuid) -> StoreResult<Option<Invite>>;
}

#[async_trait]
pub trait TimelineStore: Send + Sync {
    /// Appends in order, assigning the next sequence numbers, and makes them durable before
    /// returning. Events whose client id was seen before come back as `Duplicate`, unstored
    /// (their rewrites too). A stored event's rewrites replace the bodies of the events they
    /// name in the same write; a rewrite of a missing seq is ignored.
    /// `NotFound("chat")` if the chat does not exist (then nothing is stored).
    async fn append(&self, chat_id: Uuid, events: Vec<NewEvent>)
        -> StoreResult<Vec<AppendOutcome>>;
    /// Makes this store instance (this node) the chat's only writer: bumps the chat's fencing
    /// epoch and returns it. From then on this instance's appends and group changes to the chat
    /// carry that epoch in the same atomic step that assigns seqs, and a writer holding an
    /// older claim (a node that lost the chat) fails with `Fenced`, writing nothing. An
    /// instance that never claimed the chat writes only while nobody has.
    /// `NotFound("chat")` if there is none.
    async fn claim_chat(&self, chat_id: Uuid) -> StoreResult<u64>;
    /// Forgets this instance's claim `epoch` (its chat actor stopped) unless a newer claim of
    /// this instance replaced it; the epoch stays in the store.
    fn release_chat(&self, chat_id: Uuid, epoch: u64);
    /// Whether this instance still holds claim `epoch` (a fenced write drops it).
    fn holds_claim(&self, chat_id: Uuid, epoch: u64) -> bool;
    /// Up to `limit` events with seq > `after_seq`, ascending.
    async fn events_after(
        &self,
        chat_id: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// The `limit` events just below `before_seq`, ascending.
    async fn events_before(
        &self,
        chat_id: Uuid,
        before_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>>;
    async fn event(&self, chat_id: Uuid, seq: u64) -> StoreResult<Option<StoredEvent>>;
    /// Messages from others than `user_id` with seq > `after_seq`, counting at most `cap`.
    async fn unread_count(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        after_seq: u64,
        cap: u32,
    ) -> StoreResult<u32>;
}

#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Moves `user_id`'s pointer of `kind` up to `up_to_seq` (read moves delivered too).
    /// Returns what moved, empty when the pointers were already there.
    async fn mark(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        up_to_seq: u64,
        at: Millis,
    ) -> StoreResult<Vec<ReceiptAdvance>>;
    async fn pointers(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<ReceiptPointers>;
    /// When `user_id`'s pointer of `kind` first covered `seq`, if it has.
    async fn reached_at(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        seq: u64,
    ) -> StoreResult<Option<Millis>>;
}

#[async_trait]
pub trait PresenceStore: Send + Sync {
    async fn set_last_seen(&self, user_id: Uuid, at: Millis) -> StoreResult<()>;
    async fn last_seen(&self, user_id: Uuid) -> StoreResult<Option<Millis>>;
}

#[async_trait]
pub trait CallStore: Send + Sync {
    /// Stores a finished call, listed in the history of everyone in `call.invited` (and every
    /// participant). Recording the same call id again replaces it.
    async fn record_call(&self, call: CallRecord) -> StoreResult<()>;
    /// `user`'s calls, newest start first.
    async fn calls(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<CallRecord>>;
}

/// Media records and where each was shared. The blobs themselves live in a
/// [`BlobStore`](crate::blob::BlobStore).
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores a new upload's record. `Conflict("media")` if the id exists.
    async fn create_media(&self, record: MediaRecord) -> StoreResult<()>;
    async fn media(&self, id: Uuid) -> StoreResult<Option<MediaRecord>>;
    /// Records that a message shared media or links (idempotent: the same (chat, seq, class)
    /// again replaces it).
    async fn share_media(&self, share: MediaShare) -> StoreResult<()>;
    /// Removes every share recorded for message `seq` of `chat_id` (it was deleted for
    /// everyone): gone from the gallery, and the chat's members lose the access it gave.
    async fn unshare_media(&self, chat_id: Uuid, seq: u64) -> StoreResult<()>;
    /// The chats `media_id` is shared in (each once), at most `limit`.
    async fn media_chats(&self, media_id: Uuid, limit: usize) -> StoreResult<Vec<Uuid>>;
    /// A chat's gallery tab, newest first: up to `limit` shares with seq < `before`.
    async fn gallery(
        &self,
        chat_id: Uuid,
        class: GalleryClass,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<MediaShare>>;
}
