//! What events carry: message content and the system events of a chat, with their rules.
//! The store keeps an event's kind and its content as JSON text; this is where both are defined.

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

/// A message's content. Media kinds come with the media feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MessageContent {
    Text { text: String },
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
    }

    #[test]
    fn client_ids() {
        assert!(validate_client_id("c-1.a_b").is_ok());
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id("a b").is_err());
        assert!(validate_client_id(&"a".repeat(65)).is_err());
    }
}
