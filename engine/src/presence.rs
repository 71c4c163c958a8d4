//! Online / last-seen presence: derived from the router (a user with a live socket is online),
//! stored as last seen when their last socket closes, and pushed to the sockets that subscribed
//! and may see it.

use confab_storage::Millis;
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::EngineResult;
use crate::privacy::{may_see, Relation};
use crate::push::{Offer, Outbound, Push, PushKind, SessionHandle};

/// Most users one subscription frame may name.
pub const MAX_SUBSCRIBE: usize = 256;

impl Engine {
    /// A socket opened: registers it, and announces the user online if it is their first.
    pub async fn connect(&self, handle: SessionHandle) {
        let user = handle.user_id;
        if self.router.register(handle) {
            if let Some(cluster) = &self.cluster {
                cluster.set_online_here(user, true).await;
                cluster.forward_presence(user, true, None);
            }
            self.announce_here(user, true, None).await;
        }
    }

    /// A socket closed: unregisters it; the user's last socket stores and announces last seen.
    pub async fn disconnect(&self, user: Uuid, conn_id: u64) {
        if self.router.unregister(user, conn_id) {
            if let Some(cluster) = &self.cluster {
                cluster.set_online_here(user, false).await;
                if cluster.online_elsewhere(user).await {
                    // Still online on another node: no last seen, no announcement.
                    return;
                }
            }
            let now = now_millis();
            if let Err(e) = self.store.set_last_seen(user, now).await {
                tracing::warn!(user_id = %user, error = %e, "cannot store last seen");
            }
            if let Some(cluster) = &self.cluster {
                cluster.forward_presence(user, false, Some(now));
            }
            self.announce_here(user, false, Some(now)).await;
        }
    }

    /// Whether `user` has a live socket on any node.
    pub async fn is_online(&self, user: Uuid) -> bool {
        if self.router.is_online(user) {
            return true;
        }
        match &self.cluster {
            Some(cluster) => cluster.online_elsewhere(user).await,
            None => false,
        }
    }

    /// Tells the sockets on this node that watch `user`.
    pub(crate) async fn announce_here(&self, user: Uuid, online: bool, last_seen: Option<Millis>) {
        let watchers = self.router.watchers_of(user);
        if watchers.is_empty() {
            return;
        }
        let push = Push::new(PushKind::Presence {
            user_id: user,
            online,
            last_seen,
        });
        for (viewer, handle) in watchers {
            // Privacy and blocks can change after subscribing: check at every push.
            match self.may_see_presence(viewer, user).await {
                Ok(true) => {
                    handle.offer(Outbound::Push(push.clone()));
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "presence check failed"),
            }
        }
    }

    /// Whether `viewer` may see `owner`'s online state and last seen: not blocked by them, a
    /// relation (a shared chat, or a contact either way), and the owner's `last_seen` setting.
    pub async fn may_see_presence(&self, viewer: Uuid, owner: Uuid) -> EngineResult<bool> {
        if viewer == owner {
            return Ok(true);
        }
        let store = &self.store;
        if store.is_blocked(owner, viewer).await? {
            return Ok(false);
        }
        let in_owners_contacts = store.contact(owner, viewer).await?.is_some();
        let related = in_owners_contacts
            || store.contact(viewer, owner).await?.is_some()
            || share_a_chat(
                &store.user_chats(viewer).await?,
                &store.user_chats(owner).await?,
            );
        if !related {
            return Ok(false);
        }
        let privacy = store.privacy(owner).await?;
        Ok(may_see(
            privacy.last_seen,
            Relation {
                is_self: false,
                in_owners_contacts,
                blocked_by_owner: false,
            },
        ))
    }

    /// Subscribes a socket to users' presence and sends their current state right away. Users
    /// the viewer may not see are left out silently. `false`: the socket's limit was reached.
    pub async fn subscribe_presence(
        &self,
        handle: &SessionHandle,
        users: &[Uuid],
    ) -> EngineResult<bool> {
        let viewer = handle.user_id;
        for &user in users {
            if !self.may_see_presence(viewer, user).await? {
                continue;
            }
            if !self.router.watch(user, viewer, handle) {
                return Ok(false);
            }
            let online = self.is_online(user).await;
            let last_seen = if online {
                None
            } else {
                self.store.last_seen(user).await?
            };
            let push = Push::new(PushKind::Presence {
                user_id: user,
                online,
                last_seen,
            });
            if handle.offer(Outbound::Push(push)) != Offer::Queued {
                break;
            }
        }
        Ok(true)
    }

    pub fn unsubscribe_presence(&self, conn_id: u64, users: &[Uuid]) {
        for &user in users {
            self.router.unwatch(user, conn_id);
        }
    }
}

/// Both lists come sorted from the store (by chat id).
fn share_a_chat(a: &[Uuid], b: &[Uuid]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    false
}
