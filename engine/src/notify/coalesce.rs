//! The notifier task: takes triggers, coalesces message and reaction bursts per
//! (user, chat, kind), checks mute and blocks once per burst, and hands finished
//! notifications to the providers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_storage::{ChatKind, Notification, NotificationLevel, Store, StoreResult};
use serde::Deserialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::compose::{self, Place};
use super::{Provider, Trigger};
use crate::clock::now_millis;
use crate::cluster::Cluster;
use crate::content::kind;
use crate::message::ReactionBody;
use crate::metrics;
use crate::router::Router;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum BurstKind {
    Message,
    Reaction,
}

/// Events for one user in one chat, waiting for the window to close.
struct Burst {
    count: u32,
    /// Events per sender: senders the user blocked are taken out at flush.
    senders: HashMap<Uuid, u32>,
    last_sender: Uuid,
    /// Preview of the last message, or the last reaction's emoji.
    last: String,
    due: Instant,
}

type Key = (Uuid, Uuid, BurstKind);

pub(super) struct Task {
    store: Arc<dyn Store>,
    router: Arc<Router>,
    cluster: Option<Arc<Cluster>>,
    providers: Arc<Vec<Arc<dyn Provider>>>,
    window: Duration,
    pending: HashMap<Key, Burst>,
}

#[derive(Deserialize)]
struct Users {
    #[serde(default)]
    users: Vec<Uuid>,
    #[serde(default)]
    members: Vec<Uuid>,
    #[serde(default)]
    user: Option<Uuid>,
}

impl Task {
    pub(super) fn new(
        store: Arc<dyn Store>,
        router: Arc<Router>,
        cluster: Option<Arc<Cluster>>,
        providers: Vec<Arc<dyn Provider>>,
        window: Duration,
    ) -> Task {
        Task {
            store,
            router,
            cluster,
            providers: Arc::new(providers),
            window,
            pending: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Trigger>) {
        let every = (self.window / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                trigger = rx.recv() => match trigger {
                    Some(t) => {
                        if let Err(e) = self.take(t).await {
                            tracing::warn!(error = %e, "notifier: trigger failed");
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => self.flush_due().await,
            }
        }
    }

    async fn take(&mut self, trigger: Trigger) -> StoreResult<()> {
        match trigger {
            Trigger::Chat { event, offline } => match event.kind.as_str() {
                kind::MESSAGE => {
                    let preview = compose::preview(&event.body);
                    for user in offline {
                        self.add(
                            user,
                            event.chat_id,
                            BurstKind::Message,
                            event.sender,
                            &preview,
                        );
                    }
                }
                kind::REACTION => {
                    let Ok(r) = serde_json::from_str::<ReactionBody>(&event.body) else {
                        return Ok(());
                    };
                    let Some(emoji) = r.emoji else { return Ok(()) };
                    let Some(target) = self.store.event(event.chat_id, r.target).await? else {
                        return Ok(());
                    };
                    let author = target.sender;
                    if author != event.sender && !self.online(author).await {
                        self.add(
                            author,
                            event.chat_id,
                            BurstKind::Reaction,
                            event.sender,
                            &emoji,
                        );
                    }
                }
                kind::GROUP_CREATED | kind::MEMBERS_ADDED | kind::ADMIN_PROMOTED => {
                    let Ok(who) = serde_json::from_str::<Users>(&event.body) else {
                        return Ok(());
                    };
                    let promoted = event.kind == kind::ADMIN_PROMOTED;
                    let users = who.users.into_iter().chain(who.members).chain(who.user);
                    for user in users.filter(|u| *u != event.sender) {
                        if promoted && self.silenced(user, event.chat_id).await? {
                            continue;
                        }
                        let place = self.place(event.chat_id, event.sender).await?;
                        let place = Place {
                            group: place.0.as_deref(),
                            actor: &place.1,
                        };
                        let (title, body, kind) = if promoted {
                            let (t, b) = compose::group_admin(&place);
                            (t, b, "group_admin")
                        } else {
                            let (t, b) = compose::group_added(&place);
                            (t, b, "group_added")
                        };
                        self.deliver(note(
                            user,
                            kind,
                            event.chat_id,
                            Some(event.sender),
                            title,
                            body,
                            1,
                        ));
                    }
                }
                _ => {}
            },
            Trigger::Call {
                user,
                chat_id,
                caller,
                video,
                missed,
            } => {
                let (group, actor) = self.place(chat_id, caller).await?;
                let place = Place {
                    group: group.as_deref(),
                    actor: &actor,
                };
                let (title, body) = compose::call(&place, video, missed);
                let kind = if missed {
                    "missed_call"
                } else {
                    "incoming_call"
                };
                self.deliver(note(user, kind, chat_id, Some(caller), title, body, 1));
            }
        }
        Ok(())
    }

    fn add(&mut self, user: Uuid, chat: Uuid, kind: BurstKind, sender: Uuid, last: &str) {
        let due = Instant::now() + self.window;
        let burst = self
            .pending
            .entry((user, chat, kind))
            .or_insert_with(|| Burst {
                count: 0,
                senders: HashMap::new(),
                last_sender: sender,
                last: String::new(),
                due,
            });
        burst.count += 1;
        *burst.senders.entry(sender).or_default() += 1;
        burst.last_sender = sender;
        burst.last = last.to_owned();
    }

    async fn flush_due(&mut self) {
        let now = Instant::now();
        let due: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, b)| b.due <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            if let Some(burst) = self.pending.remove(&key) {
                if let Err(e) = self.flush(key, burst).await {
                    tracing::warn!(error = %e, "notifier: flush failed");
                }
            }
        }
    }

    async fn flush(&self, (user, chat, kind): Key, mut burst: Burst) -> StoreResult<()> {
        let skip = |why: &str| {
            metrics::get()
                .notifications
                .with_label_values(&["notifier", why])
                .inc()
        };
        if self.online(user).await {
            // They came back within the window and have seen it live.
            skip("online");
            return Ok(());
        }
        if self.silenced(user, chat).await? {
            skip("muted");
            return Ok(());
        }
        for (sender, n) in std::mem::take(&mut burst.senders) {
            if self.store.is_blocked(user, sender).await? {
                burst.count -= n;
            } else {
                burst.senders.insert(sender, n);
            }
        }
        if burst.count == 0 {
            skip("blocked");
            return Ok(());
        }
        // The one sender of the burst names it; several senders only in a group, named by it.
        let actor = match burst.senders.len() {
            1 => burst.senders.keys().next().copied(),
            _ => None,
        };
        let (group, name) = self.place(chat, actor.unwrap_or(burst.last_sender)).await?;
        let place = Place {
            group: group.as_deref(),
            actor: &name,
        };
        let (title, body, kind) = match kind {
            BurstKind::Message => {
                let (t, b) = compose::messages(&place, burst.count, &burst.last);
                (t, b, "message")
            }
            BurstKind::Reaction => {
                let (t, b) = compose::reactions(&place, burst.count, &burst.last);
                (t, b, "reaction")
            }
        };
        self.deliver(note(user, kind, chat, actor, title, body, burst.count));
        Ok(())
    }

    /// A live socket on any node.
    async fn online(&self, user: Uuid) -> bool {
        if self.router.is_online(user) {
            return true;
        }
        match &self.cluster {
            Some(c) => c.online_elsewhere(user).await,
            None => false,
        }
    }

    /// Muted, or the chat's notifications turned off.
    async fn silenced(&self, user: Uuid, chat: Uuid) -> StoreResult<bool> {
        let prefs = self.store.chat_prefs(user, chat).await?;
        let muted = prefs.muted_until.is_some_and(|until| until > now_millis());
        Ok(muted || prefs.notifications == NotificationLevel::None)
    }

    /// The group's title (`None` for a 1:1 chat) and the actor's display name.
    async fn place(&self, chat: Uuid, actor: Uuid) -> StoreResult<(Option<String>, String)> {
        let group = match self.store.chat(chat).await? {
            Some(c) if c.kind == ChatKind::Group => c.title.or(Some("a group".into())),
            _ => None,
        };
        let name = match self.store.user(actor).await? {
            Some(u) => u.display_name,
            None => "Someone".into(),
        };
        Ok((group, name))
    }

    fn deliver(&self, notification: Notification) {
        for provider in self.providers.iter() {
            let provider = provider.clone();
            let n = notification.clone();
            actix::spawn(async move {
                let outcome = match provider.deliver(&n).await {
                    Ok(()) => "delivered",
                    Err(e) => {
                        tracing::warn!(provider = provider.name(), error = %e, "notification not delivered");
                        "failed"
                    }
                };
                metrics::get()
                    .notifications
                    .with_label_values(&[provider.name(), outcome])
                    .inc();
            });
        }
    }
}

fn note(
    user: Uuid,
    kind: &str,
    chat: Uuid,
    actor: Option<Uuid>,
    title: String,
    body: String,
    count: u32,
) -> Notification {
    Notification {
        id: Uuid::now_v7(),
        user_id: user,
        kind: kind.into(),
        chat_id: Some(chat),
        actor_id: actor,
        title,
        body,
        count,
        created_at: now_millis(),
        read_at: None,
    }
}
