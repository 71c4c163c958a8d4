//! Notifications kept in a user's inbox (the default notification provider).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;

/// One notification for `user_id`. `id` is a UUIDv7, so ids order notifications by time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    pub user_id: Uuid,
    /// `message`, `reaction`, `group_added`, `group_admin`, `incoming_call`, `missed_call`.
    pub kind: String,
    pub chat_id: Option<Uuid>,
    /// Who caused it (the sender, the caller, the admin who added me); `None` for several.
    pub actor_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    /// How many events this one stands for (a coalesced burst counts them all).
    pub count: u32,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
}
