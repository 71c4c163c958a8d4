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
    Ok(())
}
