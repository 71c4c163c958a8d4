//! Confab's engine: the domain rules and (from the realtime core on) the actors that carry them:
//! chat actors, the session router, presence, ordering, fan-out and permissions.
//!
//! It depends on `confab-storage` for its rows and store traits, and must never depend on HTTP,
//! WebSocket framing or the gateway: the same engine must serve any front door.

pub mod privacy;
