//! Privacy settings, contacts and blocks.

use redb::{ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use super::codec::{cursor_of, decode, encode, start_after};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{BlockStore, ContactStore, PrivacyStore, StoreError, StoreResult};

type PairTable = TableDefinition<'static, (u128, u128), &'static [u8]>;

impl EmbeddedStore {
    /// One page of the rows keyed (owner, id), in id order.
    async fn page_by_owner<T>(
        &self,
        table: PairTable,
        owner: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let from = start_after(page.after.as_deref())?;
        let limit = page.limit.max(1);
        self.read(move |txn| {
            let owner = owner.as_u128();
            let table = txn.open_table(table)?;
            let mut items = Vec::with_capacity(limit);
            let mut last = 0;
            let mut more = false;
            for entry in table.range((owner, from)..=(owner, u128::MAX))? {
                let (key, value) = entry?;
                if items.len() == limit {
                    more = true;
                    break;
                }
                last = key.value().1;
                items.push(decode(value.value())?);
            }
            Ok(Page {
                items,
                next: more.then(|| cursor_of(last)),
            })
        })
        .await
    }

    async fn get_pair<T>(&self, table: PairTable, a: Uuid, b: Uuid) -> StoreResult<Option<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.read(
            move |txn| match txn.open_table(table)?.get((a.as_u128(), b.as_u128()))? {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            },
        )
        .await
    }

    /// Inserts unless present; returns the row already there, if any (then nothing is written).
    async fn insert_pair_new<T>(
        &self,
        table: PairTable,
        a: Uuid,
        b: Uuid,
        row: T,
    ) -> StoreResult<Option<T>>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        self.write(move |txn| {
            let mut t = txn.open_table(table)?;
            let key = (a.as_u128(), b.as_u128());
            if let Some(existing) = t.get(key)? {
                return Ok(Some(decode(existing.value())?));
            }
            t.insert(key, encode(&row)?.as_slice())?;
            Ok(None)
        })
        .await
    }

    async fn remove_pair(
        &self,
        table: PairTable,
        a: Uuid,
        b: Uuid,
        what: &'static str,
    ) -> StoreResult<()> {
        self.write(move |txn| {
            let removed = txn
                .open_table(table)?
                .remove((a.as_u128(), b.as_u128()))?
                .is_some();
            if removed {
                Ok(())
            } else {
                Err(StoreError::NotFound(what))
            }
        })
        .await
    }
}

#[async_trait::async_trait]
impl PrivacyStore for EmbeddedStore {
    async fn privacy(&self, user_id: Uuid) -> StoreResult<PrivacySettings> {
        self.read(
            move |txn| match txn.open_table(PRIVACY)?.get(user_id.as_u128())? {
                Some(v) => decode(v.value()),
                None => Ok(PrivacySettings::default()),
            },
        )
        .await
    }

    async fn set_privacy(&self, user_id: Uuid, settings: PrivacySettings) -> StoreResult<()> {
        self.write(move |txn| {
            txn.open_table(PRIVACY)?
                .insert(user_id.as_u128(), encode(&settings)?.as_slice())?;
            Ok(())
        })
        .await
    }
}

#[async_trait::async_trait]
impl ContactStore for EmbeddedStore {
    async fn add_contact(&self, contact: Contact) -> StoreResult<()> {
        let (owner, user) = (contact.owner, contact.user_id);
        match self.insert_pair_new(CONTACTS, owner, user, contact).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::Conflict("contact")),
        }
    }

    async fn contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<Option<Contact>> {
        self.get_pair(CONTACTS, owner, user_id).await
    }

    async fn rename_contact(
        &self,
        owner: Uuid,
        user_id: Uuid,
        name: Option<String>,
    ) -> StoreResult<Contact> {
        self.write(move |txn| {
            let mut t = txn.open_table(CONTACTS)?;
            let key = (owner.as_u128(), user_id.as_u128());
            let mut contact: Contact = match t.get(key)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound("contact")),
            };
            contact.name = name;
            t.insert(key, encode(&contact)?.as_slice())?;
            Ok(contact)
        })
        .await
    }

    async fn remove_contact(&self, owner: Uuid, user_id: Uuid) -> StoreResult<()> {
        self.remove_pair(CONTACTS, owner, user_id, "contact").await
    }

    async fn contacts(&self, owner: Uuid, page: PageRequest) -> StoreResult<Page<Contact>> {
        self.page_by_owner(CONTACTS, owner, page).await
    }
}

#[async_trait::async_trait]
impl BlockStore for EmbeddedStore {
    async fn block(&self, block: Block) -> StoreResult<Option<Block>> {
        let (a, b) = (block.blocker, block.blocked);
        self.insert_pair_new(BLOCKS, a, b, block).await
    }

    async fn unblock(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<()> {
        self.remove_pair(BLOCKS, blocker, blocked, "block").await
    }

    async fn is_blocked(&self, blocker: Uuid, blocked: Uuid) -> StoreResult<bool> {
        Ok(self
            .get_pair::<Block>(BLOCKS, blocker, blocked)
            .await?
            .is_some())
    }

    async fn blocked(&self, blocker: Uuid, page: PageRequest) -> StoreResult<Page<Block>> {
        self.page_by_owner(BLOCKS, blocker, page).await
    }
}

#[async_trait::async_trait]
impl crate::BroadcastStore for EmbeddedStore {
    async fn save_broadcast_list(&self, list: BroadcastList) -> StoreResult<()> {
        self.write(move |txn| {
            txn.open_table(BROADCASTS)?.insert(
                (list.owner.as_u128(), list.id.as_u128()),
                encode(&list)?.as_slice(),
            )?;
            Ok(())
        })
        .await
    }

    async fn broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<BroadcastList>> {
        self.get_pair(BROADCASTS, owner, id).await
    }

    async fn broadcast_lists(&self, owner: Uuid) -> StoreResult<Vec<BroadcastList>> {
        Ok(self
            .page_by_owner(
                BROADCASTS,
                owner,
                PageRequest {
                    after: None,
                    limit: 10_000,
                },
            )
            .await?
            .items)
    }

    async fn delete_broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<()> {
        self.remove_pair(BROADCASTS, owner, id, "broadcast list")
            .await
    }
}
