//! People as one user sees them: profiles (as the owner's privacy allows), search, my profile
//! and privacy settings, my contacts and the people I blocked. Lists look their people up in
//! one batch, and each rule (you cannot block or add yourself) is written once, here.

use std::collections::HashMap;

use confab_storage::{
    Block, Contact, Page, PageRequest, PrivacySettings, ProfileUpdate, User, Visibility,
};
use futures_util::future::try_join_all;
use uuid::Uuid;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::privacy::{visible_profile, Relation, VisibleProfile};

/// A user's profile as one viewer may see it.
#[derive(Debug, Clone)]
pub struct ProfileView {
    pub user: User,
    pub visible: VisibleProfile,
    /// The viewer has this user in their contacts.
    pub is_contact: bool,
    /// The viewer blocked this user.
    pub blocked: bool,
}

/// A change to my privacy settings; `None` keeps a setting.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrivacyChange {
    pub last_seen: Option<Visibility>,
    pub profile_photo: Option<Visibility>,
    pub about: Option<Visibility>,
}

impl Engine {
    pub async fn user(&self, id: Uuid) -> EngineResult<User> {
        self.store
            .user(id)
            .await?
            .ok_or(EngineError::NotFound("user"))
    }

    /// The users among `ids` that exist, looked up together.
    pub async fn users(
        &self,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> EngineResult<HashMap<Uuid, User>> {
        let mut wanted: Vec<Uuid> = ids.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let found = try_join_all(wanted.iter().map(|id| self.store.user(*id))).await?;
        Ok(found.into_iter().flatten().map(|u| (u.id, u)).collect())
    }

    /// `owner`'s profile as `viewer` may see it.
    pub async fn profile(&self, viewer: Uuid, owner: User) -> EngineResult<ProfileView> {
        let s = &self.store;
        let (privacy, owners_contact, blocked_by_owner, my_contact, blocked) = futures_util::try_join!(
            s.privacy(owner.id),
            s.contact(owner.id, viewer),
            s.is_blocked(owner.id, viewer),
            s.contact(viewer, owner.id),
            s.is_blocked(viewer, owner.id),
        )?;
        let relation = Relation {
            is_self: viewer == owner.id,
            in_owners_contacts: owners_contact.is_some(),
            blocked_by_owner,
        };
        Ok(ProfileView {
            visible: visible_profile(&owner, &privacy, relation),
            user: owner,
            is_contact: my_contact.is_some(),
            blocked,
        })
    }

    /// Finds an enabled account by exact username (any case) or by phone (`+` first).
    pub async fn search_people(&self, viewer: Uuid, q: &str) -> EngineResult<Option<ProfileView>> {
        let found = if q.starts_with('+') {
            self.store.user_by_phone(q).await?
        } else {
            self.store.user_by_username(&q.to_ascii_lowercase()).await?
        };
        match found.filter(|u| !u.disabled) {
            Some(user) => Ok(Some(self.profile(viewer, user).await?)),
            None => Ok(None),
        }
    }

    pub async fn update_profile(&self, me: Uuid, update: ProfileUpdate) -> EngineResult<User> {
        Ok(self.store.update_profile(me, update).await?)
    }

    pub async fn privacy(&self, me: Uuid) -> EngineResult<PrivacySettings> {
        Ok(self.store.privacy(me).await?)
    }

    pub async fn set_privacy(
        &self,
        me: Uuid,
        change: PrivacyChange,
    ) -> EngineResult<PrivacySettings> {
        let current = self.store.privacy(me).await?;
        let next = PrivacySettings {
            last_seen: change.last_seen.unwrap_or(current.last_seen),
            profile_photo: change.profile_photo.unwrap_or(current.profile_photo),
            about: change.about.unwrap_or(current.about),
        };
        self.store.set_privacy(me, next).await?;
        Ok(next)
    }

    /// A page of my contacts, each with the user it names (users gone since are left out).
    pub async fn contacts(
        &self,
        me: Uuid,
        page: PageRequest,
    ) -> EngineResult<Page<(Contact, User)>> {
        let page = self.store.contacts(me, page).await?;
        let mut users = self.users(page.items.iter().map(|c| c.user_id)).await?;
        let items = page
            .items
            .into_iter()
            .filter_map(|c| users.remove(&c.user_id).map(|u| (c, u)))
            .collect();
        Ok(Page {
            items,
            next: page.next,
        })
    }

    pub async fn add_contact(
        &self,
        me: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> EngineResult<(Contact, User)> {
        if user_id == me {
            return Err(EngineError::Unprocessable(
                "you cannot add yourself as a contact",
            ));
        }
        let user = self.user(user_id).await?;
        let contact = Contact {
            owner: me,
            user_id,
            name,
            added_at: now_millis(),
        };
        self.store.add_contact(contact.clone()).await?;
        Ok((contact, user))
    }

    pub async fn rename_contact(
        &self,
        me: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> EngineResult<(Contact, User)> {
        let contact = self.store.rename_contact(me, user_id, name).await?;
        Ok((contact, self.user(user_id).await?))
    }

    pub async fn remove_contact(&self, me: Uuid, user_id: Uuid) -> EngineResult<()> {
        Ok(self.store.remove_contact(me, user_id).await?)
    }

    /// A page of the people I blocked, each with their user.
    pub async fn blocked_people(
        &self,
        me: Uuid,
        page: PageRequest,
    ) -> EngineResult<Page<(Block, User)>> {
        let page = self.store.blocked(me, page).await?;
        let mut users = self.users(page.items.iter().map(|b| b.blocked)).await?;
        let items = page
            .items
            .into_iter()
            .filter_map(|b| users.remove(&b.blocked).map(|u| (b, u)))
            .collect();
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// Blocks `target`; `true` with the new block, `false` with the one that stood already.
    pub async fn block(&self, me: Uuid, target: Uuid) -> EngineResult<(Block, User, bool)> {
        if target == me {
            return Err(EngineError::Unprocessable("you cannot block yourself"));
        }
        let user = self.user(target).await?;
        let block = Block {
            blocker: me,
            blocked: target,
            blocked_at: now_millis(),
        };
        match self.store.block(block.clone()).await? {
            None => {
                tracing::info!(user_id = %me, blocked = %target, "user blocked");
                Ok((block, user, true))
            }
            Some(existing) => Ok((existing, user, false)),
        }
    }

    pub async fn unblock(&self, me: Uuid, target: Uuid) -> EngineResult<()> {
        Ok(self.store.unblock(me, target).await?)
    }
}
