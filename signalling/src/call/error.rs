//! Why a call request failed. Each has a stable wire code (docs/PROTOCOL.md, "Calls").

use confab_engine::EngineError;

use super::state::Refusal;
use crate::sfu::SfuError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// Membership, blocking and store errors, with the engine's codes.
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("no such call")]
    CallNotFound,
    #[error("the call has ended")]
    Ended,
    #[error("the other person is in another call")]
    Busy,
    #[error("you are already in a call")]
    AlreadyInCall,
    #[error("this chat already has a call; join it")]
    CallInProgress,
    #[error("you are not in this call")]
    NotInCall,
    #[error("{0}")]
    Validation(&'static str),
    #[error("{0}")]
    Media(SfuError),
    #[error("calls are not available on this server")]
    Unavailable,
}

impl CallError {
    pub fn code(&self) -> &'static str {
        match self {
            CallError::Engine(e) => e.code(),
            CallError::CallNotFound => "call_not_found",
            CallError::Ended => "call_ended",
            CallError::Busy => "busy",
            CallError::AlreadyInCall => "already_in_call",
            CallError::CallInProgress => "call_in_progress",
            CallError::NotInCall => "not_in_call",
            CallError::Validation(_) => "validation_failed",
            CallError::Media(e) => match e {
                SfuError::BadSdp(_) => "bad_sdp",
                SfuError::BadCandidate(_) => "bad_candidate",
                SfuError::UnknownParticipant => "not_in_call",
                SfuError::AlreadyJoined => "already_in_call",
                SfuError::RoomClosed => "call_ended",
                SfuError::BadConfig(_) | SfuError::Internal(_) => "media_failed",
            },
            CallError::Unavailable => "unavailable",
        }
    }
}

impl From<Refusal> for CallError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Ended => CallError::Ended,
            Refusal::NotInCall => CallError::NotInCall,
            Refusal::AlreadyJoined => CallError::AlreadyInCall,
            Refusal::NotInvited => CallError::CallNotFound,
        }
    }
}

impl From<SfuError> for CallError {
    fn from(e: SfuError) -> Self {
        CallError::Media(e)
    }
}
