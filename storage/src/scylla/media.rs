//! Media records (`media`), where each was shared (`media_shares`, partition: media) and each
//! chat's gallery (`media_gallery`, partition: (chat, class), newest first). See
//! `schema/0006_media.cql`.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Statement;
use uuid::Uuid;

use super::statements::{qualify, PAGE_SIZE};
use super::{prepare_error, rows, ScyllaStore};
use crate::model::*;
use crate::{StoreError, StoreResult};

pub(crate) struct MediaStatements {
    claim_media: PreparedStatement,
    select_media: PreparedStatement,
    insert_share: PreparedStatement,
    delete_share: PreparedStatement,
    select_shares: PreparedStatement,
    insert_gallery: PreparedStatement,
    select_gallery_row: PreparedStatement,
    delete_gallery_row: PreparedStatement,
    select_gallery: PreparedStatement,
}

impl MediaStatements {
    pub(crate) async fn prepare(
        session: &Session,
        keyspace: &str,
        nodes: &str,
    ) -> StoreResult<MediaStatements> {
        let p = |cql: &'static str, idempotent: bool| async move {
            let cql = qualify(cql, keyspace);
            let mut statement = Statement::new(cql.as_str()).with_page_size(PAGE_SIZE);
            statement.set_is_idempotent(idempotent);
            session
                .prepare(statement)
                .await
                .map_err(|e| prepare_error(nodes, &cql, e))
        };
        Ok(MediaStatements {
            claim_media: p(
                "INSERT INTO media (id, body) VALUES (?, ?) IF NOT EXISTS",
                false,
            )
            .await?,
            select_media: p("SELECT body FROM media WHERE id = ?", true).await?,
            insert_share: p(
                "INSERT INTO media_shares (media_id, chat_id, seq) VALUES (?, ?, ?)",
                true,
            )
            .await?,
            delete_share: p(
                "DELETE FROM media_shares WHERE media_id = ? AND chat_id = ? AND seq = ?",
                true,
            )
            .await?,
            select_shares: p(
                "SELECT chat_id FROM media_shares WHERE media_id = ? LIMIT ?",
                true,
            )
            .await?,
            insert_gallery: p(
                "INSERT INTO media_gallery (chat_id, class, seq, media_id, body) \
                 VALUES (?, ?, ?, ?, ?)",
                true,
            )
            .await?,
            select_gallery_row: p(
                "SELECT media_id FROM media_gallery WHERE chat_id = ? AND class = ? AND seq = ?",
                true,
            )
            .await?,
            delete_gallery_row: p(
                "DELETE FROM media_gallery WHERE chat_id = ? AND class = ? AND seq = ?",
                true,
            )
            .await?,
            select_gallery: p(
                "SELECT body FROM media_gallery WHERE chat_id = ? AND class = ? AND seq < ? \
                 LIMIT ?",
                true,
            )
            .await?,
        })
    }
}

fn seq_value(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq).map_err(|_| StoreError::NotFound("message"))
}

fn limit_value(limit: usize) -> i32 {
    i32::try_from(limit.max(1)).unwrap_or(i32::MAX)
}

#[async_trait::async_trait]
impl crate::MediaStore for ScyllaStore {
    async fn create_media(&self, record: MediaRecord) -> StoreResult<()> {
        let body = serde_json::to_string(&record).map_err(rows::corrupt)?;
        let result = self
            .run(&self.st().media.claim_media, (record.id, body))
            .await?;
        if rows::Lwt::from_result(result)?.applied {
            Ok(())
        } else {
            Err(StoreError::Conflict("media"))
        }
    }

    async fn media(&self, id: Uuid) -> StoreResult<Option<MediaRecord>> {
        let row = rows::first::<(Option<String>,)>(
            self.run(&self.st().media.select_media, (id,)).await?,
        )?;
        row.map(|(body,)| {
            let body = rows::required(body, "media.body")?;
            serde_json::from_str(&body).map_err(rows::corrupt)
        })
        .transpose()
    }

    async fn share_media(&self, share: MediaShare) -> StoreResult<()> {
        let seq = seq_value(share.seq)?;
        let body = serde_json::to_string(&share).map_err(rows::corrupt)?;
        // The share row first: a gallery entry never names media its members cannot fetch.
        if let Some(media) = share.media_id {
            self.run(&self.st().media.insert_share, (media, share.chat_id, seq))
                .await?;
        }
        self.run(
            &self.st().media.insert_gallery,
            (
                share.chat_id,
                share.class.as_str(),
                seq,
                share.media_id,
                body,
            ),
        )
        .await?;
        Ok(())
    }

    async fn unshare_media(&self, chat_id: Uuid, seq: u64) -> StoreResult<()> {
        let seq = seq_value(seq)?;
        for class in GalleryClass::ALL {
            let key = (chat_id, class.as_str(), seq);
            let row = rows::first::<(Option<Uuid>,)>(
                self.run(&self.st().media.select_gallery_row, key).await?,
            )?;
            let Some((media,)) = row else { continue };
            // Access goes first, then the gallery entry: a failure half way leaves an entry
            // whose media is no longer downloadable, and a retry finishes the job.
            if let Some(media) = media {
                self.run(&self.st().media.delete_share, (media, chat_id, seq))
                    .await?;
            }
            self.run(&self.st().media.delete_gallery_row, key).await?;
        }
        Ok(())
    }

    async fn media_chats(&self, media_id: Uuid, limit: usize) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = self
            .all_pages(
                &self.st().media.select_shares,
                (media_id, limit_value(limit.saturating_mul(4))),
            )
            .await?;
        let mut out: Vec<Uuid> = Vec::new();
        for (chat,) in rows {
            if out.last() != Some(&chat) {
                if out.len() >= limit {
                    break;
                }
                out.push(chat);
            }
        }
        Ok(out)
    }

    async fn gallery(
        &self,
        chat_id: Uuid,
        class: GalleryClass,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<MediaShare>> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        let rows = rows::all::<(Option<String>,)>(
            self.run(
                &self.st().media.select_gallery,
                (chat_id, class.as_str(), before, limit_value(limit)),
            )
            .await?,
        )?;
        rows.into_iter()
            .map(|(body,)| {
                let body = rows::required(body, "media_gallery.body")?;
                serde_json::from_str(&body).map_err(rows::corrupt)
            })
            .collect()
    }
}
