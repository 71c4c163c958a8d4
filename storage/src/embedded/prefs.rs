//! Per-user state: chat preferences, user settings, stars, hidden events; and reports.

use redb::ReadableTable;
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::*;
use super::EmbeddedStore;
use crate::model::*;
use crate::{PrefsStore, ReportStore, StoreError, StoreResult};

/// Newest-first lists key by `u64::MAX - time`: the cursor is the last key, in hex.
pub(super) fn desc_cursor(key: u64, tie: u128) -> String {
    format!("{key:016x}{tie:032x}")
}

pub(super) fn parse_desc_cursor(cursor: Option<&str>) -> StoreResult<Option<(u64, u128)>> {
    let Some(c) = cursor else { return Ok(None) };
    if c.len() != 48 {
        return Err(StoreError::InvalidCursor);
    }
    let key = u64::from_str_radix(&c[..16], 16).map_err(|_| StoreError::InvalidCursor)?;
    let tie = u128::from_str_radix(&c[16..], 16).map_err(|_| StoreError::InvalidCursor)?;
    Ok(Some((key, tie)))
}

/// One page of a newest-first list keyed `(user, u64::MAX - time, tie)`, after `cursor`.
pub(super) fn desc_page<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<(u128, u64, u128), &'static [u8]>,
    user: Uuid,
    cursor: Option<&str>,
    limit: usize,
) -> StoreResult<Page<T>> {
    let u = user.as_u128();
    let start = match parse_desc_cursor(cursor)? {
        Some((order, tie)) => match tie.checked_add(1) {
            Some(t) => (u, order, t),
            None => (u, order.saturating_add(1), 0),
        },
        None => (u, 0, 0),
    };
    let limit = limit.max(1);
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for entry in table.range(start..=(u, u64::MAX, u128::MAX))? {
        let (k, v) = entry?;
        if items.len() == limit {
            more = true;
            break;
        }
        let (_, order, tie) = k.value();
        last = Some((order, tie));
        items.push(decode(v.value())?);
    }
    let next = if more {
        last.map(|(o, t)| desc_cursor(o, t))
    } else {
        None
    };
    Ok(Page { items, next })
}

fn star_tie(chat: Uuid, seq: u64) -> u128 {
    // Chat ids are UUIDv7: mixing the seq into the low bits keeps (time, tie) unique per star.
    chat.as_u128() ^ u128::from(seq)
}

impl EmbeddedStore {
    async fn user_flag(
        &self,
        id: Uuid,
        set: impl FnOnce(&mut User) + Send + 'static,
    ) -> StoreResult<()> {
        self.write(move |txn| {
            let mut users = txn.open_table(USERS)?;
            let mut user: User = match users.get(id.as_u128())? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound("user")),
            };
            set(&mut user);
            users.insert(id.as_u128(), encode(&user)?.as_slice())?;
            Ok(())
        })
        .await
    }

    pub(super) async fn set_disabled_impl(&self, id: Uuid, disabled: bool) -> StoreResult<()> {
        self.user_flag(id, move |u| u.disabled = disabled).await
    }

    pub(super) async fn set_server_admin_impl(&self, id: Uuid, admin: bool) -> StoreResult<()> {
        self.user_flag(id, move |u| u.server_admin = admin).await
    }
}

#[async_trait::async_trait]
impl PrefsStore for EmbeddedStore {
    async fn chat_prefs(&self, user: Uuid, chat_id: Uuid) -> StoreResult<ChatPrefs> {
        self.read(move |txn| {
            match txn
                .open_table(CHAT_PREFS)?
                .get((user.as_u128(), chat_id.as_u128()))?
            {
                Some(v) => decode(v.value()),
                None => Ok(ChatPrefs::default()),
            }
        })
        .await
    }

    async fn set_chat_prefs(&self, user: Uuid, chat_id: Uuid, prefs: ChatPrefs) -> StoreResult<()> {
        self.write(move |txn| {
            txn.open_table(CHAT_PREFS)?.insert(
                (user.as_u128(), chat_id.as_u128()),
                encode(&prefs)?.as_slice(),
            )?;
            Ok(())
        })
        .await
    }

    async fn user_settings(&self, user: Uuid) -> StoreResult<UserSettings> {
        self.read(
            move |txn| match txn.open_table(USER_SETTINGS)?.get(user.as_u128())? {
                Some(v) => decode(v.value()),
                None => Ok(UserSettings::default()),
            },
        )
        .await
    }

    async fn set_user_settings(&self, user: Uuid, settings: UserSettings) -> StoreResult<()> {
        self.write(move |txn| {
            txn.open_table(USER_SETTINGS)?
                .insert(user.as_u128(), encode(&settings)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn star(&self, user: Uuid, star: Star) -> StoreResult<bool> {
        self.write(move |txn| {
            let mut index = txn.open_table(STAR_INDEX)?;
            let key = (user.as_u128(), star.chat_id.as_u128(), star.seq);
            if index.get(key)?.is_some() {
                return Ok(false);
            }
            let order = u64::MAX - star.starred_at.max(0) as u64;
            index.insert(key, order)?;
            txn.open_table(STARS)?.insert(
                (user.as_u128(), order, star_tie(star.chat_id, star.seq)),
                encode(&star)?.as_slice(),
            )?;
            Ok(true)
        })
        .await
    }

    async fn unstar(&self, user: Uuid, chat_id: Uuid, seq: u64) -> StoreResult<()> {
        self.write(move |txn| {
            let order = match txn.open_table(STAR_INDEX)?.remove((
                user.as_u128(),
                chat_id.as_u128(),
                seq,
            ))? {
                Some(v) => v.value(),
                None => return Err(StoreError::NotFound("star")),
            };
            txn.open_table(STARS)?
                .remove((user.as_u128(), order, star_tie(chat_id, seq)))?;
            Ok(())
        })
        .await
    }

    async fn stars(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<Star>> {
        self.read(move |txn| {
            desc_page(
                &txn.open_table(STARS)?,
                user,
                page.after.as_deref(),
                page.limit,
            )
        })
        .await
    }

    async fn hide(&self, user: Uuid, chat_id: Uuid, seqs: &[u64]) -> StoreResult<()> {
        let seqs = seqs.to_vec();
        self.write(move |txn| {
            let mut t = txn.open_table(HIDDEN)?;
            for seq in seqs {
                t.insert((user.as_u128(), chat_id.as_u128(), seq), ())?;
            }
            Ok(())
        })
        .await
    }

    async fn hidden(&self, user: Uuid, chat_id: Uuid, from: u64, to: u64) -> StoreResult<Vec<u64>> {
        self.read(move |txn| {
            let (u, c) = (user.as_u128(), chat_id.as_u128());
            let mut out = Vec::new();
            if from <= to {
                for entry in txn.open_table(HIDDEN)?.range((u, c, from)..=(u, c, to))? {
                    out.push(entry?.0.value().2);
                }
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait::async_trait]
impl ReportStore for EmbeddedStore {
    async fn add_report(&self, report: Report) -> StoreResult<()> {
        self.write(move |txn| {
            let order = u64::MAX - report.created_at.max(0) as u64;
            txn.open_table(REPORTS)?
                .insert((order, report.id.as_u128()), encode(&report)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn reports(&self, page: PageRequest) -> StoreResult<Page<Report>> {
        let after = parse_desc_cursor(page.after.as_deref())?;
        let limit = page.limit.max(1);
        self.read(move |txn| {
            let table = txn.open_table(REPORTS)?;
            let start = match after {
                Some((order, tie)) => match tie.checked_add(1) {
                    Some(t) => (order, t),
                    None => (order.saturating_add(1), 0),
                },
                None => (0, 0),
            };
            let mut items = Vec::new();
            let mut last = None;
            let mut more = false;
            for entry in table.range(start..)? {
                let (k, v) = entry?;
                if items.len() == limit {
                    more = true;
                    break;
                }
                last = Some(k.value());
                items.push(decode(v.value())?);
            }
            let next = if more {
                last.map(|(o, t)| desc_cursor(o, t))
            } else {
                None
            };
            Ok(Page { items, next })
        })
        .await
    }
}
