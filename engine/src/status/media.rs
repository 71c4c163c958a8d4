//! Statuses and uploaded media: whether an owner may post an upload as an image or video
//! status, and who may download the upload a status shows.

use std::sync::Arc;

use confab_storage::{MediaKind, MediaRecord, Store};
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::media::{self, MediaError};

/// Which kind of media a status shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMediaKind {
    Image,
    Video,
}

impl StatusMediaKind {
    /// The upload kind a status of this kind must show.
    pub fn media_kind(self) -> MediaKind {
        match self {
            StatusMediaKind::Image => MediaKind::Image,
            StatusMediaKind::Video => MediaKind::Video,
        }
    }
}

/// Decides whether `owner` may post `media_id` as a status of `kind`. Errors are the client's
/// answer (`NotFound("media")`, `Forbidden`, `Validation`, ...). The engine runs
/// [`StoreMediaCheck`] unless [`Engine::set_status_media_check`] installed another.
#[async_trait::async_trait]
pub trait StatusMediaCheck: Send + Sync {
    async fn check(&self, owner: Uuid, media_id: Uuid, kind: StatusMediaKind) -> EngineResult<()>;
}

/// The media store's rules ([`media::usable`]), as for a media message: the upload must exist
/// (`NotFound("media")`), the owner must be its uploader or a member of a chat where it was
/// shared (`Forbidden`), and it must be an image upload for an image status, a video upload
/// for a video status (`Validation`, naming both kinds).
pub struct StoreMediaCheck {
    store: Arc<dyn Store>,
}

impl StoreMediaCheck {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreMediaCheck { store }
    }
}

#[async_trait::async_trait]
impl StatusMediaCheck for StoreMediaCheck {
    async fn check(&self, owner: Uuid, media_id: Uuid, kind: StatusMediaKind) -> EngineResult<()> {
        media::usable(self.store.as_ref(), owner, media_id, kind.media_kind()).await?;
        Ok(())
    }
}

impl Engine {
    /// The upload `media_id` if `me` may download it: by the media rules ([`media::readable`]:
    /// its uploader, or a member of a chat where it was shared), or, with `via_status`, because
    /// that status is one I may see (mine, or active with me in its audience and no block
    /// between us) and it shows exactly this upload. A status that does not grant it (unknown,
    /// expired, deleted, not for me, showing something else) changes nothing: the media rules
    /// answer, so the reply never tells whether the status exists.
    pub async fn readable_media(
        &self,
        me: Uuid,
        media_id: Uuid,
        via_status: Option<Uuid>,
    ) -> Result<MediaRecord, MediaError> {
        if let Some(status_id) = via_status {
            if self.status_shows(me, status_id, media_id).await? {
                return self
                    .store
                    .media(media_id)
                    .await?
                    .ok_or(MediaError::NotFound);
            }
        }
        media::readable(self.store.as_ref(), me, media_id).await
    }

    /// Whether status `status_id` is visible to `me` and shows upload `media_id`.
    async fn status_shows(&self, me: Uuid, status_id: Uuid, media_id: Uuid) -> EngineResult<bool> {
        match self.visible_status(me, status_id, now_millis()).await {
            Ok(post) => Ok(post.content.media_id() == Some(media_id)),
            Err(EngineError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
