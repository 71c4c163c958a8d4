//! What a chat actor can be asked to write, and how each request becomes a timeline event
//! (with the rewrites of earlier events it implies). Runs inside the actor's write future, in
//! order, so every check sees the effect of the requests before it.

use std::collections::HashMap;
use std::time::Duration;

use confab_storage::{Millis, NewEvent, Rewrite, Role, Store, StoredEvent};
use uuid::Uuid;

use crate::content::{kind, MessageContent};
use crate::error::{EngineError, EngineResult};
use crate::message::{DeleteBody, EditBody, MessageBody, ReactionBody, ReplyRef, FORWARDED_MANY};

/// A change to the timeline requested by `sender`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Message {
        client_id: String,
        content: MessageContent,
        reply_to: Option<u64>,
        forwarded: u32,
    },
    Edit {
        target: u64,
        content: MessageContent,
    },
    /// Delete for everyone.
    Delete {
        target: u64,
    },
    React {
        target: u64,
        emoji: Option<String>,
    },
    Group(GroupOp),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupOp {
    Info {
        title: Option<String>,
        description: Option<String>,
        photo: Option<Option<String>>,
        only_admins_send: Option<bool>,
        only_admins_edit_info: Option<bool>,
    },
    Add(Vec<Uuid>),
    Remove(Uuid),
    Promote(Uuid),
    Demote(Uuid),
    Leave,
    /// Joining through an invite link the engine has already checked.
    Join,
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Message { .. } => "send",
            Op::Edit { .. } => "edit",
            Op::Delete { .. } => "delete",
            Op::React { .. } => "react",
            Op::Group(_) => "group",
        }
    }
}

/// Time limits on changing a message.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub edit: Duration,
    pub delete: Duration,
}

/// Events of this batch, and earlier ones read from the store, by seq: later requests of a
/// batch must see the rewrites of earlier ones.
pub struct Scratch<'a> {
    store: &'a dyn Store,
    chat_id: Uuid,
    seen: HashMap<u64, StoredEvent>,
}

impl<'a> Scratch<'a> {
    pub fn new(store: &'a dyn Store, chat_id: Uuid) -> Self {
        Scratch {
            store,
            chat_id,
            seen: HashMap::new(),
        }
    }

    /// The message at `seq`, as it is now (with this batch's rewrites).
    async fn message(&mut self, seq: u64) -> EngineResult<(StoredEvent, MessageBody)> {
        let event = match self.seen.get(&seq) {
            Some(e) => e.clone(),
            None => {
                let e = self
                    .store
                    .event(self.chat_id, seq)
                    .await?
                    .ok_or(EngineError::NotFound("message"))?;
                self.seen.insert(seq, e.clone());
                e
            }
        };
        if !event.is_message() {
            return Err(EngineError::NotFound("message"));
        }
        let body = MessageBody::parse(&event.body)?;
        Ok((event, body))
    }

    fn rewrite(&mut self, mut event: StoredEvent, body: String) -> Rewrite {
        event.body = body.clone();
        let seq = event.seq;
        self.seen.insert(seq, event);
        Rewrite { seq, body }
    }

    /// Turns a request into the event to append. `role` is the sender's role in a group
    /// (`None` in a 1:1 chat).
    pub async fn prepare(
        &mut self,
        sender: Uuid,
        op: &Op,
        now: Millis,
        windows: Windows,
        role: Option<Role>,
    ) -> EngineResult<NewEvent> {
        let event = |kind: &str,
                     body: String,
                     rewrites: Vec<Rewrite>,
                     client_id: Option<String>| NewEvent {
            sender,
            at: now,
            client_id,
            kind: kind.to_owned(),
            body,
            rewrites,
        };
        match op {
            Op::Message {
                client_id,
                content,
                reply_to,
                forwarded,
            } => {
                let media = match content.media() {
                    Some((id, kind)) => Some(
                        crate::media::usable(self.store, sender, id, kind)
                            .await
                            .map_err(EngineError::from)?,
                    ),
                    None => None,
                };
                let mut body = MessageBody::new(content, media.as_ref());
                if let Some(seq) = reply_to {
                    let (quoted, quoted_body) = self.message(*seq).await?;
                    if quoted_body.is_deleted() {
                        return Err(EngineError::Unprocessable(
                            "you cannot reply to a deleted message",
                        ));
                    }
                    body.reply_to = Some(ReplyRef {
                        seq: quoted.seq,
                        sender: None,
                        preview: None,
                        deleted: false,
                    });
                }
                body.forwarded = *forwarded;
                body.forwarded_many = *forwarded >= FORWARDED_MANY;
                Ok(event(
                    kind::MESSAGE,
                    body.to_json()?,
                    Vec::new(),
                    Some(client_id.clone()),
                ))
            }
            Op::Edit { target, content } => {
                let (original, mut body) = self.message(*target).await?;
                if original.sender != sender {
                    return Err(EngineError::Forbidden(
                        "you can only edit your own messages",
                    ));
                }
                if body.is_deleted() {
                    return Err(EngineError::Unprocessable("this message was deleted"));
                }
                if now - original.at > windows.edit.as_millis() as i64 {
                    return Err(EngineError::Forbidden(
                        "the time to edit this message has passed",
                    ));
                }
                let MessageContent::Text { text } = content else {
                    return Err(EngineError::Validation(
                        "content: an edit carries {\"kind\":\"text\",\"text\":...}".into(),
                    ));
                };
                match &body.media {
                    None => body.text = Some(text.clone()),
                    Some(m) if m.kind != confab_storage::MediaKind::Sticker => {
                        body.caption = Some(text.clone())
                    }
                    Some(_) => return Err(EngineError::Unprocessable("a sticker has no text")),
                }
                body.edited_at = Some(now);
                let rewrite = self.rewrite(original, body.to_json()?);
                let edit = EditBody {
                    target: *target,
                    text: Some(text.clone()),
                };
                Ok(event(kind::EDIT, to_json(&edit)?, vec![rewrite], None))
            }
            Op::Delete { target } => {
                let (original, body) = self.message(*target).await?;
                if body.is_deleted() {
                    return Err(EngineError::Unprocessable(
                        "this message was already deleted",
                    ));
                }
                let own_in_time = original.sender == sender
                    && now - original.at <= windows.delete.as_millis() as i64;
                let admin = role == Some(Role::Admin);
                if !own_in_time && !admin {
                    return Err(EngineError::Forbidden(if original.sender == sender {
                        "the time to delete this message for everyone has passed"
                    } else {
                        "only its sender or a group admin can delete this message for everyone"
                    }));
                }
                let mut rewrites =
                    vec![self.rewrite(original.clone(), body.tombstone().to_json()?)];
                // Its edits carry its old text: purge them too. Edits only happen within the
                // edit window, so they lie in a bounded stretch after the message.
                for edit_seq in self.edits_of(&original, windows.edit).await? {
                    let purged = to_json(&EditBody {
                        target: original.seq,
                        text: None,
                    })?;
                    if let Some(e) = self.seen.get(&edit_seq).cloned() {
                        rewrites.push(self.rewrite(e, purged));
                    }
                }
                Ok(event(
                    kind::DELETE,
                    to_json(&DeleteBody { target: *target })?,
                    rewrites,
                    None,
                ))
            }
            Op::React { target, emoji } => {
                let (original, mut body) = self.message(*target).await?;
                if body.is_deleted() {
                    return Err(EngineError::Unprocessable("this message was deleted"));
                }
                match emoji {
                    Some(e) => body.reactions.insert(sender, e.clone()),
                    None => body.reactions.remove(&sender),
                };
                let rewrite = self.rewrite(original, body.to_json()?);
                let reaction = ReactionBody {
                    target: *target,
                    emoji: emoji.clone(),
                };
                Ok(event(
                    kind::REACTION,
                    to_json(&reaction)?,
                    vec![rewrite],
                    None,
                ))
            }
            Op::Group(_) => Err(EngineError::Internal),
        }
    }

    /// Seqs of the `edit` events of `message` (loaded into `seen`).
    async fn edits_of(
        &mut self,
        message: &StoredEvent,
        edit_window: Duration,
    ) -> EngineResult<Vec<u64>> {
        let until = message.at + edit_window.as_millis() as i64 + 60_000;
        let mut found = Vec::new();
        let mut after = message.seq;
        loop {
            let page = self.store.events_after(self.chat_id, after, 256).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let past_window = last.at > until;
            for e in page {
                if e.kind == kind::EDIT {
                    let is_ours = serde_json::from_str::<EditBody>(&e.body)
                        .is_ok_and(|b| b.target == message.seq);
                    if is_ours {
                        found.push(e.seq);
                        self.seen.entry(e.seq).or_insert(e);
                    }
                }
            }
            if past_window {
                break;
            }
        }
        Ok(found)
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> EngineResult<String> {
    serde_json::to_string(v).map_err(|_| EngineError::Internal)
}
