//! One segment: a `.log` file of batches starting at `base_offset`, with its two indexes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cadence::IndexCadence;
use super::config::LogConfig;
use super::error::LogError;
use super::index::{EntryFile, OffsetIndex};
use super::time_index::TimeIndex;
use crate::record::{BatchHeader, HEADER_LEN};

pub const LOG_SUFFIX: &str = "log";
pub const INDEX_SUFFIX: &str = "index";
pub const TIME_INDEX_SUFFIX: &str = "timeindex";

/// Zeros are written ahead of the active segment's logical end, so that appends overwrite
/// blocks the file already has and the fdatasync after them commits no file size or extent
/// change (BENCHMARKS.md, "Segments are zero-filled ahead of their end"). Each fill writes as
/// much as the file already holds, at least `PREALLOC_MIN` and at most `PREALLOC_MAX` (and not
/// past the segment's configured size): a quiet partition's segment takes 64 KiB more than its
/// data, a busy one 4 MiB. The zeros are cut off when the segment is sealed or the log closed;
/// after a crash, recovery stops quietly at them.
pub const PREALLOC_MIN: u64 = 64 << 10;
pub const PREALLOC_MAX: u64 = 4 << 20;

/// Written in pieces of this many bytes when preallocating.
static ZEROS: [u8; 1 << 20] = [0; 1 << 20];

/// `<base offset, 20 digits>.<suffix>`, as Kafka names segment files.
pub fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

#[derive(Debug)]
pub struct Segment {
    pub(crate) base_offset: i64,
    pub(crate) log_path: PathBuf,
    /// Shared so the group-commit path can fsync it without holding the log.
    pub(crate) file: Arc<File>,
    /// Bytes of whole, valid batches; nothing past it is ever read.
    pub(crate) size: u64,
    /// Length of the file, >= `size`: the active segment's file holds written zeros past `size`
    /// (see `PREALLOC_MIN`).
    pub(crate) file_len: u64,
    /// One past the last offset in the segment.
    pub(crate) next_offset: i64,
    pub(crate) offset_index: OffsetIndex,
    pub(crate) time_index: TimeIndex,
    pub(crate) cadence: IndexCadence,
    /// Start of the time-based roll clock: `now_ms` at the first append, or after a restart the
    /// first batch's max timestamp (Kafka's rule).
    pub(crate) roll_base_ms: Option<i64>,
}

impl Segment {
    /// A new, empty segment; leftover files with the same names are replaced.
    pub fn create(dir: &Path, base_offset: i64, index_interval: u32) -> Result<Segment, LogError> {
        let log_path = dir.join(file_name(base_offset, LOG_SUFFIX));
        let file = open_log(&log_path, true)?;
        Ok(Segment {
            base_offset,
            file: Arc::new(file),
            size: 0,
            file_len: 0,
            next_offset: base_offset,
            offset_index: OffsetIndex {
                file: EntryFile::create(dir.join(file_name(base_offset, INDEX_SUFFIX)))?,
            },
            time_index: TimeIndex {
                file: EntryFile::create(dir.join(file_name(base_offset, TIME_INDEX_SUFFIX)))?,
            },
            cadence: IndexCadence::new(index_interval),
            roll_base_ms: None,
            log_path,
        })
    }

    /// An existing segment as found on disk, not yet validated: `size` is the file length and
    /// the indexes are whatever the files hold. Recovery fixes both.
    pub fn open(dir: &Path, base_offset: i64, index_interval: u32) -> Result<Segment, LogError> {
        let log_path = dir.join(file_name(base_offset, LOG_SUFFIX));
        let file = open_log(&log_path, false)?;
        let size = file.metadata().map_err(LogError::io("stat", &log_path))?.len();
        Ok(Segment {
            base_offset,
            file: Arc::new(file),
            size,
            file_len: size,
            next_offset: base_offset,
            offset_index: OffsetIndex {
                file: EntryFile::open(dir.join(file_name(base_offset, INDEX_SUFFIX)))?,
            },
            time_index: TimeIndex {
                file: EntryFile::open(dir.join(file_name(base_offset, TIME_INDEX_SUFFIX)))?,
            },
            cadence: IndexCadence::new(index_interval),
            roll_base_ms: None,
            log_path,
        })
    }

    /// (largest batch max timestamp, base offset of the first batch that reached it).
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let (ts, rel) = self.cadence.max_timestamp?;
        Some((ts, self.base_offset.saturating_add(i64::from(rel))))
    }

    /// Whether `append` must start a new segment before a batch of `len` bytes ending at
    /// `last_offset`. An empty segment always takes the batch, however large.
    pub fn needs_roll(&self, len: u64, last_offset: i64, now_ms: i64, config: &LogConfig) -> bool {
        if self.size == 0 {
            return false;
        }
        let by_size = self.size.saturating_add(len) > config.segment_bytes;
        let by_time = match (config.segment_ms, self.roll_base_ms) {
            (Some(ms), Some(base)) => now_ms.saturating_sub(base) > i64::try_from(ms).unwrap_or(i64::MAX),
            _ => false,
        };
        // Index entries hold u32 positions and relative offsets.
        let index_full = self.size.saturating_add(len) > u64::from(u32::MAX)
            || last_offset.saturating_sub(self.base_offset) > i64::from(u32::MAX);
        by_size || by_time || index_full
    }

    /// Writes one stamped batch at the end with a single positioned write, then indexes it.
    /// First, if the batch (and a header after it) would run past the zeros written ahead,
    /// writes and fsyncs the next stretch of them (`preallocate`), but not past `prealloc_limit` (the
    /// segment's configured size) unless the batch does.
    pub fn append(
        &mut self,
        batch: &[u8],
        header: &BatchHeader,
        now_ms: i64,
        prealloc_limit: u64,
    ) -> Result<(), LogError> {
        let pos = self.size;
        let (Ok(rel), Ok(pos32)) = (u32::try_from(header.base_offset - self.base_offset), u32::try_from(pos)) else {
            return Err(LogError::corrupt(
                &self.log_path,
                pos,
                "batch does not fit the segment index",
            ));
        };
        // Room for a zero header past the batch, so a zero tail shorter than a header is never
        // preallocation (recovery relies on it).
        let end = pos + batch.len() as u64 + HEADER_LEN as u64;
        if end > self.file_len {
            self.preallocate(end, prealloc_limit)?;
        }
        if let Err(e) = self.file.write_all_at(batch, pos) {
            // Drop a partial write so the file never holds bytes past `size` we know are junk.
            let _ = self.file.set_len(pos);
            self.file_len = pos;
            return Err(LogError::io("write", &self.log_path)(e));
        }
        self.roll_base_ms.get_or_insert(now_ms);
        self.size += batch.len() as u64;
        self.next_offset = header.last_offset().saturating_add(1);
        let (offset_entry, time_entry) = self.cadence.on_batch(rel, pos32, header);
        if let Some(e) = offset_entry {
            self.offset_index.file.push(e);
        }
        if let Some(e) = time_entry {
            self.time_index.file.push(e);
        }
        Ok(())
    }

    /// The header of the batch at `pos`, checked to lie wholly within the segment.
    pub fn header_at(&self, pos: u64) -> Result<BatchHeader, LogError> {
        if pos.saturating_add(HEADER_LEN as u64) > self.size {
            return Err(LogError::corrupt(
                &self.log_path,
                pos,
                "batch header past end of segment",
            ));
        }
        let mut buf = [0u8; HEADER_LEN];
        self.file
            .read_exact_at(&mut buf, pos)
            .map_err(LogError::io("read", &self.log_path))?;
        let header = BatchHeader::parse(&buf).map_err(|e| LogError::corrupt(&self.log_path, pos, e.to_string()))?;
        if pos + header.total_len() > self.size {
            return Err(LogError::corrupt(&self.log_path, pos, "batch runs past end of segment"));
        }
        Ok(header)
    }

    /// Batch headers from file position `pos` (a batch boundary) to the end of the segment.
    pub fn headers(&self, pos: u64) -> Headers<'_> {
        Headers { segment: self, pos }
    }

    /// Position and header of the batch holding `offset`: index lookup, then a header walk.
    pub fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let rel = u32::try_from(offset.saturating_sub(self.base_offset)).unwrap_or(u32::MAX);
        let start = u64::from(self.offset_index.lookup(rel).position);
        for item in self.headers(start) {
            let (pos, header) = item?;
            if header.last_offset() >= offset {
                return Ok(Some((pos, header)));
            }
        }
        Ok(None)
    }

    /// Position and header of the first batch whose max timestamp is >= `ts`.
    pub fn find_by_timestamp(&self, ts: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if self.max_timestamp().is_none_or(|(max, _)| max < ts) {
            return Ok(None);
        }
        let rel = self.time_index.lookup(ts);
        let start = u64::from(self.offset_index.lookup(rel).position);
        for item in self.headers(start) {
            let (pos, header) = item?;
            if header.max_timestamp >= ts {
                return Ok(Some((pos, header)));
            }
        }
        Ok(None)
    }

    /// Appends to `out` the whole batches from `pos` that fit in `budget` bytes, with one read.
    /// With `min_one`, a first batch larger than `budget` is returned whole (KIP-74). Returns
    /// the bytes added.
    pub fn read_batches(&self, pos: u64, budget: usize, min_one: bool, out: &mut Vec<u8>) -> Result<u64, LogError> {
        let available = self.size.saturating_sub(pos);
        let want = available.min(budget as u64) as usize;
        let start = out.len();
        if out.is_empty() {
            // A fresh zeroed allocation (calloc) instead of filling: most reads start here.
            *out = vec![0u8; want];
        } else {
            out.resize(start + want, 0);
        }
        self.read_into(&mut out[start..], pos)?;
        let mut used = 0usize;
        while let Some(rest) = out.get(start + used..).filter(|r| r.len() >= HEADER_LEN) {
            let header = BatchHeader::parse(rest)
                .map_err(|e| LogError::corrupt(&self.log_path, pos + used as u64, e.to_string()))?;
            let total = header.total_len() as usize;
            if total > rest.len() {
                break;
            }
            used += total;
        }
        if used == 0 && min_one && available > 0 {
            let total = self.header_at(pos)?.total_len();
            out.resize(start + total as usize, 0);
            self.read_into(&mut out[start..], pos)?;
            used = total as usize;
        }
        out.truncate(start + used);
        Ok(used as u64)
    }

    pub fn read_into(&self, buf: &mut [u8], pos: u64) -> Result<(), LogError> {
        self.file
            .read_exact_at(buf, pos)
            .map_err(LogError::io("read", &self.log_path))
    }

    /// Writes zeros from the end of the file to past `end` (by as much as the file holds,
    /// between `PREALLOC_MIN` and `PREALLOC_MAX`, within `limit` unless `end` is beyond it), and
    /// fsyncs them with the new file length.
    fn preallocate(&mut self, end: u64, limit: u64) -> Result<(), LogError> {
        let step = self.file_len.clamp(PREALLOC_MIN, PREALLOC_MAX);
        let target = (end.max(self.file_len) + step).min(limit.max(end));
        let mut at = self.file_len;
        while at < target {
            let n = (target - at).min(ZEROS.len() as u64) as usize;
            if let Err(e) = self.file.write_all_at(&ZEROS[..n], at) {
                let _ = self.file.set_len(self.size);
                self.file_len = self.size;
                return Err(LogError::io("preallocate", &self.log_path)(e));
            }
            at += n as u64;
        }
        self.file_len = target;
        self.file.sync_data().map_err(LogError::io("fsync", &self.log_path))
    }

    /// Cuts the zeros written ahead of the logical end, if any. Durable with the next fsync of
    /// the log file.
    pub fn trim(&mut self) -> Result<(), LogError> {
        if self.file_len > self.size {
            self.file
                .set_len(self.size)
                .map_err(LogError::io("truncate", &self.log_path))?;
            self.file_len = self.size;
        }
        Ok(())
    }

    /// Makes the segment immutable: records its overall max timestamp in the time index, cuts
    /// the preallocated zeros and fsyncs the log and both indexes (a segment is fsynced once,
    /// when it rolls).
    pub fn seal(&mut self) -> Result<(), LogError> {
        if let Some(e) = self.cadence.seal_entry() {
            self.time_index.file.push(e);
        }
        self.offset_index.file.write_pending()?;
        self.time_index.file.write_pending()?;
        self.trim()?;
        self.sync()
    }

    pub fn sync(&self) -> Result<(), LogError> {
        self.file.sync_data().map_err(LogError::io("fsync", &self.log_path))?;
        self.offset_index.file.sync()?;
        self.time_index.file.sync()
    }

    /// Removes the files, the `.log` first: it is the truth, and indexes left behind by a crash
    /// are replaced when a segment with that name is created again.
    pub fn delete(self) -> Result<(), LogError> {
        let paths = [
            &self.log_path,
            self.offset_index.file.path(),
            self.time_index.file.path(),
        ];
        for path in paths {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(LogError::io("delete", path)(e)),
                _ => {}
            }
        }
        Ok(())
    }
}

pub(super) fn open_log(path: &Path, truncate: bool) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .map_err(LogError::io("open", path))
}

/// Iterator over batch headers, one positioned 61-byte read each; stops at the first error.
pub struct Headers<'a> {
    segment: &'a Segment,
    pos: u64,
}

impl Iterator for Headers<'_> {
    type Item = Result<(u64, BatchHeader), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.segment.size {
            return None;
        }
        let pos = self.pos;
        match self.segment.header_at(pos) {
            Ok(header) => {
                self.pos += header.total_len();
                Some(Ok((pos, header)))
            }
            Err(e) => {
                self.pos = self.segment.size;
                Some(Err(e))
            }
        }
    }
}
