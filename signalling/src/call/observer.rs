//! The hook through which notifications (push to offline devices) learn about calls. The
//! notifier implements it; until then [`NoObserver`] does nothing.

use confab_storage::CallRecord;
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
