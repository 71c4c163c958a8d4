//! Status bodies (docs/REST.md "Statuses"), shared by REST and the WebSocket `status` push.

use confab_engine::model::{
    AudienceRule, FeedItem, Millis, StatusContent, StatusFont, StatusPrivacy, User,
};
use confab_engine::status::{MyStatus, StatusGroup};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFontDto {
    Sans,
    Serif,
    Monospace,
    Script,
    Condensed,
}

impl From<StatusFontDto> for StatusFont {
    fn from(f: StatusFontDto) -> Self {
        match f {
            StatusFontDto::Sans => Self::Sans,
            StatusFontDto::Serif => Self::Serif,
            StatusFontDto::Monospace => Self::Monospace,
            StatusFontDto::Script => Self::Script,
            StatusFontDto::Condensed => Self::Condensed,
        }
    }
}

impl From<StatusFont> for StatusFontDto {
    fn from(f: StatusFont) -> Self {
        match f {
            StatusFont::Sans => Self::Sans,
            StatusFont::Serif => Self::Serif,
            StatusFont::Monospace => Self::Monospace,
            StatusFont::Script => Self::Script,
            StatusFont::Condensed => Self::Condensed,
        }
    }
}

/// What a status shows: `text` (1 to 700 characters on a `#RRGGBB` background in one of the
/// fonts), or an uploaded `image` / `video` by media id with an optional caption (up to 1024
/// characters).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StatusContentDto {
    Text {
        #[schema(schema_with = crate::wire::schema::status_text)]
        text: String,
        #[schema(schema_with = crate::wire::schema::colour, example = "#1E88E5")]
        background: String,
        font: StatusFontDto,
    },
    Image {
        media_id: Uuid,
        #[serde(default)]
        #[schema(schema_with = crate::wire::schema::status_caption)]
        caption: Option<String>,
    },
    Video {
        media_id: Uuid,
        #[serde(default)]
        #[schema(schema_with = crate::wire::schema::status_caption)]
        caption: Option<String>,
    },
}

impl From<StatusContentDto> for StatusContent {
    fn from(c: StatusContentDto) -> Self {
        match c {
            StatusContentDto::Text {
                text,
                background,
                font,
            } => Self::Text {
                text,
                background,
                font: font.into(),
            },
            StatusContentDto::Image { media_id, caption } => Self::Image { media_id, caption },
            StatusContentDto::Video { media_id, caption } => Self::Video { media_id, caption },
        }
    }
}

impl From<StatusContent> for StatusContentDto {
    fn from(c: StatusContent) -> Self {
        match c {
            StatusContent::Text {
                text,
                background,
                font,
            } => Self::Text {
                text,
                background,
                font: font.into(),
            },
            StatusContent::Image { media_id, caption } => Self::Image { media_id, caption },
            StatusContent::Video { media_id, caption } => Self::Video { media_id, caption },
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudienceDto {
    /// Everyone in my contacts.
    MyContacts,
    /// My contacts but the users listed.
    MyContactsExcept,
    /// Only the users listed.
    OnlyShareWith,
}

/// Who a status is shared with. `users` is the list of the two list rules (empty or absent for
/// `my_contacts`; at least one user for `only_share_with`; at most 1024). Blocked users, either
/// way, never see a status whatever the rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPrivacyDto {
    pub audience: AudienceDto,
    #[serde(default)]
    pub users: Vec<Uuid>,
}

crate::wire::schema::schema_from!(StatusPrivacyDto => crate::wire::schema::status_privacy);

impl From<StatusPrivacyDto> for StatusPrivacy {
    fn from(p: StatusPrivacyDto) -> Self {
        StatusPrivacy {
            rule: match p.audience {
                AudienceDto::MyContacts => AudienceRule::MyContacts,
                AudienceDto::MyContactsExcept => AudienceRule::MyContactsExcept,
                AudienceDto::OnlyShareWith => AudienceRule::OnlyShareWith,
            },
            users: p.users,
        }
    }
}

impl From<StatusPrivacy> for StatusPrivacyDto {
    fn from(p: StatusPrivacy) -> Self {
        StatusPrivacyDto {
            audience: match p.rule {
                AudienceRule::MyContacts => AudienceDto::MyContacts,
                AudienceRule::MyContactsExcept => AudienceDto::MyContactsExcept,
                AudienceRule::OnlyShareWith => AudienceDto::OnlyShareWith,
            },
            users: p.users,
        }
    }
}

/// Post a status; `privacy` defaults to my setting (`GET /api/statuses/privacy`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostStatusRequest {
    pub content: StatusContentDto,
    #[serde(default)]
    pub privacy: Option<StatusPrivacyDto>,
}

/// Where an image or video status's upload is downloaded: `/api/media/{media_id}?status=
/// {status_id}` and, for images, `/api/media/{media_id}/thumbnail?status={status_id}` (the
/// `status` parameter lets the status's audience download it).
#[derive(Serialize, ToSchema)]
pub struct StatusMediaLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

impl StatusMediaLinks {
    pub fn new(status_id: Uuid, content: &StatusContent) -> Self {
        let url = |suffix: &str| {
            content
                .media_id()
                .map(|m| format!("/api/media/{m}{suffix}?status={status_id}"))
        };
        StatusMediaLinks {
            media_url: url(""),
            // Image uploads always have one; videos none.
            thumbnail_url: matches!(content, StatusContent::Image { .. })
                .then(|| url("/thumbnail"))
                .flatten(),
        }
    }
}

/// A status as a member of its audience sees it.
#[derive(Serialize, ToSchema)]
pub struct StatusItem {
    pub id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    pub content: StatusContentDto,
    /// Image and video statuses: where to download the upload.
    #[serde(flatten)]
    pub links: StatusMediaLinks,
    pub posted_at: Millis,
    pub expires_at: Millis,
    /// I have opened it.
    pub seen: bool,
    pub seen_at: Option<Millis>,
}

impl From<FeedItem> for StatusItem {
    fn from(i: FeedItem) -> Self {
        StatusItem {
            id: i.id,
            user_id: i.owner,
            links: StatusMediaLinks::new(i.id, &i.content),
            content: i.content.into(),
            posted_at: i.posted_at,
            expires_at: i.expires_at,
            seen: i.seen_at.is_some(),
            seen_at: i.seen_at,
        }
    }
}

/// One contact's active statuses, oldest first.
#[derive(Serialize, ToSchema)]
pub struct StatusGroupView {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    /// At least one of them I have not opened.
    pub has_unseen: bool,
    /// When the newest was posted.
    pub latest_at: Millis,
    pub statuses: Vec<StatusItem>,
}

impl StatusGroupView {
    pub fn new(g: StatusGroup, owner: &User) -> Self {
        StatusGroupView {
            user_id: g.owner,
            username: owner.username.clone(),
            display_name: owner.display_name.clone(),
            has_unseen: g.has_unseen,
            latest_at: g.latest_at,
            statuses: g.items.into_iter().map(StatusItem::from).collect(),
        }
    }
}

/// Contacts with unseen statuses first, then by newest status.
#[derive(Serialize, ToSchema)]
pub struct StatusFeed {
    pub items: Vec<StatusGroupView>,
}

/// One of my statuses, as its owner sees it.
#[derive(Serialize, ToSchema)]
pub struct MyStatusView {
    pub id: Uuid,
    pub content: StatusContentDto,
    /// Image and video statuses: where to download the upload.
    #[serde(flatten)]
    pub links: StatusMediaLinks,
    pub posted_at: Millis,
    pub expires_at: Millis,
    /// The rule it was posted with.
    pub privacy: StatusPrivacyDto,
    /// How many users it was shared with (resolved when posted).
    pub audience_size: usize,
    /// How many of them have seen it.
    pub view_count: usize,
}

impl From<MyStatus> for MyStatusView {
    fn from(s: MyStatus) -> Self {
        MyStatusView {
            id: s.post.id,
            audience_size: s.post.audience.len(),
            links: StatusMediaLinks::new(s.post.id, &s.post.content),
            content: s.post.content.into(),
            posted_at: s.post.posted_at,
            expires_at: s.post.expires_at,
            privacy: s.post.privacy.into(),
            view_count: s.views,
        }
    }
}

/// My active statuses, oldest first.
#[derive(Serialize, ToSchema)]
pub struct MyStatusList {
    pub items: Vec<MyStatusView>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusViewerView {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub viewed_at: Millis,
}

/// Who saw my status, earliest first.
#[derive(Serialize, ToSchema)]
pub struct StatusViewerList {
    pub items: Vec<StatusViewerView>,
}
