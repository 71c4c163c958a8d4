//! Chat timelines: appends that assign gapless sequence numbers exactly once, and range reads.
//!
//! Two write paths share the layout and the write-ahead record below:
//! - **owned** (`owner`): the chat actor's node claimed the chat once (`claim_chat`, one
//!   compare-and-set) and appends with plain writes fenced by its epoch. This is the hot path.
//! - **unclaimed** (this module): an append to a chat nobody ever claimed (tools, tests) is a
//!   compare-and-set on the chat's `chat_state` row (`IF last_seq = N AND owner_epoch = null`)
//!   that also stores the appended events in the row's `pending` column; the event and
//!   client-id rows are written after it, then `pending` is cleared. Once a chat has been
//!   claimed, an instance without the claim is fenced off (`Fenced`) and writes nothing.
//!
//! In both, `pending` is the append's write-ahead record: a writer that dies after recording
//! it is completed by the next one (the next claim, or for unclaimed chats the next append or
//! `chat_state` read) writing the rows out again (they are idempotent upserts), so there are no
//! gaps and a retried send finds its client id and is answered as a duplicate. Nothing is
//! acknowledged before the event rows are stored.
//!
//! The write-ahead record holds everything the append changes, not only its new events: the
//! bodies of earlier events its events rewrite (edits, deletions, reactions) and, for a group
//! change, the chat and member rows it changes (see `groups`). Rewrites of events of the same
//! append are applied to them before the record is written; a rewrite of a seq the chat does
//! not have (yet) is dropped.
//!
//! Every row an append writes is written `USING TIMESTAMP` the append's `write_ts`, and a
//! chat's appends have strictly increasing timestamps in commit order whatever the clocks
//! (owned: `epoch_base + n`, with each claim's base above every earlier one; unclaimed:
//! `max(now, previous write_ts + 1)`). So writing an append out again (a repairer, or a late
//! writer) can never undo a later append's rewrite or group change: the older cells lose.
//!
//! Events live in partitions of [`BUCKET`] sequence numbers (`bucket = seq / BUCKET`), clustered
//! by seq descending: every read names its partitions and a seq range, and a reader walks
//! buckets in order.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::groups::Effect;
use super::rows::{self, corrupt, required};
use super::ScyllaStore;
use crate::model::*;
use crate::{StoreError, StoreResult, TimelineStore};

/// Sequence numbers per timeline partition. Part of the on-disk layout: never change it.
pub(crate) const BUCKET: u64 = 1000;

/// An append's events go into one CAS (and one `pending` value) up to about this many bytes;
/// a larger append is split into several, each atomic (mutations must stay well under the
/// 16 MiB that Cassandra and ScyllaDB accept).
const MAX_PENDING_BYTES: usize = 1 << 20;

/// CAS retries when another appender keeps winning: only during a hand-over.
const MAX_ATTEMPTS: usize = 8;

pub(crate) fn bucket_of(seq: u64) -> i64 {
    to_i64(seq / BUCKET)
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(v: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}: {v}")))
}

type EventRow = (
    Uuid,
    i64,
    Option<Uuid>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn event_from_row(r: EventRow) -> StoreResult<StoredEvent> {
    let (chat_id, seq, sender, at, client_id, kind, body) = r;
    Ok(StoredEvent {
        chat_id,
        seq: to_u64(seq, "events.seq")?,
        sender: required(sender, "events.sender")?,
        at: required(at, "events.at")?,
        client_id,
        kind: required(kind, "events.kind")?,
        body: body.unwrap_or_default(),
    })
}

type StateRow = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// A chat's state row: where the timeline stands, and the batch still to be written out.
pub(crate) struct StateRecord {
    pub state: ChatState,
    pub pending: Option<String>,
    /// The write timestamp of the append that set `last_seq`; `None` for chats whose state
    /// predates the column (schema version 4). At least the cell's own write time.
    pub write_ts: Option<i64>,
    /// The epoch of the last claim (`None`: never claimed) and its first write timestamp.
    pub owner_epoch: Option<i64>,
    pub epoch_base: Option<i64>,
}

/// The write-ahead record of an append (`chat_state.pending`), as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Batch {
    /// The append's write timestamp (microseconds): every row below is written with it.
    pub ts: i64,
    /// The new events, with the rewrites of later events of the same append applied.
    pub events: Vec<StoredEvent>,
    /// New bodies of earlier events (seq at most the chat's last seq before the append).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<(u64, String)>,
    /// The group change the append records, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PendingRecord {
    Batch(Batch),
    /// What versions before schema 4 wrote: the events alone.
    Events(Vec<StoredEvent>),
}

/// The write timestamp of the append after one written with `previous`: now, but always
/// above `previous` (so a chat's appends have increasing timestamps even if clocks differ).
pub(crate) fn next_write_ts(previous: Option<i64>) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    now.max(previous.unwrap_or(0).saturating_add(1))
}

/// The batch a `pending` value records (`write_ts`: the state row's, for records older than
/// schema version 4, which did not carry their own).
pub(crate) fn parse_pending(pending: &str, write_ts: Option<i64>) -> StoreResult<Batch> {
    Ok(
        match serde_json::from_str::<PendingRecord>(pending).map_err(corrupt)? {
            PendingRecord::Batch(batch) => batch,
            PendingRecord::Events(events) => Batch {
                ts: write_ts.unwrap_or_else(|| next_write_ts(None)),
                events,
                rewrites: Vec::new(),
                effect: None,
            },
        },
    )
}

fn state_from_row(
    (last_seq, activity, last_message, pending, write_ts, owner_epoch, epoch_base, cell_ts): StateRow,
) -> StoreResult<StateRecord> {
    // A compare-and-set writes with its ballot's timestamp, which may be above the recorded
    // `write_ts` (another clock): a claim must start above both.
    let write_ts = match (write_ts, cell_ts) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(StateRecord {
        state: ChatState {
            last_seq: to_u64(required(last_seq, "chat_state.last_seq")?, "last_seq")?,
            last_activity_at: activity.unwrap_or(0),
            last_message_seq: to_u64(last_message.unwrap_or(0), "last_message_seq")?,
        },
        pending,
        write_ts,
        owner_epoch,
        epoch_base,
    })
}

/// The `client_ids` rows of a batch: (chat_id, sender, client_id, seq, timestamp).
pub(crate) fn client_id_rows(batch: &Batch) -> Vec<(Uuid, Uuid, String, i64, i64)> {
    batch
        .events
        .iter()
        .filter_map(|e| {
            let id = e.client_id.clone()?;
            Some((e.chat_id, e.sender, id, to_i64(e.seq), batch.ts))
        })
        .collect()
}

/// What an append writes, planned against the chat's state before it.
pub(crate) struct Plan {
    pub next: ChatState,
    /// One per requested event, in order.
    pub outcomes: Vec<AppendOutcome>,
    /// The events to store, with the rewrites of later events of the append applied.
    pub fresh: Vec<StoredEvent>,
    /// New bodies of events stored before this append, by seq (the last one wins).
    pub rewrites: BTreeMap<u64, String>,
}

/// Sends stored before, by (sender, client id), as [`ScyllaStore::earlier_sends`] found them.
pub(crate) type Earlier = HashMap<(Uuid, String), StoredEvent>;

/// Assigns the next seqs after `base` to `events`, except those whose client id was seen
/// (before, or earlier in the same append), which come back as duplicates.
pub(crate) fn plan_append(
    chat_id: Uuid,
    base: ChatState,
    events: &[NewEvent],
    earlier: &Earlier,
) -> Plan {
    let mut plan = Plan {
        next: base,
        outcomes: Vec::with_capacity(events.len()),
        fresh: Vec::new(),
        rewrites: BTreeMap::new(),
    };
    for new in events {
        if let Some(client_id) = new.client_id.as_deref() {
            let same = plan
                .fresh
                .iter()
                .find(|e| e.sender == new.sender && e.client_id.as_deref() == Some(client_id))
                .or_else(|| earlier.get(&(new.sender, client_id.to_owned())));
            if let Some(e) = same {
                plan.outcomes.push(AppendOutcome::Duplicate(e.clone()));
                continue;
            }
        }
        let next = &mut plan.next;
        next.last_seq += 1;
        next.last_activity_at = next.last_activity_at.max(new.at);
        let event = StoredEvent {
            chat_id,
            seq: next.last_seq,
            sender: new.sender,
            at: new.at,
            client_id: new.client_id.clone(),
            kind: new.kind.clone(),
            body: new.body.clone(),
        };
        if event.is_message() {
            next.last_message_seq = event.seq;
        }
        // Sequences have no gaps: the chat has exactly the seqs 1..event.seq now.
        for rewrite in &new.rewrites {
            if rewrite.seq == 0 || rewrite.seq >= event.seq {
                continue;
            }
            if rewrite.seq <= base.last_seq {
                plan.rewrites.insert(rewrite.seq, rewrite.body.clone());
            } else if let Some(target) = plan
                .fresh
                .get_mut(usize::try_from(rewrite.seq - base.last_seq - 1).unwrap_or(usize::MAX))
            {
                target.body = rewrite.body.clone();
            }
        }
        plan.fresh.push(event.clone());
        plan.outcomes.push(AppendOutcome::Stored(event));
    }
    plan
}

/// Rough size of an event in `pending` (JSON): enough to split large appends.
fn approx_size(e: &NewEvent) -> usize {
    200 + e.body.len()
        + e.kind.len()
        + e.client_id.as_ref().map_or(0, String::len)
        + e.rewrites.iter().map(|r| 30 + r.body.len()).sum::<usize>()
}

impl ScyllaStore {
    pub(super) async fn load_state(&self, chat_id: Uuid) -> StoreResult<Option<StateRecord>> {
        let row = rows::first::<StateRow>(self.run(&self.st().select_state, (chat_id,)).await?)?;
        row.map(state_from_row).transpose()
    }

    /// The chat's state. For a chat nobody claimed, a batch its writer left pending is written
    /// out first; a claimed chat's pending batch is only ever written out by the next claim
    /// (a reader must not complete a batch its deposed owner was fenced from).
    pub(super) async fn current_state(&self, chat_id: Uuid) -> StoreResult<Option<ChatState>> {
        let Some(record) = self.load_state(chat_id).await? else {
            return Ok(None);
        };
        if let (Some(pending), None) = (&record.pending, record.owner_epoch) {
            tracing::info!(chat = %chat_id, "writing out an append its writer left pending");
            self.roll_forward(chat_id, record.state.last_seq, pending, record.write_ts)
                .await?;
        }
        Ok(Some(record.state))
    }

    /// Writes the rows of the batch recorded in `pending` (the one that ends at `last_seq`;
    /// `write_ts` is the state row's), then clears it. Every write is an upsert or delete of
    /// the same values with the same timestamp, so doing it twice (two repairers, or a slow
    /// writer and a repairer) is harmless.
    pub(super) async fn roll_forward(
        &self,
        chat_id: Uuid,
        last_seq: u64,
        pending: &str,
        write_ts: Option<i64>,
    ) -> StoreResult<()> {
        let batch = parse_pending(pending, write_ts)?;
        self.write_batch(chat_id, &batch).await?;
        self.clear_pending(chat_id, last_seq).await;
        Ok(())
    }

    /// Client ids first: a client id whose event is not there yet means "being written", never
    /// "free", so a concurrent retry cannot store a second copy. Then what the batch changes
    /// in earlier rows (rewritten bodies, the group change), and the new events last, so an
    /// event is never seen before what it records.
    pub(super) async fn write_batch(&self, chat_id: Uuid, batch: &Batch) -> StoreResult<()> {
        self.write_client_ids(batch).await?;
        self.write_effects(chat_id, batch).await?;
        self.write_events(batch).await
    }

    pub(super) async fn write_client_ids(&self, batch: &Batch) -> StoreResult<()> {
        let client_ids = client_id_rows(batch);
        if let [row] = client_ids.as_slice() {
            // The common case (one send): no task to spawn.
            return self.run(&self.st().insert_client_id, row).await.map(|_| ());
        }
        self.run_all(|st| &st.insert_client_id, client_ids).await
    }

    /// Rewritten bodies of earlier events and the group change's rows.
    pub(super) async fn write_effects(&self, chat_id: Uuid, batch: &Batch) -> StoreResult<()> {
        let ts = batch.ts;
        if !batch.rewrites.is_empty() {
            let rewrites = batch
                .rewrites
                .iter()
                .map(|(seq, body)| (ts, body.clone(), chat_id, bucket_of(*seq), to_i64(*seq)))
                .collect();
            self.run_all(|st| &st.rewrite_body, rewrites).await?;
        }
        if let Some(effect) = &batch.effect {
            self.apply_effect(chat_id, ts, effect).await?;
        }
        Ok(())
    }

    /// Best effort: a `pending` left behind is only written out again.
    async fn clear_pending(&self, chat_id: Uuid, last_seq: u64) {
        if let Err(e) = self
            .lwt(&self.st().clear_pending, (chat_id, to_i64(last_seq)))
            .await
        {
            tracing::warn!(chat = %chat_id, error = %e, "could not clear a written-out append");
        }
    }

    pub(super) async fn load_event(
        &self,
        chat_id: Uuid,
        seq: u64,
    ) -> StoreResult<Option<StoredEvent>> {
        let row = rows::first::<EventRow>(
            self.run(
                &self.st().select_event,
                (chat_id, bucket_of(seq), to_i64(seq)),
            )
            .await?,
        )?;
        row.map(event_from_row).transpose()
    }

    async fn client_id_seq(
        &self,
        chat_id: Uuid,
        sender: Uuid,
        client_id: &str,
    ) -> StoreResult<Option<u64>> {
        let row = rows::first::<(Option<i64>,)>(
            self.run(&self.st().select_client_id, (chat_id, sender, client_id))
                .await?,
        )?;
        row.and_then(|(s,)| s)
            .map(|s| to_u64(s, "client_ids.seq"))
            .transpose()
    }

    /// The events stored before under the client ids of `events` (looked up in parallel).
    /// A client id whose seq holds no event of that send is "being written" by another
    /// appender (`Unavailable`), or with `stale_is_free` (the owned path, where no other
    /// appender exists: the row was left by a writer that was fenced or failed) not a send.
    pub(super) async fn earlier_sends(
        &self,
        chat_id: Uuid,
        events: &[NewEvent],
        stale_is_free: bool,
    ) -> StoreResult<Earlier> {
        let mut keys: Vec<(Uuid, &str)> = events
            .iter()
            .filter_map(|e| Some((e.sender, e.client_id.as_deref()?)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let lookups = keys.into_iter().map(|(sender, client_id)| async move {
            let Some(seq) = self.client_id_seq(chat_id, sender, client_id).await? else {
                return Ok(None);
            };
            match self.load_event(chat_id, seq).await? {
                Some(e) if e.sender == sender && e.client_id.as_deref() == Some(client_id) => {
                    Ok(Some(((sender, client_id.to_owned()), e)))
                }
                _ if stale_is_free => Ok(None),
                _ => Err(StoreError::Unavailable(format!(
                    "chat {chat_id}: event {seq} is being written by another appender; retry"
                ))),
            }
        });
        let found = futures_util::future::try_join_all(lookups).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// One atomic append (see the module docs). `NotFound("chat")` without a state row.
    ///
    /// With a `change`, the append is a group change: the change is checked against the rows
    /// as they stand once the chat's previous append is written out, and recorded in the same
    /// write-ahead record as the event (which must be stored, not a duplicate). On the
    /// unclaimed path the check is as good as a lock: the compare-and-set fails if anything
    /// was appended in between, and the next attempt checks again; on the owned path nothing
    /// else appends.
    pub(super) async fn append_chunk(
        &self,
        chat_id: Uuid,
        events: &[NewEvent],
        change: Option<&GroupChange>,
    ) -> StoreResult<Vec<AppendOutcome>> {
        if let Some(claim) = self.claim_handle(chat_id) {
            return self.append_owned(chat_id, &claim, events, change).await;
        }
        for _ in 0..MAX_ATTEMPTS {
            let Some(record) = self.load_state(chat_id).await? else {
                return Err(StoreError::NotFound("chat"));
            };
            if record.owner_epoch.is_some() {
                // Claimed by an instance (maybe this one, earlier): only its owner writes.
                return Err(StoreError::Fenced(chat_id));
            }
            let base = record.state;
            if let Some(pending) = &record.pending {
                tracing::info!(chat = %chat_id, "writing out an append its writer left pending");
                self.roll_forward(chat_id, base.last_seq, pending, record.write_ts)
                    .await?;
            }
            let effect = match change {
                Some(change) => Some(self.plan_change(chat_id, change).await?),
                None => None,
            };
            let earlier = self.earlier_sends(chat_id, events, false).await?;
            let plan = plan_append(chat_id, base, events, &earlier);
            if plan.fresh.is_empty() {
                if change.is_some() {
                    // As the embedded store: a group change's event is never a duplicate.
                    return Err(StoreError::Corrupt("group change event not stored".into()));
                }
                return Ok(plan.outcomes);
            }
            let next = plan.next;
            let batch = Batch {
                ts: next_write_ts(record.write_ts),
                events: plan.fresh,
                rewrites: plan.rewrites.into_iter().collect(),
                effect,
            };
            let pending = serde_json::to_string(&batch).map_err(corrupt)?;
            let cas = self
                .lwt(
                    &self.st().advance_state,
                    (
                        to_i64(next.last_seq),
                        next.last_activity_at,
                        to_i64(next.last_message_seq),
                        pending.as_str(),
                        batch.ts,
                        chat_id,
                        to_i64(base.last_seq),
                        None::<i64>,
                    ),
                )
                .await?;
            if !cas.applied {
                if cas
                    .column("owner_epoch")
                    .and_then(|v| v.as_bigint())
                    .is_some()
                {
                    // Claimed meanwhile: this instance must not write to it.
                    return Err(StoreError::Fenced(chat_id));
                }
                // Another appender went first: read where it left the chat and go after it.
                continue;
            }
            self.write_batch(chat_id, &batch).await?;
            self.clear_pending(chat_id, next.last_seq).await;
            return Ok(plan.outcomes);
        }
        Err(StoreError::Unavailable(format!(
            "chat {chat_id}: lost {MAX_ATTEMPTS} appends in a row to concurrent writers"
        )))
    }
}

#[async_trait::async_trait]
impl TimelineStore for ScyllaStore {
    async fn claim_chat(&self, chat_id: Uuid) -> StoreResult<u64> {
        self.claim(chat_id).await
    }

    fn holds_claim(&self, chat_id: Uuid, epoch: u64) -> bool {
        self.claim_handle(chat_id)
            .is_some_and(|c| c.epoch as u64 == epoch)
    }

    fn release_chat(&self, chat_id: Uuid, epoch: u64) {
        self.forget_claim(chat_id, to_i64(epoch));
    }

    async fn append(
        &self,
        chat_id: Uuid,
        events: Vec<NewEvent>,
    ) -> StoreResult<Vec<AppendOutcome>> {
        let mut out = Vec::with_capacity(events.len());
        let mut start = 0;
        while start < events.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < events.len()
                && (end == start || bytes + approx_size(&events[end]) <= MAX_PENDING_BYTES)
            {
                bytes += approx_size(&events[end]);
                end += 1;
            }
            out.extend(
                self.append_chunk(chat_id, &events[start..end], None)
                    .await?,
            );
            start = end;
        }
        if events.is_empty() && self.load_state(chat_id).await?.is_none() {
            return Err(StoreError::NotFound("chat"));
        }
        Ok(out)
    }

    /// Walks buckets upwards from `after_seq + 1`; a bucket that ends early is the end of the
    /// timeline (sequences have no gaps), so no state read is needed.
    async fn events_after(
        &self,
        chat_id: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        let mut out = Vec::new();
        let mut from = after_seq.saturating_add(1);
        while out.len() < limit && from <= i64::MAX as u64 {
            let bucket = from / BUCKET;
            let end = bucket * BUCKET + (BUCKET - 1);
            let want = (limit - out.len()).min((end - from + 1) as usize);
            let rows = rows::all::<EventRow>(
                self.run(
                    &self.st().events_asc,
                    (
                        chat_id,
                        to_i64(bucket),
                        to_i64(from),
                        to_i64(end),
                        // At most BUCKET.
                        want as i32,
                    ),
                )
                .await?,
            )?;
            let got = rows.len();
            for row in rows {
                out.push(event_from_row(row)?);
            }
            if got < want {
                break;
            }
            from = end + 1;
        }
        Ok(out)
    }

    /// Walks buckets downwards from just below `before_seq` (capped at the chat's last seq, so
    /// a "from the newest" request does not start in empty buckets).
    async fn events_before(
        &self,
        chat_id: Uuid,
        before_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        if before_seq <= 1 || limit == 0 {
            return Ok(Vec::new());
        }
        let Some(state) = self.current_state(chat_id).await? else {
            return Ok(Vec::new());
        };
        // Exclusive upper bound of what is still to read.
        let mut below = before_seq.min(state.last_seq.saturating_add(1));
        let mut out = Vec::new();
        while out.len() < limit && below > 1 {
            let bucket = (below - 1) / BUCKET;
            let lowest = (bucket * BUCKET).max(1);
            let want = (limit - out.len()).min((below - lowest) as usize);
            let rows = rows::all::<EventRow>(
                self.run(
                    &self.st().events_desc,
                    (chat_id, to_i64(bucket), to_i64(below), want as i32),
                )
                .await?,
            )?;
            for row in rows {
                out.push(event_from_row(row)?);
            }
            below = bucket * BUCKET;
        }
        out.reverse();
        Ok(out)
    }

    async fn event(&self, chat_id: Uuid, seq: u64) -> StoreResult<Option<StoredEvent>> {
        self.load_event(chat_id, seq).await
    }

    /// Reads only (sender, kind) of the events after the pointer, bucket by bucket, and stops
    /// at the cap.
    async fn unread_count(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        after_seq: u64,
        cap: u32,
    ) -> StoreResult<u32> {
        // Like the embedded store: counting stops once the count reaches the cap, and the
        // first message is always counted.
        let cap = cap.max(1);
        let Some(record) = self.load_state(chat_id).await? else {
            return Ok(0);
        };
        let last = record.state.last_seq;
        let mut count = 0u32;
        let mut from = after_seq.saturating_add(1);
        while from <= last && count < cap {
            let bucket = from / BUCKET;
            let end = (bucket * BUCKET + (BUCKET - 1)).min(last);
            let rows = self
                .all_pages::<(Option<Uuid>, Option<String>), _>(
                    &self.st().unread_scan,
                    (chat_id, to_i64(bucket), to_i64(from - 1), to_i64(end)),
                )
                .await?;
            for (sender, kind) in rows {
                if kind.as_deref() == Some(MESSAGE_KIND) && sender != Some(user_id) {
                    count += 1;
                }
            }
            from = end + 1;
        }
        Ok(count.min(cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_a_fixed_seq_range() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(999), 0);
        assert_eq!(bucket_of(1000), 1);
        assert_eq!(bucket_of(u64::MAX), to_i64(u64::MAX / BUCKET));
        assert_eq!(to_i64(u64::MAX), i64::MAX);
    }
}
