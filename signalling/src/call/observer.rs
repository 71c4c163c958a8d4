//! The hook through which notifications (push to offline devices) learn about calls:
//! [`NotifyObserver`] hands them to the engine's notifier; [`NoObserver`] does nothing.

use std::sync::Arc;

use confab_engine::model::{CallKind, CallRecord};
use confab_engine::notify::{Notifier, Trigger};
use uuid::Uuid;

/// An incoming call, as an observer sees it.
#[derive(Debug, Clone)]
pub struct IncomingCall {
    pub call_id: Uuid,
    pub chat_id: Uuid,
    pub caller: Uuid,
    pub video: bool,
}

pub trait CallObserver: Send + Sync {
    /// A call rings `callee`, who has no live session on this node (no device can ring).
    fn incoming(&self, _callee: Uuid, _call: &IncomingCall) {}
    /// `callee` did not answer before the ring timeout (or the caller cancelled it first).
    fn missed(&self, _callee: Uuid, _call: &CallRecord) {}
}

/// Does nothing.
pub struct NoObserver;

impl CallObserver for NoObserver {}

/// Incoming calls for users with no live session, and missed calls, become notifications.
pub struct NotifyObserver(pub Arc<Notifier>);

impl CallObserver for NotifyObserver {
    fn incoming(&self, callee: Uuid, call: &IncomingCall) {
        self.0.trigger(Trigger::Call {
            user: callee,
            chat_id: call.chat_id,
            caller: call.caller,
            video: call.video,
            missed: false,
        });
    }

    fn missed(&self, callee: Uuid, call: &CallRecord) {
        self.0.trigger(Trigger::Call {
            user: callee,
            chat_id: call.chat_id,
            caller: call.initiator,
            video: call.kind == CallKind::Video,
            missed: true,
        });
    }
}
