//! The seam between statuses and uploaded media: whether an owner may post a media object as
//! an image or video status.

use confab_storage::Millis;
use uuid::Uuid;

use crate::error::{EngineError, EngineResult};

/// Which kind of media a status shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMediaKind {
    Image,
    Video,
}

/// Decides whether `owner` may post `media_id` as a status of `kind`: the upload must exist,
/// be theirs (or shared with them) and be of that kind. Errors are the client's answer
/// (`NotFound("media")`, `Unprocessable`, ...).
#[async_trait::async_trait]
pub trait StatusMediaCheck: Send + Sync {
    async fn check(
        &self,
        owner: Uuid,
        media_id: Uuid,
        kind: StatusMediaKind,
        now: Millis,
    ) -> EngineResult<()>;
}

/// The check in force while no media store is connected: it verifies only the id's shape (a
/// UUID that is not nil). It cannot tell whether the upload exists, whose it is or what kind it
/// is, so it does **not** authorize the media. The lead connects the media store's real check
/// at merge time with [`Engine::set_status_media_check`](crate::Engine::set_status_media_check).
pub struct MediaIdShapeOnly;

#[async_trait::async_trait]
impl StatusMediaCheck for MediaIdShapeOnly {
    async fn check(
        &self,
        _owner: Uuid,
        media_id: Uuid,
        _kind: StatusMediaKind,
        _now: Millis,
    ) -> EngineResult<()> {
        if media_id.is_nil() {
            return Err(EngineError::Validation(
                "content.media_id: must be the id of an uploaded media object".into(),
            ));
        }
        Ok(())
    }
}
