//! Calls: the state machine ([`state`]), one room actor per live call ([`room`]) and the
//! [`Calls`] facade the gateway's sessions talk to. Media goes through the embedded SFU
//! ([`crate::sfu`]); signalling (ringing, SDP, ICE candidates) over the client's WebSocket.

mod calls;
mod error;
pub mod frames;
pub mod metrics;
mod observer;
mod room;
pub mod state;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use calls::{Calls, JoinedCall};
pub use error::CallError;
pub use observer::{CallObserver, IncomingCall, NoObserver, NotifyObserver};

/// A STUN or TURN server handed to clients (the WebRTC `RTCIceServer` shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CallConfig {
    /// Unanswered calls end as missed after this long.
    pub ring_timeout: Duration,
    /// A participant whose socket closed may rejoin for this long before being removed.
    pub reconnect_grace: Duration,
    pub ice_servers: Vec<IceServer>,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            ring_timeout: Duration::from_secs(45),
            reconnect_grace: Duration::from_secs(15),
            ice_servers: Vec::new(),
        }
    }
}

/// Largest SDP accepted from a client (an offer with audio and video is a few KB).
pub const MAX_SDP_BYTES: usize = 32 * 1024;
