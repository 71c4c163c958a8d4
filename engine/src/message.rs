//! A message as stored and shown: its content plus what happened to it since (replies point at
//! it, it was forwarded, edited, reacted to, deleted for everyone). Mutations are timeline
//! events of their own (`edit`, `delete`, `reaction`) so a reconnecting device replays them in
//! order; each one also rewrites the stored message in the same write, so history reads show
//! the message as it is now.

use std::collections::BTreeMap;

use confab_storage::Millis;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::content::MessageContent;
use crate::error::{EngineError, EngineResult};
use crate::media::MediaInfo;
use confab_storage::MediaRecord;

/// A message forwarded this many times or more is marked "forwarded many times".
pub const FORWARDED_MANY: u32 = 5;
/// Longest reply preview kept with a reply.
const PREVIEW_CHARS: usize = 100;

/// The stored body of a `message` event (and the `content` of its wire event). The content's
/// own fields (`kind`, `text`) sit at the top level, so a plain text message reads
/// `{"kind":"text","text":"hi"}`; the rest appear only when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody {
    /// `text`, or `deleted` once deleted for everyone.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A media message's caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// A media message's upload, as it was when sent (embedded, so every read is one row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyRef>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub forwarded: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarded_many: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Millis>,
    /// One emoji per user.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<Uuid, String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a reply quotes. Only the seq is stored; `sender`, `preview` and `deleted` are filled
/// in whenever the reply is shown (live or in history), so deleting the quoted message purges
/// it from every reply too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRef {
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

pub const DELETED: &str = "deleted";

impl MessageBody {
    /// The body of a new message; `media` is the upload a media content names (checked by
    /// the caller).
    pub fn new(content: &MessageContent, media: Option<&MediaRecord>) -> Self {
        let (kind, text) = match content {
            MessageContent::Text { text } => ("text".to_owned(), Some(text.clone())),
            other => (
                other
                    .media()
                    .map(|(_, k)| k.as_str())
                    .unwrap_or("text")
                    .to_owned(),
                None,
            ),
        };
        MessageBody {
            kind,
            text,
            caption: content.caption().map(str::to_owned),
            media: media.map(MediaInfo::from),
            reply_to: None,
            forwarded: 0,
            forwarded_many: false,
            edited_at: None,
            reactions: BTreeMap::new(),
        }
    }

    pub fn parse(json: &str) -> EngineResult<Self> {
        serde_json::from_str(json).map_err(|e| {
            tracing::error!(error = %e, "stored message body does not parse");
            EngineError::Internal
        })
    }

    pub fn to_json(&self) -> EngineResult<String> {
        serde_json::to_string(self).map_err(|_| EngineError::Internal)
    }

    pub fn is_deleted(&self) -> bool {
        self.kind == DELETED
    }

    /// A short preview for replies.
    pub fn preview(&self) -> Option<String> {
        if self.is_deleted() {
            return None;
        }
        let text = self.text.as_ref().or(self.caption.as_ref());
        match (text, &self.media) {
            (Some(t), _) => Some(t.chars().take(PREVIEW_CHARS).collect()),
            (None, Some(m)) => Some(format!("[{}]", m.kind.as_str())),
            (None, None) => None,
        }
    }

    /// What forwarding this message sends: the same content (a media message names the same
    /// upload). `None` for a deleted message.
    pub fn content(&self) -> Option<MessageContent> {
        if self.is_deleted() {
            return None;
        }
        match &self.media {
            Some(m) => Some(MessageContent::of_media(m.kind, m.id, self.caption.clone())),
            None => self.text.clone().map(|text| MessageContent::Text { text }),
        }
    }

    /// The tombstone left by "delete for everyone": content and reactions gone.
    pub fn tombstone(&self) -> Self {
        MessageBody {
            kind: DELETED.into(),
            text: None,
            caption: None,
            media: None,
            reply_to: None,
            forwarded: 0,
            forwarded_many: false,
            edited_at: None,
            reactions: BTreeMap::new(),
        }
    }
}

/// Body of an `edit` event: the message's new text (purged if the message is deleted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditBody {
    pub target: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Body of a `delete` event (delete for everyone).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteBody {
    pub target: u64,
}

/// Body of a `reaction` event: `emoji: null` removes the sender's reaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReactionBody {
    pub target: u64,
    pub emoji: Option<String>,
}

/// An emoji reaction: one emoji, which may be several code points (skin tones, ZWJ
/// sequences such as families): at most 8 code points and 32 bytes, no ASCII, no spaces.
pub fn validate_emoji(emoji: &str) -> EngineResult<()> {
    let ok = !emoji.is_empty()
        && emoji.len() <= 32
        && emoji.chars().count() <= 8
        && !emoji
            .chars()
            .any(|c| c.is_ascii() || c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(EngineError::Validation(
            "emoji: one emoji (at most 16 bytes)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_body_is_the_content_itself() {
        let body = MessageBody::new(&MessageContent::Text { text: "hi".into() }, None);
        assert_eq!(body.to_json().unwrap(), r#"{"kind":"text","text":"hi"}"#);
        assert_eq!(
            MessageBody::parse(r#"{"kind":"text","text":"hi"}"#).unwrap(),
            body
        );
    }

    #[test]
    fn tombstone_keeps_nothing() {
        let mut body = MessageBody::new(
            &MessageContent::Text {
                text: "secret".into(),
            },
            None,
        );
        body.reactions.insert(Uuid::nil(), "👍".into());
        let t = body.tombstone();
        assert_eq!(t.to_json().unwrap(), r#"{"kind":"deleted"}"#);
        assert_eq!(t.preview(), None);
    }

    #[test]
    fn emoji_rules() {
        assert!(validate_emoji("👍").is_ok());
        assert!(validate_emoji("❤️").is_ok());
        assert!(validate_emoji("👩‍👩‍👧").is_ok());
        assert!(validate_emoji("").is_err());
        assert!(validate_emoji("a").is_err());
        assert!(validate_emoji("👍 ").is_err());
        assert!(validate_emoji(&"👍".repeat(9)).is_err());
    }
}
