//! The sparse offset index (`.index`) and the file machinery it shares with the time index.
//!
//! ```text
//! .index entry, 8 bytes, big-endian (Kafka's OffsetIndex layout)
//! +---------------------------+---------------------------+
//! | 0..4  relative offset u32 | 4..8  file position u32   |
//! |  batch base - segment base|  byte where the batch     |
//! |                           |  starts in the .log       |
//! +---------------------------+---------------------------+
//! ```
//!
//! The `.log` is the truth; indexes are a cache of it. Entries live in memory (a few MB for a full
//! 1 GiB segment) and reach the file in chunks without fsync, except when a segment rolls or the
//! log is flushed. Recovery compares them with a scan and rewrites them on any doubt, so a crash
//! that loses index entries costs start-up time, never correctness.
//!
//! Memory: every segment's entries stay loaded, about 6 MB per GiB of log at the default
//! 4096-byte interval (8 bytes per offset entry, 16 per time entry). Kafka mmaps instead; if
//! long retention makes this matter, sealed segments can drop theirs and reload on use.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use tracing::warn;

use super::error::LogError;

/// Entries buffered in memory before one write to the file.
const WRITE_CHUNK_ENTRIES: usize = 512;

/// A fixed-size index entry and its byte form.
pub(crate) trait Entry: Copy + Eq {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    /// `bytes` is exactly `SIZE` long.
    fn decode(bytes: &[u8]) -> Self;
}

/// An append-only file of entries, mirrored in memory. `entries[..on_disk]` have been written.
#[derive(Debug)]
pub(crate) struct EntryFile<E: Entry> {
    path: PathBuf,
    file: File,
    entries: Vec<E>,
    on_disk: usize,
    /// The file held a partial trailing entry when loaded: a torn write.
    torn: bool,
    /// The last chunk write failed; warn only once until one succeeds.
    write_failed: bool,
}

impl<E: Entry> EntryFile<E> {
    /// Opens or creates the file and loads every whole entry in it.
    pub(crate) fn open(path: PathBuf) -> Result<EntryFile<E>, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LogError::io("open", &path))?;
        // Reading the whole file bounds the allocation by the file's own size.
        let bytes = std::fs::read(&path).map_err(LogError::io("read", &path))?;
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        Ok(EntryFile {
            on_disk: entries.len(),
            torn: bytes.len() % E::SIZE != 0,
            write_failed: false,
            path,
            file,
            entries,
        })
    }

    /// Creates an empty file, replacing any leftover with the same name.
    pub(crate) fn create(path: PathBuf) -> Result<EntryFile<E>, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(LogError::io("create", &path))?;
        Ok(EntryFile {
            path,
            file,
            entries: Vec::new(),
            on_disk: 0,
            torn: false,
            write_failed: false,
        })
    }

    pub(crate) fn entries(&self) -> &[E] {
        &self.entries
    }

    pub(crate) fn is_torn(&self) -> bool {
        self.torn
    }

    /// Adds an entry; a full chunk goes to the file. A failed index write does not fail the
    /// append that caused it (the batch is already in the `.log`, and failing would make the
    /// producer retry it into a duplicate): the entries stay pending and are retried with the
    /// next chunk, and the failure is logged once.
    pub(crate) fn push(&mut self, entry: E) {
        self.entries.push(entry);
        if self.entries.len() - self.on_disk >= WRITE_CHUNK_ENTRIES {
            match self.write_pending() {
                Ok(()) => self.write_failed = false,
                Err(e) if !self.write_failed => {
                    self.write_failed = true;
                    warn!(error = %e, "index write failed; the index will be rebuilt if it is still behind at the next start");
                }
                Err(_) => {}
            }
        }
    }

    /// Replaces the whole file with `entries` (index rebuild).
    pub(crate) fn replace(&mut self, entries: Vec<E>) -> Result<(), LogError> {
        self.file.set_len(0).map_err(LogError::io("truncate", &self.path))?;
        self.entries = entries;
        self.on_disk = 0;
        self.torn = false;
        self.write_pending()
    }

    pub(crate) fn write_pending(&mut self) -> Result<(), LogError> {
        self.write_pending_at()?;
        self.on_disk = self.entries.len();
        Ok(())
    }

    /// Writes the pending entries and fsyncs. Takes `&self`: the write is positioned, so doing
    /// it again later (from `write_pending`) rewrites the same bytes in the same place.
    pub(crate) fn sync(&self) -> Result<(), LogError> {
        self.write_pending_at()?;
        self.file.sync_data().map_err(LogError::io("fsync", &self.path))
    }

    fn write_pending_at(&self) -> Result<(), LogError> {
        let pending = &self.entries[self.on_disk..];
        if pending.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(pending.len() * E::SIZE);
        pending.iter().for_each(|e| e.encode(&mut buf));
        let at = (self.on_disk * E::SIZE) as u64;
        self.file
            .write_all_at(&buf, at)
            .map_err(LogError::io("write", &self.path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl<E: Entry> Drop for EntryFile<E> {
    fn drop(&mut self) {
        // Entries not yet written would only cost a rebuild at the next start; writing them on a
        // clean close saves that. An error here changes nothing for the same reason.
        let _ = self.write_pending_at();
    }
}

/// One `.index` entry: the batch starting `relative_offset` past the segment base lies at
/// byte `position` of the `.log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

impl Entry for OffsetEntry {
    const SIZE: usize = 8;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }

    fn decode(b: &[u8]) -> OffsetEntry {
        OffsetEntry {
            relative_offset: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            position: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// Sparse map from offset to file position for one segment.
#[derive(Debug)]
pub struct OffsetIndex {
    pub(crate) file: EntryFile<OffsetEntry>,
}

impl OffsetIndex {
    /// The entry with the largest relative offset <= `relative_offset`: where to start scanning
    /// for it. Position 0 when the index has nothing that low (the first batch is at 0).
    pub fn lookup(&self, relative_offset: u32) -> OffsetEntry {
        let entries = self.file.entries();
        let after = entries.partition_point(|e| e.relative_offset <= relative_offset);
        match after.checked_sub(1) {
            Some(i) => entries[i],
            None => OffsetEntry {
                relative_offset: 0,
                position: 0,
            },
        }
    }

    pub fn entries(&self) -> &[OffsetEntry] {
        self.file.entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(relative_offset: u32, position: u32) -> OffsetEntry {
        OffsetEntry {
            relative_offset,
            position,
        }
    }

    #[test]
    fn offset_entry_bytes_are_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.index");
        let mut f = EntryFile::create(path.clone()).unwrap();
        f.push(e(0, 0));
        f.push(e(0x0102_0304, 0x0a0b_0c0d));
        f.sync().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]
        );
        let loaded = EntryFile::<OffsetEntry>::open(path).unwrap();
        assert_eq!(loaded.entries(), &[e(0, 0), e(0x0102_0304, 0x0a0b_0c0d)]);
        assert!(!loaded.is_torn());
    }

    #[test]
    fn lookup_finds_floor_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = EntryFile::create(dir.path().join("x.index")).unwrap();
        for (r, p) in [(0, 0), (10, 4100), (25, 8300)] {
            f.push(e(r, p));
        }
        let idx = OffsetIndex { file: f };
        assert_eq!(idx.lookup(0), e(0, 0));
        assert_eq!(idx.lookup(9), e(0, 0));
        assert_eq!(idx.lookup(10), e(10, 4100));
        assert_eq!(idx.lookup(24), e(10, 4100));
        assert_eq!(idx.lookup(u32::MAX), e(25, 8300));
    }

    #[test]
    fn partial_trailing_entry_is_reported_torn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        std::fs::write(&path, [0u8; 12]).unwrap();
        let f = EntryFile::<OffsetEntry>::open(path).unwrap();
        assert_eq!(f.entries().len(), 1);
        assert!(f.is_torn());
    }

    #[test]
    fn entries_reach_the_file_in_chunks_and_on_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut f = EntryFile::create(path.clone()).unwrap();
        for i in 0..WRITE_CHUNK_ENTRIES as u32 + 3 {
            f.push(e(i, i * 100));
        }
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert_eq!(on_disk, (WRITE_CHUNK_ENTRIES * 8) as u64);
        f.sync().unwrap();
        f.write_pending().unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            ((WRITE_CHUNK_ENTRIES + 3) * 8) as u64
        );
    }
}
