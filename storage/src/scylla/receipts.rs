//! Receipt pointers with their history, and last-seen presence.

use uuid::Uuid;

use super::rows;
use super::timeline::{to_i64, to_u64};
use super::ScyllaStore;
use crate::model::*;
use crate::{PresenceStore, ReceiptStore, StoreResult};

fn kind_name(kind: ReceiptKind) -> &'static str {
    match kind {
        ReceiptKind::Delivered => "delivered",
        ReceiptKind::Read => "read",
    }
}

type PointerRow = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

#[async_trait::async_trait]
impl ReceiptStore for ScyllaStore {
    /// Pointers are written `USING TIMESTAMP <seq>`: of two marks racing (two devices of one
    /// user), the higher seq wins in the database whatever the order, so a pointer can never
    /// move back. The moves returned are computed from the pointers read first; under such a
    /// race both callers may report a move, which only repeats a receipt. Log entries go first
    /// so that a pointer that moved always has its history.
    async fn mark(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        up_to_seq: u64,
        at: Millis,
    ) -> StoreResult<Vec<ReceiptAdvance>> {
        let p = self.pointers(chat_id, user_id).await?;
        let mut moved = Vec::new();
        if up_to_seq > p.delivered_seq {
            moved.push(ReceiptAdvance {
                kind: ReceiptKind::Delivered,
                from_seq: p.delivered_seq,
                to_seq: up_to_seq,
            });
        }
        if kind == ReceiptKind::Read && up_to_seq > p.read_seq {
            moved.push(ReceiptAdvance {
                kind: ReceiptKind::Read,
                from_seq: p.read_seq,
                to_seq: up_to_seq,
            });
        }
        let st = self.st();
        let seq = to_i64(up_to_seq);
        for m in &moved {
            self.run(
                &st.log_receipt,
                (chat_id, user_id, kind_name(m.kind), seq, at),
            )
            .await?;
        }
        for m in &moved {
            let statement = match m.kind {
                ReceiptKind::Delivered => &st.set_delivered,
                ReceiptKind::Read => &st.set_read,
            };
            self.run(statement, (seq, seq, at, chat_id, user_id))
                .await?;
        }
        Ok(moved)
    }

    async fn pointers(&self, chat_id: Uuid, user_id: Uuid) -> StoreResult<ReceiptPointers> {
        let row = rows::first::<PointerRow>(
            self.run(&self.st().select_receipts, (chat_id, user_id))
                .await?,
        )?;
        let Some((delivered, delivered_at, read, read_at)) = row else {
            return Ok(ReceiptPointers::default());
        };
        Ok(ReceiptPointers {
            delivered_seq: to_u64(delivered.unwrap_or(0), "receipts.delivered_seq")?,
            delivered_at: delivered_at.unwrap_or(0),
            read_seq: to_u64(read.unwrap_or(0), "receipts.read_seq")?,
            read_at: read_at.unwrap_or(0),
        })
    }

    async fn reached_at(
        &self,
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        seq: u64,
    ) -> StoreResult<Option<Millis>> {
        // Moves are logged by their new position: the first at or above `seq` covered it.
        let row = rows::first::<(Option<i64>,)>(
            self.run(
                &self.st().reached,
                (chat_id, user_id, kind_name(kind), to_i64(seq)),
            )
            .await?,
        )?;
        Ok(row.and_then(|(at,)| at))
    }
}

#[async_trait::async_trait]
impl PresenceStore for ScyllaStore {
    async fn set_last_seen(&self, user_id: Uuid, at: Millis) -> StoreResult<()> {
        self.run(&self.st().set_last_seen, (user_id, at)).await?;
        Ok(())
    }

    async fn last_seen(&self, user_id: Uuid) -> StoreResult<Option<Millis>> {
        let row = rows::first::<(Option<i64>,)>(
            self.run(&self.st().select_last_seen, (user_id,)).await?,
        )?;
        Ok(row.and_then(|(at,)| at))
    }
}
