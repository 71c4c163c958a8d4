//! Call history: `calls_by_user` (partition: user, clustered newest first by start and call
//! id), each finished call as JSON, one copy per user it concerned.

use uuid::Uuid;

use super::prefs::{decode_cursor, encode_cursor, split_i64, split_uuid};
use super::rows::{self, fetch_limit};
use super::ScyllaStore;
use crate::model::*;
use crate::{CallStore, StoreResult};

fn call_cursor(started_at: i64, id: Uuid) -> String {
    encode_cursor(&[&started_at.to_be_bytes(), id.as_bytes()])
}

fn parse_call_cursor(cursor: &str) -> StoreResult<(i64, Uuid)> {
    let b = decode_cursor::<24>(cursor)?;
    Ok((split_i64(&b[..8])?, split_uuid(&b[8..])?))
}

#[async_trait::async_trait]
impl CallStore for ScyllaStore {
    async fn record_call(&self, call: CallRecord) -> StoreResult<()> {
        let body = serde_json::to_string(&call).map_err(rows::corrupt)?;
        for owner in call.owners() {
            self.run(
                &self.st().insert_call,
                (owner, call.started_at, call.id, body.as_str()),
            )
            .await?;
        }
        Ok(())
    }

    async fn calls(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<CallRecord>> {
        let st = self.st();
        let (limit, fetch) = fetch_limit(page.limit);
        let result = match page.after.as_deref() {
            None => self.run(&st.calls_first, (user, fetch)).await?,
            Some(cursor) => {
                let (at, id) = parse_call_cursor(cursor)?;
                self.run(&st.calls_after, (user, at, id, fetch)).await?
            }
        };
        let mut found = rows::all::<(i64, Uuid, Option<String>)>(result)?;
        let more = found.len() > limit;
        found.truncate(limit);
        let next = match found.last() {
            Some(&(at, id, _)) if more => Some(call_cursor(at, id)),
            _ => None,
        };
        let items = found
            .into_iter()
            .map(|(_, _, body)| {
                let body = rows::required(body, "calls_by_user.body")?;
                serde_json::from_str(&body).map_err(rows::corrupt)
            })
            .collect::<StoreResult<Vec<CallRecord>>>()?;
        Ok(Page { items, next })
    }
}
