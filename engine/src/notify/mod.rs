//! The notifier: turns what happens to a user while they are away into notifications, and
//! hands each one to every configured [`Provider`] (the stored inbox, a webhook; FCM, APNs or
//! Web Push plug in as further providers).
//!
//! Triggers (see docs/ARCHITECTURE.md "Notifications"):
//! - a message or a reaction to my message while I have no live session: coalesced per
//!   (user, chat, kind) over a short window ("5 new messages in Family");
//! - being added to a group, being made admin: at once;
//! - an incoming call while I have no live session, a missed call: at once.
//!
//! Mute and the chat's notification level silence messages, reactions and admin changes;
//! senders I blocked never notify me. Chat actors only enqueue a trigger (non-blocking); the
//! checks that need the store run here, on the notifier's own task, once per burst.

mod coalesce;
mod compose;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use confab_storage::{Notification, Store, StoredEvent};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::cluster::Cluster;
use crate::metrics;
use crate::router::Router;

pub use webhook::{WebhookConfig, WebhookProvider};

/// Where notifications go. `deliver` may retry internally; an `Err` is logged and counted.
#[async_trait]
pub trait Provider: Send + Sync {
    /// For metrics and logs: `inbox`, `webhook`, ...
    fn name(&self) -> &'static str;
    async fn deliver(&self, notification: &Notification) -> Result<(), String>;
}

/// The default provider: the user's inbox in the store (`GET /api/notifications`).
pub struct InboxProvider(pub Arc<dyn Store>);

#[async_trait]
impl Provider for InboxProvider {
    fn name(&self) -> &'static str {
        "inbox"
    }

    async fn deliver(&self, notification: &Notification) -> Result<(), String> {
        self.0
            .add_notification(notification.clone())
            .await
            .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Messages and reactions for one user in one chat within this window make one notification.
    pub coalesce: Duration,
    /// Keep notifications in the store's inbox.
    pub inbox: bool,
    pub webhook: Option<WebhookConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            coalesce: Duration::from_secs(3),
            inbox: true,
            webhook: None,
        }
    }
}

/// What may cause a notification.
#[derive(Debug)]
pub enum Trigger {
    /// A stored chat event; `offline` are the members (not the sender) with no live session.
    Chat {
        event: StoredEvent,
        offline: Vec<Uuid>,
    },
    /// A call rang `user` (`missed: false`, sent only when they have no live session) or
    /// ended without them answering (`missed: true`).
    Call {
        user: Uuid,
        chat_id: Uuid,
        caller: Uuid,
        video: bool,
        missed: bool,
    },
}

/// Whether an event of this kind may notify members regardless of who is online (group adds,
/// promotions) or someone other than its recipients' live state says (reactions notify the
/// reacted message's author).
pub fn concerns_others(kind: &str) -> bool {
    matches!(
        kind,
        crate::content::kind::REACTION
            | crate::content::kind::MEMBERS_ADDED
            | crate::content::kind::ADMIN_PROMOTED
            | crate::content::kind::GROUP_CREATED
    )
}

/// Triggers waiting for the notifier task; past this they are dropped (and counted).
const QUEUE: usize = 65_536;

/// The handle chat actors and call rooms hold.
pub struct Notifier {
    tx: mpsc::Sender<Trigger>,
}

impl Notifier {
    /// Starts the notifier task on the current actix arbiter.
    pub fn start(
        store: Arc<dyn Store>,
        router: Arc<Router>,
        cluster: Option<Arc<Cluster>>,
        providers: Vec<Arc<dyn Provider>>,
        coalesce: Duration,
    ) -> Arc<Notifier> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = coalesce::Task::new(store, router, cluster, providers, coalesce);
        actix::spawn(task.run(rx));
        Arc::new(Notifier { tx })
    }

    /// The providers `config` asks for.
    pub fn providers(store: &Arc<dyn Store>, config: &NotifyConfig) -> Vec<Arc<dyn Provider>> {
        let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
        if config.inbox {
            providers.push(Arc::new(InboxProvider(store.clone())));
        }
        if let Some(webhook) = &config.webhook {
            providers.push(Arc::new(WebhookProvider::new(webhook.clone())));
        }
        providers
    }

    /// Never waits: a full queue drops the trigger.
    pub fn trigger(&self, trigger: Trigger) {
        if self.tx.try_send(trigger).is_err() {
            metrics::get()
                .notifications
                .with_label_values(&["notifier", "dropped"])
                .inc();
        }
    }
}
