//! Table layout. Keys are ids as `u128` (UUIDs) so per-owner lists are contiguous key ranges;
//! values are JSON so fields can be added without a migration.

use redb::{TableDefinition, TableHandle, WriteTransaction};

use crate::StoreResult;

/// user id -> `User`
pub const USERS: TableDefinition<u128, &[u8]> = TableDefinition::new("users");
/// lower-case username -> user id
pub const USERNAMES: TableDefinition<&str, u128> = TableDefinition::new("usernames");
/// E.164 phone -> user id
pub const PHONES: TableDefinition<&str, u128> = TableDefinition::new("phones");
/// user id -> PHC password hash
pub const CREDENTIALS: TableDefinition<u128, &str> = TableDefinition::new("credentials");
/// session id -> `DeviceSession`
pub const SESSIONS: TableDefinition<u128, &[u8]> = TableDefinition::new("sessions");
/// (user id, session id) -> () : a user's sessions
pub const USER_SESSIONS: TableDefinition<(u128, u128), ()> = TableDefinition::new("user_sessions");
/// SHA-256 of a refresh token -> `RefreshRecord`
pub const REFRESH_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("refresh_tokens");
/// user id -> `PrivacySettings`
pub const PRIVACY: TableDefinition<u128, &[u8]> = TableDefinition::new("privacy");
/// (owner, contact user id) -> `Contact`
pub const CONTACTS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("contacts");
/// (blocker, blocked) -> `Block`
pub const BLOCKS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("blocks");

/// chat id -> `Chat`
pub const CHATS: TableDefinition<u128, &[u8]> = TableDefinition::new("chats");
/// (chat id, user id) -> `Member`
pub const CHAT_MEMBERS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("chat_members");
/// (user id, chat id) -> () : the chats a user is in
pub const USER_CHATS: TableDefinition<(u128, u128), ()> = TableDefinition::new("user_chats");
/// (lower user id, higher user id) -> chat id : one 1:1 chat per pair
pub const DIRECT_PAIRS: TableDefinition<(u128, u128), u128> = TableDefinition::new("direct_pairs");
/// chat id -> `ChatState`
pub const CHAT_STATE: TableDefinition<u128, &[u8]> = TableDefinition::new("chat_state");
/// (chat id, seq) -> `StoredEvent` : the timeline, in order
pub const EVENTS: TableDefinition<(u128, u64), &[u8]> = TableDefinition::new("events");
/// (chat id, sender, client id) -> seq : send idempotence
pub const CLIENT_IDS: TableDefinition<(u128, u128, &str), u64> = TableDefinition::new("client_ids");
/// (chat id, user id) -> `ReceiptPointers`
pub const RECEIPTS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("receipts");
/// (chat id, user id, kind, up-to seq) -> when : each pointer move, for "when was seq N read"
pub const RECEIPT_LOG: TableDefinition<(u128, u128, u8, u64), i64> =
    TableDefinition::new("receipt_log");
/// invite code -> `Invite`
pub const INVITES: TableDefinition<&str, &[u8]> = TableDefinition::new("invites");
/// chat id -> its live invite code
pub const CHAT_INVITES: TableDefinition<u128, &str> = TableDefinition::new("chat_invites");
/// (user, chat) -> `ChatPrefs`
pub const CHAT_PREFS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("chat_prefs");
/// user -> `UserSettings`
pub const USER_SETTINGS: TableDefinition<u128, &[u8]> = TableDefinition::new("user_settings");
/// (user, newest-first order, tie) -> `Star`
pub const STARS: TableDefinition<(u128, u64, u128), &[u8]> = TableDefinition::new("stars");
/// (user, chat, seq) -> the star's order key
pub const STAR_INDEX: TableDefinition<(u128, u128, u64), u64> = TableDefinition::new("star_index");
/// (user, chat, seq) -> () : deleted for me
pub const HIDDEN: TableDefinition<(u128, u128, u64), ()> = TableDefinition::new("hidden");
/// (newest-first order, report id) -> `Report`
pub const REPORTS: TableDefinition<(u64, u128), &[u8]> = TableDefinition::new("reports");
/// (owner, list id) -> `BroadcastList`
pub const BROADCASTS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("broadcasts");
/// chat id -> the fencing epoch of its last claim (`claim_chat`); absent: never claimed
pub const CHAT_FENCE: TableDefinition<u128, u64> = TableDefinition::new("chat_fence");
/// (user, notification id) -> `Notification` : the inbox, ids are UUIDv7 (time order)
pub const NOTIFICATIONS: TableDefinition<(u128, u128), &[u8]> =
    TableDefinition::new("notifications");
/// user -> every notification created at or before this time reads as read
pub const NOTIFICATION_READS: TableDefinition<u128, i64> =
    TableDefinition::new("notification_reads");
/// status id -> `StatusPost`
pub const STATUSES: TableDefinition<u128, &[u8]> = TableDefinition::new("statuses");
/// (owner, status id) -> () : an owner's statuses, oldest first
pub const OWNER_STATUSES: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("owner_statuses");
/// (viewer, owner, status id) -> when the viewer saw it, 0 while unseen : the viewer's feed
pub const STATUS_FEED: TableDefinition<(u128, u128, u128), i64> =
    TableDefinition::new("status_feed");
/// (status id, viewer) -> when : who saw a status
pub const STATUS_VIEWS: TableDefinition<(u128, u128), i64> = TableDefinition::new("status_views");
/// (expires at, status id) -> () : what the sweeper purges next
pub const STATUS_EXPIRY: TableDefinition<(u64, u128), ()> = TableDefinition::new("status_expiry");
/// owner -> `StatusPrivacy` : the default audience of new statuses
pub const STATUS_PRIVACY: TableDefinition<u128, &[u8]> = TableDefinition::new("status_privacy");
/// (user, newest-first start order, !call id) -> `CallRecord` : each user's call history
pub const CALLS: TableDefinition<(u128, u64, u128), &[u8]> = TableDefinition::new("calls");
/// user id -> last seen (ms)
pub const LAST_SEEN: TableDefinition<u128, i64> = TableDefinition::new("last_seen");
/// 0 -> the log sequence number of the last batch committed (see `writer` and `wal`)
pub const WAL_APPLIED: TableDefinition<u8, u64> = TableDefinition::new("wal_applied");

/// Opening a table in a write transaction creates it: do so once at start-up so read
/// transactions never meet a missing table.
pub fn create_all(txn: &WriteTransaction) -> StoreResult<()> {
    fn touch<K: redb::Key + 'static, V: redb::Value + 'static>(
        txn: &WriteTransaction,
        def: TableDefinition<K, V>,
    ) -> StoreResult<()> {
        let table = txn.open_table(def)?;
        tracing::trace!(table = def.name(), "table ready");
        drop(table);
        Ok(())
    }
    touch(txn, USERS)?;
    touch(txn, USERNAMES)?;
    touch(txn, PHONES)?;
    touch(txn, CREDENTIALS)?;
    touch(txn, SESSIONS)?;
    touch(txn, USER_SESSIONS)?;
    touch(txn, REFRESH_TOKENS)?;
    touch(txn, PRIVACY)?;
    touch(txn, CONTACTS)?;
    touch(txn, BLOCKS)?;
    touch(txn, CHATS)?;
    touch(txn, CHAT_MEMBERS)?;
    touch(txn, USER_CHATS)?;
    touch(txn, DIRECT_PAIRS)?;
    touch(txn, CHAT_STATE)?;
    touch(txn, EVENTS)?;
    touch(txn, CLIENT_IDS)?;
    touch(txn, RECEIPTS)?;
    touch(txn, RECEIPT_LOG)?;
    touch(txn, LAST_SEEN)?;
    touch(txn, INVITES)?;
    touch(txn, CHAT_PREFS)?;
    touch(txn, USER_SETTINGS)?;
    touch(txn, STARS)?;
    touch(txn, STAR_INDEX)?;
    touch(txn, HIDDEN)?;
    touch(txn, REPORTS)?;
    touch(txn, BROADCASTS)?;
    touch(txn, NOTIFICATIONS)?;
    touch(txn, CHAT_FENCE)?;
    touch(txn, WAL_APPLIED)?;
    touch(txn, NOTIFICATION_READS)?;
    touch(txn, CHAT_INVITES)?;
    touch(txn, STATUSES)?;
    touch(txn, OWNER_STATUSES)?;
    touch(txn, STATUS_FEED)?;
    touch(txn, STATUS_VIEWS)?;
    touch(txn, STATUS_EXPIRY)?;
    touch(txn, STATUS_PRIVACY)?;
    touch(txn, CALLS)?;
    Ok(())
}
