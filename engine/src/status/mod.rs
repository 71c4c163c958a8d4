//! Status stories: text, image or video posts that expire after a configured lifetime
//! (24 hours by default), each shown to an audience resolved when it is posted from the owner's
//! privacy rule ("my contacts", "my contacts except ...", "only share with ...") and never across
//! a block. New and deleted statuses are pushed to the live sessions of their audience.

mod audience;
pub mod media;
mod sweeper;

use std::collections::HashSet;
use std::sync::Arc;

use confab_storage::{FeedItem, Millis, StatusContent, StatusPost, StatusPrivacy, StatusView};
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::push::{Push, PushKind};
use media::{StatusMediaCheck, StatusMediaKind};

pub use sweeper::SWEEP_BATCH;

/// Longest text status, in characters.
pub const MAX_TEXT_CHARS: usize = 700;
/// Longest caption of an image or video status, in characters.
pub const MAX_CAPTION_CHARS: usize = 1024;
/// Most users one privacy list may name.
pub const MAX_LIST_USERS: usize = 1024;
/// Most active statuses one owner may have at once.
pub const MAX_ACTIVE_PER_OWNER: usize = 100;

/// What a live session is told about statuses.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum StatusPush {
    /// A status shared with the recipient (or posted from another of their devices).
    Posted(FeedItem),
    /// Its owner deleted it before it expired.
    Deleted { owner: Uuid, status_id: Uuid },
}

/// One owner's active statuses as a viewer sees them.
#[derive(Debug, Clone)]
pub struct StatusGroup {
    pub owner: Uuid,
    /// Oldest first.
    pub items: Vec<FeedItem>,
    /// At least one of them the viewer has not opened.
    pub has_unseen: bool,
    /// When the newest was posted.
    pub latest_at: Millis,
}

/// Groups a feed by owner: owners with something unseen first, then by newest status.
pub fn group_feed(items: Vec<FeedItem>) -> Vec<StatusGroup> {
    let mut groups: Vec<StatusGroup> = Vec::new();
    for item in items {
        match groups.last_mut() {
            Some(g) if g.owner == item.owner => g.items.push(item),
            _ => groups.push(StatusGroup {
                owner: item.owner,
                items: vec![item],
                has_unseen: false,
                latest_at: 0,
            }),
        }
    }
    for g in &mut groups {
        g.items.sort_by_key(|i| (i.posted_at, i.id));
        g.has_unseen = g.items.iter().any(|i| i.seen_at.is_none());
        g.latest_at = g.items.iter().map(|i| i.posted_at).max().unwrap_or(0);
    }
    groups.sort_by(|a, b| {
        b.has_unseen
            .cmp(&a.has_unseen)
            .then(b.latest_at.cmp(&a.latest_at))
            .then(a.owner.cmp(&b.owner))
    });
    groups
}

/// One of my own statuses, with how many have seen it.
#[derive(Debug, Clone)]
pub struct MyStatus {
    pub post: StatusPost,
    pub views: usize,
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Validation(message.into())
}

/// `#RRGGBB`, returned upper-case.
fn background(raw: &str) -> EngineResult<String> {
    let ok =
        raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(invalid(
            "content.background: must be a colour as #RRGGBB, e.g. #1E88E5",
        ));
    }
    Ok(raw.to_ascii_uppercase())
}

fn caption(raw: Option<String>) -> EngineResult<Option<String>> {
    let Some(c) = raw else { return Ok(None) };
    let c = c.trim().to_owned();
    if c.chars().count() > MAX_CAPTION_CHARS {
        return Err(invalid(format!(
            "content.caption: must be at most {MAX_CAPTION_CHARS} characters"
        )));
    }
    Ok((!c.is_empty()).then_some(c))
}

/// The nil UUID is never an upload's id (whether the upload exists and may be used is
/// [`media::StatusMediaCheck`]'s question).
fn media_id_shape(id: Uuid) -> EngineResult<Uuid> {
    if id.is_nil() {
        return Err(invalid(
            "content.media_id: must be the id of an uploaded media object",
        ));
    }
    Ok(id)
}

/// Checks a status's content and returns it cleaned (colour upper-case, caption trimmed).
pub fn validate_content(content: StatusContent) -> EngineResult<StatusContent> {
    match content {
        StatusContent::Text {
            text,
            background: bg,
            font,
        } => {
            if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Err(invalid(format!(
                    "content.text: must be 1 to {MAX_TEXT_CHARS} characters, not only spaces"
                )));
            }
            Ok(StatusContent::Text {
                text,
                background: background(&bg)?,
                font,
            })
        }
        StatusContent::Image {
            media_id,
            caption: c,
        } => Ok(StatusContent::Image {
            media_id: media_id_shape(media_id)?,
            caption: caption(c)?,
        }),
        StatusContent::Video {
            media_id,
            caption: c,
        } => Ok(StatusContent::Video {
            media_id: media_id_shape(media_id)?,
            caption: caption(c)?,
        }),
    }
}

impl Engine {
    /// Replaces the check run on the media of image and video statuses (the media store's,
    /// [`media::StoreMediaCheck`], until this is called).
    pub fn set_status_media_check(&self, check: Arc<dyn StatusMediaCheck>) {
        *self.status_media.write().unwrap_or_else(|p| p.into_inner()) = check;
    }

    fn status_media_check(&self) -> Arc<dyn StatusMediaCheck> {
        self.status_media
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Queues `push` on the live sessions of the post's audience and of its owner.
    fn push_to_audience(&self, post: &StatusPost, push: &Arc<Push>) {
        let mut delivered = 0;
        for user in post.audience.iter().chain(std::iter::once(&post.owner)) {
            delivered += self.router.deliver(*user, push, None);
        }
        crate::metrics::get()
            .events_out
            .with_label_values(&["status"])
            .inc_by(delivered as u64);
    }

    /// Posts a status shared per `privacy`, or per my default setting when `None`, and pushes
    /// it to the live sessions of its audience (and my other devices).
    pub async fn post_status(
        &self,
        me: Uuid,
        content: StatusContent,
        privacy: Option<StatusPrivacy>,
    ) -> EngineResult<StatusPost> {
        let content = validate_content(content)?;
        let now = now_millis();
        let media = match &content {
            StatusContent::Image { media_id, .. } => Some((*media_id, StatusMediaKind::Image)),
            StatusContent::Video { media_id, .. } => Some((*media_id, StatusMediaKind::Video)),
            StatusContent::Text { .. } => None,
        };
        if let Some((media_id, kind)) = media {
            self.status_media_check().check(me, media_id, kind).await?;
        }
        let privacy = match privacy {
            Some(p) => self.check_status_privacy(me, p).await?,
            None => self.store.status_privacy(me).await?,
        };
        if self.store.owner_statuses(me, now).await?.len() >= MAX_ACTIVE_PER_OWNER {
            return Err(EngineError::Unprocessable(
                "you have too many active statuses; delete one first",
            ));
        }
        let audience = self.resolve_audience(me, &privacy).await?;
        let ttl = i64::try_from(self.config.status_ttl.as_millis()).unwrap_or(i64::MAX);
        let post = StatusPost {
            id: Uuid::now_v7(),
            owner: me,
            content,
            privacy,
            audience,
            posted_at: now,
            expires_at: now.saturating_add(ttl),
        };
        self.store.post_status(post.clone()).await?;
        crate::metrics::get().statuses_posted.inc();
        tracing::info!(user_id = %me, status_id = %post.id, audience = post.audience.len(), "status posted");
        let push = Push::new(PushKind::Status(StatusPush::Posted(post.feed_item(None))));
        self.push_to_audience(&post, &push);
        Ok(post)
    }

    /// The active statuses shared with me, grouped by owner (see [`group_feed`]), leaving out
    /// owners a block now stands between.
    pub async fn status_feed(&self, me: Uuid) -> EngineResult<Vec<StatusGroup>> {
        let mut items = self.store.status_feed(me, now_millis()).await?;
        let mut owners: Vec<Uuid> = items.iter().map(|i| i.owner).collect();
        owners.dedup();
        let mut hidden = HashSet::new();
        for owner in owners {
            if self.blocked_between(me, owner).await? {
                hidden.insert(owner);
            }
        }
        items.retain(|i| !hidden.contains(&i.owner));
        Ok(group_feed(items))
    }

    /// My active statuses, oldest first, with their view counts.
    pub async fn my_statuses(&self, me: Uuid) -> EngineResult<Vec<MyStatus>> {
        let posts = self.store.owner_statuses(me, now_millis()).await?;
        let mut out = Vec::with_capacity(posts.len());
        for post in posts {
            let views = self.store.status_viewers(post.id).await?.len();
            out.push(MyStatus { post, views });
        }
        Ok(out)
    }

    /// A status I may see: mine, or one whose audience I am in with no block between us, active
    /// at `now`. Anything else is `NotFound`, so nobody learns that a status exists.
    pub async fn visible_status(
        &self,
        me: Uuid,
        id: Uuid,
        now: Millis,
    ) -> EngineResult<StatusPost> {
        let post = self
            .store
            .status(id, now)
            .await?
            .ok_or(EngineError::NotFound("status"))?;
        if post.owner == me {
            return Ok(post);
        }
        if post.audience.binary_search(&me).is_err() || self.blocked_between(me, post.owner).await?
        {
            return Err(EngineError::NotFound("status"));
        }
        Ok(post)
    }

    /// Marks a status seen by me (the first time counts; viewing my own records nothing).
    pub async fn view_status(&self, me: Uuid, id: Uuid) -> EngineResult<()> {
        let now = now_millis();
        let post = self.visible_status(me, id, now).await?;
        if post.owner != me {
            self.store.mark_status_seen(me, post.owner, id, now).await?;
        }
        Ok(())
    }

    /// Who saw my status and when. Only its owner may ask.
    pub async fn status_viewers(&self, me: Uuid, id: Uuid) -> EngineResult<Vec<StatusView>> {
        let post = self.visible_status(me, id, now_millis()).await?;
        if post.owner != me {
            return Err(EngineError::Forbidden(
                "only the owner of a status sees who viewed it",
            ));
        }
        Ok(self.store.status_viewers(id).await?)
    }

    /// Deletes my status before it expires and tells its audience's live sessions.
    /// An expired status is already gone for everyone: deleting it is `NotFound` too.
    pub async fn delete_status(&self, me: Uuid, id: Uuid) -> EngineResult<()> {
        match self.store.status(id, now_millis()).await? {
            Some(post) if post.owner == me => {}
            _ => return Err(EngineError::NotFound("status")),
        }
        let post = self.store.delete_status(me, id).await?;
        let push = Push::new(PushKind::Status(StatusPush::Deleted {
            owner: me,
            status_id: id,
        }));
        self.push_to_audience(&post, &push);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use confab_storage::StatusFont;

    use super::*;

    fn item(owner: u128, posted_at: Millis, seen: bool) -> FeedItem {
        FeedItem {
            id: Uuid::now_v7(),
            owner: Uuid::from_u128(owner),
            content: StatusContent::Text {
                text: "hi".into(),
                background: "#000000".into(),
                font: StatusFont::Sans,
            },
            posted_at,
            expires_at: posted_at + 1000,
            seen_at: seen.then_some(posted_at + 1),
        }
    }

    #[test]
    fn unseen_owners_first_then_newest() {
        let groups = group_feed(vec![
            item(1, 10, true),
            item(1, 50, true),
            item(2, 20, false),
            item(2, 5, true),
            item(3, 30, false),
        ]);
        let order: Vec<(u128, bool, Millis)> = groups
            .iter()
            .map(|g| (g.owner.as_u128(), g.has_unseen, g.latest_at))
            .collect();
        assert_eq!(order, vec![(3, true, 30), (2, true, 20), (1, false, 50)]);
        assert_eq!(
            groups[1]
                .items
                .iter()
                .map(|i| i.posted_at)
                .collect::<Vec<_>>(),
            vec![5, 20],
            "oldest first within an owner"
        );
    }

    #[test]
    fn content_rules() {
        let text = |t: &str, bg: &str| StatusContent::Text {
            text: t.into(),
            background: bg.into(),
            font: StatusFont::Script,
        };
        assert_eq!(
            validate_content(text("hello", "#a1b2c3")).unwrap(),
            text("hello", "#A1B2C3")
        );
        for (t, bg) in [
            ("hello", "a1b2c3"),
            ("hello", "#a1b2c"),
            ("hello", "#GGGGGG"),
            ("hello", "#a1b2c3d"),
            ("   ", "#000000"),
        ] {
            assert!(validate_content(text(t, bg)).is_err(), "{t:?} {bg:?}");
        }
        assert!(validate_content(text(&"é".repeat(MAX_TEXT_CHARS), "#000000")).is_ok());
        assert!(validate_content(text(&"é".repeat(MAX_TEXT_CHARS + 1), "#000000")).is_err());
        let image = StatusContent::Image {
            media_id: Uuid::now_v7(),
            caption: Some("  ".into()),
        };
        assert!(matches!(
            validate_content(image).unwrap(),
            StatusContent::Image { caption: None, .. }
        ));
        let nil = StatusContent::Video {
            media_id: Uuid::nil(),
            caption: None,
        };
        assert!(validate_content(nil).is_err(), "never an upload's id");
    }
}
