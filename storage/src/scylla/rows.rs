//! Reading results: typed rows, lightweight-transaction outcomes and page cursors.

use std::fmt::Display;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use scylla::deserialize::row::DeserializeRow;
use scylla::response::query_result::QueryResult;
use scylla::value::{CqlValue, Row};
use uuid::Uuid;

use crate::model::Visibility;
use crate::{StoreError, StoreResult};

/// A result that does not have the shape the statement promises: the schema and the code
/// disagree, or stored values are damaged.
pub(crate) fn corrupt(e: impl Display) -> StoreError {
    StoreError::Corrupt(format!("unexpected CQL result: {e}"))
}

/// Every row of a (single-page) result.
pub(crate) fn all<R>(result: QueryResult) -> StoreResult<Vec<R>>
where
    R: for<'f> DeserializeRow<'f, 'f>,
{
    let rows = result.into_rows_result().map_err(corrupt)?;
    let out = rows
        .rows::<R>()
        .map_err(corrupt)?
        .collect::<Result<Vec<R>, _>>()
        .map_err(corrupt)?;
    Ok(out)
}

/// The first row, if any.
pub(crate) fn first<R>(result: QueryResult) -> StoreResult<Option<R>>
where
    R: for<'f> DeserializeRow<'f, 'f>,
{
    let rows = result.into_rows_result().map_err(corrupt)?;
    rows.maybe_first_row::<R>().map_err(corrupt)
}

/// A value a row must have: a null there means a partial row (e.g. an update that raced a
/// delete), which the code is written never to leave.
pub(crate) fn required<T>(value: Option<T>, what: &str) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::Corrupt(format!("missing {what}")))
}

/// The outcome of a lightweight transaction. The server answers with an `[applied]` column
/// and, when not applied, the current values of the row; the columns vary between ScyllaDB and
/// Cassandra and between outcomes, so they are read by name.
pub(crate) struct Lwt {
    pub applied: bool,
    columns: Vec<(String, Option<CqlValue>)>,
}

impl Lwt {
    pub(crate) fn from_result(result: QueryResult) -> StoreResult<Lwt> {
        let rows = result.into_rows_result().map_err(corrupt)?;
        let names: Vec<String> = rows
            .column_specs()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let row: Row = rows
            .maybe_first_row::<Row>()
            .map_err(corrupt)?
            .ok_or_else(|| corrupt("a lightweight transaction returned no row"))?;
        let columns: Vec<_> = names.into_iter().zip(row.columns).collect();
        let applied = columns
            .iter()
            .find(|(n, _)| n == "[applied]")
            .and_then(|(_, v)| v.as_ref())
            .and_then(CqlValue::as_boolean)
            .ok_or_else(|| corrupt("a lightweight transaction returned no [applied]"))?;
        Ok(Lwt { applied, columns })
    }

    /// A column of the current row, when the transaction was not applied.
    pub(crate) fn column(&self, name: &str) -> Option<&CqlValue> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
    }
}

/// Lists page by their clustering key: the cursor is the last id of the previous page, as
/// URL-safe base64 of its 16 bytes. Opaque to clients; anything else is `InvalidCursor`.
pub(crate) fn cursor_of(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub(crate) fn parse_cursor(cursor: &str) -> StoreResult<Uuid> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    Uuid::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)
}

/// The largest page a list returns, whatever the caller asks: pages stay bounded reads of one
/// partition. A shorter page still carries a `next` cursor, so nothing is lost.
pub(crate) const MAX_PAGE: usize = 1000;

/// The `LIMIT` to bind for a page of `limit` items: one more, to learn whether a next page
/// exists without returning an empty last page.
pub(crate) fn fetch_limit(limit: usize) -> (usize, i32) {
    let limit = limit.clamp(1, MAX_PAGE);
    // MAX_PAGE + 1 fits in i32.
    (limit, (limit + 1) as i32)
}

pub(crate) fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Everyone => "everyone",
        Visibility::Contacts => "contacts",
        Visibility::Nobody => "nobody",
    }
}

pub(crate) fn visibility(name: Option<String>, default: Visibility) -> StoreResult<Visibility> {
    match name.as_deref() {
        None => Ok(default),
        Some("everyone") => Ok(Visibility::Everyone),
        Some("contacts") => Ok(Visibility::Contacts),
        Some("nobody") => Ok(Visibility::Nobody),
        Some(other) => Err(StoreError::Corrupt(format!("unknown visibility {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_roundtrip_and_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(parse_cursor(&cursor_of(id)).unwrap(), id);
        for bad in ["", "not a cursor", "%%%", "AAAA", &id.to_string()] {
            assert!(
                matches!(parse_cursor(bad), Err(StoreError::InvalidCursor)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(fetch_limit(0), (1, 2));
        assert_eq!(fetch_limit(3), (3, 4));
        assert_eq!(fetch_limit(usize::MAX), (MAX_PAGE, MAX_PAGE as i32 + 1));
    }

    #[test]
    fn visibilities_roundtrip() {
        for v in [
            Visibility::Everyone,
            Visibility::Contacts,
            Visibility::Nobody,
        ] {
            assert_eq!(
                visibility(Some(visibility_name(v).into()), Visibility::Nobody).unwrap(),
                v
            );
        }
        assert!(visibility(Some("some".into()), Visibility::Everyone).is_err());
    }
}
