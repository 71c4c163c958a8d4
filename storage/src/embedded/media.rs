//! Media records, shares and galleries.
//!
//! `MEDIA_SHARES` ((media, chat, seq)) answers "where was this media shared" as one range;
//! `GALLERY` ((chat, class, seq)) is each chat's gallery tab in seq order, read backwards for
//! newest first; both are written and removed together.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::EmbeddedStore;
use crate::model::*;
use crate::{StoreError, StoreResult};

/// media id -> `MediaRecord`
pub const MEDIA: TableDefinition<u128, &[u8]> = TableDefinition::new("media");
/// (media id, chat id, seq) -> () : where each media was shared
pub const MEDIA_SHARES: TableDefinition<(u128, u128, u64), ()> =
    TableDefinition::new("media_shares");
/// (chat id, gallery class, seq) -> `MediaShare`
pub const GALLERY: TableDefinition<(u128, u8, u64), &[u8]> = TableDefinition::new("gallery");

pub fn create_tables(txn: &WriteTransaction) -> StoreResult<()> {
    drop(txn.open_table(MEDIA)?);
    drop(txn.open_table(MEDIA_SHARES)?);
    drop(txn.open_table(GALLERY)?);
    Ok(())
}

#[async_trait::async_trait]
impl crate::MediaStore for EmbeddedStore {
    async fn create_media(&self, record: MediaRecord) -> StoreResult<()> {
        self.write(move |txn| {
            let mut table = txn.open_table(MEDIA)?;
            let id = record.id.as_u128();
            if table.get(id)?.is_some() {
                return Err(StoreError::Conflict("media"));
            }
            table.insert(id, encode(&record)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn media(&self, id: Uuid) -> StoreResult<Option<MediaRecord>> {
        self.read(move |txn| {
            let table = txn.open_table(MEDIA)?;
            let row = table.get(id.as_u128())?;
            row.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn share_media(&self, share: MediaShare) -> StoreResult<()> {
        self.write(move |txn| {
            let chat = share.chat_id.as_u128();
            if let Some(media) = share.media_id {
                txn.open_table(MEDIA_SHARES)?
                    .insert((media.as_u128(), chat, share.seq), ())?;
            }
            txn.open_table(GALLERY)?.insert(
                (chat, share.class.code(), share.seq),
                encode(&share)?.as_slice(),
            )?;
            Ok(())
        })
        .await
    }

    async fn unshare_media(&self, chat_id: Uuid, seq: u64) -> StoreResult<()> {
        self.write(move |txn| {
            let chat = chat_id.as_u128();
            let mut gallery = txn.open_table(GALLERY)?;
            let mut shares = txn.open_table(MEDIA_SHARES)?;
            for class in GalleryClass::ALL {
                let removed = gallery.remove((chat, class.code(), seq))?;
                let Some(row) = removed else { continue };
                let share: MediaShare = decode(row.value())?;
                drop(row);
                if let Some(media) = share.media_id {
                    shares.remove((media.as_u128(), chat, seq))?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn media_chats(&self, media_id: Uuid, limit: usize) -> StoreResult<Vec<Uuid>> {
        self.read(move |txn| {
            let table = txn.open_table(MEDIA_SHARES)?;
            let media = media_id.as_u128();
            let mut out: Vec<Uuid> = Vec::new();
            for row in table.range((media, 0, 0)..=(media, u128::MAX, u64::MAX))? {
                let (key, _) = row?;
                let chat = Uuid::from_u128(key.value().1);
                if out.last() != Some(&chat) {
                    if out.len() >= limit {
                        break;
                    }
                    out.push(chat);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn gallery(
        &self,
        chat_id: Uuid,
        class: GalleryClass,
        before: u64,
        limit: usize,
    ) -> StoreResult<Vec<MediaShare>> {
        self.read(move |txn| {
            let table = txn.open_table(GALLERY)?;
            let (chat, code) = (chat_id.as_u128(), class.code());
            let mut out = Vec::new();
            if before == 0 {
                return Ok(out);
            }
            for row in table.range((chat, code, 0)..(chat, code, before))?.rev() {
                if out.len() >= limit {
                    break;
                }
                let (_, value) = row?;
                out.push(decode(value.value())?);
            }
            Ok(out)
        })
        .await
    }
}
