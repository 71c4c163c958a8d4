//! Broadcast lists: `broadcast_lists` (partition: owner, clustered by list id), each list as
//! JSON, always read and written whole.

use uuid::Uuid;

use super::{rows, ScyllaStore};
use crate::model::BroadcastList;
use crate::{StoreError, StoreResult};

fn list_from_body(body: Option<String>) -> StoreResult<BroadcastList> {
    let body = rows::required(body, "broadcast_lists.body")?;
    serde_json::from_str(&body).map_err(rows::corrupt)
}

#[async_trait::async_trait]
impl crate::BroadcastStore for ScyllaStore {
    async fn save_broadcast_list(&self, list: BroadcastList) -> StoreResult<()> {
        let body = serde_json::to_string(&list).map_err(rows::corrupt)?;
        self.run(&self.st().upsert_broadcast, (list.owner, list.id, body))
            .await?;
        Ok(())
    }

    async fn broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<BroadcastList>> {
        let row = rows::first::<(Option<String>,)>(
            self.run(&self.st().select_broadcast, (owner, id)).await?,
        )?;
        row.map(|(body,)| list_from_body(body)).transpose()
    }

    async fn broadcast_lists(&self, owner: Uuid) -> StoreResult<Vec<BroadcastList>> {
        let rows = rows::all::<(Option<String>,)>(
            self.run(&self.st().select_broadcasts, (owner,)).await?,
        )?;
        rows.into_iter()
            .map(|(body,)| list_from_body(body))
            .collect()
    }

    async fn delete_broadcast_list(&self, owner: Uuid, id: Uuid) -> StoreResult<()> {
        // Read first to answer NotFound; the delete itself is idempotent (no LWT needed: a
        // concurrent delete of the same list is harmless).
        if self.broadcast_list(owner, id).await?.is_none() {
            return Err(StoreError::NotFound("broadcast list"));
        }
        self.run(&self.st().delete_broadcast, (owner, id)).await?;
        Ok(())
    }
}
