//! Per-user state (chat preferences, user settings, stars, events hidden for oneself) and
//! reports.
//!
//! - `chat_prefs` (partition: user, clustered by chat) and `user_settings` (partition: user)
//!   are whole-value upserts; a missing row reads as the defaults.
//! - Stars: `star_index` (user; chat, seq) is the "starred already" claim, taken with
//!   `INSERT ... IF NOT EXISTS` and remembering when; `stars` (user; starred_at, chat, seq, all
//!   descending) is the newest-first list, paged by a cursor holding the last key. Starring
//!   claims first and lists second; unstarring unlists first and releases the claim last
//!   (`DELETE ... IF starred_at = ?`, the commit point, so of two concurrent unstars one gets
//!   `NotFound`). A crash in between either way leaves a claim without a list entry: not
//!   shown, answered "starred already" by `star` and removed by `unstar`, never a listed star
//!   that cannot be removed.
//! - Hidden events: one partition per (user, chat), clustered by seq.
//! - Reports: a global list, newest first, partitioned by UTC day of `created_at` (so no
//!   partition grows without bound) and clustered by (created_at, id) descending. The days
//!   that have reports are listed in `report_days` (one small partition, one row per day,
//!   written before the report), so a page walks the non-empty days newest first, from the
//!   cursor's day down, reading each day's slice below the cursor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use super::rows::{self, corrupt, fetch_limit, required};
use super::timeline::{to_i64, to_u64};
use super::ScyllaStore;
use crate::model::*;
use crate::{PrefsStore, ReportStore, StoreError, StoreResult};

/// Milliseconds per report partition (a UTC day).
const REPORT_DAY_MS: i64 = 86_400_000;
/// Partition key of `report_days`.
const REPORT_SCOPE: &str = "reports";
/// Days read per `report_days` query while paging reports.
const DAYS_PER_READ: i32 = 100;

fn notifications_name(level: NotificationLevel) -> &'static str {
    match level {
        NotificationLevel::All => "all",
        NotificationLevel::None => "none",
    }
}

fn notifications(name: Option<String>) -> StoreResult<NotificationLevel> {
    match name.as_deref() {
        None | Some("all") => Ok(NotificationLevel::All),
        Some("none") => Ok(NotificationLevel::None),
        Some(other) => Err(StoreError::Corrupt(format!(
            "unknown notification level {other:?}"
        ))),
    }
}

/// A cursor over a descending key: URL-safe base64 of its fixed-size big-endian bytes.
pub(super) fn encode_cursor(parts: &[&[u8]]) -> String {
    URL_SAFE_NO_PAD.encode(parts.concat())
}

pub(super) fn decode_cursor<const N: usize>(cursor: &str) -> StoreResult<[u8; N]> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| StoreError::InvalidCursor)
}

pub(super) fn split_i64(bytes: &[u8]) -> StoreResult<i64> {
    let array = <[u8; 8]>::try_from(bytes).map_err(|_| StoreError::InvalidCursor)?;
    Ok(i64::from_be_bytes(array))
}

pub(super) fn split_uuid(bytes: &[u8]) -> StoreResult<Uuid> {
    Uuid::from_slice(bytes).map_err(|_| StoreError::InvalidCursor)
}

/// Star cursor: (starred_at, chat id, seq) of the last star returned.
fn star_cursor(starred_at: i64, chat_id: Uuid, seq: i64) -> String {
    encode_cursor(&[
        &starred_at.to_be_bytes(),
        chat_id.as_bytes(),
        &seq.to_be_bytes(),
    ])
}

fn parse_star_cursor(cursor: &str) -> StoreResult<(i64, Uuid, i64)> {
    let b = decode_cursor::<32>(cursor)?;
    Ok((
        split_i64(&b[..8])?,
        split_uuid(&b[8..24])?,
        split_i64(&b[24..])?,
    ))
}

/// Report cursor: (created_at, id) of the last report returned.
fn report_cursor(created_at: i64, id: Uuid) -> String {
    encode_cursor(&[&created_at.to_be_bytes(), id.as_bytes()])
}

fn parse_report_cursor(cursor: &str) -> StoreResult<(i64, Uuid)> {
    let b = decode_cursor::<24>(cursor)?;
    Ok((split_i64(&b[..8])?, split_uuid(&b[8..])?))
}

type StarRow = (i64, Uuid, i64);

type ReportRow = (
    i64,
    Uuid,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn report_from_row(r: ReportRow) -> StoreResult<Report> {
    let (created_at, id, reporter, reported_user, chat_id, seq, reason, evidence) = r;
    Ok(Report {
        id,
        reporter: required(reporter, "reports.reporter")?,
        reported_user: required(reported_user, "reports.reported_user")?,
        chat_id,
        seq: seq.map(|s| to_u64(s, "reports.seq")).transpose()?,
        reason: reason.unwrap_or_default(),
        created_at,
        evidence: match evidence {
            Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
            None => Vec::new(),
        },
    })
}

#[async_trait::async_trait]
impl PrefsStore for ScyllaStore {
    async fn chat_prefs(&self, user: Uuid, chat_id: Uuid) -> StoreResult<ChatPrefs> {
        let row = rows::first::<(Option<i64>, Option<i64>, Option<i64>, Option<String>)>(
            self.run(&self.st().select_chat_prefs, (user, chat_id))
                .await?,
        )?;
        let Some((pinned_at, archived_at, muted_until, level)) = row else {
            return Ok(ChatPrefs::default());
        };
        Ok(ChatPrefs {
            pinned_at,
            archived_at,
            muted_until,
            notifications: notifications(level)?,
        })
    }

    async fn set_chat_prefs(&self, user: Uuid, chat_id: Uuid, prefs: ChatPrefs) -> StoreResult<()> {
        self.run(
            &self.st().upsert_chat_prefs,
            (
                user,
                chat_id,
                prefs.pinned_at,
                prefs.archived_at,
                prefs.muted_until,
                notifications_name(prefs.notifications),
            ),
        )
        .await?;
        Ok(())
    }

    async fn user_settings(&self, user: Uuid) -> StoreResult<UserSettings> {
        let row = rows::first::<(Option<bool>,)>(
            self.run(&self.st().select_user_settings, (user,)).await?,
        )?;
        let defaults = UserSettings::default();
        Ok(UserSettings {
            keep_chats_archived: row
                .and_then(|(keep,)| keep)
                .unwrap_or(defaults.keep_chats_archived),
        })
    }

    async fn set_user_settings(&self, user: Uuid, settings: UserSettings) -> StoreResult<()> {
        self.run(
            &self.st().upsert_user_settings,
            (user, settings.keep_chats_archived),
        )
        .await?;
        Ok(())
    }

    async fn star(&self, user: Uuid, star: Star) -> StoreResult<bool> {
        let st = self.st();
        let seq = to_i64(star.seq);
        let claim = self
            .lwt(&st.claim_star, (user, star.chat_id, seq, star.starred_at))
            .await?;
        if !claim.applied {
            return Ok(false);
        }
        if let Err(e) = self
            .run(&st.insert_star, (user, star.starred_at, star.chat_id, seq))
            .await
        {
            // Give the claim back (only if it is still this one), so a retry can star it.
            if let Err(undo) = self
                .lwt(&st.release_star, (user, star.chat_id, seq, star.starred_at))
                .await
            {
                tracing::warn!(error = %undo, "could not release a star claim");
            }
            return Err(e);
        }
        Ok(true)
    }

    async fn unstar(&self, user: Uuid, chat_id: Uuid, seq: u64) -> StoreResult<()> {
        let st = self.st();
        let seq = to_i64(seq);
        let row =
            rows::first::<(Option<i64>,)>(self.run(&st.select_star, (user, chat_id, seq)).await?)?;
        let Some((Some(starred_at),)) = row else {
            return Err(StoreError::NotFound("star"));
        };
        self.run(&st.delete_star, (user, starred_at, chat_id, seq))
            .await?;
        let released = self
            .lwt(&st.release_star, (user, chat_id, seq, starred_at))
            .await?;
        if !released.applied {
            // Unstarred (and maybe starred again) concurrently: this call removed nothing
            // that was still there.
            return Err(StoreError::NotFound("star"));
        }
        Ok(())
    }

    async fn stars(&self, user: Uuid, page: PageRequest) -> StoreResult<Page<Star>> {
        let st = self.st();
        let (limit, fetch) = fetch_limit(page.limit);
        let result = match page.after.as_deref() {
            None => self.run(&st.stars_first, (user, fetch)).await?,
            Some(cursor) => {
                let (at, chat_id, seq) = parse_star_cursor(cursor)?;
                self.run(&st.stars_after, (user, at, chat_id, seq, fetch))
                    .await?
            }
        };
        let mut found = rows::all::<StarRow>(result)?;
        let more = found.len() > limit;
        found.truncate(limit);
        let next = match found.last() {
            Some(&(at, chat_id, seq)) if more => Some(star_cursor(at, chat_id, seq)),
            _ => None,
        };
        let items = found
            .into_iter()
            .map(|(starred_at, chat_id, seq)| {
                Ok(Star {
                    chat_id,
                    seq: to_u64(seq, "stars.seq")?,
                    starred_at,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { items, next })
    }

    async fn hide(&self, user: Uuid, chat_id: Uuid, seqs: &[u64]) -> StoreResult<()> {
        let rows = seqs
            .iter()
            .map(|&seq| (user, chat_id, to_i64(seq)))
            .collect();
        self.run_all(|st| &st.insert_hidden, rows).await
    }

    async fn hidden(&self, user: Uuid, chat_id: Uuid, from: u64, to: u64) -> StoreResult<Vec<u64>> {
        if from > to {
            return Ok(Vec::new());
        }
        self.all_pages::<(i64,), _>(
            &self.st().hidden_range,
            (user, chat_id, to_i64(from), to_i64(to)),
        )
        .await?
        .into_iter()
        .map(|(seq,)| to_u64(seq, "hidden_events.seq"))
        .collect()
    }
}

impl ScyllaStore {
    /// Up to `want` reports of `day`, below `below` (created_at, id) when given.
    async fn reports_of_day(
        &self,
        day: i64,
        below: Option<(i64, Uuid)>,
        want: usize,
        out: &mut Vec<Report>,
    ) -> StoreResult<()> {
        let st = self.st();
        // `want` is at most MAX_PAGE + 1.
        let limit = i32::try_from(want).unwrap_or(i32::MAX);
        let result = match below {
            None => self.run(&st.reports_first, (day, limit)).await?,
            Some((at, id)) => self.run(&st.reports_after, (day, at, id, limit)).await?,
        };
        for row in rows::all::<ReportRow>(result)? {
            out.push(report_from_row(row)?);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ReportStore for ScyllaStore {
    /// The day first, then the report (which makes it visible): a listed report's day is
    /// always in `report_days`.
    async fn add_report(&self, report: Report) -> StoreResult<()> {
        let st = self.st();
        let day = report.created_at.div_euclid(REPORT_DAY_MS);
        self.run(&st.insert_report_day, (REPORT_SCOPE, day)).await?;
        let evidence = serde_json::to_string(&report.evidence).map_err(corrupt)?;
        self.run(
            &st.insert_report,
            (
                day,
                report.created_at,
                report.id,
                report.reporter,
                report.reported_user,
                report.chat_id,
                report.seq.map(to_i64),
                report.reason.as_str(),
                evidence.as_str(),
            ),
        )
        .await?;
        Ok(())
    }

    /// Reads one report more than the page holds, to know whether there is a next page.
    async fn reports(&self, page: PageRequest) -> StoreResult<Page<Report>> {
        let st = self.st();
        let (limit, _) = fetch_limit(page.limit);
        let after = page.after.as_deref().map(parse_report_cursor).transpose()?;
        let mut items: Vec<Report> = Vec::new();
        // Days strictly below this one are still to read (all days when `None`).
        let mut below_day = None;
        if let Some((at, id)) = after {
            let day = at.div_euclid(REPORT_DAY_MS);
            self.reports_of_day(day, Some((at, id)), limit + 1, &mut items)
                .await?;
            below_day = Some(day);
        }
        'days: while items.len() <= limit {
            let result = match below_day {
                None => {
                    self.run(&st.report_days_first, (REPORT_SCOPE, DAYS_PER_READ))
                        .await?
                }
                Some(day) => {
                    self.run(&st.report_days_before, (REPORT_SCOPE, day, DAYS_PER_READ))
                        .await?
                }
            };
            let days = rows::all::<(i64,)>(result)?;
            let read = days.len();
            for (day,) in days {
                below_day = Some(day);
                self.reports_of_day(day, None, limit + 1 - items.len(), &mut items)
                    .await?;
                if items.len() > limit {
                    break 'days;
                }
            }
            if read < DAYS_PER_READ as usize {
                break;
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = match items.last() {
            Some(last) if more => Some(report_cursor(last.created_at, last.id)),
            _ => None,
        };
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_roundtrip_and_refuse_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse_star_cursor(&star_cursor(-5, id, 7)).unwrap(),
            (-5, id, 7)
        );
        assert_eq!(
            parse_report_cursor(&report_cursor(1_700_000_000_000, id)).unwrap(),
            (1_700_000_000_000, id)
        );
        for bad in ["", "nope", "%%%", &rows::cursor_of(id)] {
            assert!(matches!(
                parse_star_cursor(bad),
                Err(StoreError::InvalidCursor)
            ));
            assert!(matches!(
                parse_report_cursor(bad),
                Err(StoreError::InvalidCursor)
            ));
        }
    }

    #[test]
    fn report_days_are_utc_days() {
        assert_eq!(0i64.div_euclid(REPORT_DAY_MS), 0);
        assert_eq!((REPORT_DAY_MS - 1).div_euclid(REPORT_DAY_MS), 0);
        assert_eq!((-1i64).div_euclid(REPORT_DAY_MS), -1);
    }
}
