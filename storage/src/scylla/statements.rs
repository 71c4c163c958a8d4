//! Every statement the backend runs, prepared once at connect. Each one names its partition key
//! in full: no statement here scans, filters or reads an index.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Statement;

use super::prepare_error;
use crate::StoreResult;

/// Rows per page for statements that may return several rows.
pub(crate) const PAGE_SIZE: i32 = 100;

/// Columns of a `User`, in the order `users::user_from_row` reads them.
const USER_COLUMNS: &str =
    "id, username, phone, display_name, about, photo, created_at, disabled, server_admin";
/// Columns of a `StoredEvent`, in the order `timeline::event_from_row` reads them.
const EVENT_COLUMNS: &str = "chat_id, seq, sender, at, client_id, kind, body";
/// Columns of a `DeviceSession`, in the order `users::session_from_row` reads them.
const SESSION_COLUMNS: &str =
    "user_id, session_id, device_name, created_at, last_refreshed_at, revoked_at, refresh_expires_at";
/// Columns of a `Chat`, in the order `chats::chat_from_row` reads them.
const CHAT_COLUMNS: &str = "id, kind, title, created_by, created_at, info";
/// Columns of an `Invite`, in the order `groups::invite_from_row` reads them.
const INVITE_COLUMNS: &str = "code, chat_id, created_by, created_at, expires_at";
/// Columns of a `Report`, in the order `prefs::report_from_row` reads them.
const REPORT_COLUMNS: &str =
    "created_at, id, reporter, reported_user, chat_id, seq, reason, evidence";

pub(crate) struct Statements {
    pub ping: PreparedStatement,

    pub insert_user: PreparedStatement,
    pub delete_user: PreparedStatement,
    pub select_user: PreparedStatement,
    pub select_password_hash: PreparedStatement,
    pub update_profile: PreparedStatement,
    pub set_disabled: PreparedStatement,
    pub set_server_admin: PreparedStatement,
    pub claim_username: PreparedStatement,
    pub release_username: PreparedStatement,
    pub username_owner: PreparedStatement,
    pub claim_phone: PreparedStatement,
    pub release_phone: PreparedStatement,
    pub phone_owner: PreparedStatement,

    pub insert_session: PreparedStatement,
    pub select_session: PreparedStatement,
    pub user_sessions: PreparedStatement,
    pub revoke_session: PreparedStatement,
    pub touch_session: PreparedStatement,
    pub insert_session_owner: PreparedStatement,
    pub session_owner: PreparedStatement,
    pub insert_token: PreparedStatement,
    pub select_token: PreparedStatement,
    pub spend_token: PreparedStatement,
    pub delete_token: PreparedStatement,

    pub select_privacy: PreparedStatement,
    pub upsert_privacy: PreparedStatement,

    pub add_contact: PreparedStatement,
    pub select_contact: PreparedStatement,
    pub rename_contact: PreparedStatement,
    pub remove_contact: PreparedStatement,
    pub contacts_first: PreparedStatement,
    pub contacts_after: PreparedStatement,

    pub block: PreparedStatement,
    pub unblock: PreparedStatement,
    pub select_block: PreparedStatement,
    pub blocks_first: PreparedStatement,
    pub blocks_after: PreparedStatement,

    pub insert_chat: PreparedStatement,
    pub delete_chat: PreparedStatement,
    pub select_chat: PreparedStatement,
    pub update_chat_info: PreparedStatement,
    pub insert_member: PreparedStatement,
    pub delete_member: PreparedStatement,
    pub set_role: PreparedStatement,
    pub delete_members: PreparedStatement,
    pub select_members: PreparedStatement,
    pub select_member: PreparedStatement,
    pub insert_user_chat: PreparedStatement,
    pub delete_user_chat: PreparedStatement,
    pub select_user_chats: PreparedStatement,
    pub claim_pair: PreparedStatement,
    pub select_pair: PreparedStatement,
    pub create_state: PreparedStatement,
    pub delete_state: PreparedStatement,
    pub select_state: PreparedStatement,
    pub advance_state: PreparedStatement,
    pub select_owner_epoch: PreparedStatement,
    pub claim_chat: PreparedStatement,
    pub clear_pending: PreparedStatement,

    pub insert_event: PreparedStatement,
    pub rewrite_body: PreparedStatement,
    pub select_event: PreparedStatement,
    pub events_asc: PreparedStatement,
    pub events_desc: PreparedStatement,
    pub unread_scan: PreparedStatement,
    pub insert_client_id: PreparedStatement,
    pub select_client_id: PreparedStatement,

    pub select_receipts: PreparedStatement,
    pub set_delivered: PreparedStatement,
    pub set_read: PreparedStatement,
    pub log_receipt: PreparedStatement,
    pub reached: PreparedStatement,
    pub set_last_seen: PreparedStatement,
    pub select_last_seen: PreparedStatement,

    pub insert_invite: PreparedStatement,
    pub select_invite: PreparedStatement,
    pub delete_invite: PreparedStatement,
    pub select_chat_invite: PreparedStatement,
    pub claim_chat_invite: PreparedStatement,
    pub replace_chat_invite: PreparedStatement,
    pub drop_chat_invite: PreparedStatement,

    pub select_chat_prefs: PreparedStatement,
    pub upsert_chat_prefs: PreparedStatement,
    pub select_user_settings: PreparedStatement,
    pub insert_call: PreparedStatement,
    pub calls_first: PreparedStatement,
    pub calls_after: PreparedStatement,
    pub upsert_broadcast: PreparedStatement,
    pub select_broadcast: PreparedStatement,
    pub select_broadcasts: PreparedStatement,
    pub delete_broadcast: PreparedStatement,
    pub upsert_user_settings: PreparedStatement,
    pub claim_star: PreparedStatement,
    pub select_star: PreparedStatement,
    pub release_star: PreparedStatement,
    pub insert_star: PreparedStatement,
    pub delete_star: PreparedStatement,
    pub stars_first: PreparedStatement,
    pub stars_after: PreparedStatement,
    pub insert_hidden: PreparedStatement,
    pub hidden_range: PreparedStatement,

    pub insert_report_day: PreparedStatement,
    pub report_days_first: PreparedStatement,
    pub report_days_before: PreparedStatement,
    pub insert_report: PreparedStatement,
    pub reports_first: PreparedStatement,
    pub reports_after: PreparedStatement,

    pub insert_notification: PreparedStatement,
    pub select_notification: PreparedStatement,
    pub notifications_first: PreparedStatement,
    pub notifications_before: PreparedStatement,
    pub select_notification_reads: PreparedStatement,
    pub upsert_notification_reads: PreparedStatement,
    pub insert_status: PreparedStatement,
    pub insert_owner_status: PreparedStatement,
    pub insert_feed: PreparedStatement,
    pub select_status: PreparedStatement,
    pub select_owner_statuses: PreparedStatement,
    pub select_feed: PreparedStatement,
    pub select_feed_seen: PreparedStatement,
    pub mark_feed_seen: PreparedStatement,
    pub insert_status_view: PreparedStatement,
    pub select_status_views: PreparedStatement,
    pub delete_status: PreparedStatement,
    pub delete_owner_status: PreparedStatement,
    pub delete_feed: PreparedStatement,
    pub delete_status_views: PreparedStatement,
    pub select_status_privacy: PreparedStatement,
    pub upsert_status_privacy: PreparedStatement,
    pub media: super::media::MediaStatements,
}

/// Names the keyspace in a statement's table reference (`FROM t`, `INTO t`, `UPDATE t`):
/// prepared statements must not depend on the connection's `USE` (Cassandra 5 warns on every
/// such prepare, and a statement prepared on one keyspace must never run on another).
pub(crate) fn qualify(cql: &str, keyspace: &str) -> String {
    let cql = cql
        .replace(" FROM ", &format!(" FROM {keyspace}."))
        .replace("INSERT INTO ", &format!("INSERT INTO {keyspace}."));
    match cql.strip_prefix("UPDATE ") {
        Some(rest) => format!("UPDATE {keyspace}.{rest}"),
        None => cql,
    }
}

/// Whether the driver may retry (or speculatively repeat) a statement: reads and plain upserts
/// yes; lightweight transactions and deletes whose outcome we report no.
#[derive(Clone, Copy)]
enum Kind {
    Idempotent,
    Once,
}
use Kind::*;

/// Prepares one statement of `keyspace` (tables named bare in `cql`). `idempotent`: reads and
/// plain upserts, which the driver may retry; lightweight transactions are not.
pub(crate) async fn prepare_one(
    session: &Session,
    keyspace: &str,
    nodes: &str,
    cql: String,
    idempotent: bool,
) -> StoreResult<PreparedStatement> {
    let cql = qualify(&cql, keyspace);
    let mut statement = Statement::new(cql.as_str()).with_page_size(PAGE_SIZE);
    statement.set_is_idempotent(idempotent);
    session
        .prepare(statement)
        .await
        .map_err(|e| prepare_error(nodes, &cql, e))
}

impl Statements {
    pub(crate) async fn prepare(
        session: &Session,
        keyspace: &str,
        nodes: &str,
    ) -> StoreResult<Statements> {
        let p = |cql: String, kind: Kind| {
            prepare_one(session, keyspace, nodes, cql, matches!(kind, Idempotent))
        };
        Ok(Statements {
            ping: p(
                "SELECT version FROM schema_version WHERE scope = ? LIMIT 1".into(),
                Idempotent,
            )
            .await?,

            insert_user: p(
                "INSERT INTO users (id, username, phone, display_name, about, photo, created_at, \
                 disabled, server_admin, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    .into(),
                Idempotent,
            )
            .await?,
            delete_user: p("DELETE FROM users WHERE id = ?".into(), Idempotent).await?,
            select_user: p(
                format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"),
                Idempotent,
            )
            .await?,
            select_password_hash: p(
                "SELECT password_hash FROM users WHERE id = ?".into(),
                Idempotent,
            )
            .await?,
            // Unset values (not nulls) leave a column as it is: one statement for every
            // combination of changed fields, without reading first.
            update_profile: p(
                "UPDATE users SET display_name = ?, about = ?, photo = ? WHERE id = ?".into(),
                Idempotent,
            )
            .await?,
            set_disabled: p(
                "UPDATE users SET disabled = ? WHERE id = ?".into(),
                Idempotent,
            )
            .await?,
            set_server_admin: p(
                "UPDATE users SET server_admin = ? WHERE id = ?".into(),
                Idempotent,
            )
            .await?,
            claim_username: p(
                "INSERT INTO usernames (username, user_id) VALUES (?, ?) IF NOT EXISTS".into(),
                Once,
            )
            .await?,
            release_username: p(
                "DELETE FROM usernames WHERE username = ? IF user_id = ?".into(),
                Once,
            )
            .await?,
            username_owner: p(
                "SELECT user_id FROM usernames WHERE username = ?".into(),
                Idempotent,
            )
            .await?,
            claim_phone: p(
                "INSERT INTO phones (phone, user_id) VALUES (?, ?) IF NOT EXISTS".into(),
                Once,
            )
            .await?,
            release_phone: p(
                "DELETE FROM phones WHERE phone = ? IF user_id = ?".into(),
                Once,
            )
            .await?,
            phone_owner: p(
                "SELECT user_id FROM phones WHERE phone = ?".into(),
                Idempotent,
            )
            .await?,

            insert_session: p(
                format!(
                    "INSERT INTO sessions_by_user ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                Idempotent,
            )
            .await?,
            select_session: p(
                format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions_by_user \
                     WHERE user_id = ? AND session_id = ?"
                ),
                Idempotent,
            )
            .await?,
            user_sessions: p(
                format!("SELECT {SESSION_COLUMNS} FROM sessions_by_user WHERE user_id = ?"),
                Idempotent,
            )
            .await?,
            revoke_session: p(
                "UPDATE sessions_by_user SET revoked_at = ? WHERE user_id = ? AND session_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            touch_session: p(
                "UPDATE sessions_by_user SET last_refreshed_at = ?, refresh_expires_at = ? \
                 WHERE user_id = ? AND session_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_session_owner: p(
                "INSERT INTO session_owners (session_id, user_id) VALUES (?, ?)".into(),
                Idempotent,
            )
            .await?,
            session_owner: p(
                "SELECT user_id FROM session_owners WHERE session_id = ?".into(),
                Idempotent,
            )
            .await?,
            // Token rows are written only by lightweight transactions (see spend_token), so
            // even their creation is one: a plain write's client timestamp could otherwise
            // outrank a later Paxos write under clock skew.
            insert_token: p(
                "INSERT INTO refresh_tokens (hash, session_id, user_id, spent) \
                 VALUES (?, ?, ?, false) IF NOT EXISTS USING TTL ?"
                    .into(),
                Once,
            )
            .await?,
            select_token: p(
                "SELECT session_id, user_id, spent FROM refresh_tokens WHERE hash = ?".into(),
                Idempotent,
            )
            .await?,
            // Rewrites every column so that they all get the new TTL together.
            spend_token: p(
                "UPDATE refresh_tokens USING TTL ? SET spent = true, session_id = ?, user_id = ? \
                 WHERE hash = ? IF spent = false"
                    .into(),
                Once,
            )
            .await?,
            delete_token: p(
                "DELETE FROM refresh_tokens WHERE hash = ? IF EXISTS".into(),
                Once,
            )
            .await?,

            select_privacy: p(
                "SELECT last_seen, profile_photo, about FROM privacy WHERE user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            upsert_privacy: p(
                "INSERT INTO privacy (user_id, last_seen, profile_photo, about) \
                 VALUES (?, ?, ?, ?)"
                    .into(),
                Idempotent,
            )
            .await?,

            add_contact: p(
                "INSERT INTO contacts (owner, user_id, name, added_at) VALUES (?, ?, ?, ?) \
                 IF NOT EXISTS"
                    .into(),
                Once,
            )
            .await?,
            select_contact: p(
                "SELECT owner, user_id, name, added_at FROM contacts \
                 WHERE owner = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            rename_contact: p(
                "UPDATE contacts SET name = ? WHERE owner = ? AND user_id = ? IF EXISTS".into(),
                Once,
            )
            .await?,
            remove_contact: p(
                "DELETE FROM contacts WHERE owner = ? AND user_id = ? IF EXISTS".into(),
                Once,
            )
            .await?,
            contacts_first: p(
                "SELECT owner, user_id, name, added_at FROM contacts WHERE owner = ? LIMIT ?"
                    .into(),
                Idempotent,
            )
            .await?,
            contacts_after: p(
                "SELECT owner, user_id, name, added_at FROM contacts \
                 WHERE owner = ? AND user_id > ? LIMIT ?"
                    .into(),
                Idempotent,
            )
            .await?,

            block: p(
                "INSERT INTO blocks (blocker, blocked, blocked_at) VALUES (?, ?, ?) IF NOT EXISTS"
                    .into(),
                Once,
            )
            .await?,
            unblock: p(
                "DELETE FROM blocks WHERE blocker = ? AND blocked = ? IF EXISTS".into(),
                Once,
            )
            .await?,
            select_block: p(
                "SELECT blocked_at FROM blocks WHERE blocker = ? AND blocked = ?".into(),
                Idempotent,
            )
            .await?,
            blocks_first: p(
                "SELECT blocker, blocked, blocked_at FROM blocks WHERE blocker = ? LIMIT ?".into(),
                Idempotent,
            )
            .await?,
            blocks_after: p(
                "SELECT blocker, blocked, blocked_at FROM blocks \
                 WHERE blocker = ? AND blocked > ? LIMIT ?"
                    .into(),
                Idempotent,
            )
            .await?,

            // Rows a chat's appends may change (chat, members, chat lists, events, client ids)
            // are written USING TIMESTAMP the append's `write_ts` (see `timeline`).
            insert_chat: p(
                format!("INSERT INTO chats ({CHAT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"),
                Idempotent,
            )
            .await?,
            delete_chat: p("DELETE FROM chats WHERE id = ?".into(), Idempotent).await?,
            select_chat: p(
                format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = ?"),
                Idempotent,
            )
            .await?,
            update_chat_info: p(
                "UPDATE chats USING TIMESTAMP ? SET title = ?, info = ? WHERE id = ?".into(),
                Idempotent,
            )
            .await?,
            insert_member: p(
                "INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (?, ?, ?, ?) \
                 USING TIMESTAMP ?"
                    .into(),
                Idempotent,
            )
            .await?,
            delete_member: p(
                "DELETE FROM chat_members USING TIMESTAMP ? WHERE chat_id = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            set_role: p(
                "UPDATE chat_members USING TIMESTAMP ? SET role = ? WHERE chat_id = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            delete_members: p(
                "DELETE FROM chat_members WHERE chat_id = ?".into(),
                Idempotent,
            )
            .await?,
            select_members: p(
                "SELECT user_id, role, joined_at FROM chat_members WHERE chat_id = ?".into(),
                Idempotent,
            )
            .await?,
            select_member: p(
                "SELECT user_id, role, joined_at FROM chat_members \
                 WHERE chat_id = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_user_chat: p(
                "INSERT INTO user_chats (user_id, chat_id) VALUES (?, ?) USING TIMESTAMP ?".into(),
                Idempotent,
            )
            .await?,
            delete_user_chat: p(
                "DELETE FROM user_chats USING TIMESTAMP ? WHERE user_id = ? AND chat_id = ?".into(),
                Idempotent,
            )
            .await?,
            select_user_chats: p(
                "SELECT chat_id FROM user_chats WHERE user_id = ?".into(),
                Idempotent,
            )
            .await?,
            claim_pair: p(
                "INSERT INTO direct_pairs (low, high, chat_id) VALUES (?, ?, ?) IF NOT EXISTS"
                    .into(),
                Once,
            )
            .await?,
            select_pair: p(
                "SELECT chat_id FROM direct_pairs WHERE low = ? AND high = ?".into(),
                Idempotent,
            )
            .await?,
            create_state: p(
                "INSERT INTO chat_state (chat_id, last_seq, last_activity_at, last_message_seq, \
                 pending, write_ts) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS"
                    .into(),
                Once,
            )
            .await?,
            delete_state: p(
                "DELETE FROM chat_state WHERE chat_id = ? IF EXISTS".into(),
                Once,
            )
            .await?,
            select_state: p(
                "SELECT last_seq, last_activity_at, last_message_seq, pending, write_ts, \
                 owner_epoch, epoch_base, WRITETIME(last_seq) FROM chat_state WHERE chat_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            advance_state: p(
                "UPDATE chat_state SET last_seq = ?, last_activity_at = ?, last_message_seq = ?, \
                 pending = ?, write_ts = ? WHERE chat_id = ? IF last_seq = ? AND owner_epoch = ?"
                    .into(),
                Once,
            )
            .await?,
            select_owner_epoch: p(
                "SELECT owner_epoch FROM chat_state WHERE chat_id = ?".into(),
                Idempotent,
            )
            .await?,
            claim_chat: p(
                "UPDATE chat_state SET owner_epoch = ?, epoch_base = ? WHERE chat_id = ? \
                 IF owner_epoch = ?"
                    .into(),
                Once,
            )
            .await?,
            clear_pending: p(
                "UPDATE chat_state SET pending = null WHERE chat_id = ? \
                 IF last_seq = ? AND owner_epoch = null"
                    .into(),
                Once,
            )
            .await?,

            insert_event: p(
                format!(
                    "INSERT INTO events (bucket, {EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                     USING TIMESTAMP ?"
                ),
                Idempotent,
            )
            .await?,
            rewrite_body: p(
                "UPDATE events USING TIMESTAMP ? SET body = ? \
                 WHERE chat_id = ? AND bucket = ? AND seq = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            select_event: p(
                format!(
                    "SELECT {EVENT_COLUMNS} FROM events \
                     WHERE chat_id = ? AND bucket = ? AND seq = ?"
                ),
                Idempotent,
            )
            .await?,
            events_asc: p(
                format!(
                    "SELECT {EVENT_COLUMNS} FROM events \
                     WHERE chat_id = ? AND bucket = ? AND seq >= ? AND seq <= ? \
                     ORDER BY seq ASC LIMIT ?"
                ),
                Idempotent,
            )
            .await?,
            events_desc: p(
                format!(
                    "SELECT {EVENT_COLUMNS} FROM events \
                     WHERE chat_id = ? AND bucket = ? AND seq < ? LIMIT ?"
                ),
                Idempotent,
            )
            .await?,
            unread_scan: p(
                "SELECT sender, kind FROM events WHERE chat_id = ? AND bucket = ? AND seq > ? \
                 AND seq <= ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_client_id: p(
                "INSERT INTO client_ids (chat_id, sender, client_id, seq) VALUES (?, ?, ?, ?) \
                 USING TIMESTAMP ?"
                    .into(),
                Idempotent,
            )
            .await?,
            select_client_id: p(
                "SELECT seq FROM client_ids WHERE chat_id = ? AND sender = ? AND client_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,

            select_receipts: p(
                "SELECT delivered_seq, delivered_at, read_seq, read_at FROM receipts \
                 WHERE chat_id = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            set_delivered: p(
                "UPDATE receipts USING TIMESTAMP ? SET delivered_seq = ?, delivered_at = ? \
                 WHERE chat_id = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            set_read: p(
                "UPDATE receipts USING TIMESTAMP ? SET read_seq = ?, read_at = ? \
                 WHERE chat_id = ? AND user_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            log_receipt: p(
                "INSERT INTO receipt_log (chat_id, user_id, kind, to_seq, at) \
                 VALUES (?, ?, ?, ?, ?)"
                    .into(),
                Idempotent,
            )
            .await?,
            reached: p(
                "SELECT at FROM receipt_log WHERE chat_id = ? AND user_id = ? AND kind = ? \
                 AND to_seq >= ? LIMIT 1"
                    .into(),
                Idempotent,
            )
            .await?,
            set_last_seen: p(
                "INSERT INTO last_seen (user_id, at) VALUES (?, ?)".into(),
                Idempotent,
            )
            .await?,
            select_last_seen: p(
                "SELECT at FROM last_seen WHERE user_id = ?".into(),
                Idempotent,
            )
            .await?,

            insert_invite: p(
                format!("INSERT INTO invites ({INVITE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
                Idempotent,
            )
            .await?,
            select_invite: p(
                format!("SELECT {INVITE_COLUMNS} FROM invites WHERE code = ?"),
                Idempotent,
            )
            .await?,
            delete_invite: p("DELETE FROM invites WHERE code = ?".into(), Idempotent).await?,
            select_chat_invite: p(
                "SELECT code FROM chat_invites WHERE chat_id = ?".into(),
                Idempotent,
            )
            .await?,
            claim_chat_invite: p(
                "INSERT INTO chat_invites (chat_id, code) VALUES (?, ?) IF NOT EXISTS".into(),
                Once,
            )
            .await?,
            replace_chat_invite: p(
                "UPDATE chat_invites SET code = ? WHERE chat_id = ? IF code = ?".into(),
                Once,
            )
            .await?,
            drop_chat_invite: p(
                "DELETE FROM chat_invites WHERE chat_id = ? IF code = ?".into(),
                Once,
            )
            .await?,

            select_chat_prefs: p(
                "SELECT pinned_at, archived_at, muted_until, notifications FROM chat_prefs \
                 WHERE user_id = ? AND chat_id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            upsert_chat_prefs: p(
                "INSERT INTO chat_prefs (user_id, chat_id, pinned_at, archived_at, muted_until, \
                 notifications) VALUES (?, ?, ?, ?, ?, ?)"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_notification: p(
                "INSERT INTO notifications (user_id, id, body) VALUES (?, ?, ?)".into(),
                Idempotent,
            )
            .await?,
            select_notification: p(
                "SELECT body FROM notifications WHERE user_id = ? AND id = ?".into(),
                Idempotent,
            )
            .await?,
            notifications_first: p(
                "SELECT body FROM notifications WHERE user_id = ? LIMIT ?".into(),
                Idempotent,
            )
            .await?,
            notifications_before: p(
                "SELECT body FROM notifications WHERE user_id = ? AND id < ? LIMIT ?".into(),
                Idempotent,
            )
            .await?,
            select_notification_reads: p(
                "SELECT read_all FROM notification_reads WHERE user_id = ?".into(),
                Idempotent,
            )
            .await?,
            upsert_notification_reads: p(
                "INSERT INTO notification_reads (user_id, read_all) VALUES (?, ?)".into(),
                Idempotent,
            )
            .await?,
            insert_call: p(
                "INSERT INTO calls_by_user (user_id, started_at, call_id, body) VALUES (?, ?, ?, ?)"
                    .into(),
                Idempotent,
            )
            .await?,
            calls_first: p(
                "SELECT started_at, call_id, body FROM calls_by_user WHERE user_id = ? LIMIT ?"
                    .into(),
                Idempotent,
            )
            .await?,
            calls_after: p(
                "SELECT started_at, call_id, body FROM calls_by_user \
                 WHERE user_id = ? AND (started_at, call_id) < (?, ?) LIMIT ?"
                    .into(),
                Idempotent,
            )
            .await?,
            upsert_broadcast: p(
                "INSERT INTO broadcast_lists (owner, id, body) VALUES (?, ?, ?)".into(),
                Idempotent,
            )
            .await?,
            select_broadcast: p(
                "SELECT body FROM broadcast_lists WHERE owner = ? AND id = ?".into(),
                Idempotent,
            )
            .await?,
            select_broadcasts: p(
                "SELECT body FROM broadcast_lists WHERE owner = ? LIMIT 1000".into(),
                Idempotent,
            )
            .await?,
            delete_broadcast: p(
                "DELETE FROM broadcast_lists WHERE owner = ? AND id = ?".into(),
                Idempotent,
            )
            .await?,
            select_user_settings: p(
                "SELECT keep_chats_archived FROM user_settings WHERE user_id = ?".into(),
                Idempotent,
            )
            .await?,
            upsert_user_settings: p(
                "INSERT INTO user_settings (user_id, keep_chats_archived) VALUES (?, ?)".into(),
                Idempotent,
            )
            .await?,
            claim_star: p(
                "INSERT INTO star_index (user_id, chat_id, seq, starred_at) VALUES (?, ?, ?, ?) \
                 IF NOT EXISTS"
                    .into(),
                Once,
            )
            .await?,
            select_star: p(
                "SELECT starred_at FROM star_index WHERE user_id = ? AND chat_id = ? AND seq = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            release_star: p(
                "DELETE FROM star_index WHERE user_id = ? AND chat_id = ? AND seq = ? \
                 IF starred_at = ?"
                    .into(),
                Once,
            )
            .await?,
            insert_star: p(
                "INSERT INTO stars (user_id, starred_at, chat_id, seq) VALUES (?, ?, ?, ?)".into(),
                Idempotent,
            )
            .await?,
            delete_star: p(
                "DELETE FROM stars WHERE user_id = ? AND starred_at = ? AND chat_id = ? \
                 AND seq = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            stars_first: p(
                "SELECT starred_at, chat_id, seq FROM stars WHERE user_id = ? LIMIT ?".into(),
                Idempotent,
            )
            .await?,
            stars_after: p(
                "SELECT starred_at, chat_id, seq FROM stars \
                 WHERE user_id = ? AND (starred_at, chat_id, seq) < (?, ?, ?) LIMIT ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_hidden: p(
                "INSERT INTO hidden_events (user_id, chat_id, seq) VALUES (?, ?, ?)".into(),
                Idempotent,
            )
            .await?,
            hidden_range: p(
                "SELECT seq FROM hidden_events WHERE user_id = ? AND chat_id = ? \
                 AND seq >= ? AND seq <= ?"
                    .into(),
                Idempotent,
            )
            .await?,

            insert_report_day: p(
                "INSERT INTO report_days (scope, day) VALUES (?, ?)".into(),
                Idempotent,
            )
            .await?,
            report_days_first: p(
                "SELECT day FROM report_days WHERE scope = ? LIMIT ?".into(),
                Idempotent,
            )
            .await?,
            report_days_before: p(
                "SELECT day FROM report_days WHERE scope = ? AND day < ? LIMIT ?".into(),
                Idempotent,
            )
            .await?,
            insert_report: p(
                format!(
                    "INSERT INTO reports (day, {REPORT_COLUMNS}) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                Idempotent,
            )
            .await?,
            reports_first: p(
                format!("SELECT {REPORT_COLUMNS} FROM reports WHERE day = ? LIMIT ?"),
                Idempotent,
            )
            .await?,
            reports_after: p(
                format!(
                    "SELECT {REPORT_COLUMNS} FROM reports \
                     WHERE day = ? AND (created_at, id) < (?, ?) LIMIT ?"
                ),
                Idempotent,
            )
            .await?,
            insert_status: p(
                "INSERT INTO statuses (id, owner, body, expires_at) VALUES (?, ?, ?, ?) \
                 USING TTL ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_owner_status: p(
                "INSERT INTO statuses_by_owner (owner, id, body, expires_at) VALUES (?, ?, ?, ?) \
                 USING TTL ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_feed: p(
                "INSERT INTO status_feed (viewer, owner, id, content, posted_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"
                    .into(),
                Idempotent,
            )
            .await?,
            select_status: p(
                "SELECT body FROM statuses WHERE id = ?".into(),
                Idempotent,
            )
            .await?,
            select_owner_statuses: p(
                "SELECT body, expires_at FROM statuses_by_owner WHERE owner = ?".into(),
                Idempotent,
            )
            .await?,
            select_feed: p(
                "SELECT owner, id, content, posted_at, expires_at, seen_at FROM status_feed \
                 WHERE viewer = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            select_feed_seen: p(
                "SELECT expires_at, seen_at FROM status_feed \
                 WHERE viewer = ? AND owner = ? AND id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            mark_feed_seen: p(
                "UPDATE status_feed USING TTL ? SET seen_at = ? \
                 WHERE viewer = ? AND owner = ? AND id = ?"
                    .into(),
                Idempotent,
            )
            .await?,
            insert_status_view: p(
                "INSERT INTO status_views (status_id, viewer, viewed_at) VALUES (?, ?, ?) \
                 USING TTL ?"
                    .into(),
                Idempotent,
            )
            .await?,
            select_status_views: p(
                "SELECT viewer, viewed_at FROM status_views WHERE status_id = ?".into(),
                Idempotent,
            )
            .await?,
            delete_status: p("DELETE FROM statuses WHERE id = ?".into(), Idempotent).await?,
            delete_owner_status: p(
                "DELETE FROM statuses_by_owner WHERE owner = ? AND id = ?".into(),
                Idempotent,
            )
            .await?,
            delete_feed: p(
                "DELETE FROM status_feed WHERE viewer = ? AND owner = ? AND id = ?".into(),
                Idempotent,
            )
            .await?,
            delete_status_views: p(
                "DELETE FROM status_views WHERE status_id = ?".into(),
                Idempotent,
            )
            .await?,
            select_status_privacy: p(
                "SELECT body FROM status_privacy WHERE owner = ?".into(),
                Idempotent,
            )
            .await?,
            upsert_status_privacy: p(
                "INSERT INTO status_privacy (owner, body) VALUES (?, ?)".into(),
                Idempotent,
            )
            .await?,
            media: super::media::MediaStatements::prepare(session, keyspace, nodes).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::qualify;

    #[test]
    fn statements_name_their_keyspace() {
        assert_eq!(
            qualify("SELECT a FROM t WHERE b = ?", "ks"),
            "SELECT a FROM ks.t WHERE b = ?"
        );
        assert_eq!(
            qualify("INSERT INTO t (a) VALUES (?) IF NOT EXISTS", "ks"),
            "INSERT INTO ks.t (a) VALUES (?) IF NOT EXISTS"
        );
        assert_eq!(
            qualify("UPDATE t USING TTL ? SET a = ? WHERE b = ?", "ks"),
            "UPDATE ks.t USING TTL ? SET a = ? WHERE b = ?"
        );
        assert_eq!(
            qualify("DELETE FROM t WHERE a = ? IF EXISTS", "ks"),
            "DELETE FROM ks.t WHERE a = ? IF EXISTS"
        );
    }
}
