//! The write-ahead log in front of redb for timeline appends.
//!
//! A redb commit that is durable writes every B-tree page the batch dirtied and fsyncs them:
//! with hundreds of chats in one batch that is thousands of scattered pages, and it was the
//! embedded store's ceiling (docs/PERFORMANCE.md). A batch made only of appends is instead
//! committed to redb *non-durably* (visible to readers at once, kept in memory) and its inputs
//! are appended here and `fdatasync`ed: one short sequential write. Every second or so, or when
//! any other operation is in the batch, redb commits durably (a checkpoint) and the log starts
//! again. After a crash, redb comes back at its last durable commit and the appends logged since
//! are run again in order, which gives the same seqs: an append depends only on the store's
//! state and its inputs (see `timeline::replay_append`).
//!
//! Format: records of `[u32 body length][u64 FNV-1a of the body][body]`, little-endian; a body
//! is `[u64 lsn][u32 count]` then `count` payloads of `[u32 length][bytes]`. A record cut short
//! or failing its checksum ends the log: it was never synced, so nobody was answered for it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

/// The log's file name inside the data directory.
pub const FILE_NAME: &str = "confab.wal";

pub struct Wal {
    file: File,
    /// Bytes written since the last truncation.
    len: u64,
}

/// One batch of logged operations.
pub struct Record {
    pub lsn: u64,
    pub payloads: Vec<Vec<u8>>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Wal {
    /// Opens the log in `dir` and reads every whole record in it.
    pub fn open(dir: &Path) -> std::io::Result<(Wal, Vec<Record>)> {
        // Append mode: after a truncation the next record starts at offset 0 again.
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(dir.join(FILE_NAME))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let records = parse(&bytes);
        let len = bytes.len() as u64;
        Ok((Wal { file, len }, records))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends one record and makes it durable.
    pub fn append(&mut self, lsn: u64, payloads: &[&[u8]]) -> std::io::Result<()> {
        let mut body = Vec::with_capacity(12 + payloads.iter().map(|p| 4 + p.len()).sum::<usize>());
        body.extend_from_slice(&lsn.to_le_bytes());
        body.extend_from_slice(&(payloads.len() as u32).to_le_bytes());
        for p in payloads {
            body.extend_from_slice(&(p.len() as u32).to_le_bytes());
            body.extend_from_slice(p);
        }
        let mut record = Vec::with_capacity(12 + body.len());
        record.extend_from_slice(&(body.len() as u32).to_le_bytes());
        record.extend_from_slice(&fnv1a(&body).to_le_bytes());
        record.extend_from_slice(&body);
        self.file.write_all(&record)?;
        self.file.sync_data()?;
        self.len += record.len() as u64;
        Ok(())
    }

    /// Empties the log once redb holds everything in it durably. Not synced: records left
    /// behind by a crash are skipped on replay (their lsn is not above redb's).
    pub fn truncate(&mut self) -> std::io::Result<()> {
        if self.len > 0 {
            self.file.set_len(0)?;
            self.len = 0;
        }
        Ok(())
    }
}

fn parse(mut bytes: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let take_u32 = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let take_u64 = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    while let (Some(len), Some(sum)) = (take_u32(bytes, 0), take_u64(bytes, 4)) {
        let Some(body) = bytes.get(12..12 + len as usize) else {
            break;
        };
        if fnv1a(body) != sum {
            break;
        }
        let Some(record) = parse_body(body, take_u32, take_u64) else {
            break;
        };
        out.push(record);
        bytes = &bytes[12 + len as usize..];
    }
    out
}

fn parse_body(
    body: &[u8],
    take_u32: impl Fn(&[u8], usize) -> Option<u32>,
    take_u64: impl Fn(&[u8], usize) -> Option<u64>,
) -> Option<Record> {
    let lsn = take_u64(body, 0)?;
    let count = take_u32(body, 8)?;
    let mut at = 12;
    let mut payloads = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let len = take_u32(body, at)? as usize;
        payloads.push(body.get(at + 4..at + 4 + len)?.to_vec());
        at += 4 + len;
    }
    Some(Record { lsn, payloads })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, old) = Wal::open(dir.path()).unwrap();
        assert!(old.is_empty());
        wal.append(7, &[b"one", b""]).unwrap();
        wal.append(8, &[b"two"]).unwrap();
        drop(wal);
        // A crash in the middle of a third record.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE_NAME))
            .unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let (mut wal, records) = Wal::open(dir.path()).unwrap();
        let got: Vec<(u64, Vec<Vec<u8>>)> =
            records.into_iter().map(|r| (r.lsn, r.payloads)).collect();
        assert_eq!(
            got,
            vec![
                (7, vec![b"one".to_vec(), Vec::new()]),
                (8, vec![b"two".to_vec()])
            ]
        );
        wal.truncate().unwrap();
        assert!(Wal::open(dir.path()).unwrap().1.is_empty());
    }

    #[test]
    fn a_corrupt_record_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        wal.append(1, &[b"first"]).unwrap();
        wal.append(2, &[b"second"]).unwrap();
        drop(wal);
        let path = dir.path().join(FILE_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let records = Wal::open(dir.path()).unwrap().1;
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].lsn, 1);
    }
}
