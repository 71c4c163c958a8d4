//! Confab's call signalling: the 1:1 and group call state machines, call room actors and the
//! embedded WebRTC SFU. Not built yet: calls are a later issue (see docs/ARCHITECTURE.md).
//!
//! It may depend on `confab-engine` (membership, blocking, presence), never on the gateway.

pub mod call;
pub mod sfu;
#[cfg(feature = "testpeer")]
pub mod testpeer;
