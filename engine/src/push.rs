//! What the engine pushes to live sessions, and the handle through which it reaches one.
//!
//! A push is built once per event and shared (`Arc`) by every recipient; its wire encoding is
//! cached in the push itself, so a fan-out to N devices serialises once. The encoding belongs to
//! the gateway (the engine knows no wire format): it fills `encoded` on first use.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use confab_storage::{Millis, ReceiptKind, StoredEvent};
use tokio::sync::mpsc;
use uuid::Uuid;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "push", rename_all = "snake_case")]
pub enum PushKind {
    /// A timeline event of a chat the recipient is in.
    Event(StoredEvent),
    /// `user_id`'s receipt pointer moved.
    Receipt {
        chat_id: Uuid,
        user_id: Uuid,
        kind: ReceiptKind,
        up_to_seq: u64,
        at: Millis,
    },
    Typing {
        chat_id: Uuid,
        user_id: Uuid,
        typing: bool,
    },
    Presence {
        user_id: Uuid,
        online: bool,
        last_seen: Option<Millis>,
    },
    /// Events I deleted for me (sent to my devices only).
    Hidden { chat_id: Uuid, seqs: Vec<u64> },
    /// A status posted or deleted by someone whose audience the recipient is in.
    Status(crate::status::StatusPush),
    /// A frame its producer encoded itself (call signalling, `confab-signalling`), sent as is.
    /// Node-local (calls live on one node), so never sent to other nodes.
    #[serde(skip)]
    Frame(Bytes),
}

#[derive(Debug)]
pub struct Push {
    pub kind: PushKind,
    /// The wire frame, encoded once by the first session that writes it.
    pub encoded: OnceLock<Bytes>,
}

impl Push {
    pub fn new(kind: PushKind) -> Arc<Self> {
        Arc::new(Push {
            kind,
            encoded: OnceLock::new(),
        })
    }
}

/// One item of a session's outbound queue.
#[derive(Debug)]
pub enum Outbound {
    Push(Arc<Push>),
    /// An answer already encoded by the session (JSON, sent as a text frame).
    Frame(Bytes),
    Ping,
    /// The answer to a client's ping frame, echoing its payload.
    Pong(Bytes),
    /// Close the socket with this code and reason, then stop writing.
    Close(u16, &'static str),
}

/// Close codes of the protocol (docs/PROTOCOL.md).
pub mod close {
    pub const SHUTDOWN: u16 = 1001;
    pub const TOO_BIG: u16 = 1009;
    pub const REVOKED: u16 = 4001;
    pub const HEARTBEAT_TIMEOUT: u16 = 4002;
    pub const SLOW_CONSUMER: u16 = 4008;
    pub const FLOOD: u16 = 4029;

    /// The reason this node uses for `code` (close reasons are static), else a generic one.
    pub fn reason_of(code: u16, _sent: &str) -> &'static str {
        match code {
            SHUTDOWN => "server shutting down",
            TOO_BIG => "frame too large",
            REVOKED => "session revoked",
            HEARTBEAT_TIMEOUT => "heartbeat timeout",
            SLOW_CONSUMER => "slow consumer",
            FLOOD => "too many frames",
            _ => "closed",
        }
    }
}

/// Outbound queue length per session. A session that lets it fill is cut off (4008).
pub const OUTBOUND_QUEUE: usize = 1024;
/// Slots kept free for the close frame itself.
const CLOSE_RESERVE: usize = 4;

/// Asks a session to close itself.
#[derive(actix::Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct CloseSession {
    pub code: u16,
    pub reason: &'static str,
}

/// How the engine reaches one live socket (one device).
#[derive(Clone)]
pub struct SessionHandle {
    pub conn_id: u64,
    pub user_id: Uuid,
    /// The device session (login) this socket belongs to.
    pub device_session: Uuid,
    pub out: mpsc::Sender<Outbound>,
    pub control: actix::Recipient<CloseSession>,
}

/// The outcome of offering an item to a session's queue.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Queued,
    /// The queue was full: the session is being closed as a slow consumer.
    SlowConsumer,
    /// The session is gone.
    Closed,
}

impl SessionHandle {
    /// Queues `item` without waiting. A full queue closes the session (4008) instead: a client
    /// that does not read must not make the server hold its backlog.
    pub fn offer(&self, item: Outbound) -> Offer {
        if self.out.is_closed() {
            return Offer::Closed;
        }
        if self.out.capacity() <= CLOSE_RESERVE {
            let _ = self
                .out
                .try_send(Outbound::Close(close::SLOW_CONSUMER, "slow consumer"));
            self.control.do_send(CloseSession {
                code: close::SLOW_CONSUMER,
                reason: "slow consumer",
            });
            crate::metrics::get().slow_consumers.inc();
            return Offer::SlowConsumer;
        }
        match self.out.try_send(item) {
            Ok(()) => Offer::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.control.do_send(CloseSession {
                    code: close::SLOW_CONSUMER,
                    reason: "slow consumer",
                });
                crate::metrics::get().slow_consumers.inc();
                Offer::SlowConsumer
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Offer::Closed,
        }
    }
}
