//! The embedded backend: one redb file in the data directory.
//!
//! redb is a copy-on-write B-tree with ACID transactions: a committed write transaction is
//! fsynced before `commit` returns, so an acknowledged write survives `kill -9` and power loss,
//! and each store operation is one transaction, so none is ever half applied. Its single writer
//! matches our model (each chat has one writer anyway) and its ordered keys give cheap range
//! reads for timelines and paged lists. Reads run on tokio's blocking pool, off the async threads;
//! writes go through one writer thread that group-commits them (see [`writer`]).

mod calls;
mod chats;
mod codec;
mod invites_and_groups;
mod media;
mod notifications;
mod prefs;
mod receipts;
mod social;
mod statuses;
mod tables;
mod timeline;
mod users;
mod wal;
mod writer;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};
use uuid::Uuid;

use crate::{Store, StoreError, StoreResult};

/// The file inside the data directory that holds everything.
pub const FILE_NAME: &str = "confab.redb";

pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: writer::Writer,
    /// Chats this instance claimed (`claim_chat`), with the epoch it holds.
    claims: std::sync::Mutex<std::collections::HashMap<u128, u64>>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. Fails if another process holds it.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        Self::open_with(dir, true)
    }

    /// As [`EmbeddedStore::open`]; `log_appends: false` makes every batch a durable redb
    /// commit, as before the write-ahead log (for benchmarks that compare the two). A log left
    /// by an earlier run is replayed either way.
    pub fn open_with(dir: &Path, log_appends: bool) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write()?;
        tables::create_all(&txn)?;
        media::create_tables(&txn)?;
        txn.commit()?;
        let (wal, next_lsn) = replay(&db, dir)?;
        let db = Arc::new(db);
        Ok(Self {
            writer: writer::Writer::start(db.clone(), wal, next_lsn, log_appends)?,
            db,
            claims: Default::default(),
        })
    }

    pub(super) fn claim_of(&self, chat_id: Uuid) -> u64 {
        let claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        claims.get(&chat_id.as_u128()).copied().unwrap_or(0)
    }

    pub(super) fn set_claim(&self, chat_id: Uuid, epoch: Option<u64>) {
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        match epoch {
            Some(e) => claims.insert(chat_id.as_u128(), e),
            None => claims.remove(&chat_id.as_u128()),
        };
    }

    /// Runs `f` in a read transaction on the blocking pool.
    async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&ReadTransaction) -> StoreResult<R> + Send + 'static,
    {
        let db = self.db.clone();
        blocking(move || {
            let txn = db.begin_read()?;
            f(&txn)
        })
        .await
    }

    /// Runs `f` in a write transaction (group-committed with other writes, see [`writer`]);
    /// answers once it is durable. If `f` returns an error it must have written nothing.
    async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<R> + Send + 'static,
    {
        self.writer.write(f).await
    }
}

/// Runs the appends the write-ahead log holds that redb lost in a crash (those above redb's
/// last applied lsn), in order, and commits them durably; returns the emptied log and the next
/// lsn.
fn replay(db: &Database, dir: &Path) -> StoreResult<(wal::Wal, u64)> {
    let unavailable = |e: std::io::Error| {
        StoreError::Unavailable(format!(
            "cannot open the store's log in {}: {e}",
            dir.display()
        ))
    };
    let (mut log, records) = wal::Wal::open(dir).map_err(unavailable)?;
    let applied = {
        let txn = db.begin_read()?;
        let table = txn.open_table(tables::WAL_APPLIED)?;
        table.get(0)?.map_or(0, |v| v.value())
    };
    let pending: Vec<_> = records.into_iter().filter(|r| r.lsn > applied).collect();
    let last = pending.last().map_or(applied, |r| r.lsn);
    if !pending.is_empty() {
        let appends: usize = pending.iter().map(|r| r.payloads.len()).sum();
        let txn = db.begin_write()?;
        for record in &pending {
            for redo in &record.payloads {
                timeline::replay_append(&txn, redo)?;
            }
        }
        txn.open_table(tables::WAL_APPLIED)?.insert(0, last)?;
        txn.commit()?;
        tracing::info!(
            batches = pending.len(),
            appends,
            "store: replayed the log after a crash"
        );
    }
    log.truncate().map_err(unavailable)?;
    Ok((log, last + 1))
}

async fn blocking<R, F>(f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: FnOnce() -> StoreResult<R> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|txn| {
            txn.open_table(tables::USERS)?;
            Ok(())
        })
        .await
    }
}

macro_rules! unavailable_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Unavailable(e.to_string())
            }
        }
    )*};
}
unavailable_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
