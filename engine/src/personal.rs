//! Per-user state around chats: pin, archive, mute and notification settings; stars; delete
//! for me. And moderation: reports and disabling accounts. None of these is a timeline event:
//! they belong to one user (or to the operators), not to the chat.

use confab_storage::{
    ChatPrefs, Millis, NotificationLevel, Page, PageRequest, Report, Star, UserSettings,
};
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::push::{close, Push, PushKind};

/// WhatsApp's limit on pinned chats.
pub const MAX_PINNED: usize = 3;
/// Messages of the chat attached to a report as evidence.
pub const REPORT_EVIDENCE: usize = 20;

/// How long to mute a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuteFor {
    Hours8,
    Week,
    Always,
    /// Unmute.
    Off,
}

/// A change to my settings of one chat; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct PrefsChange {
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
    pub mute: Option<MuteFor>,
    pub notifications: Option<NotificationLevel>,
}

impl Engine {
    pub async fn set_chat_prefs(
        &self,
        me: Uuid,
        chat_id: Uuid,
        change: PrefsChange,
    ) -> EngineResult<ChatPrefs> {
        self.chat_view(me, chat_id).await?;
        let now = now_millis();
        let mut prefs = self.store.chat_prefs(me, chat_id).await?;
        if let Some(pin) = change.pinned {
            if pin && prefs.pinned_at.is_none() {
                let mut pinned = 0;
                for other in self.store.user_chats(me).await? {
                    if other != chat_id
                        && self.store.chat_prefs(me, other).await?.pinned_at.is_some()
                    {
                        pinned += 1;
                    }
                }
                if pinned >= MAX_PINNED {
                    return Err(EngineError::Unprocessable("you can pin at most 3 chats"));
                }
                prefs.pinned_at = Some(now);
            } else if !pin {
                prefs.pinned_at = None;
            }
        }
        if let Some(archive) = change.archived {
            prefs.archived_at = archive.then_some(now);
        }
        if let Some(mute) = change.mute {
            prefs.muted_until = match mute {
                MuteFor::Hours8 => Some(now + 8 * 3_600_000),
                MuteFor::Week => Some(now + 7 * 24 * 3_600_000),
                MuteFor::Always => Some(Millis::MAX),
                MuteFor::Off => None,
            };
        }
        if let Some(level) = change.notifications {
            prefs.notifications = level;
        }
        self.store.set_chat_prefs(me, chat_id, prefs).await?;
        Ok(prefs)
    }

    pub async fn user_settings(&self, me: Uuid) -> EngineResult<UserSettings> {
        Ok(self.store.user_settings(me).await?)
    }

    pub async fn set_user_settings(&self, me: Uuid, settings: UserSettings) -> EngineResult<()> {
        Ok(self.store.set_user_settings(me, settings).await?)
    }

    /// Stars a message of a chat I am in.
    pub async fn star(&self, me: Uuid, chat_id: Uuid, seq: u64) -> EngineResult<bool> {
        self.chat_view(me, chat_id).await?;
        let event = self
            .store
            .event(chat_id, seq)
            .await?
            .filter(|e| e.is_message());
        if event.is_none()
            || self
                .store
                .hidden(me, chat_id, seq, seq)
                .await?
                .contains(&seq)
        {
            return Err(EngineError::NotFound("message"));
        }
        Ok(self
            .store
            .star(
                me,
                Star {
                    chat_id,
                    seq,
                    starred_at: now_millis(),
                },
            )
            .await?)
    }

    pub async fn unstar(&self, me: Uuid, chat_id: Uuid, seq: u64) -> EngineResult<()> {
        Ok(self.store.unstar(me, chat_id, seq).await?)
    }

    /// My starred messages, newest first, with the messages as they are now. Stars of chats I
    /// left, or of messages since hidden or deleted, are skipped.
    pub async fn starred(
        &self,
        me: Uuid,
        page: PageRequest,
    ) -> EngineResult<(Vec<confab_storage::StoredEvent>, Option<String>)> {
        let Page { items, next } = self.store.stars(me, page).await?;
        let mut out = Vec::with_capacity(items.len());
        for star in items {
            if self.store.member(star.chat_id, me).await?.is_none() {
                continue;
            }
            if let Some(e) = self.store.event(star.chat_id, star.seq).await? {
                out.push(e);
            }
        }
        crate::chats::decorate(self.store.as_ref(), &mut out).await?;
        Ok((out, next))
    }

    /// Hides events from me on all my devices ("delete for me").
    pub async fn delete_for_me(&self, me: Uuid, chat_id: Uuid, seqs: &[u64]) -> EngineResult<()> {
        if seqs.is_empty() || seqs.len() > 100 {
            return Err(EngineError::Validation("seqs: 1 to 100 messages".into()));
        }
        self.chat_view(me, chat_id).await?;
        let last = self.store.chat_state(chat_id).await?.last_seq;
        if seqs.iter().any(|s| *s == 0 || *s > last) {
            return Err(EngineError::NotFound("message"));
        }
        self.store.hide(me, chat_id, seqs).await?;
        let push = Push::new(PushKind::Hidden {
            chat_id,
            seqs: seqs.to_vec(),
        });
        self.router.deliver(me, &push, None);
        Ok(())
    }

    /// Reports a user, or a message of a chat I am in (its chat's last messages attached).
    pub async fn report(
        &self,
        me: Uuid,
        user: Uuid,
        at: Option<(Uuid, u64)>,
        reason: String,
    ) -> EngineResult<Report> {
        let reason = reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(EngineError::Validation(
                "reason: 1 to 1000 characters".into(),
            ));
        }
        if user == me {
            return Err(EngineError::Unprocessable("you cannot report yourself"));
        }
        if self.store.user(user).await?.is_none() {
            return Err(EngineError::NotFound("user"));
        }
        let mut evidence = Vec::new();
        if let Some((chat_id, seq)) = at {
            self.chat_view(me, chat_id).await?;
            let event = self
                .store
                .event(chat_id, seq)
                .await?
                .ok_or(EngineError::NotFound("message"))?;
            if event.sender != user {
                return Err(EngineError::Unprocessable(
                    "that message is not from the reported user",
                ));
            }
            evidence = self
                .store
                .events_before(chat_id, u64::MAX, REPORT_EVIDENCE)
                .await?;
        }
        let report = Report {
            id: Uuid::now_v7(),
            reporter: me,
            reported_user: user,
            chat_id: at.map(|a| a.0),
            seq: at.map(|a| a.1),
            reason,
            created_at: now_millis(),
            evidence,
        };
        self.store.add_report(report.clone()).await?;
        tracing::info!(report_id = %report.id, reported = %user, "user reported");
        Ok(report)
    }

    async fn require_server_admin(&self, me: Uuid) -> EngineResult<()> {
        match self.store.user(me).await? {
            Some(u) if u.server_admin && !u.disabled => Ok(()),
            _ => Err(EngineError::Forbidden("only server admins can do this")),
        }
    }

    pub async fn reports(&self, me: Uuid, page: PageRequest) -> EngineResult<Page<Report>> {
        self.require_server_admin(me).await?;
        Ok(self.store.reports(page).await?)
    }

    /// Disables (closing every socket at once; every token stops working) or re-enables an
    /// account.
    pub async fn set_account_disabled(
        &self,
        me: Uuid,
        user: Uuid,
        disabled: bool,
    ) -> EngineResult<()> {
        self.require_server_admin(me).await?;
        if user == me {
            return Err(EngineError::Unprocessable("you cannot disable yourself"));
        }
        self.store.set_disabled(user, disabled).await?;
        if disabled {
            self.router
                .close_user(user, close::REVOKED, "account disabled");
        }
        tracing::warn!(user_id = %user, by = %me, disabled, "account status changed");
        Ok(())
    }
}

/// Invite links.
impl Engine {
    async fn require_group_admin(&self, me: Uuid, chat_id: Uuid) -> EngineResult<()> {
        let view = self.chat_view(me, chat_id).await?;
        if view.chat.kind != confab_storage::ChatKind::Group {
            return Err(EngineError::Unprocessable("this chat is not a group"));
        }
        match view
            .members
            .iter()
            .find(|m| m.user_id == me)
            .map(|m| m.role)
        {
            Some(confab_storage::Role::Admin) => Ok(()),
            _ => Err(EngineError::Forbidden("only group admins can do this")),
        }
    }

    /// Creates (replacing any earlier one) the group's invite link.
    pub async fn create_invite(
        &self,
        me: Uuid,
        chat_id: Uuid,
        expires_in: Option<std::time::Duration>,
    ) -> EngineResult<confab_storage::Invite> {
        self.require_group_admin(me, chat_id).await?;
        let now = now_millis();
        let invite = confab_storage::Invite {
            code: Uuid::new_v4().simple().to_string(),
            chat_id,
            created_by: me,
            created_at: now,
            expires_at: expires_in.map(|d| now + d.as_millis() as i64),
        };
        self.store.set_invite(invite.clone()).await?;
        Ok(invite)
    }

    pub async fn invite(&self, me: Uuid, chat_id: Uuid) -> EngineResult<confab_storage::Invite> {
        self.require_group_admin(me, chat_id).await?;
        self.store
            .invite_of(chat_id)
            .await?
            .filter(|i| i.expires_at.is_none_or(|t| t > now_millis()))
            .ok_or(EngineError::NotFound("invite"))
    }

    pub async fn revoke_invite(&self, me: Uuid, chat_id: Uuid) -> EngineResult<()> {
        self.require_group_admin(me, chat_id).await?;
        Ok(self.store.revoke_invite(chat_id).await?)
    }

    /// Joins the group of an invite link. Unknown, revoked and expired links look the same.
    pub async fn join(&self, me: Uuid, code: &str) -> EngineResult<crate::chats::ChatView> {
        if code.is_empty() || code.len() > 64 {
            return Err(EngineError::NotFound("invite"));
        }
        let invite = self
            .store
            .invite_by_code(code)
            .await?
            .ok_or(EngineError::NotFound("invite"))?;
        if invite.expires_at.is_some_and(|t| t <= now_millis()) {
            return Err(EngineError::NotFound("invite"));
        }
        self.group(me, invite.chat_id, crate::chat::GroupOp::Join)
            .await?;
        self.chat_view(me, invite.chat_id).await
    }
}
