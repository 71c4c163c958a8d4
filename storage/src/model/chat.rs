//! Chats, their members, their timelines and receipts.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    /// Exactly two members, one chat per pair.
    Direct,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub id: Uuid,
    pub kind: ChatKind,
    pub title: Option<String>,
    pub created_by: Uuid,
    pub created_at: Millis,
    /// Group description, photo and settings; empty for 1:1 chats.
    #[serde(default)]
    pub info: GroupInfo,
}

/// What group admins (or, unless restricted, members) may change besides the title.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupInfo {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub photo: Option<String>,
    /// Only admins may send messages.
    #[serde(default)]
    pub only_admins_send: bool,
    /// Only admins may change title, description, photo.
    #[serde(default)]
    pub only_admins_edit_info: bool,
}

/// A change to a group, stored atomically with the timeline event that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// New title and info (settings included).
    Info {
        title: String,
        info: GroupInfo,
    },
    AddMembers(Vec<Member>),
    RemoveMember(Uuid),
    SetRole(Uuid, Role),
}

/// A link that lets anyone who has it join a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub code: String,
    pub chat_id: Uuid,
    pub created_by: Uuid,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: Uuid,
    pub role: Role,
    pub joined_at: Millis,
}

/// An event to append; the store assigns its sequence number. (Serde: the embedded store logs
/// appends in its write-ahead log.)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewEvent {
    pub sender: Uuid,
    pub at: Millis,
    /// The sender's idempotency key: a second event with the same (chat, sender, client id)
    /// is not stored; the first is returned instead.
    pub client_id: Option<String>,
    /// `message`, `group_created`, ...: the engine's vocabulary; opaque to the store.
    pub kind: String,
    /// The event's content as JSON text; opaque to the store.
    pub body: String,
    /// Earlier events of the same chat whose body this event replaces, atomically with the
    /// append: an edit rewrites its message, a delete purges it (and its edits), a reaction
    /// updates its message's reaction set.
    pub rewrites: Vec<Rewrite>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    pub seq: u64,
    pub body: String,
}

/// An event in a chat's timeline. `seq` is 1, 2, 3, ... per chat, without gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub chat_id: Uuid,
    pub seq: u64,
    pub sender: Uuid,
    pub at: Millis,
    pub client_id: Option<String>,
    pub kind: String,
    pub body: String,
}

impl StoredEvent {
    pub fn is_message(&self) -> bool {
        self.kind == MESSAGE_KIND
    }
}

/// The event kind that counts as a message (for previews and unread counts).
pub const MESSAGE_KIND: &str = "message";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    Stored(StoredEvent),
    /// The client id was used before: this is the event stored then; nothing new was written.
    Duplicate(StoredEvent),
}

impl AppendOutcome {
    pub fn event(&self) -> &StoredEvent {
        match self {
            AppendOutcome::Stored(e) | AppendOutcome::Duplicate(e) => e,
        }
    }
}

/// Where a chat's timeline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatState {
    pub last_seq: u64,
    pub last_activity_at: Millis,
    /// Seq of the newest `message` event, 0 if none.
    pub last_message_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    Delivered,
    Read,
}

/// A member's receipt pointers in one chat: everything up to `*_seq` is delivered / read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReceiptPointers {
    pub delivered_seq: u64,
    pub delivered_at: Millis,
    pub read_seq: u64,
    pub read_at: Millis,
}

/// What a receipt changed: the pointer moved from `from_seq` (exclusive) to `to_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptAdvance {
    pub kind: ReceiptKind,
    pub from_seq: u64,
    pub to_seq: u64,
}

/// One user's settings for one chat (pin, archive, mute, notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatPrefs {
    pub pinned_at: Option<Millis>,
    /// When the chat was archived; `None` if it is not.
    pub archived_at: Option<Millis>,
    /// Muted until then; `Millis::MAX` means always.
    pub muted_until: Option<Millis>,
    #[serde(default)]
    pub notifications: NotificationLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    #[default]
    All,
    /// No notifications at all for this chat (still delivered live).
    None,
}

/// Settings of a user that are not privacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettings {
    /// Archived chats stay archived when new messages arrive.
    pub keep_chats_archived: bool,
}

impl Default for UserSettings {
    fn default() -> Self {
        UserSettings {
            keep_chats_archived: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Star {
    pub chat_id: Uuid,
    pub seq: u64,
    pub starred_at: Millis,
}

/// A user's report of another user or of a message, with evidence for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: Uuid,
    pub reporter: Uuid,
    pub reported_user: Uuid,
    pub chat_id: Option<Uuid>,
    pub seq: Option<u64>,
    pub reason: String,
    pub created_at: Millis,
    /// The last messages of the chat at the time of the report.
    pub evidence: Vec<StoredEvent>,
}

/// A broadcast list: its owner sends once, each recipient gets the message in their 1:1 chat
/// with the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastList {
    pub id: Uuid,
    pub owner: Uuid,
    pub name: String,
    pub recipients: Vec<Uuid>,
    pub created_at: Millis,
}
