//! Row encoding and page cursors.

use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use crate::{StoreError, StoreResult};

pub fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("decode: {e}")))
}

/// Lists keyed by (owner, id) page by id: the cursor is the last id returned.
pub fn cursor_of(id: u128) -> String {
    Uuid::from_u128(id).simple().to_string()
}

/// The first id after the cursor.
pub fn start_after(cursor: Option<&str>) -> StoreResult<u128> {
    match cursor {
        None => Ok(0),
        Some(c) => {
            let id = Uuid::try_parse(c)
                .map_err(|_| StoreError::InvalidCursor)?
                .as_u128();
            id.checked_add(1).ok_or(StoreError::InvalidCursor)
        }
    }
}
