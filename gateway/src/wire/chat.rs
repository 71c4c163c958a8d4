//! REST bodies for chats and messages (docs/REST.md). Events use the same JSON shape as the
//! WebSocket `event` frame.

use confab_engine::chat::Sent;
use confab_engine::chats::{ChatSummary, ChatView as EngineChatView, MemberReceipt};
use confab_engine::content::MessageContent;
use confab_storage::{ChatKind, Member, Role, StoredEvent};
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
    #[schema(example = "Weekend trip")]
    pub title: String,
    /// The other members (the creator is added as admin).
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
    /// Page forward: events after this seq, oldest first.
    #[serde(default)]
    pub after_seq: Option<u64>,
    /// Page backward: the events just below this seq.
    #[serde(default)]
    pub before_seq: Option<u64>,
    /// 1..=100, default 50.
    #[serde(default)]
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
    /// Idempotency key: 1..=64 of A-Z a-z 0-9 - _ .
    pub client_id: String,
    #[schema(value_type = Object, example = json!({"kind": "text", "text": "hi"}))]
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
