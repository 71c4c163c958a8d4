//! Group commit: every write of the embedded store goes through one writer thread, which runs
//! all the operations queued since its last commit in a single transaction.
//!
//! Under load this turns N commits into one (chat appends, receipts and sessions from every chat
//! actor share the commit), while each caller still gets its answer only after its write is
//! durable. An operation returning a logical error (`Conflict`, `NotFound`, ...) must have
//! written nothing, so it does not spoil the batch; an I/O or encoding error aborts the whole
//! batch and every operation in it fails with `Unavailable`: nothing half-done is committed.
//!
//! A batch made only of *logged* operations (timeline appends, which carry their inputs as a
//! redo record) is made durable by the write-ahead log instead of a durable redb commit (see
//! [`super::wal`]); any other batch, and one batch every [`CHECKPOINT_EVERY`], commits durably
//! and empties the log. Every batch records its log sequence number in `WAL_APPLIED`, so replay
//! after a crash runs exactly the logged batches redb lost.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::oneshot;

use super::tables::WAL_APPLIED;
use super::wal::Wal;
use crate::{StoreError, StoreResult};

/// Most operations in one transaction: bounds the latency a batch adds to its first member.
const MAX_BATCH: usize = 512;

/// Longest stretch of logged batches between durable redb commits (bounds replay time and the
/// pages redb keeps in memory for non-durable commits).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// ... or this much log.
const CHECKPOINT_BYTES: u64 = 32 << 20;

/// What a job leaves behind: whether it broke the transaction, and how to answer its caller
/// once the batch has committed (`Ok`) or not.
struct Done {
    fatal: bool,
    answer: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

struct Job {
    /// The redo record of a logged operation (replayed by `EmbeddedStore::open`).
    redo: Option<Vec<u8>>,
    run: Box<dyn FnOnce(&WriteTransaction) -> Done + Send>,
}

pub struct Writer {
    /// `None` only while dropping.
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    /// Closes the queue and waits for the thread to finish what was queued (and checkpoint),
    /// so the database is closed (and can be reopened) once the store is dropped.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    /// `wal`: the log, empty, with `next_lsn` above every lsn redb has applied. Without
    /// `log_appends` every batch commits durably.
    pub fn start(
        db: Arc<Database>,
        wal: Wal,
        next_lsn: u64,
        log_appends: bool,
    ) -> StoreResult<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("confab-store-writer".into())
            .spawn(move || {
                let mut log = Log {
                    wal,
                    next_lsn,
                    last_checkpoint: Instant::now(),
                    enabled: log_appends,
                };
                run(&db, &queue, &mut log);
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store writer: {e}")))?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `f` in the next batch and answers once that batch is durable.
    pub async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<R> + Send + 'static,
    {
        self.submit(None, f).await
    }

    /// As [`Writer::write`], for an operation that `redo` replays exactly (same state, same
    /// inputs, same writes): it may be made durable by the log.
    pub async fn write_logged<R, F>(&self, redo: Vec<u8>, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<R> + Send + 'static,
    {
        self.submit(Some(redo), f).await
    }

    async fn submit<R, F>(&self, redo: Option<Vec<u8>>, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run = Box::new(move |txn: &WriteTransaction| {
            let result = f(txn);
            Done {
                fatal: matches!(
                    result,
                    Err(StoreError::Unavailable(_) | StoreError::Corrupt(_))
                ),
                answer: Box::new(move |committed: Result<(), StoreError>| {
                    let _ = tx.send(committed.and(result));
                }),
            }
        });
        let stopped = || StoreError::Unavailable("the store writer has stopped".into());
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job { redo, run })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

struct Log {
    wal: Wal,
    next_lsn: u64,
    last_checkpoint: Instant,
    enabled: bool,
}

impl Log {
    fn checkpoint_due(&self) -> bool {
        self.wal.len() >= CHECKPOINT_BYTES || self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY
    }

    /// After a durable commit: everything logged is in redb.
    fn checkpointed(&mut self) {
        if let Err(e) = self.wal.truncate() {
            tracing::warn!(error = %e, "cannot empty the store's log (replay skips it)");
        }
        self.last_checkpoint = Instant::now();
    }
}

fn run(db: &Database, queue: &mpsc::Receiver<Job>, log: &mut Log) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(db, batch, log);
    }
    // Shutting down: leave redb complete so the next start replays nothing.
    if log.wal.len() > 0 {
        match durable_commit(db) {
            Ok(()) => log.checkpointed(),
            Err(e) => {
                tracing::warn!(error = %e, "store: final checkpoint failed (replayed at start)")
            }
        }
    }
}

fn commit_batch(db: &Database, batch: Vec<Job>, log: &mut Log) {
    let logged = log.enabled && !log.checkpoint_due() && batch.iter().all(|j| j.redo.is_some());
    let mut txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => {
            tracing::error!(error = %e, "store writer cannot begin a transaction");
            // Dropping the jobs unanswered fails each caller with Unavailable.
            return;
        }
    };
    if logged {
        if let Err(e) = txn.set_durability(Durability::None) {
            tracing::error!(error = %e, "store writer cannot defer durability");
            return;
        }
    }
    let lsn = log.next_lsn;
    log.next_lsn += 1;
    let mut redo = Vec::with_capacity(if logged { batch.len() } else { 0 });
    let mut done = Vec::with_capacity(batch.len());
    for job in batch {
        if logged {
            redo.push(job.redo.unwrap_or_default());
        }
        done.push((job.run)(&txn));
    }
    let applied = record_lsn(&txn, lsn);
    let outcome = if done.iter().any(|d| d.fatal) || applied.is_err() {
        let _ = txn.abort();
        Err(StoreError::Unavailable(
            "a write in this batch failed; nothing was stored".into(),
        ))
    } else {
        txn.commit()
            .map_err(|e| StoreError::Unavailable(format!("commit failed: {e}")))
            .and_then(|()| make_durable(db, log, logged, lsn, &redo))
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, batch = done.len(), "store batch not committed");
    }
    for d in done {
        (d.answer)(outcome.clone());
    }
}

/// After the batch's commit: a logged batch is durable once its record is synced (or, if the
/// log fails, once an empty durable commit has written it to redb); a durable commit has
/// written everything before it, so the log starts again.
fn make_durable(
    db: &Database,
    log: &mut Log,
    logged: bool,
    lsn: u64,
    redo: &[Vec<u8>],
) -> StoreResult<()> {
    if !logged {
        log.checkpointed();
        return Ok(());
    }
    let payloads: Vec<&[u8]> = redo.iter().map(Vec::as_slice).collect();
    match log.wal.append(lsn, &payloads) {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, "store log write failed: committing durably instead");
            durable_commit(db)?;
            log.checkpointed();
            Ok(())
        }
    }
}

fn record_lsn(txn: &WriteTransaction, lsn: u64) -> StoreResult<()> {
    txn.open_table(WAL_APPLIED)?.insert(0, lsn)?;
    Ok(())
}

/// An empty durable commit: persists every non-durable commit before it.
fn durable_commit(db: &Database) -> StoreResult<()> {
    db.begin_write()?.commit()?;
    Ok(())
}
