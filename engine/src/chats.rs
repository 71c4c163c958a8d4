//! Chat creation, the chat list, history, sync and message info: the reads and the rules
//! around them. Writes to a timeline always go through the chat's actor.

use confab_storage::{
    Chat, ChatKind, ChatState, Member, NewEvent, ReceiptKind, ReceiptPointers, Role, StoredEvent,
};
use uuid::Uuid;

use crate::clock::now_millis;
use crate::content::{kind, GroupCreated};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::message::MessageBody;
use crate::notify::Trigger;
use crate::push::{Push, PushKind};

pub const MAX_TITLE_CHARS: usize = 64;
/// Unread counts stop counting here (clients show "999+").
pub const UNREAD_CAP: u32 = 999;
pub const MAX_SYNC_LIMIT: usize = 1000;
/// What an event I deleted for me becomes in my history and syncs.
pub const HIDDEN_KIND: &str = "hidden";

#[derive(Debug, Clone)]
pub struct ChatView {
    pub chat: Chat,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone)]
pub struct ChatSummary {
    pub view: ChatView,
    pub prefs: confab_storage::ChatPrefs,
    /// Archived, as the user's "keep chats archived" setting resolves it now.
    pub archived: bool,
    pub state: ChatState,
    pub last_message: Option<StoredEvent>,
    pub unread_count: u32,
    pub pointers: ReceiptPointers,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<StoredEvent>,
    pub has_more: bool,
}

#[derive(Debug, Clone)]
pub struct Synced {
    pub events: Vec<StoredEvent>,
    pub last_seq: u64,
    pub has_more: bool,
}

#[derive(Debug, Clone)]
pub struct MemberReceipt {
    pub user_id: Uuid,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
}

/// Where to read a chat's history from.
#[derive(Debug, Clone, Copy)]
pub enum HistoryFrom {
    Latest,
    After(u64),
    Before(u64),
}

/// Fills in the quoted message of replies (sender, preview, deleted) as it is now.
pub async fn decorate(
    store: &dyn confab_storage::Store,
    events: &mut [StoredEvent],
) -> EngineResult<()> {
    let mut quoted: std::collections::HashMap<(Uuid, u64), Option<(Uuid, MessageBody)>> =
        Default::default();
    for e in events.iter_mut().filter(|e| e.is_message()) {
        let mut body = MessageBody::parse(&e.body)?;
        let Some(reply) = body.reply_to.as_mut() else {
            continue;
        };
        let key = (e.chat_id, reply.seq);
        let found = match quoted.get(&key) {
            Some(found) => found.clone(),
            None => {
                let found = match store.event(e.chat_id, reply.seq).await? {
                    Some(q) if q.is_message() => Some((q.sender, MessageBody::parse(&q.body)?)),
                    _ => None,
                };
                quoted.insert(key, found.clone());
                found
            }
        };
        match &found {
            Some((sender, q)) => {
                reply.sender = Some(*sender);
                reply.deleted = q.is_deleted();
                reply.preview = q.preview();
            }
            None => reply.deleted = true,
        }
        e.body = body.to_json()?;
    }
    Ok(())
}

impl Engine {
    /// `user` must be a member: a chat you are not in looks the same as none (`NotFound`).
    async fn member_view(&self, user: Uuid, chat_id: Uuid) -> EngineResult<ChatView> {
        let chat = self
            .store
            .chat(chat_id)
            .await?
            .ok_or(EngineError::NotFound("chat"))?;
        let members = self.store.members(chat_id).await?;
        if !members.iter().any(|m| m.user_id == user) {
            return Err(EngineError::NotFound("chat"));
        }
        Ok(ChatView { chat, members })
    }

    /// The 1:1 chat of `me` and `other`, created if needed; the flag says whether it was.
    pub async fn open_direct(&self, me: Uuid, other: Uuid) -> EngineResult<(ChatView, bool)> {
        if me == other {
            return Err(EngineError::Unprocessable(
                "you cannot open a chat with yourself",
            ));
        }
        match self.store.user(other).await? {
            Some(u) if !u.disabled => {}
            _ => return Err(EngineError::NotFound("user")),
        }
        if self.blocked_between(me, other).await? {
            return Err(EngineError::Blocked("you cannot message this user"));
        }
        let candidate = Chat {
            id: Uuid::now_v7(),
            kind: ChatKind::Direct,
            title: None,
            created_by: me,
            created_at: now_millis(),
            info: Default::default(),
        };
        let (chat, created) = self
            .store
            .get_or_create_direct(candidate, me, other)
            .await?;
        let members = self.store.members(chat.id).await?;
        Ok((ChatView { chat, members }, created))
    }

    /// Creates a group with `me` as its admin; its first event (seq 1) says so, live to all.
    pub async fn create_group(
        &self,
        me: Uuid,
        title: &str,
        member_ids: &[Uuid],
    ) -> EngineResult<ChatView> {
        let title = title.trim();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE_CHARS
            || title.chars().any(char::is_control)
        {
            return Err(EngineError::Validation(format!(
                "title: must be 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        let mut others: Vec<Uuid> = member_ids.iter().copied().filter(|id| *id != me).collect();
        others.sort_unstable();
        others.dedup();
        let max_others = self.config.max_group_members.saturating_sub(1);
        if others.is_empty() || others.len() > max_others {
            return Err(EngineError::Validation(format!(
                "member_ids: give 1 to {max_others} other users"
            )));
        }
        for id in &others {
            match self.store.user(*id).await? {
                Some(u) if !u.disabled => {}
                _ => return Err(EngineError::NotFound("user")),
            }
            if self.store.is_blocked(*id, me).await? {
                return Err(EngineError::Blocked(
                    "a user you tried to add has blocked you",
                ));
            }
        }
        let now = now_millis();
        let chat = Chat {
            id: Uuid::now_v7(),
            kind: ChatKind::Group,
            title: Some(title.to_owned()),
            created_by: me,
            created_at: now,
            info: Default::default(),
        };
        let mut members = vec![Member {
            user_id: me,
            role: Role::Admin,
            joined_at: now,
        }];
        members.extend(others.iter().map(|id| Member {
            user_id: *id,
            role: Role::Member,
            joined_at: now,
        }));
        members.sort_by_key(|m| m.user_id);
        let all: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let body = serde_json::to_string(&GroupCreated {
            title: title.to_owned(),
            members: all.clone(),
        })
        .map_err(|_| EngineError::Internal)?;
        let first = NewEvent {
            sender: me,
            at: now,
            client_id: None,
            kind: kind::GROUP_CREATED.into(),
            body,
            rewrites: Vec::new(),
        };
        let event = self
            .store
            .create_group(chat.clone(), members.clone(), first)
            .await?;
        self.notifier.trigger(Trigger::Chat {
            event: event.clone(),
            offline: Vec::new(),
        });
        let push = Push::new(PushKind::Event(event));
        for user in all {
            self.router.deliver(user, &push, None);
        }
        Ok(ChatView { chat, members })
    }

    pub async fn chat_view(&self, me: Uuid, chat_id: Uuid) -> EngineResult<ChatView> {
        self.member_view(me, chat_id).await
    }

    /// My chats, most recent activity first.
    pub async fn chat_list(&self, me: Uuid) -> EngineResult<Vec<ChatSummary>> {
        let settings = self.store.user_settings(me).await?;
        let mut out = Vec::new();
        for chat_id in self.store.user_chats(me).await? {
            let Some(chat) = self.store.chat(chat_id).await? else {
                continue;
            };
            let members = self.store.members(chat_id).await?;
            let state = self.store.chat_state(chat_id).await?;
            let pointers = self.store.pointers(chat_id, me).await?;
            let prefs = self.store.chat_prefs(me, chat_id).await?;
            let archived = prefs
                .archived_at
                .is_some_and(|at| settings.keep_chats_archived || state.last_activity_at <= at);
            let last_message = match state.last_message_seq {
                0 => None,
                seq => self.store.event(chat_id, seq).await?,
            };
            let unread_count = self
                .store
                .unread_count(chat_id, me, pointers.read_seq, UNREAD_CAP)
                .await?;
            out.push(ChatSummary {
                view: ChatView { chat, members },
                prefs,
                archived,
                state,
                last_message,
                unread_count,
                pointers,
            });
        }
        // Pinned chats first (most recently pinned first), then by last activity.
        out.sort_by(|a, b| {
            let pin = |s: &ChatSummary| std::cmp::Reverse(s.prefs.pinned_at.unwrap_or(i64::MIN));
            pin(a)
                .cmp(&pin(b))
                .then(b.state.last_activity_at.cmp(&a.state.last_activity_at))
                .then(b.view.chat.id.cmp(&a.view.chat.id))
        });
        Ok(out)
    }

    /// A page of history, ascending by seq.
    pub async fn history(
        &self,
        me: Uuid,
        chat_id: Uuid,
        from: HistoryFrom,
        limit: usize,
    ) -> EngineResult<Page> {
        self.member_view(me, chat_id).await?;
        let probe = limit + 1;
        let mut events = match from {
            HistoryFrom::After(seq) => self.store.events_after(chat_id, seq, probe).await?,
            HistoryFrom::Before(seq) => self.store.events_before(chat_id, seq, probe).await?,
            HistoryFrom::Latest => self.store.events_before(chat_id, u64::MAX, probe).await?,
        };
        decorate(self.store.as_ref(), &mut events).await?;
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            let hidden = self.store.hidden(me, chat_id, first.seq, last.seq).await?;
            for e in events.iter_mut().filter(|e| hidden.contains(&e.seq)) {
                // Deleted for me: the seq stays (clients track order by it), the content goes.
                e.kind = HIDDEN_KIND.into();
                e.body = "null".into();
            }
        }
        let has_more = events.len() > limit;
        if has_more {
            match from {
                HistoryFrom::After(_) => {
                    events.truncate(limit);
                }
                _ => {
                    events.remove(0);
                }
            }
        }
        Ok(Page { events, has_more })
    }

    /// The events after `last_seq`, at most `limit`, for a reconnecting device.
    pub async fn sync(
        &self,
        me: Uuid,
        chat_id: Uuid,
        last_seq: u64,
        limit: usize,
    ) -> EngineResult<Synced> {
        let limit = limit.clamp(1, MAX_SYNC_LIMIT);
        let page = self
            .history(me, chat_id, HistoryFrom::After(last_seq), limit)
            .await?;
        let state = self.store.chat_state(chat_id).await?;
        Ok(Synced {
            events: page.events,
            last_seq: state.last_seq,
            has_more: page.has_more,
        })
    }

    /// Who has event `seq` delivered and read (every member but its sender).
    pub async fn message_info(
        &self,
        me: Uuid,
        chat_id: Uuid,
        seq: u64,
    ) -> EngineResult<(StoredEvent, Vec<MemberReceipt>)> {
        let view = self.member_view(me, chat_id).await?;
        let event = self
            .store
            .event(chat_id, seq)
            .await?
            .ok_or(EngineError::NotFound("message"))?;
        let mut out = Vec::new();
        let direct = view.chat.kind == ChatKind::Direct;
        for m in view.members.iter().filter(|m| m.user_id != event.sender) {
            if direct && m.user_id != me && self.blocked_between(me, m.user_id).await? {
                // Across a block the other's receipts are not shown (docs/PROTOCOL.md).
                out.push(MemberReceipt {
                    user_id: m.user_id,
                    delivered_at: None,
                    read_at: None,
                });
                continue;
            }
            out.push(MemberReceipt {
                user_id: m.user_id,
                delivered_at: self
                    .store
                    .reached_at(chat_id, m.user_id, ReceiptKind::Delivered, seq)
                    .await?,
                read_at: self
                    .store
                    .reached_at(chat_id, m.user_id, ReceiptKind::Read, seq)
                    .await?,
            });
        }
        Ok((event, out))
    }
}
