//! Confab's engine: the domain rules and the actors that carry them: chat actors (ordering,
//! durability, fan-out), the session router, presence, and permissions.
//!
//! It depends on `confab-storage` for rows and store traits and on actix for actors. It must
//! never depend on HTTP, WebSocket framing or the gateway: it pushes domain values
//! ([`push::Push`]) and the gateway decides their wire form.

pub mod accounts;
pub mod broadcast;
pub mod chat;
pub mod chats;
pub mod clock;
pub mod cluster;
pub mod content;
mod engine;
pub mod error;
pub mod inbox;
pub mod media;
pub mod message;
pub mod metrics;
pub mod notify;
pub mod people;
pub mod personal;
pub mod presence;
pub mod privacy;
pub mod push;
pub mod router;
pub mod status;

/// The records the engine's methods take and return (the store's model), re-exported so the
/// gateway and signalling name them without depending on the store.
pub use confab_storage::model;
pub use engine::{Engine, EngineConfig};
pub use error::{EngineError, EngineResult};
