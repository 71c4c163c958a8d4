//! The one error type at the engine boundary. The gateway renders each as an HTTP status and
//! a WebSocket error code; the codes are the protocol's (docs/PROTOCOL.md).

use confab_storage::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// No such thing, or not one you may see: a chat you are not a member of is `NotFound`
    /// too (see [`EngineError::no_chat`]).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Blocked(&'static str),
    #[error("{0}")]
    Validation(String),
    /// A paging cursor the server did not hand out (or one from another listing).
    #[error("this cursor is not valid here")]
    InvalidCursor,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Unprocessable(&'static str),
    /// A unique value already in use: `"username"`, `"phone"`, `"contact"` (REST only).
    #[error("{} already in use", .0)]
    Conflict(&'static str),
    #[error("too many requests; slow down")]
    RateLimited,
    #[error("the store is unavailable; nothing was stored, retry")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl EngineError {
    /// Every code [`EngineError::code`] can answer: the protocol docs are checked against it.
    pub const CODES: &'static [&'static str] = &[
        "not_found",
        "blocked",
        "validation_failed",
        "invalid_cursor",
        "forbidden",
        "unprocessable",
        "username_taken",
        "phone_taken",
        "contact_exists",
        "conflict",
        "rate_limited",
        "unavailable",
        "internal",
    ];

    /// The codes only account and contact operations answer: REST, never the WebSocket.
    pub const REST_ONLY_CODES: &'static [&'static str] = &[
        "username_taken",
        "phone_taken",
        "contact_exists",
        "conflict",
    ];

    /// What a stranger learns of a chat: exactly what they would learn of one that does not
    /// exist (docs/PROTOCOL.md, "Errors"; docs/REST.md).
    pub fn no_chat() -> Self {
        EngineError::NotFound("chat")
    }

    /// The protocol's error code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NotFound(_) => "not_found",
            EngineError::Blocked(_) => "blocked",
            EngineError::Validation(_) => "validation_failed",
            EngineError::InvalidCursor => "invalid_cursor",
            EngineError::Forbidden(_) => "forbidden",
            EngineError::Unprocessable(_) => "unprocessable",
            EngineError::Conflict("username") => "username_taken",
            EngineError::Conflict("phone") => "phone_taken",
            EngineError::Conflict("contact") => "contact_exists",
            EngineError::Conflict(_) => "conflict",
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
            StoreError::InvalidCursor => EngineError::InvalidCursor,
            StoreError::Conflict(what @ ("username" | "phone" | "contact")) => {
                EngineError::Conflict(what)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant. The match below stops compiling when a variant is added, so the
    /// new one is listed here (and its code in [`EngineError::CODES`]).
    fn one_of_each() -> Vec<EngineError> {
        let all = vec![
            EngineError::NotFound("chat"),
            EngineError::Blocked("b"),
            EngineError::Validation("v".into()),
            EngineError::InvalidCursor,
            EngineError::Forbidden("f"),
            EngineError::Unprocessable("u"),
            EngineError::Conflict("username"),
            EngineError::Conflict("phone"),
            EngineError::Conflict("contact"),
            EngineError::Conflict("other"),
            EngineError::RateLimited,
            EngineError::Unavailable,
            EngineError::Internal,
        ];
        for e in &all {
            match e {
                EngineError::NotFound(_)
                | EngineError::Blocked(_)
                | EngineError::Validation(_)
                | EngineError::InvalidCursor
                | EngineError::Forbidden(_)
                | EngineError::Unprocessable(_)
                | EngineError::Conflict(_)
                | EngineError::RateLimited
                | EngineError::Unavailable
                | EngineError::Internal => {}
            }
        }
        all
    }

    #[test]
    fn codes_lists_every_code_once() {
        let codes: Vec<&str> = one_of_each().iter().map(EngineError::code).collect();
        assert_eq!(codes, EngineError::CODES);
    }
}
