//! My notifications inbox (what the notifier stored for me) and my call history: the lists a
//! client pages through, read-only apart from marking notifications read.

use confab_storage::{CallRecord, Notification, Page, PageRequest};
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::EngineResult;

/// Which notifications to mark read.
#[derive(Debug, Clone)]
pub enum MarkRead {
    /// Those of these ids that are mine and unread.
    Ids(Vec<Uuid>),
    All,
}

impl Engine {
    /// Up to `limit` of my notifications older than `before` (newest first), and whether more
    /// follow.
    pub async fn notifications(
        &self,
        me: Uuid,
        before: Option<Uuid>,
        limit: usize,
    ) -> EngineResult<(Vec<Notification>, bool)> {
        // One more than asked tells whether another page exists.
        let mut items = self.store.notifications(me, before, limit + 1).await?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }

    /// Marks notifications read; how many of the given ids it marked (0 for `All`).
    pub async fn mark_notifications_read(&self, me: Uuid, which: MarkRead) -> EngineResult<usize> {
        let now = now_millis();
        Ok(match which {
            MarkRead::Ids(ids) => self.store.mark_notifications_read(me, &ids, now).await?,
            MarkRead::All => {
                self.store.mark_all_notifications_read(me, now).await?;
                0
            }
        })
    }

    /// Keeps the record of a call that ended (the call layer writes it through here).
    pub async fn record_call(&self, record: CallRecord) -> EngineResult<()> {
        Ok(self.store.record_call(record).await?)
    }

    /// A page of my calls, newest first.
    pub async fn call_history(
        &self,
        me: Uuid,
        page: PageRequest,
    ) -> EngineResult<Page<CallRecord>> {
        Ok(self.store.calls(me, page).await?)
    }
}
