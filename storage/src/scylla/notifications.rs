//! The notification inbox: `notifications` (partition: user, clustered by id newest first,
//! 30-day TTL), each as JSON; `notification_reads` holds the user's "all read" mark.

use uuid::Uuid;

use super::{rows, ScyllaStore};
use crate::model::{Millis, Notification};
use crate::{NotificationStore, StoreResult};

fn from_body(body: Option<String>) -> StoreResult<Notification> {
    let body = rows::required(body, "notifications.body")?;
    serde_json::from_str(&body).map_err(rows::corrupt)
}

impl ScyllaStore {
    async fn read_all_mark(&self, user: Uuid) -> StoreResult<Option<Millis>> {
        let row = rows::first::<(Option<i64>,)>(
            self.run(&self.st().select_notification_reads, (user,))
                .await?,
        )?;
        Ok(row.and_then(|(mark,)| mark))
    }

    async fn put_notification(&self, n: &Notification) -> StoreResult<()> {
        let body = serde_json::to_string(n).map_err(rows::corrupt)?;
        self.run(&self.st().insert_notification, (n.user_id, n.id, body))
            .await?;
        Ok(())
    }
}

fn apply_mark(mut n: Notification, read_all: Option<Millis>) -> Notification {
    if n.read_at.is_none() {
        n.read_at = read_all.filter(|m| n.created_at <= *m);
    }
    n
}

#[async_trait::async_trait]
impl NotificationStore for ScyllaStore {
    async fn add_notification(&self, notification: Notification) -> StoreResult<()> {
        self.put_notification(&notification).await
    }

    async fn notifications(
        &self,
        user: Uuid,
        before: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let (limit, _) = rows::fetch_limit(limit);
        let read_all = self.read_all_mark(user).await?;
        let result = match before {
            Some(b) => {
                self.run(&self.st().notifications_before, (user, b, limit as i32))
                    .await?
            }
            None => {
                self.run(&self.st().notifications_first, (user, limit as i32))
                    .await?
            }
        };
        rows::all::<(Option<String>,)>(result)?
            .into_iter()
            .map(|(body,)| from_body(body).map(|n| apply_mark(n, read_all)))
            .collect()
    }

    async fn mark_notifications_read(
        &self,
        user: Uuid,
        ids: &[Uuid],
        at: Millis,
    ) -> StoreResult<usize> {
        // Read, then write the whole row back: marking twice is harmless, so no LWT.
        let read_all = self.read_all_mark(user).await?;
        let mut marked = 0;
        for id in ids {
            let row = rows::first::<(Option<String>,)>(
                self.run(&self.st().select_notification, (user, *id))
                    .await?,
            )?;
            let Some((body,)) = row else { continue };
            let n = apply_mark(from_body(body)?, read_all);
            if n.read_at.is_none() {
                self.put_notification(&Notification {
                    read_at: Some(at),
                    ..n
                })
                .await?;
                marked += 1;
            }
        }
        Ok(marked)
    }

    async fn mark_all_notifications_read(&self, user: Uuid, at: Millis) -> StoreResult<()> {
        // The mark only moves forward: keep the later of the stored one and `at`.
        let mark = self.read_all_mark(user).await?.map_or(at, |m| m.max(at));
        self.run(&self.st().upsert_notification_reads, (user, mark))
            .await?;
        Ok(())
    }
}
