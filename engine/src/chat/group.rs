//! Group administration: who may change what, and the change plus the event recording it.

use confab_storage::{
    Chat, ChatKind, GroupChange, GroupInfo, Member, Millis, NewEvent, Role, Store,
};
use serde_json::json;
use uuid::Uuid;

use super::ops::GroupOp;
use crate::content::kind;
use crate::error::{EngineError, EngineResult};

pub const MAX_DESCRIPTION_CHARS: usize = 512;

/// One change to store, with its event.
pub struct Planned {
    pub change: GroupChange,
    pub event: NewEvent,
}

fn role_of(members: &[Member], user: Uuid) -> Option<Role> {
    members
        .binary_search_by_key(&user, |m| m.user_id)
        .ok()
        .map(|i| members[i].role)
}

fn require_admin(members: &[Member], user: Uuid) -> EngineResult<()> {
    match role_of(members, user) {
        Some(Role::Admin) => Ok(()),
        Some(Role::Member) => Err(EngineError::Forbidden("only group admins can do this")),
        None => Err(EngineError::no_chat()),
    }
}

fn system(sender: Uuid, at: Millis, kind: &str, body: serde_json::Value) -> NewEvent {
    NewEvent {
        sender,
        at,
        client_id: None,
        kind: kind.to_owned(),
        body: body.to_string(),
        rewrites: Vec::new(),
    }
}

fn text_rule(field: &str, value: &str, min: usize, max: usize) -> EngineResult<String> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min || n > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(EngineError::Validation(format!(
            "{field}: must be {min} to {max} characters"
        )));
    }
    Ok(v.to_owned())
}

/// Plans `op` by `sender` on `chat`. Checks that need the store (users exist, blocks) run here.
pub async fn plan(
    store: &dyn Store,
    chat: &Chat,
    members: &[Member],
    sender: Uuid,
    op: &GroupOp,
    now: Millis,
    max_members: usize,
) -> EngineResult<Planned> {
    if chat.kind != ChatKind::Group {
        return Err(EngineError::Unprocessable("this chat is not a group"));
    }
    let is_member = role_of(members, sender).is_some();
    if !is_member && !matches!(op, GroupOp::Join) {
        return Err(EngineError::no_chat());
    }
    let planned = match op {
        GroupOp::Info {
            title,
            description,
            photo,
            only_admins_send,
            only_admins_edit_info,
        } => {
            if only_admins_send.is_some()
                || only_admins_edit_info.is_some()
                || chat.info.only_admins_edit_info
            {
                require_admin(members, sender)?;
            }
            let mut info: GroupInfo = chat.info.clone();
            let mut new_title = chat.title.clone().unwrap_or_default();
            let mut changed = serde_json::Map::new();
            if let Some(t) = title {
                new_title = text_rule("title", t, 1, crate::chats::MAX_TITLE_CHARS)?;
                changed.insert("title".into(), json!(new_title));
            }
            if let Some(d) = description {
                info.description = text_rule("description", d, 0, MAX_DESCRIPTION_CHARS)?;
                changed.insert("description".into(), json!(info.description));
            }
            if let Some(p) = photo {
                if let Some(p) = p {
                    let ok = (1..=128).contains(&p.len())
                        && p.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
                    if !ok {
                        return Err(EngineError::Validation("photo: a media reference".into()));
                    }
                }
                info.photo = p.clone();
                changed.insert("photo".into(), json!(info.photo));
            }
            if let Some(v) = only_admins_send {
                info.only_admins_send = *v;
                changed.insert("only_admins_send".into(), json!(v));
            }
            if let Some(v) = only_admins_edit_info {
                info.only_admins_edit_info = *v;
                changed.insert("only_admins_edit_info".into(), json!(v));
            }
            if changed.is_empty() {
                return Err(EngineError::Validation(
                    "give at least one field to change".into(),
                ));
            }
            Planned {
                change: GroupChange::Info {
                    title: new_title,
                    info,
                },
                event: system(
                    sender,
                    now,
                    kind::GROUP_INFO_CHANGED,
                    serde_json::Value::Object(changed),
                ),
            }
        }
        GroupOp::Add(users) => {
            require_admin(members, sender)?;
            let mut new: Vec<Uuid> = users
                .iter()
                .copied()
                .filter(|u| role_of(members, *u).is_none())
                .collect();
            new.sort_unstable();
            new.dedup();
            if new.is_empty() {
                return Err(EngineError::Unprocessable("they are all members already"));
            }
            if members.len() + new.len() > max_members {
                return Err(EngineError::Unprocessable(
                    "the group would exceed its member limit",
                ));
            }
            for u in &new {
                match store.user(*u).await? {
                    Some(user) if !user.disabled => {}
                    _ => return Err(EngineError::NotFound("user")),
                }
                if store.is_blocked(*u, sender).await? {
                    return Err(EngineError::Blocked(
                        "a user you tried to add has blocked you",
                    ));
                }
            }
            let added = new
                .iter()
                .map(|u| Member {
                    user_id: *u,
                    role: Role::Member,
                    joined_at: now,
                })
                .collect();
            Planned {
                change: GroupChange::AddMembers(added),
                event: system(sender, now, kind::MEMBERS_ADDED, json!({ "users": new })),
            }
        }
        GroupOp::Remove(user) => {
            require_admin(members, sender)?;
            if *user == sender {
                return Err(EngineError::Unprocessable(
                    "to remove yourself, leave the group",
                ));
            }
            if role_of(members, *user).is_none() {
                return Err(EngineError::NotFound("member"));
            }
            Planned {
                change: GroupChange::RemoveMember(*user),
                event: system(sender, now, kind::MEMBER_REMOVED, json!({ "user": user })),
            }
        }
        GroupOp::Promote(user) => {
            require_admin(members, sender)?;
            match role_of(members, *user) {
                None => return Err(EngineError::NotFound("member")),
                Some(Role::Admin) => return Err(EngineError::Unprocessable("already an admin")),
                Some(Role::Member) => {}
            }
            Planned {
                change: GroupChange::SetRole(*user, Role::Admin),
                event: system(sender, now, kind::ADMIN_PROMOTED, json!({ "user": user })),
            }
        }
        GroupOp::Demote(user) => {
            require_admin(members, sender)?;
            match role_of(members, *user) {
                None => return Err(EngineError::NotFound("member")),
                Some(Role::Member) => return Err(EngineError::Unprocessable("not an admin")),
                Some(Role::Admin) => {}
            }
            if members.iter().filter(|m| m.role == Role::Admin).count() == 1 {
                return Err(EngineError::Unprocessable(
                    "a group needs at least one admin",
                ));
            }
            Planned {
                change: GroupChange::SetRole(*user, Role::Member),
                event: system(sender, now, kind::ADMIN_DEMOTED, json!({ "user": user })),
            }
        }
        GroupOp::Leave => Planned {
            change: GroupChange::RemoveMember(sender),
            event: system(sender, now, kind::MEMBER_LEFT, json!({ "user": sender })),
        },
        GroupOp::Join => {
            if is_member {
                return Err(EngineError::Unprocessable("you are a member already"));
            }
            if members.len() >= max_members {
                return Err(EngineError::Unprocessable("the group is full"));
            }
            Planned {
                change: GroupChange::AddMembers(vec![Member {
                    user_id: sender,
                    role: Role::Member,
                    joined_at: now,
                }]),
                event: system(
                    sender,
                    now,
                    kind::MEMBER_JOINED,
                    json!({ "user": sender, "via": "invite" }),
                ),
            }
        }
    };
    Ok(planned)
}

/// After `leaver` left: if no admin remains, the longest-standing member becomes one.
pub fn successor(members_after: &[Member], leaver: Uuid, now: Millis) -> Option<Planned> {
    if members_after.is_empty() || members_after.iter().any(|m| m.role == Role::Admin) {
        return None;
    }
    let next = members_after
        .iter()
        .min_by_key(|m| (m.joined_at, m.user_id))?;
    Some(Planned {
        change: GroupChange::SetRole(next.user_id, Role::Admin),
        event: system(
            leaver,
            now,
            kind::ADMIN_PROMOTED,
            json!({ "user": next.user_id, "automatic": true }),
        ),
    })
}

/// Applies a stored change to the actor's copy of the chat.
pub fn apply(chat: &mut Chat, members: &mut Vec<Member>, change: &GroupChange) {
    match change {
        GroupChange::Info { title, info } => {
            chat.title = Some(title.clone());
            chat.info = info.clone();
        }
        GroupChange::AddMembers(new) => {
            for m in new {
                if let Err(i) = members.binary_search_by_key(&m.user_id, |x| x.user_id) {
                    members.insert(i, m.clone());
                }
            }
        }
        GroupChange::RemoveMember(user) => members.retain(|m| m.user_id != *user),
        GroupChange::SetRole(user, role) => {
            if let Some(m) = members.iter_mut().find(|m| m.user_id == *user) {
                m.role = *role;
            }
        }
    }
}
