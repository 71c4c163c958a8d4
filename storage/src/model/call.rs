//! Call history: one record per call, written once when the call ends.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Voice,
    Video,
}

/// How a call ended, as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Somebody answered: the call took place.
    Answered,
    /// Nobody answered before the ring timeout.
    Missed,
    /// The callee declined (1:1), or every callee declined (group).
    Declined,
    /// The caller gave up before anybody answered.
    Cancelled,
    /// The callee was already in another call.
    Busy,
    /// The call could not be set up (media failure, server shutdown before answer).
    Failed,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 6] = [
        CallOutcome::Answered,
        CallOutcome::Missed,
        CallOutcome::Declined,
        CallOutcome::Cancelled,
        CallOutcome::Busy,
        CallOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Missed => "missed",
            CallOutcome::Declined => "declined",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Busy => "busy",
            CallOutcome::Failed => "failed",
        }
    }
}

/// One stay of a user in a call (a user who leaves and rejoins has two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallParticipant {
    pub user_id: Uuid,
    pub joined_at: Millis,
    pub left_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub kind: CallKind,
    pub initiator: Uuid,
    /// Everyone the call concerned: the initiator and every member it rang. The call is listed
    /// in each one's history.
    pub invited: Vec<Uuid>,
    pub participants: Vec<CallParticipant>,
    /// When the caller started it (ringing began).
    pub started_at: Millis,
    /// When somebody first answered, if anybody did.
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    /// Talk time: from the first answer to the end (0 if never answered).
    pub duration_ms: Millis,
    pub outcome: CallOutcome,
}

impl CallRecord {
    /// Everyone whose history lists the call: the invited, the initiator and every
    /// participant, once each.
    pub fn owners(&self) -> Vec<Uuid> {
        let mut owners: Vec<Uuid> = self
            .invited
            .iter()
            .copied()
            .chain(std::iter::once(self.initiator))
            .chain(self.participants.iter().map(|p| p.user_id))
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }
}
