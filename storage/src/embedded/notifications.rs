//! The notification inbox: `(user, id)` keys, ids are UUIDv7 so a reverse range is newest
//! first; "all read" is one mark per user applied at read.

use redb::ReadableTable;
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{NotificationStore, StoreResult};

fn apply_mark(mut n: Notification, read_all: Option<Millis>) -> Notification {
    if n.read_at.is_none() {
        if let Some(mark) = read_all.filter(|m| n.created_at <= *m) {
            n.read_at = Some(mark);
        }
    }
    n
}

#[async_trait::async_trait]
impl NotificationStore for EmbeddedStore {
    async fn add_notification(&self, notification: Notification) -> StoreResult<()> {
        self.write(move |txn| {
            let key = (notification.user_id.as_u128(), notification.id.as_u128());
            txn.open_table(NOTIFICATIONS)?
                .insert(key, encode(&notification)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn notifications(
        &self,
        user: Uuid,
        before: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        self.read(move |txn| {
            let u = user.as_u128();
            let read_all = txn
                .open_table(NOTIFICATION_READS)?
                .get(u)?
                .map(|v| v.value());
            let table = txn.open_table(NOTIFICATIONS)?;
            let end = before.map_or(u128::MAX, |b| b.as_u128());
            let mut out = Vec::new();
            for entry in table.range((u, 0)..(u, end))?.rev() {
                if out.len() == limit {
                    break;
                }
                out.push(apply_mark(decode(entry?.1.value())?, read_all));
            }
            Ok(out)
        })
        .await
    }

    async fn mark_notifications_read(
        &self,
        user: Uuid,
        ids: &[Uuid],
        at: Millis,
    ) -> StoreResult<usize> {
        let ids = ids.to_vec();
        self.write(move |txn| {
            let u = user.as_u128();
            let read_all = txn
                .open_table(NOTIFICATION_READS)?
                .get(u)?
                .map(|v| v.value());
            let mut table = txn.open_table(NOTIFICATIONS)?;
            let mut marked = 0;
            for id in ids {
                let key = (u, id.as_u128());
                let Some(found) = table.get(key)?.map(|v| v.value().to_vec()) else {
                    continue;
                };
                let n = apply_mark(decode::<Notification>(&found)?, read_all);
                if n.read_at.is_none() {
                    let n = Notification {
                        read_at: Some(at),
                        ..n
                    };
                    table.insert(key, encode(&n)?.as_slice())?;
                    marked += 1;
                }
            }
            Ok(marked)
        })
        .await
    }

    async fn mark_all_notifications_read(&self, user: Uuid, at: Millis) -> StoreResult<()> {
        self.write(move |txn| {
            let mut reads = txn.open_table(NOTIFICATION_READS)?;
            let u = user.as_u128();
            let mark = reads.get(u)?.map_or(at, |v| v.value().max(at));
            reads.insert(u, mark)?;
            Ok(())
        })
        .await
    }
}
