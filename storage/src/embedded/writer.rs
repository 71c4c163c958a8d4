//! Group commit: every write of the embedded store goes through one writer thread, which runs
//! all the operations queued since its last commit in a single transaction and fsyncs once.
//!
//! Under load this turns N fsyncs into one (chat appends, receipts and sessions from every chat
//! actor share the commit), while each caller still gets its answer only after its write is
//! durable. An operation returning a logical error (`Conflict`, `NotFound`, ...) must have
//! written nothing, so it does not spoil the batch; an I/O or encoding error aborts the whole
//! batch and every operation in it fails with `Unavailable`: nothing half-done is committed.

use std::sync::mpsc;
use std::sync::Arc;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use crate::{StoreError, StoreResult};

/// Most operations in one transaction: bounds the latency a batch adds to its first member.
const MAX_BATCH: usize = 512;

/// What a job leaves behind: whether it broke the transaction, and how to answer its caller
/// once the batch has committed (`Ok`) or not.
struct Done {
    fatal: bool,
    answer: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

type Job = Box<dyn FnOnce(&WriteTransaction) -> Done + Send>;

pub struct Writer {
    /// `None` only while dropping.
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    /// Closes the queue and waits for the thread to finish what was queued, so the database
    /// is closed (and can be reopened) once the store is dropped.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    pub fn start(db: Arc<Database>) -> StoreResult<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("confab-store-writer".into())
            .spawn(move || run(&db, &queue))
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
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |txn| {
            let result = f(txn);
            Done {
                fatal: matches!(
                    result,
                    Err(StoreError::Unavailable(_) | StoreError::Corrupt(_))
                ),
                answer: Box::new(move |committed| {
                    let _ = tx.send(committed.and(result));
                }),
            }
        });
        let stopped = || StoreError::Unavailable("the store writer has stopped".into());
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn run(db: &Database, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let txn = match db.begin_write() {
            Ok(txn) => txn,
            Err(e) => {
                tracing::error!(error = %e, "store writer cannot begin a transaction");
                // Dropping the jobs unanswered fails each caller with Unavailable.
                continue;
            }
        };
        let done: Vec<Done> = batch.into_iter().map(|job| job(&txn)).collect();
        let outcome = if done.iter().any(|d| d.fatal) {
            let _ = txn.abort();
            Err(StoreError::Unavailable(
                "a write in this batch failed; nothing was stored".into(),
            ))
        } else {
            txn.commit()
                .map_err(|e| StoreError::Unavailable(format!("commit failed: {e}")))
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, batch = done.len(), "store batch not committed");
        }
        for d in done {
            (d.answer)(outcome.clone());
        }
    }
}
