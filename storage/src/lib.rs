//! Confab's durable state: the store traits, one per concern, and their backends.
//!
//! The gateway and the engine talk to a [`Store`] (every trait at once) and never to a backend
//! directly, so the embedded store and ScyllaDB ([`scylla`]) are interchangeable by configuration.
//! Every backend must pass [`conformance`].
//!
//! This crate must never depend on actix, HTTP, or any other Confab crate: it knows rows and
//! atomic operations, not actors or requests.

pub mod blob;
pub mod conformance;
pub mod embedded;
mod error;
pub mod model;
pub mod scylla;
mod traits;

pub use error::{StoreError, StoreResult};
pub use model::*;
pub use traits::*;
