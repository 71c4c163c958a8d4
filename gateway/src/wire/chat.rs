//! REST bodies for chats and messages (docs/REST.md). Events use the same JSON shape as the
//! WebSocket `event` frame.

use confab_engine::chat::Sent;
use confab_engine::chats::{ChatSummary, ChatView as EngineChatView, MemberReceipt};
use confab_engine::content::MessageContent;
use confab_engine::model::{ChatKind, Member, Role, StoredEvent};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDirectRequest {
    pub user_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    #[schema(schema_with = crate::wire::schema::name, example = "Weekend trip")]
    pub title: String,
    /// The other members (the creator is added as admin): 1 to `chat.max_group_members` - 1
    /// (1023 by default) users other than me; duplicates count once.
    #[schema(min_items = 1)]
    pub member_ids: Vec<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    #[schema(example = "member")]
    pub role: &'static str,
    pub joined_at: i64,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView {
            user_id: m.user_id,
            role: match m.role {
                Role::Admin => "admin",
                Role::Member => "member",
            },
            joined_at: m.joined_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatView {
    pub chat_id: Uuid,
    /// `direct` or `group`.
    pub kind: &'static str,
    pub title: Option<String>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub members: Vec<MemberView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupInfoView>,
}

impl From<&EngineChatView> for ChatView {
    fn from(v: &EngineChatView) -> Self {
        ChatView {
            chat_id: v.chat.id,
            kind: match v.chat.kind {
                ChatKind::Direct => "direct",
                ChatKind::Group => "group",
            },
            title: v.chat.title.clone(),
            created_by: v.chat.created_by,
            created_at: v.chat.created_at,
            members: v.members.iter().map(MemberView::from).collect(),
            group: (v.chat.kind == ChatKind::Group).then(|| GroupInfoView::from(&v.chat.info)),
        }
    }
}

/// A timeline event.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub chat_id: Uuid,
    pub seq: u64,
    pub sender: Uuid,
    pub at: i64,
    /// `message`, `group_created`, ...
    pub kind: String,
    pub client_id: Option<String>,
    /// For messages: `{"kind":"text","text":"..."}`.
    #[schema(value_type = Object)]
    pub content: Box<RawValue>,
}

impl From<&StoredEvent> for EventView {
    fn from(e: &StoredEvent) -> Self {
        EventView {
            chat_id: e.chat_id,
            seq: e.seq,
            sender: e.sender,
            at: e.at,
            kind: e.kind.clone(),
            client_id: e.client_id.clone(),
            content: RawValue::from_string(e.body.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatSummaryView {
    #[serde(flatten)]
    pub chat: ChatView,
    pub last_seq: u64,
    pub last_activity_at: i64,
    pub last_message: Option<EventView>,
    pub unread_count: u32,
    pub read_seq: u64,
    pub delivered_seq: u64,
    /// My settings of this chat.
    pub settings: ChatSettingsView,
}

#[derive(Serialize, ToSchema)]
pub struct GroupInfoView {
    pub description: String,
    pub photo: Option<String>,
    pub only_admins_send: bool,
    pub only_admins_edit_info: bool,
}

impl From<&confab_engine::model::GroupInfo> for GroupInfoView {
    fn from(i: &confab_engine::model::GroupInfo) -> Self {
        GroupInfoView {
            description: i.description.clone(),
            photo: i.photo.clone(),
            only_admins_send: i.only_admins_send,
            only_admins_edit_info: i.only_admins_edit_info,
        }
    }
}

impl From<&ChatSummary> for ChatSummaryView {
    fn from(s: &ChatSummary) -> Self {
        ChatSummaryView {
            chat: ChatView::from(&s.view),
            last_seq: s.state.last_seq,
            last_activity_at: s.state.last_activity_at,
            last_message: s.last_message.as_ref().map(EventView::from),
            unread_count: s.unread_count,
            read_seq: s.pointers.read_seq,
            delivered_seq: s.pointers.delivered_seq,
            settings: ChatSettingsView::new(&s.prefs, s.archived),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatList {
    pub items: Vec<ChatSummaryView>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Page forward: events after this seq, oldest first. Not with `before_seq`.
    #[serde(default)]
    #[param(nullable = false)]
    pub after_seq: Option<u64>,
    /// Page backward: the events just below this seq. Not with `after_seq`.
    #[serde(default)]
    #[param(nullable = false)]
    pub before_seq: Option<u64>,
    /// 1..=100, default 50.
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    /// Ascending by seq.
    pub items: Vec<EventView>,
    /// More events lie beyond this page in the direction read.
    pub has_more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    pub chat_id: Uuid,
    /// Quote message `reply_to` of the same chat.
    #[serde(default)]
    pub reply_to: Option<u64>,
    #[schema(schema_with = crate::wire::schema::client_id)]
    pub client_id: String,
    #[schema(schema_with = crate::wire::schema::message_content, example = json!({"kind": "text", "text": "hi"}))]
    pub content: MessageContent,
}

#[derive(Serialize, ToSchema)]
pub struct SentView {
    pub chat_id: Uuid,
    pub seq: u64,
    pub at: i64,
    pub client_id: Option<String>,
    pub duplicate: bool,
}

impl From<Sent> for SentView {
    fn from(s: Sent) -> Self {
        SentView {
            chat_id: s.chat_id,
            seq: s.seq,
            at: s.at,
            client_id: s.client_id,
            duplicate: s.duplicate,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    pub seq: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MemberReceiptView {
    pub user_id: Uuid,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
}

impl From<&MemberReceipt> for MemberReceiptView {
    fn from(m: &MemberReceipt) -> Self {
        MemberReceiptView {
            user_id: m.user_id,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageInfoView {
    pub chat_id: Uuid,
    pub seq: u64,
    pub members: Vec<MemberReceiptView>,
}

/// The answer to any change that became a timeline event (edit, delete, reaction, group
/// change): the event's seq.
#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    pub chat_id: Uuid,
    pub seq: u64,
    pub at: i64,
}

impl From<Sent> for ChangeView {
    fn from(s: Sent) -> Self {
        ChangeView {
            chat_id: s.chat_id,
            seq: s.seq,
            at: s.at,
        }
    }
}

/// Any subset; `photo: null` clears it. Settings need an admin; info needs one when the group
/// has "only admins may edit info" on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroupRequest {
    #[serde(default)]
    #[schema(schema_with = crate::wire::schema::name_or_null)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(schema_with = crate::wire::schema::description_or_null)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::wire::schema::photo_or_null)]
    pub photo: Option<Option<String>>,
    #[serde(default)]
    pub only_admins_send: Option<bool>,
    #[serde(default)]
    pub only_admins_edit_info: Option<bool>,
}

fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembersRequest {
    #[schema(min_items = 1)]
    pub user_ids: Vec<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// The link stops working after this many seconds (at least 1); none: until revoked.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub expires_in_secs: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InviteView {
    pub code: String,
    pub chat_id: Uuid,
    pub created_by: Uuid,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl From<confab_engine::model::Invite> for InviteView {
    fn from(i: confab_engine::model::Invite) -> Self {
        InviteView {
            code: i.code,
            chat_id: i.chat_id,
            created_by: i.created_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    #[schema(schema_with = crate::wire::schema::edit_content, example = json!({"kind": "text", "text": "fixed typo"}))]
    pub content: MessageContent,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    #[schema(schema_with = crate::wire::schema::emoji, example = "👍")]
    pub emoji: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideRequest {
    /// 1..=100 seqs of this chat to delete for me.
    #[schema(min_items = 1, max_items = 100)]
    pub seqs: Vec<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    pub chat_id: Uuid,
    pub seq: u64,
    /// 1..=20 target chats.
    #[schema(min_items = 1, max_items = 20)]
    pub to: Vec<Uuid>,
    #[schema(schema_with = crate::wire::schema::client_id)]
    pub client_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ForwardResult {
    pub chat_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The error code when forwarding to this chat failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct ForwardResults {
    pub results: Vec<ForwardResult>,
}

#[derive(Serialize, ToSchema)]
pub struct StarredPage {
    pub items: Vec<EventView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum MuteDto {
    #[serde(rename = "8h")]
    Hours8,
    Week,
    Always,
    Off,
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum NotificationsDto {
    All,
    None,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatSettingsRequest {
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
    /// `8h`, `week`, `always` or `off`.
    #[serde(default)]
    pub mute: Option<MuteDto>,
    #[serde(default)]
    pub notifications: Option<NotificationsDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatSettingsView {
    pub pinned: bool,
    pub archived: bool,
    /// Muted until then (ms); a very large value means always.
    pub muted_until: Option<i64>,
    pub notifications: NotificationsDto,
}

impl ChatSettingsView {
    pub fn new(p: &confab_engine::model::ChatPrefs, archived: bool) -> Self {
        ChatSettingsView {
            pinned: p.pinned_at.is_some(),
            archived,
            muted_until: p.muted_until,
            notifications: match p.notifications {
                confab_engine::model::NotificationLevel::All => NotificationsDto::All,
                confab_engine::model::NotificationLevel::None => NotificationsDto::None,
            },
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSettingsView {
    /// Archived chats stay archived when new messages arrive (default true).
    pub keep_chats_archived: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub user_id: Uuid,
    /// With `seq`: the reported message (its chat's last messages are attached).
    #[serde(default)]
    pub chat_id: Option<Uuid>,
    /// With `chat_id` (give both or neither).
    #[serde(default)]
    pub seq: Option<u64>,
    pub reason: String,
}

crate::wire::schema::schema_from!(ReportRequest => crate::wire::schema::report);

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub reporter: Uuid,
    pub reported_user: Uuid,
    pub chat_id: Option<Uuid>,
    pub seq: Option<u64>,
    pub reason: String,
    pub created_at: i64,
    pub evidence: Vec<EventView>,
}

impl From<&confab_engine::model::Report> for ReportView {
    fn from(r: &confab_engine::model::Report) -> Self {
        ReportView {
            id: r.id,
            reporter: r.reporter,
            reported_user: r.reported_user,
            chat_id: r.chat_id,
            seq: r.seq,
            reason: r.reason.clone(),
            created_at: r.created_at,
            evidence: r.evidence.iter().map(EventView::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<ReportView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBroadcastRequest {
    #[schema(schema_with = crate::wire::schema::name, example = "Family")]
    pub name: String,
    /// 1..=256 users.
    #[schema(min_items = 1, max_items = 256)]
    pub recipients: Vec<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBroadcastRequest {
    #[serde(default)]
    #[schema(schema_with = crate::wire::schema::name_or_null)]
    pub name: Option<String>,
    /// 1..=256 users.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 256)]
    pub recipients: Option<Vec<Uuid>>,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastView {
    pub id: Uuid,
    pub name: String,
    pub recipients: Vec<Uuid>,
    pub created_at: i64,
}

impl From<confab_engine::model::BroadcastList> for BroadcastView {
    fn from(l: confab_engine::model::BroadcastList) -> Self {
        BroadcastView {
            id: l.id,
            name: l.name,
            recipients: l.recipients,
            created_at: l.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastList {
    pub items: Vec<BroadcastView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastSendRequest {
    #[schema(schema_with = crate::wire::schema::client_id)]
    pub client_id: String,
    #[schema(schema_with = crate::wire::schema::message_content, example = json!({"kind": "text", "text": "Happy new year!"}))]
    pub content: MessageContent,
}

/// One recipient's outcome: `chat_id`+`seq` when sent; `skipped` (`not_a_contact`, `blocked`)
/// or `error` (an error code) otherwise.
#[derive(Serialize, ToSchema)]
pub struct BroadcastResult {
    pub user_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

impl BroadcastResult {
    pub fn new(user_id: Uuid, d: &confab_engine::broadcast::Delivery) -> Self {
        use confab_engine::broadcast::Delivery;
        let mut r = BroadcastResult {
            user_id,
            chat_id: None,
            seq: None,
            skipped: None,
            error: None,
        };
        match d {
            Delivery::Sent(s) => {
                r.chat_id = Some(s.chat_id);
                r.seq = Some(s.seq);
            }
            Delivery::Skipped(why) => r.skipped = Some(why),
            Delivery::Failed(e) => r.error = Some(e.code()),
        }
        r
    }
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastResults {
    pub results: Vec<BroadcastResult>,
}
