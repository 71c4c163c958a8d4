//! Status stories. A post fans out on write: one `STATUS_FEED` key per audience member, so a
//! viewer's feed is one key range. `STATUS_EXPIRY` orders posts by expiry so the sweeper
//! purges by reading the front of one range, never by scanning posts.

use redb::{ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{StatusStore, StoreError, StoreResult};

fn expiry_key(post: &StatusPost) -> (u64, u128) {
    (post.expires_at.max(0) as u64, post.id.as_u128())
}

/// Removes a post and everything hanging off it, in `txn`.
fn remove_post(txn: &WriteTransaction, post: &StatusPost) -> StoreResult<()> {
    let id = post.id.as_u128();
    let owner = post.owner.as_u128();
    txn.open_table(STATUSES)?.remove(id)?;
    txn.open_table(OWNER_STATUSES)?.remove((owner, id))?;
    txn.open_table(STATUS_EXPIRY)?.remove(expiry_key(post))?;
    let mut feed = txn.open_table(STATUS_FEED)?;
    for viewer in &post.audience {
        feed.remove((viewer.as_u128(), owner, id))?;
    }
    let mut views = txn.open_table(STATUS_VIEWS)?;
    let viewers: Vec<u128> = views
        .range((id, 0)..=(id, u128::MAX))?
        .map(|e| e.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()?;
    for viewer in viewers {
        views.remove((id, viewer))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl StatusStore for EmbeddedStore {
    async fn post_status(&self, post: StatusPost) -> StoreResult<()> {
        self.write(move |txn| {
            let (id, owner) = (post.id.as_u128(), post.owner.as_u128());
            txn.open_table(STATUSES)?
                .insert(id, encode(&post)?.as_slice())?;
            txn.open_table(OWNER_STATUSES)?.insert((owner, id), ())?;
            txn.open_table(STATUS_EXPIRY)?
                .insert(expiry_key(&post), ())?;
            let mut feed = txn.open_table(STATUS_FEED)?;
            for viewer in &post.audience {
                feed.insert((viewer.as_u128(), owner, id), 0)?;
            }
            Ok(())
        })
        .await
    }

    async fn status(&self, id: Uuid, now: Millis) -> StoreResult<Option<StatusPost>> {
        self.read(move |txn| {
            let post: Option<StatusPost> = match txn.open_table(STATUSES)?.get(id.as_u128())? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            Ok(post.filter(|p| p.is_active(now)))
        })
        .await
    }

    async fn owner_statuses(&self, owner: Uuid, now: Millis) -> StoreResult<Vec<StatusPost>> {
        self.read(move |txn| {
            let o = owner.as_u128();
            let posts = txn.open_table(STATUSES)?;
            let mut out = Vec::new();
            for entry in txn
                .open_table(OWNER_STATUSES)?
                .range((o, 0)..=(o, u128::MAX))?
            {
                let id = entry?.0.value().1;
                if let Some(v) = posts.get(id)? {
                    let post: StatusPost = decode(v.value())?;
                    if post.is_active(now) {
                        out.push(post);
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn status_feed(&self, viewer: Uuid, now: Millis) -> StoreResult<Vec<FeedItem>> {
        self.read(move |txn| {
            let v = viewer.as_u128();
            let posts = txn.open_table(STATUSES)?;
            let mut out = Vec::new();
            for entry in txn
                .open_table(STATUS_FEED)?
                .range((v, 0, 0)..=(v, u128::MAX, u128::MAX))?
            {
                let (key, seen) = entry?;
                let (_, _, id) = key.value();
                let seen = seen.value();
                if let Some(raw) = posts.get(id)? {
                    let post: StatusPost = decode(raw.value())?;
                    if post.is_active(now) {
                        out.push(post.feed_item((seen != 0).then_some(seen)));
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_status_seen(
        &self,
        viewer: Uuid,
        owner: Uuid,
        id: Uuid,
        at: Millis,
    ) -> StoreResult<bool> {
        self.write(move |txn| {
            let post: Option<StatusPost> = match txn.open_table(STATUSES)?.get(id.as_u128())? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            if !post.is_some_and(|p| p.owner == owner && p.is_active(at)) {
                return Err(StoreError::NotFound("status"));
            }
            let key = (viewer.as_u128(), owner.as_u128(), id.as_u128());
            let mut feed = txn.open_table(STATUS_FEED)?;
            let seen = match feed.get(key)? {
                Some(v) => v.value(),
                None => return Err(StoreError::NotFound("status")),
            };
            if seen != 0 {
                return Ok(false);
            }
            // 0 means unseen: a view at the epoch itself is recorded one millisecond later.
            let at = at.max(1);
            feed.insert(key, at)?;
            txn.open_table(STATUS_VIEWS)?
                .insert((id.as_u128(), viewer.as_u128()), at)?;
            Ok(true)
        })
        .await
    }

    async fn status_viewers(&self, id: Uuid) -> StoreResult<Vec<StatusView>> {
        self.read(move |txn| {
            let i = id.as_u128();
            let mut out = Vec::new();
            for entry in txn
                .open_table(STATUS_VIEWS)?
                .range((i, 0)..=(i, u128::MAX))?
            {
                let (k, v) = entry?;
                out.push(StatusView {
                    viewer: Uuid::from_u128(k.value().1),
                    viewed_at: v.value(),
                });
            }
            out.sort_by_key(|v| (v.viewed_at, v.viewer));
            Ok(out)
        })
        .await
    }

    async fn delete_status(&self, owner: Uuid, id: Uuid) -> StoreResult<StatusPost> {
        self.write(move |txn| {
            let post: Option<StatusPost> = match txn.open_table(STATUSES)?.get(id.as_u128())? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            let post = post
                .filter(|p| p.owner == owner)
                .ok_or(StoreError::NotFound("status"))?;
            remove_post(txn, &post)?;
            Ok(post)
        })
        .await
    }

    async fn purge_expired_statuses(&self, now: Millis, limit: usize) -> StoreResult<usize> {
        self.write(move |txn| {
            let due: Vec<(u64, u128)> = txn
                .open_table(STATUS_EXPIRY)?
                .range(..=(now.max(0) as u64, u128::MAX))?
                .take(limit)
                .map(|e| e.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            let mut purged = 0;
            for key in due {
                txn.open_table(STATUS_EXPIRY)?.remove(key)?;
                let post: Option<StatusPost> = match txn.open_table(STATUSES)?.get(key.1)? {
                    Some(v) => Some(decode(v.value())?),
                    None => None,
                };
                if let Some(post) = post {
                    remove_post(txn, &post)?;
                    purged += 1;
                }
            }
            Ok(purged)
        })
        .await
    }

    async fn status_privacy(&self, owner: Uuid) -> StoreResult<StatusPrivacy> {
        self.read(
            move |txn| match txn.open_table(STATUS_PRIVACY)?.get(owner.as_u128())? {
                Some(v) => decode(v.value()),
                None => Ok(StatusPrivacy::default()),
            },
        )
        .await
    }

    async fn set_status_privacy(&self, owner: Uuid, privacy: StatusPrivacy) -> StoreResult<()> {
        self.write(move |txn| {
            txn.open_table(STATUS_PRIVACY)?
                .insert(owner.as_u128(), encode(&privacy)?.as_slice())?;
            Ok(())
        })
        .await
    }
}
