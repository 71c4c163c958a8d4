//! Privacy settings, contacts and blocks.

use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::rows::{
    self, cursor_of, fetch_limit, parse_cursor, required, visibility, visibility_name,
};
use super::ScyllaStore;
use crate::model::*;
use crate::{BlockStore, ContactStore, PrivacyStore, StoreError, StoreResult};

type ContactRow = (Uuid, Uuid, Option<String>, Option<i64>);
type BlockRow = (Uuid, Uuid, Option<i64>);

fn contact_from_row((owner, user_id, name, added_at): ContactRow) -> StoreResult<Contact> {
    Ok(Contact {
        owner,
        user_id,
        name,
        added_at: required(added_at, "contacts.added_at")?,
    })
}

fn block_from_row((blocker, blocked, blocked_at): BlockRow) -> StoreResult<Block> {
    Ok(Block {
        blocker,
        blocked,
        blocked_at: required(blocked_at, "blocks.blocked_at")?,
    })
}

impl ScyllaStore {
    /// One page of an owner's partition, in clustering (id) order: `first` reads from the
    /// start, `after` from just past the cursor's id. One extra row tells whether a next page
    /// exists.
    async fn page<R, T>(
        &self,
        first: &PreparedStatement,
        after: &PreparedStatement,
        owner: Uuid,
        page: PageRequest,
        convert: fn(R) -> StoreResult<T>,
        key: fn(&T) -> Uuid,
    ) -> StoreResult<Page<T>>
    where
        R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
    {
        let (limit, fetch) = fetch_limit(page.limit);
        let result = match page.after.as_deref() {
            None => self.run(first, (owner, fetch)).await?,
            Some(cursor) => {
                let from = parse_cursor(cursor)?;
                self.run(after, (owner, from, fetch)).await?
            }
        };
        let mut items = rows::all::<R>(result)?
            .into_iter()
            .map(convert)
            .collect::<StoreResult<Vec<T>>>()?;
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|last| cursor_of(key(last)))
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

#[async_trait::async_trait]
impl PrivacyStore for ScyllaStore {
    async fn privacy(&self, user_id: Uuid) -> StoreResult<PrivacySettings> {
        let row = rows::first::<(Option<String>, Option<String>, Option<String>)>(
            self.run(&self.st().select_privacy, (user_id,)).await?,
        )?;
        let d = PrivacySettings::default();
        let Some((last_seen, photo, about)) = row else {
            return Ok(d);
        };
        Ok(PrivacySettings {
            last_seen: visibility(last_seen, d.last_seen)?,
            profile_photo: visibility(photo, d.profile_photo)?,
            about: visibility(about, d.about)?,
        })
    }

    async fn set_privacy(&self, user_id: Uuid, settings: PrivacySettings) -> StoreResult<()> {
        self.run(
            &self.st().upsert_privacy,
            (
                user_id,
                visibility_name(settings.last_seen),
                visibility_name(settings.profile_photo),
                visibility_name(settings.about),
            ),
        )
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ContactStore for ScyllaStore {
    async fn add_contact(&self, contact: Contact) -> StoreResult<()> {
        let outcome = self
            .lwt(
                &self.st().add_contact,
                (
                    contact.owner,
                    contact.user_id,
                    contact.name.as_deref(),
                    contact.added_at,
                ),
            )
            .await?;
        if outcome.applied {
            Ok(())
        } else {
            Err(StoreError::Conflict("contact"))
        }
    }

    async fn contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<Option<Contact>> {
        let row = rows::first::<ContactRow>(
            self.run(&self.st().select_contact, (owner, user_id))
                .await?,
        )?;
        row.map(contact_from_row).transpose()
    }

    /// `UPDATE ... IF EXISTS`: a rename never resurrects a removed contact as a partial row.
    async fn rename_contact(
        &self,
        owner: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> StoreResult<Contact> {
        let outcome = self
            .lwt(&self.st().rename_contact, (name.as_deref(), owner, user_id))
            .await?;
        if !outcome.applied {
            return Err(StoreError::NotFound("contact"));
        }
        self.contact(owner, user_id)
            .await?
            .ok_or(StoreError::NotFound("contact"))
    }

    async fn remove_contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<()> {
        let outcome = self
            .lwt(&self.st().remove_contact, (owner, user_id))
            .await?;
        if outcome.applied {
            Ok(())
        } else {
            Err(StoreError::NotFound("contact"))
        }
    }

    async fn contacts(&self, owner: Uuid, page: PageRequest) -> StoreResult<Page<Contact>> {
        let st = self.st();
        self.page(
            &st.contacts_first,
            &st.contacts_after,
            owner,
            page,
            contact_from_row,
            |c: &Contact| c.user_id,
        )
        .await
    }
}

#[async_trait::async_trait]
impl BlockStore for ScyllaStore {
    /// `INSERT ... IF NOT EXISTS`: when it was blocked already the server answers with the
    /// row as it is, which is returned unchanged.
    async fn block(&self, block: Block) -> StoreResult<Option<Block>> {
        let outcome = self
            .lwt(
                &self.st().block,
                (block.blocker, block.blocked, block.blocked_at),
            )
            .await?;
        if outcome.applied {
            return Ok(None);
        }
        let blocked_at = outcome
            .column("blocked_at")
            .and_then(|v| v.as_bigint())
            .ok_or_else(|| StoreError::Corrupt("existing block without blocked_at".into()))?;
        Ok(Some(Block {
            blocked_at,
            ..block
        }))
    }

    async fn unblock(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<()> {
        let outcome = self.lwt(&self.st().unblock, (blocker, blocked)).await?;
        if outcome.applied {
            Ok(())
        } else {
            Err(StoreError::NotFound("block"))
        }
    }

    async fn is_blocked(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<bool> {
        let row = rows::first::<(Option<i64>,)>(
            self.run(&self.st().select_block, (blocker, blocked))
                .await?,
        )?;
        Ok(row.is_some())
    }

    async fn blocked(&self, blocker: Uuid, page: PageRequest) -> StoreResult<Page<Block>> {
        let st = self.st();
        self.page(
            &st.blocks_first,
            &st.blocks_after,
            blocker,
            page,
            block_from_row,
            |b: &Block| b.blocked,
        )
        .await
    }
}
