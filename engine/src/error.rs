//! The one error type at the engine boundary. The gateway renders each as an HTTP status and
//! a WebSocket error code; the codes are the protocol's (docs/PROTOCOL.md).

use confab_storage::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("you are not a member of this chat")]
    NotAMember,
    #[error("{0}")]
    Blocked(&'static str),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Unprocessable(&'static str),
    #[error("too many requests; slow down")]
    RateLimited,
    #[error("the store is unavailable; nothing was stored, retry")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl EngineError {
    /// The protocol's error code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NotFound(_) => "not_found",
            EngineError::NotAMember => "not_a_member",
            EngineError::Blocked(_) => "blocked",
            EngineError::Validation(_) => "validation_failed",
            EngineError::Forbidden(_) => "forbidden",
            EngineError::Unprocessable(_) => "unprocessable",
            EngineError::RateLimited => "rate_limited",
            EngineError::Unavailable => "unavailable",
            EngineError::Internal => "internal",
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => EngineError::NotFound(what),
            StoreError::Fenced(chat) => {
                tracing::info!(%chat, "chat moved to another node; this writer stopped");
                EngineError::Unavailable
            }
            StoreError::Unavailable(reason) => {
                tracing::error!(%reason, "store unavailable");
                EngineError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "unexpected store error");
                EngineError::Internal
            }
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;
