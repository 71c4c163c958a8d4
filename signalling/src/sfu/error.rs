/// Why an SFU operation failed. The room carries on after any of these.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SfuError {
    /// The SDP could not be parsed or applied.
    #[error("bad SDP: {0}")]
    BadSdp(String),
    /// The ICE candidate could not be parsed or applied.
    #[error("bad ICE candidate: {0}")]
    BadCandidate(String),
    /// No such participant in this room.
    #[error("unknown participant")]
    UnknownParticipant,
    /// The participant is already in this room.
    #[error("already joined")]
    AlreadyJoined,
    /// The room was closed (or the SFU stopped).
    #[error("room closed")]
    RoomClosed,
    /// The SFU configuration is unusable (no bind IP, bad port range).
    #[error("bad SFU configuration: {0}")]
    BadConfig(String),
    /// A failure inside the SFU (socket bind, WebRTC internals).
    #[error("internal SFU error: {0}")]
    Internal(String),
}

impl SfuError {
    /// A stable machine-readable code, for wire errors.
    pub fn code(&self) -> &'static str {
        match self {
            SfuError::BadSdp(_) => "bad_sdp",
            SfuError::BadCandidate(_) => "bad_candidate",
            SfuError::UnknownParticipant => "unknown_participant",
            SfuError::AlreadyJoined => "already_joined",
            SfuError::RoomClosed => "room_closed",
            SfuError::BadConfig(_) => "bad_config",
            SfuError::Internal(_) => "internal",
        }
    }
}
