//! Appends of a chat this instance owns: plain writes fenced by the owner's epoch, no
//! lightweight transaction per append.
//!
//! A chat has one orderer (its chat actor), which claims the chat once when it starts
//! ([`ScyllaStore::claim`]: one compare-and-set raising `chat_state.owner_epoch` to `e` and
//! setting `epoch_base` to `B(e)`). From then on each append of the owner is:
//!
//! 1. **write-ahead**: the `chat_state` row (new `last_seq`, and the whole batch in `pending`)
//!    and the batch's client-id rows, plain writes;
//! 2. **fence**: one read of `owner_epoch`; if it is not `e` any more, another instance claimed
//!    the chat: stop, acknowledge nothing, forget the claim;
//! 3. what the events record (rewritten bodies, a group change's rows), then the event rows;
//! 4. acknowledge.
//!
//! Every row is written `USING TIMESTAMP` the batch's timestamp `B(e) + n` (n counts the
//! owner's batches, below [`STRIDE`]); a claim picks `B(e+1) >= B(e) + STRIDE`, so any write of
//! epoch `e`, however late it lands, loses to every write of epoch `e+1`, whatever the clocks.
//!
//! Why a deposed owner (paused, partitioned) can neither lose an acknowledged message nor
//! overwrite what its successor wrote (the full argument is in docs/ARCHITECTURE.md):
//! - the successor's claim completes before it reads `chat_state` and rolls the `pending` batch
//!   it finds forward. If the old owner's fence read (step 2) still returned `e`, that read began
//!   before the claim completed, so the old owner's step-1 write had completed before the
//!   successor's read: the successor sees that batch, writes it out and starts after it. So
//!   every batch that passed its fence, and therefore every acknowledged one, is kept;
//! - a batch that failed its fence writes no event, rewrite or group row (step 3 never runs);
//!   its step-1 writes carry epoch-`e` timestamps and lose to the successor's state row, written
//!   at `B(e+1)` as part of the claim. A client-id row it left points at a seq that holds
//!   another event or none, which a later lookup checks and treats as free;
//! - event rows are only written after a passed fence, so they sit at seqs the successor
//!   counts as taken: the successor never reuses a seq a reader may have seen.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::statement::batch::{Batch as CqlBatch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::rows;
use super::statements::prepare_one;
use super::timeline::{bucket_of, to_i64, to_u64, Batch};
use super::{ScyllaStore, PARALLEL_WRITES};
use crate::model::*;
use crate::{StoreError, StoreResult};

/// Write timestamps one epoch may use: `B(e) .. B(e) + STRIDE`. An owner that used them all
/// (16.7 M batches) gives the chat up; its actor's next start claims a fresh epoch.
pub(crate) const STRIDE: i64 = 1 << 24;

/// Compare-and-set retries when other instances keep claiming the chat first.
const MAX_CLAIMS: usize = 8;

/// Unlogged batches of event rows stay under this many bytes (Cassandra refuses batches over
/// 50 KiB by default).
const MAX_CQL_BATCH_BYTES: usize = 32 << 10;

/// The statements only the owned write path runs.
pub(crate) struct Statements {
    /// The state row with its write-ahead batch, at the batch's timestamp.
    write_state: PreparedStatement,
}

impl Statements {
    pub(crate) async fn prepare(
        session: &Session,
        keyspace: &str,
        nodes: &str,
    ) -> StoreResult<Self> {
        Ok(Self {
            write_state: prepare_one(
                session,
                keyspace,
                nodes,
                "UPDATE chat_state USING TIMESTAMP ? SET last_seq = ?, last_activity_at = ?, \
                 last_message_seq = ?, pending = ?, write_ts = ? WHERE chat_id = ?"
                    .into(),
                true,
            )
            .await?,
        })
    }
}

/// This instance's claim on a chat.
pub(crate) struct Claim {
    pub epoch: i64,
    owner: tokio::sync::Mutex<Owner>,
}

/// What the owner knows of its chat: it is the only writer, so it never reads it back.
struct Owner {
    /// `B(e)`: the first timestamp of the epoch.
    base: i64,
    /// The timestamp of the owner's last write.
    last_ts: i64,
    state: ChatState,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl ScyllaStore {
    pub(super) fn claim_handle(&self, chat_id: Uuid) -> Option<Arc<Claim>> {
        let claims = self.inner.claims.lock().unwrap_or_else(|p| p.into_inner());
        claims.get(&chat_id).cloned()
    }

    /// Forgets the claim `epoch` (not a newer one of this instance).
    pub(super) fn forget_claim(&self, chat_id: Uuid, epoch: i64) {
        let mut claims = self.inner.claims.lock().unwrap_or_else(|p| p.into_inner());
        if claims.get(&chat_id).is_some_and(|c| c.epoch == epoch) {
            claims.remove(&chat_id);
        }
    }

    /// Claims the chat (one compare-and-set), then takes it over: writes out the batch the
    /// previous writer recorded last, and writes the state row under the new epoch.
    pub(super) async fn claim(&self, chat_id: Uuid) -> StoreResult<u64> {
        for _ in 0..MAX_CLAIMS {
            let Some(before) = self.load_state(chat_id).await? else {
                return Err(StoreError::NotFound("chat"));
            };
            let epoch = before.owner_epoch.unwrap_or(0) + 1;
            let base = now_micros()
                .max(before.epoch_base.map_or(0, |b| b.saturating_add(STRIDE)))
                .max(before.write_ts.unwrap_or(0).saturating_add(1));
            let cas = self
                .lwt(
                    &self.st().claim_chat,
                    (epoch, base, chat_id, before.owner_epoch),
                )
                .await?;
            if !cas.applied {
                continue;
            }
            let state = self.take_over(chat_id, base).await?;
            let claim = Claim {
                epoch,
                owner: tokio::sync::Mutex::new(Owner {
                    base,
                    last_ts: base,
                    state,
                }),
            };
            let mut claims = self.inner.claims.lock().unwrap_or_else(|p| p.into_inner());
            claims.insert(chat_id, Arc::new(claim));
            return to_u64(epoch, "owner_epoch");
        }
        Err(StoreError::Unavailable(format!(
            "chat {chat_id}: lost {MAX_CLAIMS} claims in a row to other nodes"
        )))
    }

    /// Runs after the claim completed: whatever a previous writer's fence let through is in the
    /// state row read here.
    async fn take_over(&self, chat_id: Uuid, base: i64) -> StoreResult<ChatState> {
        let Some(record) = self.load_state(chat_id).await? else {
            return Err(StoreError::NotFound("chat"));
        };
        if let Some(pending) = &record.pending {
            let batch = super::timeline::parse_pending(pending, record.write_ts)?;
            self.write_batch(chat_id, &batch).await?;
        }
        let s = record.state;
        self.run(
            &self.inner.owner_st.write_state,
            (
                base,
                to_i64(s.last_seq),
                s.last_activity_at,
                to_i64(s.last_message_seq),
                None::<&str>,
                base,
                chat_id,
            ),
        )
        .await?;
        Ok(s)
    }

    /// One append (or group change) of a chat this instance owns; see the module docs.
    pub(super) async fn append_owned(
        &self,
        chat_id: Uuid,
        claim: &Claim,
        events: &[NewEvent],
        change: Option<&GroupChange>,
    ) -> StoreResult<Vec<AppendOutcome>> {
        let mut owner = claim.owner.lock().await;
        if self
            .claim_handle(chat_id)
            .is_none_or(|c| c.epoch != claim.epoch)
        {
            return Err(StoreError::Fenced(chat_id));
        }
        let effect = match change {
            Some(change) => Some(self.plan_change(chat_id, change).await?),
            None => None,
        };
        let known = self.earlier_sends(chat_id, events, true).await?;
        let plan = super::timeline::plan_append(chat_id, owner.state, events, &known);
        if plan.fresh.is_empty() {
            if change.is_some() {
                return Err(StoreError::Corrupt("group change event not stored".into()));
            }
            return Ok(plan.outcomes);
        }
        let ts = owner.last_ts + 1;
        if ts >= owner.base.saturating_add(STRIDE) {
            tracing::info!(chat = %chat_id, "epoch used up: giving the chat up for a fresh claim");
            self.forget_claim(chat_id, claim.epoch);
            return Err(StoreError::Fenced(chat_id));
        }
        let batch = Batch {
            ts,
            events: plan.fresh,
            rewrites: plan.rewrites.into_iter().collect(),
            effect,
        };
        match self
            .write_owned(chat_id, claim.epoch, &plan.next, &batch)
            .await
        {
            Ok(()) => {
                owner.state = plan.next;
                owner.last_ts = ts;
                Ok(plan.outcomes)
            }
            Err(e) => {
                // The outcome is unknown (the state row may hold this batch): only a claim,
                // which writes out what the state row holds, can tell where the chat stands.
                self.forget_claim(chat_id, claim.epoch);
                Err(e)
            }
        }
    }

    async fn write_owned(
        &self,
        chat_id: Uuid,
        epoch: i64,
        next: &ChatState,
        batch: &Batch,
    ) -> StoreResult<()> {
        let pending = serde_json::to_string(batch).map_err(rows::corrupt)?;
        let state = (
            batch.ts,
            to_i64(next.last_seq),
            next.last_activity_at,
            to_i64(next.last_message_seq),
            Some(pending.as_str()),
            batch.ts,
            chat_id,
        );
        let ids = super::timeline::client_id_rows(batch);
        if let [id] = ids.as_slice() {
            // The common case, one send: state and client id in one request.
            let mut cql = CqlBatch::new(BatchType::Unlogged);
            cql.append_statement(self.inner.owner_st.write_state.clone());
            cql.append_statement(self.st().insert_client_id.clone());
            cql.set_is_idempotent(true);
            self.inner
                .session
                .batch(&cql, (state, id))
                .await
                .map_err(|e| super::exec_error(self.nodes(), e))?;
        } else {
            let state = self.run(&self.inner.owner_st.write_state, state);
            let (state, ids) = tokio::join!(state, self.write_client_ids(batch));
            state?;
            ids?;
        }
        let current = rows::first::<(Option<i64>,)>(
            self.run(&self.st().select_owner_epoch, (chat_id,)).await?,
        )?
        .and_then(|(e,)| e);
        if current != Some(epoch) {
            tracing::info!(chat = %chat_id, epoch, ?current, "fenced: another node claimed the chat");
            return Err(StoreError::Fenced(chat_id));
        }
        self.write_effects(chat_id, batch).await?;
        self.write_events(batch).await
    }

    /// The event rows of a batch: one unlogged batch per partition (and size limit), the
    /// partitions in parallel.
    pub(super) async fn write_events(&self, batch: &Batch) -> StoreResult<()> {
        type Row = (
            i64,
            Uuid,
            i64,
            Uuid,
            i64,
            Option<String>,
            String,
            String,
            i64,
        );
        let mut groups: Vec<Vec<Row>> = Vec::new();
        let mut size = 0;
        let mut last_bucket = None;
        for e in &batch.events {
            let bucket = bucket_of(e.seq);
            let bytes = 100 + e.body.len() + e.kind.len();
            let fits = last_bucket == Some(bucket) && size + bytes <= MAX_CQL_BATCH_BYTES;
            if !fits || groups.is_empty() {
                groups.push(Vec::new());
                size = 0;
            }
            last_bucket = Some(bucket);
            size += bytes;
            if let Some(group) = groups.last_mut() {
                group.push((
                    bucket,
                    e.chat_id,
                    to_i64(e.seq),
                    e.sender,
                    e.at,
                    e.client_id.clone(),
                    e.kind.clone(),
                    e.body.clone(),
                    batch.ts,
                ));
            }
        }
        futures_util::stream::iter(groups)
            .map(|rows| self.run_batch(&self.st().insert_event, rows))
            .buffer_unordered(PARALLEL_WRITES)
            .try_collect::<()>()
            .await
    }

    /// `rows` through one statement as one unlogged batch (a single row as a plain write).
    async fn run_batch<V>(&self, statement: &PreparedStatement, mut rows: Vec<V>) -> StoreResult<()>
    where
        V: scylla::serialize::row::SerializeRow,
    {
        if rows.len() == 1 {
            if let Some(row) = rows.pop() {
                self.run(statement, row).await?;
            }
            return Ok(());
        }
        let mut cql = CqlBatch::new(BatchType::Unlogged);
        for _ in &rows {
            cql.append_statement(statement.clone());
        }
        cql.set_is_idempotent(true);
        self.inner
            .session
            .batch(&cql, rows)
            .await
            .map(|_| ())
            .map_err(|e| super::exec_error(self.nodes(), e))
    }
}
