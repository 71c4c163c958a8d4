//! Call history: each user's calls under (user, newest-first start, inverted call id), a copy
//! per user so listing one user's history is one contiguous range read. Both keys are inverted
//! so the order matches the CQL backend's (start, call id) descending.

use uuid::Uuid;

use super::codec::encode;
use super::prefs::desc_page;
use super::tables::CALLS;
use super::EmbeddedStore;
use crate::model::*;
use crate::{CallStore, StoreResult};

#[async_trait::async_trait]
impl CallStore for EmbeddedStore {
    async fn record_call(&self, call: CallRecord) -> StoreResult<()> {
        let body = encode(&call)?;
        let order = u64::MAX - call.started_at.max(0) as u64;
        let owners = call.owners();
        self.write(move |txn| {
            let mut table = txn.open_table(CALLS)?;
            for owner in owners {
                table.insert(
                    (owner.as_u128(), order, !call.id.as_u128()),
                    body.as_slice(),
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn calls(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<CallRecord>> {
        self.read(move |txn| {
            desc_page(
                &txn.open_table(CALLS)?,
                user,
                page.after.as_deref(),
                page.limit,
            )
        })
        .await
    }
}
