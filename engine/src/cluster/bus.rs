//! What nodes say to each other over Redis pub/sub: JSON messages on the broadcast channel
//! (every node) or on one node's own channel.

use std::collections::HashSet;
use std::sync::Mutex;

use confab_storage::{Millis, ReceiptKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chat::{Op, Sent};
use crate::error::EngineError;
use crate::push::PushKind;

/// Every node listens here.
pub const BROADCAST: &str = "confab:bus";

/// One node's own channel (asks for the chats it orders, replies to its asks).
pub fn node_channel(node: Uuid) -> String {
    format!("confab:node:{node}")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusMessage {
    /// Queue `push` on the local sockets of `users` (the sender delivered to its own already).
    Deliver {
        from: Uuid,
        users: Vec<Uuid>,
        push: PushKind,
    },
    /// `user`'s presence changed: tell the local sockets watching them.
    Presence {
        from: Uuid,
        user: Uuid,
        online: bool,
        last_seen: Option<Millis>,
    },
    /// Close the local sockets of one device session, or of a user (`device_session: None`).
    Close {
        from: Uuid,
        user: Uuid,
        device_session: Option<Uuid>,
        code: u16,
        reason: String,
    },
    /// A command for a chat this node orders; answer on `reply_to`'s channel.
    Ask {
        id: u64,
        reply_to: Uuid,
        chat_id: Uuid,
        command: ChatCommand,
    },
    Reply {
        id: u64,
        result: Result<ChatReply, WireError>,
    },
}

/// The chat actor's messages, as they travel between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "c", rename_all = "snake_case")]
pub enum ChatCommand {
    Post {
        sender: Uuid,
        op: Op,
    },
    Mark {
        user: Uuid,
        kind: ReceiptKind,
        seq: u64,
        at: Millis,
    },
    Typing {
        user: Uuid,
        typing: bool,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum ChatReply {
    Sent(Sent),
    Done,
}

/// An `EngineError` on the wire; `NotOwner` when the asked node does not order that chat (any
/// more): the asker looks the owner up again and retries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum WireError {
    NotOwner,
    Engine { code: String, message: String },
}

impl From<&EngineError> for WireError {
    fn from(e: &EngineError) -> Self {
        let message = match e {
            EngineError::NotFound(what)
            | EngineError::Blocked(what)
            | EngineError::Forbidden(what)
            | EngineError::Unprocessable(what) => (*what).to_owned(),
            EngineError::Validation(m) => m.clone(),
            _ => String::new(),
        };
        WireError::Engine {
            code: e.code().to_owned(),
            message,
        }
    }
}

impl WireError {
    pub fn into_engine(self) -> EngineError {
        let WireError::Engine { code, message } = self else {
            return EngineError::Unavailable;
        };
        match code.as_str() {
            "not_found" => EngineError::NotFound(intern(message)),
            // Nodes before the one-rule change sent strangers `not_a_member`.
            "not_a_member" => EngineError::no_chat(),
            "blocked" => EngineError::Blocked(intern(message)),
            "validation_failed" => EngineError::Validation(message),
            "invalid_cursor" => EngineError::InvalidCursor,
            "forbidden" => EngineError::Forbidden(intern(message)),
            "unprocessable" => EngineError::Unprocessable(intern(message)),
            "rate_limited" => EngineError::RateLimited,
            "unavailable" => EngineError::Unavailable,
            _ => EngineError::Internal,
        }
    }
}

/// Error texts that are `&'static str` in `EngineError` come from a fixed set of constants in
/// the code; a node keeps one copy of each it has seen from its peers. The cap guards against
/// a misbehaving peer.
fn intern(s: String) -> &'static str {
    const CAP: usize = 4096;
    static SEEN: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let set = seen.get_or_insert_with(HashSet::new);
    if let Some(known) = set.get(s.as_str()) {
        return known;
    }
    if set.len() >= CAP {
        return "error";
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    set.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip() {
        for e in [
            EngineError::NotFound("message"),
            EngineError::no_chat(),
            EngineError::Validation("content.text: too long".into()),
            EngineError::Unprocessable("this message was deleted"),
            EngineError::RateLimited,
            EngineError::InvalidCursor,
            EngineError::Blocked("you cannot message this user"),
            EngineError::Forbidden("only admins can do this"),
            EngineError::Unavailable,
        ] {
            let wire: WireError =
                serde_json::from_str(&serde_json::to_string(&WireError::from(&e)).unwrap())
                    .unwrap();
            let back = wire.into_engine();
            assert_eq!(back.to_string(), e.to_string());
            assert_eq!(back.code(), e.code());
        }
    }

    #[test]
    fn interning_keeps_one_copy() {
        let a = intern("group".to_owned());
        let b = intern("group".to_owned());
        assert!(std::ptr::eq(a, b));
    }
}
