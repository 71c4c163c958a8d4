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
    /// The codes a call request can answer besides the engine's ([`EngineError::CODES`]); the
    /// protocol docs are checked against both.
    pub const CODES: &'static [&'static str] = &[
        "call_not_found",
        "call_ended",
        "busy",
        "already_in_call",
        "call_in_progress",
        "not_in_call",
        "validation_failed",
        "bad_sdp",
        "bad_candidate",
        "media_failed",
        "unavailable",
    ];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_lists_every_call_code() {
        let all = [
            CallError::CallNotFound,
            CallError::Ended,
            CallError::Busy,
            CallError::AlreadyInCall,
            CallError::CallInProgress,
            CallError::NotInCall,
            CallError::Validation("v"),
            CallError::Media(SfuError::BadSdp(String::new())),
            CallError::Media(SfuError::BadCandidate(String::new())),
            CallError::Media(SfuError::UnknownParticipant),
            CallError::Media(SfuError::AlreadyJoined),
            CallError::Media(SfuError::RoomClosed),
            CallError::Media(SfuError::BadConfig(String::new())),
            CallError::Media(SfuError::Internal(String::new())),
            CallError::Unavailable,
        ];
        for e in &all {
            // Stops compiling when a variant is added: list it above and its code in CODES.
            match e {
                CallError::Engine(_)
                | CallError::CallNotFound
                | CallError::Ended
                | CallError::Busy
                | CallError::AlreadyInCall
                | CallError::CallInProgress
                | CallError::NotInCall
                | CallError::Validation(_)
                | CallError::Media(_)
                | CallError::Unavailable => {}
            }
            assert!(CallError::CODES.contains(&e.code()), "{}", e.code());
        }
        for code in CallError::CODES {
            assert!(
                all.iter().any(|e| e.code() == *code),
                "{code} is never answered"
            );
        }
    }
}
