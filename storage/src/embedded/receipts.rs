//! Receipt pointers with their history, and last-seen presence.

use redb::ReadableTable;
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{PresenceStore, ReceiptStore, StoreResult};

fn kind_code(kind: ReceiptKind) -> u8 {
    match kind {
        ReceiptKind::Delivered => 0,
        ReceiptKind::Read => 1,
    }
}

#[async_trait::async_trait]
impl ReceiptStore for EmbeddedStore {
    async fn mark(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        up_to_seq: u64,
        at: Millis,
    ) -> StoreResult<Vec<ReceiptAdvance>> {
        self.write(move |txn| {
            let key = (chat_id.as_u128(), user_id.as_u128());
            let mut table = txn.open_table(RECEIPTS)?;
            let mut p: ReceiptPointers = match table.get(key)? {
                Some(v) => decode(v.value())?,
                None => ReceiptPointers::default(),
            };
            let mut moved = Vec::new();
            if up_to_seq > p.delivered_seq {
                moved.push(ReceiptAdvance {
                    kind: ReceiptKind::Delivered,
                    from_seq: p.delivered_seq,
                    to_seq: up_to_seq,
                });
                p.delivered_seq = up_to_seq;
                p.delivered_at = at;
            }
            if kind == ReceiptKind::Read && up_to_seq > p.read_seq {
                moved.push(ReceiptAdvance {
                    kind: ReceiptKind::Read,
                    from_seq: p.read_seq,
                    to_seq: up_to_seq,
                });
                p.read_seq = up_to_seq;
                p.read_at = at;
            }
            if moved.is_empty() {
                return Ok(moved);
            }
            table.insert(key, encode(&p)?.as_slice())?;
            let mut log = txn.open_table(RECEIPT_LOG)?;
            for m in &moved {
                log.insert((key.0, key.1, kind_code(m.kind), m.to_seq), at)?;
            }
            Ok(moved)
        })
        .await
    }

    async fn pointers(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<ReceiptPointers> {
        self.read(move |txn| {
            match txn
                .open_table(RECEIPTS)?
                .get((chat_id.as_u128(), user_id.as_u128()))?
            {
                Some(v) => decode(v.value()),
                None => Ok(ReceiptPointers::default()),
            }
        })
        .await
    }

    async fn reached_at(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        seq: u64,
    ) -> StoreResult<Option<Millis>> {
        self.read(move |txn| {
            let (c, u, k) = (chat_id.as_u128(), user_id.as_u128(), kind_code(kind));
            let log = txn.open_table(RECEIPT_LOG)?;
            // Pointer moves are logged by their new position: the first at or above `seq`
            // is the move that covered it.
            let first = log.range((c, u, k, seq)..=(c, u, k, u64::MAX))?.next();
            match first {
                Some(entry) => Ok(Some(entry?.1.value())),
                None => Ok(None),
            }
        })
        .await
    }
}

#[async_trait::async_trait]
impl PresenceStore for EmbeddedStore {
    async fn set_last_seen(&self, user_id: Uuid, at: Millis) -> StoreResult<()> {
        self.write(move |txn| {
            txn.open_table(LAST_SEEN)?.insert(user_id.as_u128(), at)?;
            Ok(())
        })
        .await
    }

    async fn last_seen(&self, user_id: Uuid) -> StoreResult<Option<Millis>> {
        self.read(move |txn| {
            Ok(txn
                .open_table(LAST_SEEN)?
                .get(user_id.as_u128())?
                .map(|v| v.value()))
        })
        .await
    }
}
