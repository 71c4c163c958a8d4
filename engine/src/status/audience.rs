//! Who a status goes to: checking a privacy setting, and resolving it against my contacts and
//! blocks when a status is posted.

use std::collections::HashSet;

use confab_storage::{AudienceRule, PageRequest, StatusPrivacy};
use uuid::Uuid;

use super::{invalid, MAX_LIST_USERS};
use crate::engine::Engine;
use crate::error::EngineResult;

impl Engine {
    /// Whether a block stands between two users, either way.
    pub async fn blocked_between(&self, a: Uuid, b: Uuid) -> EngineResult<bool> {
        Ok(crate::privacy::blocked_either_way(self.store.as_ref(), a, b).await?)
    }

    /// Checks a privacy setting and returns it normalised (list sorted, no duplicates).
    pub async fn check_status_privacy(
        &self,
        me: Uuid,
        mut privacy: StatusPrivacy,
    ) -> EngineResult<StatusPrivacy> {
        privacy.users.sort_unstable();
        privacy.users.dedup();
        match privacy.rule {
            AudienceRule::MyContacts if !privacy.users.is_empty() => {
                return Err(invalid(
                    "privacy.users: only my_contacts_except and only_share_with take a list",
                ))
            }
            AudienceRule::OnlyShareWith if privacy.users.is_empty() => {
                return Err(invalid(
                    "privacy.users: only_share_with needs at least one user",
                ))
            }
            _ => {}
        }
        if privacy.users.len() > MAX_LIST_USERS {
            return Err(invalid(format!(
                "privacy.users: at most {MAX_LIST_USERS} users"
            )));
        }
        if privacy.users.contains(&me) {
            return Err(invalid("privacy.users: cannot name yourself"));
        }
        for id in &privacy.users {
            if self.store.user(*id).await?.is_none() {
                return Err(invalid(format!("privacy.users: unknown user {id}")));
            }
        }
        Ok(privacy)
    }

    pub async fn status_privacy(&self, me: Uuid) -> EngineResult<StatusPrivacy> {
        Ok(self.store.status_privacy(me).await?)
    }

    pub async fn set_status_privacy(
        &self,
        me: Uuid,
        privacy: StatusPrivacy,
    ) -> EngineResult<StatusPrivacy> {
        let privacy = self.check_status_privacy(me, privacy).await?;
        self.store.set_status_privacy(me, privacy.clone()).await?;
        Ok(privacy)
    }

    /// Every user in my contacts.
    async fn all_contacts(&self, me: Uuid) -> EngineResult<Vec<Uuid>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .contacts(me, PageRequest { after, limit: 500 })
                .await?;
            out.extend(page.items.into_iter().map(|c| c.user_id));
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Who a status of mine posted now with `privacy` goes to: the rule applied to my
    /// contacts, minus anyone a block stands between, sorted.
    pub(super) async fn resolve_audience(
        &self,
        me: Uuid,
        privacy: &StatusPrivacy,
    ) -> EngineResult<Vec<Uuid>> {
        let candidates = match privacy.rule {
            AudienceRule::MyContacts => self.all_contacts(me).await?,
            AudienceRule::MyContactsExcept => {
                let except: HashSet<Uuid> = privacy.users.iter().copied().collect();
                let mut all = self.all_contacts(me).await?;
                all.retain(|u| !except.contains(u));
                all
            }
            AudienceRule::OnlyShareWith => privacy.users.clone(),
        };
        let mut audience = Vec::with_capacity(candidates.len());
        for user in candidates {
            if user != me && !self.blocked_between(me, user).await? {
                audience.push(user);
            }
        }
        audience.sort_unstable();
        audience.dedup();
        Ok(audience)
    }
}
