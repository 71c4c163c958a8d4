//! The one error type at the storage boundary.

/// What a store operation can fail with. Callers map these to client errors; none of them
/// means the store is in an inconsistent state.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique value is already taken; the payload names which (`"username"`, `"phone"`, ...).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The row an operation needs does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A page cursor that this backend did not produce.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The backend cannot be reached or refused the operation for now; nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Another writer claimed the chat since this one did (`TimelineStore::claim_chat`):
    /// nothing was written; this writer must stop writing to the chat.
    #[error("fenced: chat {0} is ordered by another node now")]
    Fenced(uuid::Uuid),
    /// Stored bytes that do not decode: a bug or on-disk damage.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
