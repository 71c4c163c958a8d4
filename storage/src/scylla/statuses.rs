//! Status stories: `statuses` (by id), `statuses_by_owner`, `status_feed` (one partition per
//! viewer, written at posting time for each member of the audience), `status_views` and
//! `status_privacy`. Every status row is written `USING TTL` its remaining lifetime, so the
//! database purges expired statuses itself; reads filter by `expires_at` as well.

use uuid::Uuid;

use super::{rows, ScyllaStore};
use crate::model::*;
use crate::{StatusStore, StoreError, StoreResult};

fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seconds until `expires_at`, rounded up, at least 1 (a TTL of 0 would mean "never").
fn ttl_secs(expires_at: Millis) -> i32 {
    let left = expires_at.saturating_sub(now_millis());
    let secs = left.saturating_add(999) / 1000;
    i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
}

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(rows::corrupt)
}

fn from_json<T: serde::de::DeserializeOwned>(body: Option<String>, what: &str) -> StoreResult<T> {
    serde_json::from_str(&rows::required(body, what)?).map_err(rows::corrupt)
}

type FeedRow = (
    Uuid,
    Uuid,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

#[async_trait::async_trait]
impl StatusStore for ScyllaStore {
    /// Feed rows first, then the owner's row, then the post itself: the post by id is the
    /// commit point, and a retried post rewrites the same rows.
    async fn post_status(&self, post: StatusPost) -> StoreResult<()> {
        let ttl = ttl_secs(post.expires_at);
        let body = to_json(&post)?;
        let content = to_json(&post.content)?;
        let feed: Vec<_> = post
            .audience
            .iter()
            .map(|viewer| {
                (
                    *viewer,
                    post.owner,
                    post.id,
                    content.clone(),
                    post.posted_at,
                    post.expires_at,
                    ttl,
                )
            })
            .collect();
        self.run_all(|st| &st.insert_feed, feed).await?;
        self.run(
            &self.st().insert_owner_status,
            (post.owner, post.id, body.as_str(), post.expires_at, ttl),
        )
        .await?;
        self.run(
            &self.st().insert_status,
            (post.id, post.owner, body.as_str(), post.expires_at, ttl),
        )
        .await?;
        Ok(())
    }

    async fn status(&self, id: Uuid, now: Millis) -> StoreResult<Option<StatusPost>> {
        let row =
            rows::first::<(Option<String>,)>(self.run(&self.st().select_status, (id,)).await?)?;
        let post: Option<StatusPost> = row
            .map(|(body,)| from_json(body, "statuses.body"))
            .transpose()?;
        Ok(post.filter(|p| p.is_active(now)))
    }

    async fn owner_statuses(&self, owner: Uuid, now: Millis) -> StoreResult<Vec<StatusPost>> {
        let rows: Vec<(Option<String>, Option<i64>)> = self
            .all_pages(&self.st().select_owner_statuses, (owner,))
            .await?;
        rows.into_iter()
            .filter(|(_, expires_at)| expires_at.is_some_and(|t| t > now))
            .map(|(body, _)| from_json(body, "statuses_by_owner.body"))
            .collect()
    }

    async fn status_feed(&self, viewer: Uuid, now: Millis) -> StoreResult<Vec<FeedItem>> {
        let rows: Vec<FeedRow> = self.all_pages(&self.st().select_feed, (viewer,)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (owner, id, content, posted_at, expires_at, seen_at) in rows {
            let expires_at = rows::required(expires_at, "status_feed.expires_at")?;
            if expires_at <= now {
                continue;
            }
            out.push(FeedItem {
                id,
                owner,
                content: from_json(content, "status_feed.content")?,
                posted_at: rows::required(posted_at, "status_feed.posted_at")?,
                expires_at,
                seen_at,
            });
        }
        Ok(out)
    }

    async fn mark_status_seen(
        &self,
        viewer: Uuid,
        owner: Uuid,
        id: Uuid,
        at: Millis,
    ) -> StoreResult<bool> {
        let row = rows::first::<(Option<i64>, Option<i64>)>(
            self.run(&self.st().select_feed_seen, (viewer, owner, id))
                .await?,
        )?;
        let Some((Some(expires_at), seen_at)) = row else {
            return Err(StoreError::NotFound("status"));
        };
        if expires_at <= at {
            return Err(StoreError::NotFound("status"));
        }
        if seen_at.is_some() {
            return Ok(false);
        }
        // Two devices marking at once may both get here; the later time wins, which is only
        // a few milliseconds off the first.
        let ttl = ttl_secs(expires_at);
        self.run(&self.st().insert_status_view, (id, viewer, at, ttl))
            .await?;
        self.run(&self.st().mark_feed_seen, (ttl, at, viewer, owner, id))
            .await?;
        Ok(true)
    }

    async fn status_viewers(&self, id: Uuid) -> StoreResult<Vec<StatusView>> {
        let rows: Vec<(Uuid, Option<i64>)> = self
            .all_pages(&self.st().select_status_views, (id,))
            .await?;
        let mut out = rows
            .into_iter()
            .map(|(viewer, at)| {
                Ok(StatusView {
                    viewer,
                    viewed_at: rows::required(at, "status_views.viewed_at")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|v| (v.viewed_at, v.viewer));
        Ok(out)
    }

    /// The reverse of posting: feed rows and views first, the post by id last, so a delete
    /// that fails half way can be retried and still finds the post.
    async fn delete_status(&self, owner: Uuid, id: Uuid) -> StoreResult<StatusPost> {
        let row =
            rows::first::<(Option<String>,)>(self.run(&self.st().select_status, (id,)).await?)?;
        let post: StatusPost = match row {
            Some((body,)) => from_json(body, "statuses.body")?,
            None => return Err(StoreError::NotFound("status")),
        };
        if post.owner != owner {
            return Err(StoreError::NotFound("status"));
        }
        let feed: Vec<_> = post.audience.iter().map(|v| (*v, owner, id)).collect();
        self.run_all(|st| &st.delete_feed, feed).await?;
        self.run(&self.st().delete_status_views, (id,)).await?;
        self.run(&self.st().delete_owner_status, (owner, id))
            .await?;
        self.run(&self.st().delete_status, (id,)).await?;
        Ok(post)
    }

    /// Nothing to do: every status row carries a TTL.
    async fn purge_expired_statuses(&self, _now: Millis, _limit: usize) -> StoreResult<usize> {
        Ok(0)
    }

    async fn status_privacy(&self, owner: Uuid) -> StoreResult<StatusPrivacy> {
        let row = rows::first::<(Option<String>,)>(
            self.run(&self.st().select_status_privacy, (owner,)).await?,
        )?;
        match row {
            Some((body,)) => from_json(body, "status_privacy.body"),
            None => Ok(StatusPrivacy::default()),
        }
    }

    async fn set_status_privacy(&self, owner: Uuid, privacy: StatusPrivacy) -> StoreResult<()> {
        self.run(
            &self.st().upsert_status_privacy,
            (owner, to_json(&privacy)?),
        )
        .await?;
        Ok(())
    }
}
