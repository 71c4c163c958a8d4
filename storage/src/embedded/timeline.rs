//! Chat timelines: appends with sequence numbers and idempotence, and range reads.

use redb::{ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{StoreError, StoreResult, TimelineStore};

/// `Fenced` unless `claim` is the chat's last claim (0: never claimed).
pub(super) fn check_fence(txn: &WriteTransaction, chat_id: Uuid, claim: u64) -> StoreResult<()> {
    let current = txn
        .open_table(CHAT_FENCE)?
        .get(chat_id.as_u128())?
        .map_or(0, |v| v.value());
    if current == claim {
        Ok(())
    } else {
        Err(StoreError::Fenced(chat_id))
    }
}

/// Appends inside an open write transaction (shared by group creation).
pub(super) fn append_in(
    txn: &WriteTransaction,
    chat_id: Uuid,
    events: Vec<NewEvent>,
) -> StoreResult<Vec<AppendOutcome>> {
    let cid = chat_id.as_u128();
    let mut states = txn.open_table(CHAT_STATE)?;
    let mut state: ChatState = match states.get(cid)? {
        Some(v) => decode(v.value())?,
        None => return Err(StoreError::NotFound("chat")),
    };
    let mut timeline = txn.open_table(EVENTS)?;
    let mut client_ids = txn.open_table(CLIENT_IDS)?;
    let mut out = Vec::with_capacity(events.len());
    for mut new in events {
        if let Some(client_id) = new.client_id.as_deref() {
            let key = (cid, new.sender.as_u128(), client_id);
            if let Some(seq) = client_ids.get(key)? {
                let seq = seq.value();
                let original = match timeline.get((cid, seq))? {
                    Some(v) => decode(v.value())?,
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "client id points at missing seq {seq}"
                        )))
                    }
                };
                out.push(AppendOutcome::Duplicate(original));
                continue;
            }
        }
        let rewrites = std::mem::take(&mut new.rewrites);
        state.last_seq += 1;
        state.last_activity_at = state.last_activity_at.max(new.at);
        let event = StoredEvent {
            chat_id,
            seq: state.last_seq,
            sender: new.sender,
            at: new.at,
            client_id: new.client_id,
            kind: new.kind,
            body: new.body,
        };
        if event.is_message() {
            state.last_message_seq = event.seq;
        }
        if let Some(client_id) = event.client_id.as_deref() {
            client_ids.insert((cid, event.sender.as_u128(), client_id), event.seq)?;
        }
        for rewrite in rewrites {
            let old: Option<StoredEvent> = match timeline.get((cid, rewrite.seq))? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            if let Some(mut old) = old {
                old.body = rewrite.body;
                timeline.insert((cid, rewrite.seq), encode(&old)?.as_slice())?;
            }
        }
        timeline.insert((cid, event.seq), encode(&event)?.as_slice())?;
        out.push(AppendOutcome::Stored(event));
    }
    states.insert(cid, encode(&state)?.as_slice())?;
    Ok(out)
}

/// An append as the write-ahead log records it (`wal`): its inputs. Run again on the state
/// redb had when it first ran, it writes exactly the same rows (seqs, client ids, rewrites),
/// because an append reads nothing but that state and these inputs.
#[derive(serde::Serialize, serde::Deserialize)]
struct LoggedAppend {
    chat_id: Uuid,
    claim: u64,
    events: Vec<NewEvent>,
}

fn fenced_append(
    txn: &WriteTransaction,
    chat_id: Uuid,
    claim: u64,
    events: Vec<NewEvent>,
) -> StoreResult<Vec<AppendOutcome>> {
    check_fence(txn, chat_id, claim)?;
    append_in(txn, chat_id, events)
}

/// Runs a logged append again (start-up replay). A logical refusal (fenced, no such chat)
/// wrote nothing the first time either.
pub(super) fn replay_append(txn: &WriteTransaction, redo: &[u8]) -> StoreResult<()> {
    let a: LoggedAppend = decode(redo)?;
    match fenced_append(txn, a.chat_id, a.claim, a.events) {
        Ok(_) => Ok(()),
        Err(e @ (StoreError::Unavailable(_) | StoreError::Corrupt(_))) => Err(e),
        Err(_) => Ok(()),
    }
}

#[async_trait::async_trait]
impl TimelineStore for EmbeddedStore {
    async fn append(
        &self,
        chat_id: Uuid,
        events: Vec<NewEvent>,
    ) -> StoreResult<Vec<AppendOutcome>> {
        let claim = self.claim_of(chat_id);
        let logged = LoggedAppend {
            chat_id,
            claim,
            events,
        };
        let redo = encode(&logged)?;
        let out = self
            .writer
            .write_logged(redo, move |txn| {
                fenced_append(txn, logged.chat_id, logged.claim, logged.events)
            })
            .await;
        if matches!(out, Err(StoreError::Fenced(_))) {
            self.set_claim(chat_id, None);
        }
        out
    }

    async fn claim_chat(&self, chat_id: Uuid) -> StoreResult<u64> {
        let epoch = self
            .write(move |txn| {
                let cid = chat_id.as_u128();
                if txn.open_table(CHAT_STATE)?.get(cid)?.is_none() {
                    return Err(StoreError::NotFound("chat"));
                }
                let mut fences = txn.open_table(CHAT_FENCE)?;
                let next = fences.get(cid)?.map_or(0, |v| v.value()) + 1;
                fences.insert(cid, next)?;
                Ok(next)
            })
            .await?;
        self.set_claim(chat_id, Some(epoch));
        Ok(epoch)
    }

    fn holds_claim(&self, chat_id: Uuid, epoch: u64) -> bool {
        self.claim_of(chat_id) == epoch
    }

    fn release_chat(&self, chat_id: Uuid, epoch: u64) {
        if self.claim_of(chat_id) == epoch {
            self.set_claim(chat_id, None);
        }
    }

    async fn events_after(
        &self,
        chat_id: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |txn| {
            let cid = chat_id.as_u128();
            let table = txn.open_table(EVENTS)?;
            let mut out = Vec::with_capacity(limit.min(256));
            for entry in table
                .range((cid, after_seq.saturating_add(1))..=(cid, u64::MAX))?
                .take(limit)
            {
                out.push(decode(entry?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn events_before(
        &self,
        chat_id: Uuid,
        before_seq: u64,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.read(move |txn| {
            let cid = chat_id.as_u128();
            let table = txn.open_table(EVENTS)?;
            let mut out = Vec::with_capacity(limit.min(256));
            if before_seq > 1 {
                for entry in table.range((cid, 1)..(cid, before_seq))?.rev().take(limit) {
                    out.push(decode(entry?.1.value())?);
                }
            }
            out.reverse();
            Ok(out)
        })
        .await
    }

    async fn event(&self, chat_id: Uuid, seq: u64) -> StoreResult<Option<StoredEvent>> {
        self.read(
            move |txn| match txn.open_table(EVENTS)?.get((chat_id.as_u128(), seq))? {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            },
        )
        .await
    }

    async fn unread_count(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        after_seq: u64,
        cap: u32,
    ) -> StoreResult<u32> {
        self.read(move |txn| {
            let cid = chat_id.as_u128();
            let table = txn.open_table(EVENTS)?;
            let mut count = 0;
            for entry in table.range((cid, after_seq.saturating_add(1))..=(cid, u64::MAX))? {
                let event: StoredEvent = decode(entry?.1.value())?;
                if event.is_message() && event.sender != user_id {
                    count += 1;
                    if count >= cap {
                        break;
                    }
                }
            }
            Ok(count)
        })
        .await
    }
}
