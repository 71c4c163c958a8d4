//! Call history: each user's calls under (user, newest-first start, inverted call id), a copy
//! per user so listing one user's history is one contiguous range read. Both keys are inverted
//! so the order matches the CQL backend's (start, call id) descending.

use uuid::Uuid;

use super::codec::{decode, encode};
use super::prefs::{desc_cursor, parse_desc_cursor};
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
        let after = parse_desc_cursor(page.after.as_deref())?;
        let limit = page.limit.max(1);
        self.read(move |txn| {
            let u = user.as_u128();
            let table = txn.open_table(CALLS)?;
            let start = match after {
                Some((order, id)) => match id.checked_add(1) {
                    Some(next) => (u, order, next),
                    None => (u, order.saturating_add(1), 0),
                },
                None => (u, 0, 0),
            };
            let mut items = Vec::new();
            let mut last = None;
            let mut more = false;
            for entry in table.range(start..=(u, u64::MAX, u128::MAX))? {
                let (k, v) = entry?;
                if items.len() == limit {
                    more = true;
                    break;
                }
                let (_, order, id) = k.value();
                last = Some((order, id));
                items.push(decode(v.value())?);
            }
            let next = if more {
                last.map(|(o, id)| desc_cursor(o, id))
            } else {
                None
            };
            Ok(Page { items, next })
        })
        .await
    }
}
