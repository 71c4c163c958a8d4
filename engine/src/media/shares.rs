//! What a stored message does to media access and the chat gallery: a media message shares
//! its upload in the chat (members may download it, the gallery lists it); a text message
//! with links lists them in the gallery's `links` tab; a delete for everyone removes both.
//!
//! Recorded right after the append, for new and duplicate outcomes alike (the writes are
//! idempotent): if recording fails the sender gets an error and their retry, a duplicate,
//! records it again.

use confab_storage::{AppendOutcome, GalleryClass, MediaShare, Millis, Store, StoredEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::MediaInfo;
use crate::content::kind;
use crate::error::EngineResult;
use crate::message::{DeleteBody, MessageBody};

/// Most links of one message listed in the gallery.
const MAX_LINKS: usize = 10;
/// Longest link kept.
const MAX_LINK_CHARS: usize = 2048;

/// A gallery entry as stored (the share's body) and shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GalleryEntry {
    pub seq: u64,
    pub sender: Uuid,
    pub at: Millis,
    /// The message kind: `image`, `video`, ..., or `text` for links.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

/// The `http(s)://` links in a text, in order, each once.
pub fn links_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let start = word.find("https://").or_else(|| word.find("http://"));
        let Some(start) = start else { continue };
        let link = word[start..].trim_end_matches(|c: char| {
            matches!(
                c,
                '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '>' | '"' | '\''
            )
        });
        let host = link.split("://").nth(1).unwrap_or_default();
        if host.is_empty() || link.chars().count() > MAX_LINK_CHARS {
            continue;
        }
        if !out.iter().any(|l| l == link) {
            out.push(link.to_owned());
        }
        if out.len() == MAX_LINKS {
            break;
        }
    }
    out
}

/// The share a stored message records, if any.
fn share_of(event: &StoredEvent) -> EngineResult<Option<MediaShare>> {
    // Cheap filters first: most messages are plain text without links.
    if !event.is_message() || !(event.body.contains("\"media\"") || event.body.contains("http")) {
        return Ok(None);
    }
    let body = MessageBody::parse(&event.body)?;
    if body.is_deleted() {
        return Ok(None);
    }
    let (class, media_id, links) = match &body.media {
        Some(m) => (m.kind.gallery_class(), Some(m.id), Vec::new()),
        None => {
            let links = body.text.as_deref().map(links_in).unwrap_or_default();
            if links.is_empty() {
                return Ok(None);
            }
            (GalleryClass::Links, None, links)
        }
    };
    let entry = GalleryEntry {
        seq: event.seq,
        sender: event.sender,
        at: event.at,
        kind: body.kind.clone(),
        media: body.media.clone(),
        caption: body.caption.clone(),
        links,
    };
    let json = serde_json::to_string(&entry).map_err(|_| crate::EngineError::Internal)?;
    Ok(Some(MediaShare {
        chat_id: event.chat_id,
        seq: event.seq,
        class,
        media_id,
        at: event.at,
        body: json,
    }))
}

/// Records the shares and unshares of an append's outcomes.
pub async fn record(store: &dyn Store, outcomes: &[AppendOutcome]) -> EngineResult<()> {
    for outcome in outcomes {
        let event = match outcome {
            AppendOutcome::Stored(e) | AppendOutcome::Duplicate(e) => e,
        };
        if event.kind == kind::DELETE {
            if let Ok(delete) = serde_json::from_str::<DeleteBody>(&event.body) {
                store.unshare_media(event.chat_id, delete.target).await?;
            }
            continue;
        }
        if let Some(share) = share_of(event)? {
            store.share_media(share).await?;
        }
    }
    Ok(())
}

/// Most entries of one gallery page.
pub const MAX_GALLERY_PAGE: usize = 100;

impl crate::Engine {
    /// A chat's gallery tab, newest first: entries with seq < `before` (all when `None`).
    /// Members only.
    pub async fn gallery(
        &self,
        me: Uuid,
        chat_id: Uuid,
        class: GalleryClass,
        before: Option<u64>,
        limit: usize,
    ) -> EngineResult<Vec<GalleryEntry>> {
        if self.store.member(chat_id, me).await?.is_none() {
            return Err(crate::EngineError::no_chat());
        }
        let limit = limit.clamp(1, MAX_GALLERY_PAGE);
        let shares = self
            .store
            .gallery(chat_id, class, before.unwrap_or(u64::MAX), limit)
            .await?;
        shares
            .iter()
            .map(|s| {
                serde_json::from_str(&s.body).map_err(|e| {
                    tracing::error!(error = %e, chat_id = %chat_id, "gallery entry does not parse");
                    crate::EngineError::Internal
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links() {
        assert_eq!(
            links_in(
                "see https://example.com/a?b=1, and (http://x.org). https://example.com/a?b=1"
            ),
            vec!["https://example.com/a?b=1", "http://x.org"]
        );
        assert!(links_in("no links here; https:// alone").is_empty());
    }
}
