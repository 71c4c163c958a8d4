//! Finds or starts the actor of a chat. Actors are spread over one arbiter (thread) per core
//! by chat id, so one busy chat cannot stall the others and all cores share the work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, Arbiter, ArbiterHandle};
use confab_storage::Store;
use uuid::Uuid;

use super::{ChatActor, ChatRules};
use crate::notify::Notifier;
use crate::router::Router;

const SHARDS: usize = 64;

pub struct ChatDirectory {
    shards: Vec<Mutex<HashMap<Uuid, Addr<ChatActor>>>>,
    arbiters: Vec<ArbiterHandle>,
    /// Kept so the arbiters live as long as the directory.
    _owned: Vec<Arbiter>,
    store: Arc<dyn Store>,
    router: Arc<Router>,
    notifier: Arc<Notifier>,
    rules: ChatRules,
}

impl ChatDirectory {
    /// Starts `threads` arbiters (at least one) for the chat actors.
    pub fn new(
        store: Arc<dyn Store>,
        router: Arc<Router>,
        notifier: Arc<Notifier>,
        threads: usize,
        rules: ChatRules,
    ) -> Arc<Self> {
        let owned: Vec<Arbiter> = (0..threads.max(1)).map(|_| Arbiter::new()).collect();
        Arc::new(ChatDirectory {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            arbiters: owned.iter().map(Arbiter::handle).collect(),
            _owned: owned,
            store,
            router,
            notifier,
            rules,
        })
    }

    /// The chat's actor, started if it is not running.
    pub fn get(self: &Arc<Self>, chat_id: Uuid) -> Addr<ChatActor> {
        let key = chat_id.as_u128();
        let mut shard = self.shards[(key % SHARDS as u128) as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = shard.get(&chat_id).filter(|a| a.connected()) {
            return addr.clone();
        }
        let arbiter = &self.arbiters[((key >> 64) as usize) % self.arbiters.len()];
        let (store, router, notifier, directory, rules) = (
            self.store.clone(),
            self.router.clone(),
            self.notifier.clone(),
            Arc::downgrade(self),
            self.rules,
        );
        let addr = ChatActor::start_in_arbiter(arbiter, move |_| {
            ChatActor::new(chat_id, store, router, notifier, directory, rules)
        });
        shard.insert(chat_id, addr.clone());
        addr
    }

    /// Called by an actor that stops: forgets it unless a newer actor took its place.
    pub fn forget(&self, chat_id: Uuid, addr: &Addr<ChatActor>) {
        let key = chat_id.as_u128();
        let mut shard = self.shards[(key % SHARDS as u128) as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if shard.get(&chat_id).is_some_and(|a| a == addr) {
            shard.remove(&chat_id);
        }
    }

    /// Stops the actors of the chats `moved` picks (another node orders them now).
    pub fn stop_where(&self, moved: impl Fn(Uuid) -> bool) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.retain(|chat_id, addr| {
                if moved(*chat_id) {
                    addr.do_send(super::actor::Release);
                    false
                } else {
                    true
                }
            });
        }
    }

    pub fn running(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}
