//! Status stories: short-lived posts shown to an audience fixed when they are posted.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;

/// The typefaces a text status can be set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFont {
    Sans,
    Serif,
    Monospace,
    Script,
    Condensed,
}

/// What a status shows. Image and video statuses name an uploaded media object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusContent {
    Text {
        text: String,
        /// `#RRGGBB`, upper-case.
        background: String,
        font: StatusFont,
    },
    Image {
        media_id: Uuid,
        caption: Option<String>,
    },
    Video {
        media_id: Uuid,
        caption: Option<String>,
    },
}

impl StatusContent {
    /// The upload an image or video status shows.
    pub fn media_id(&self) -> Option<Uuid> {
        match self {
            StatusContent::Text { .. } => None,
            StatusContent::Image { media_id, .. } | StatusContent::Video { media_id, .. } => {
                Some(*media_id)
            }
        }
    }
}

/// Who a status is shared with, as its owner chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AudienceRule {
    /// Everyone in my contacts.
    #[default]
    MyContacts,
    /// My contacts but the listed users.
    MyContactsExcept,
    /// Only the listed users.
    OnlyShareWith,
}

/// A status privacy setting: the rule and, for the two list rules, its list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StatusPrivacy {
    pub rule: AudienceRule,
    /// Sorted, without duplicates; empty for `MyContacts`.
    #[serde(default)]
    pub users: Vec<Uuid>,
}

/// One posted status with the audience resolved when it was posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPost {
    /// UUIDv7: ids of one owner sort by posting time.
    pub id: Uuid,
    pub owner: Uuid,
    pub content: StatusContent,
    /// The rule the owner chose for this post.
    pub privacy: StatusPrivacy,
    /// The users the rule resolved to at posting time (sorted): only they may see it.
    pub audience: Vec<Uuid>,
    pub posted_at: Millis,
    /// Gone from every listing from this instant on, and purged from the store after it.
    pub expires_at: Millis,
}

impl StatusPost {
    pub fn is_active(&self, now: Millis) -> bool {
        self.expires_at > now
    }

    pub fn feed_item(&self, seen_at: Option<Millis>) -> FeedItem {
        FeedItem {
            id: self.id,
            owner: self.owner,
            content: self.content.clone(),
            posted_at: self.posted_at,
            expires_at: self.expires_at,
            seen_at,
        }
    }
}

/// A status as one member of its audience has it in their feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedItem {
    pub id: Uuid,
    pub owner: Uuid,
    pub content: StatusContent,
    pub posted_at: Millis,
    pub expires_at: Millis,
    /// When this viewer first opened it; `None` while unseen.
    pub seen_at: Option<Millis>,
}

/// One viewer of a status, for its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub viewer: Uuid,
    pub viewed_at: Millis,
}
