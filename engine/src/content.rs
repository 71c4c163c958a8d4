//! What events carry: message content and the system events of a chat, with their rules.
//! The store keeps an event's kind and its content as JSON text; this is where both are defined.

use confab_storage::MediaKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{EngineError, EngineResult};

/// Event kinds of a chat timeline.
pub mod kind {
    pub const MESSAGE: &str = confab_storage::MESSAGE_KIND;
    pub const EDIT: &str = "edit";
    pub const DELETE: &str = "delete";
    pub const REACTION: &str = "reaction";
    pub const GROUP_CREATED: &str = "group_created";
    pub const GROUP_INFO_CHANGED: &str = "group_info_changed";
    pub const MEMBERS_ADDED: &str = "members_added";
    pub const MEMBER_REMOVED: &str = "member_removed";
    pub const MEMBER_LEFT: &str = "member_left";
    pub const MEMBER_JOINED: &str = "member_joined";
    pub const ADMIN_PROMOTED: &str = "admin_promoted";
    pub const ADMIN_DEMOTED: &str = "admin_demoted";
}

pub const MAX_TEXT_CHARS: usize = 4096;
pub const MAX_CAPTION_CHARS: usize = 1024;

/// A message's content, as a client sends it. Media kinds name an upload (`POST /api/media`)
/// by `media_id`; the engine checks the sender may use it and that its kind matches, and
/// embeds its metadata in the stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MessageContent {
    Text {
        text: String,
    },
    Image {
        media_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Video {
        media_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Audio {
        media_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Voice {
        media_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Document {
        media_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    Sticker {
        media_id: Uuid,
    },
}

impl MessageContent {
    pub fn validate(&self) -> EngineResult<()> {
        match self {
            MessageContent::Text { text } => {
                let chars = text.chars().count();
                if text.trim().is_empty() || chars > MAX_TEXT_CHARS {
                    return Err(EngineError::Validation(format!(
                        "content.text: must be 1 to {MAX_TEXT_CHARS} characters, not only spaces"
                    )));
                }
                Ok(())
            }
            _ => match self.caption() {
                Some(c) if c.chars().count() > MAX_CAPTION_CHARS => Err(EngineError::Validation(
                    format!("content.caption: at most {MAX_CAPTION_CHARS} characters"),
                )),
                _ => Ok(()),
            },
        }
    }

    /// The upload a media message carries and the kind it must have.
    pub fn media(&self) -> Option<(Uuid, MediaKind)> {
        use MessageContent::*;
        match self {
            Text { .. } => None,
            Image { media_id, .. } => Some((*media_id, MediaKind::Image)),
            Video { media_id, .. } => Some((*media_id, MediaKind::Video)),
            Audio { media_id, .. } => Some((*media_id, MediaKind::Audio)),
            Voice { media_id, .. } => Some((*media_id, MediaKind::Voice)),
            Document { media_id, .. } => Some((*media_id, MediaKind::Document)),
            Sticker { media_id } => Some((*media_id, MediaKind::Sticker)),
        }
    }

    /// A media message's caption, if it has a non-blank one.
    pub fn caption(&self) -> Option<&str> {
        use MessageContent::*;
        match self {
            Image { caption, .. }
            | Video { caption, .. }
            | Audio { caption, .. }
            | Voice { caption, .. }
            | Document { caption, .. } => caption.as_deref().filter(|c| !c.trim().is_empty()),
            Text { .. } | Sticker { .. } => None,
        }
    }

    /// The content of a media message of `kind` (its own kind: what it was sent as).
    pub fn of_media(kind: MediaKind, media_id: Uuid, caption: Option<String>) -> Self {
        match kind {
            MediaKind::Image => MessageContent::Image { media_id, caption },
            MediaKind::Video => MessageContent::Video { media_id, caption },
            MediaKind::Audio => MessageContent::Audio { media_id, caption },
            MediaKind::Voice => MessageContent::Voice { media_id, caption },
            MediaKind::Document => MessageContent::Document { media_id, caption },
            MediaKind::Sticker => MessageContent::Sticker { media_id },
        }
    }

    pub fn to_json(&self) -> EngineResult<String> {
        serde_json::to_string(self).map_err(|_| EngineError::Internal)
    }
}

/// Content of a `group_created` event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupCreated {
    pub title: String,
    pub members: Vec<Uuid>,
}

/// A client's idempotency key: 1..=64 of `A-Z a-z 0-9 - _ .`.
pub fn validate_client_id(id: &str) -> EngineResult<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::Validation(
            "client_id: must be 1 to 64 of A-Z a-z 0-9 - _ .".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert!(MessageContent::Text { text: "hi".into() }
            .validate()
            .is_ok());
        assert!(MessageContent::Text { text: "  ".into() }
            .validate()
            .is_err());
        assert!(MessageContent::Text {
            text: "é".repeat(4096)
        }
        .validate()
        .is_ok());
        assert!(MessageContent::Text {
            text: "é".repeat(4097)
        }
        .validate()
        .is_err());
    }

    #[test]
    fn content_is_tagged_and_strict() {
        let c: MessageContent = serde_json::from_str(r#"{"kind":"text","text":"x"}"#).unwrap();
        assert_eq!(c.to_json().unwrap(), r#"{"kind":"text","text":"x"}"#);
        assert!(
            serde_json::from_str::<MessageContent>(r#"{"kind":"text","text":"x","y":1}"#).is_err()
        );
        assert!(serde_json::from_str::<MessageContent>(r#"{"kind":"video"}"#).is_err());
        let id = Uuid::nil();
        let c: MessageContent = serde_json::from_str(&format!(
            r#"{{"kind":"image","media_id":"{id}","caption":"look"}}"#
        ))
        .unwrap();
        assert_eq!(c.media(), Some((id, MediaKind::Image)));
        assert_eq!(c.caption(), Some("look"));
        assert!(serde_json::from_str::<MessageContent>(&format!(
            r#"{{"kind":"sticker","media_id":"{id}","caption":"no"}}"#
        ))
        .is_err());
        let long = MessageContent::Image {
            media_id: id,
            caption: Some("x".repeat(MAX_CAPTION_CHARS + 1)),
        };
        assert!(long.validate().is_err());
    }

    #[test]
    fn client_ids() {
        assert!(validate_client_id("c-1.a_b").is_ok());
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id("a b").is_err());
        assert!(validate_client_id(&"a".repeat(65)).is_err());
    }
}
