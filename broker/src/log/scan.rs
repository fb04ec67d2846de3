//! Reading a segment back to judge it: a cheap check for sealed segments, a full scan (every
//! batch's length, magic, CRC-32C and offsets) for the tail or for anything that failed the
//! cheap check.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::cadence::IndexCadence;
use super::error::LogError;
use super::index::OffsetEntry;
use super::recovery::RecoveryReport;
use super::segment::Segment;
use super::time_index::TimeEntry;
use crate::record::{crc_ok, BatchHeader, HEADER_LEN};

/// Bytes read at a time while validating a segment.
const SCAN_CHUNK: usize = 1 << 20;

/// Checks a sealed segment without reading all of it. `Ok(Err(why))` means "scan it fully".
///
/// Offsets must follow on from the segment's base to the next segment's. With `gaps` (a log the
/// cleaner has compacted) they must only increase: compaction (`clean`) keeps each batch's
/// offsets, so whole batches that went leave gaps, before a segment's first batch, between
/// batches, and after its last one up to the next segment's base.
pub(crate) fn check_sealed(segment: &mut Segment, next_base: i64, gaps: bool) -> Result<Result<(), String>, LogError> {
    let offsets = segment.offset_index.entries();
    let times = segment.time_index.entries();
    if segment.offset_index.file.is_torn() || segment.time_index.file.is_torn() {
        return Ok(Err("index ends in a partial entry".into()));
    }
    let max_rel = next_base.saturating_sub(segment.base_offset.saturating_add(1));
    let ordered = offsets
        .windows(2)
        .all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position)
        && times
            .windows(2)
            .all(|w| w[0].timestamp < w[1].timestamp && w[0].relative_offset <= w[1].relative_offset)
        && times.iter().all(|t| i64::from(t.relative_offset) <= max_rel);
    if !ordered {
        return Ok(Err("index entries out of order or past the segment".into()));
    }
    let Some(last) = offsets.last().copied() else {
        let empty_ok = segment.size == 0 && times.is_empty() && (gaps || next_base == segment.base_offset);
        return Ok(if empty_ok {
            segment.next_offset = next_base;
            Ok(())
        } else {
            Err("offset index is empty".into())
        });
    };
    if offsets[0].position != 0 || (!gaps && offsets[0].relative_offset != 0) {
        return Ok(Err("offset index does not start at the first batch".into()));
    }
    let mut expected = segment.base_offset.saturating_add(i64::from(last.relative_offset));
    let mut first = true;
    let mut tail_max_ts = -1;
    for item in segment.headers(u64::from(last.position)) {
        let header = match item {
            Ok((_, header)) => header,
            Err(LogError::Corrupt { reason, position, .. }) => {
                return Ok(Err(format!("position {position}: {reason}")))
            }
            Err(e) => return Err(e),
        };
        // The indexed batch starts exactly where its entry says; later ones may skip offsets.
        if header.base_offset < expected || ((first || !gaps) && header.base_offset != expected) {
            return Ok(Err(format!(
                "found offset {} where {expected} was expected",
                header.base_offset
            )));
        }
        first = false;
        expected = header.last_offset().saturating_add(1);
        tail_max_ts = tail_max_ts.max(header.max_timestamp);
    }
    if expected > next_base || (!gaps && expected != next_base) {
        return Ok(Err(format!(
            "ends at offset {expected}, next segment starts at {next_base}"
        )));
    }
    let last_time = times.last().copied();
    if tail_max_ts >= 0 && last_time.is_none_or(|t| t.timestamp < tail_max_ts) {
        return Ok(Err("time index lacks the segment's max timestamp".into()));
    }
    segment.next_offset = next_base;
    segment.cadence.restore_sealed(last_time);
    Ok(Ok(()))
}

/// Expected index entries, as appends would have written them.
pub(crate) struct Rebuilt {
    pub(crate) offsets: Vec<OffsetEntry>,
    pub(crate) times: Vec<TimeEntry>,
}

/// Reads and checks every batch of `segment`, cuts the file at the first bad one, and leaves
/// size, next offset and index cadence set from what is valid. Returns why it cut, if it did.
/// With `gaps` (a sealed segment of a compacted log; see `check_sealed`) a batch may start past
/// the offset after the one before it; otherwise offsets must follow on exactly.
pub(crate) fn scan(
    segment: &mut Segment,
    interval: u32,
    gaps: bool,
    report: &mut RecoveryReport,
) -> Result<(Option<String>, Rebuilt), LogError> {
    let file_len = segment.size;
    let mut reader = ChunkReader::new(&segment.file, &segment.log_path, file_len);
    let mut cadence = IndexCadence::new(interval);
    let mut rebuilt = Rebuilt {
        offsets: Vec::new(),
        times: Vec::new(),
    };
    let (mut pos, mut expected, mut first_ts) = (0u64, segment.base_offset, None);
    let mut zero_tail = 0;
    let why = loop {
        let remaining = file_len - pos;
        if remaining == 0 {
            break None;
        }
        if remaining < HEADER_LEN as u64 {
            break Some(format!("incomplete batch header ({remaining} bytes)"));
        }
        // Zeros written ahead of the log end (`segment::PREALLOC_MIN` and more, always at least a
        // header's worth): no batch has a zero length, so the log ends here. Zeros followed by
        // data are not preallocation.
        if reader.get(pos, HEADER_LEN)?.iter().all(|b| *b == 0) {
            if reader.trailing_zeros(pos)? == remaining {
                zero_tail = remaining;
                break None;
            }
            break Some("zeros followed by data".into());
        }
        let header = match BatchHeader::parse(reader.get(pos, HEADER_LEN)?) {
            Ok(h) => h,
            Err(e) => break Some(e.to_string()),
        };
        let total = header.total_len();
        if total > remaining {
            break Some(format!("batch needs {total} bytes, {remaining} left in file"));
        }
        if !crc_ok(reader.get(pos, total as usize)?) {
            break Some("crc-32c mismatch".into());
        }
        let skipped = header.base_offset > expected && gaps;
        if (header.base_offset != expected && !skipped) || header.last_offset_delta < 0 {
            let last = header.last_offset();
            break Some(format!(
                "batch offsets {}..={last}, expected base {expected}",
                header.base_offset
            ));
        }
        let (Ok(rel), Ok(pos32)) = (
            u32::try_from(header.base_offset - segment.base_offset),
            u32::try_from(pos),
        ) else {
            break Some("batch beyond the range of the segment index".into());
        };
        first_ts.get_or_insert(header.max_timestamp);
        let (offset_entry, time_entry) = cadence.on_batch(rel, pos32, &header);
        rebuilt.offsets.extend(offset_entry);
        rebuilt.times.extend(time_entry);
        report.batches_checked += 1;
        pos += total;
        expected = header.last_offset().saturating_add(1);
    };
    if why.is_some() {
        // Damage is followed by the zeros preallocated past it; they are not counted as cut.
        let zeros = reader.trailing_zeros(pos)?;
        zero_tail = if zeros >= HEADER_LEN as u64 { zeros } else { 0 };
    }
    let why = why.map(|w| format!("{} position {pos}: {w}", segment.log_path.display()));
    if why.is_some() || zero_tail > 0 {
        segment
            .file
            .set_len(pos)
            .map_err(LogError::io("truncate", &segment.log_path))?;
        segment
            .file
            .sync_data()
            .map_err(LogError::io("fsync", &segment.log_path))?;
    }
    if why.is_some() {
        report.truncated_bytes += file_len - pos - zero_tail;
    }
    report.zero_tail_bytes += zero_tail;
    segment.size = pos;
    segment.file_len = pos;
    segment.next_offset = expected;
    segment.cadence = cadence;
    segment.roll_base_ms = first_ts.filter(|ts| *ts >= 0);
    Ok((why, rebuilt))
}

/// Sequential reads in large chunks, so a full scan costs few system calls. The buffer grows
/// beyond a chunk only for a batch that the file really holds: `get` is never asked for bytes
/// past `file_len`, which bounds the allocation by the file size.
pub(crate) struct ChunkReader<'a> {
    file: &'a File,
    path: &'a Path,
    file_len: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> ChunkReader<'a> {
    pub(crate) fn new(file: &'a File, path: &'a Path, file_len: u64) -> ChunkReader<'a> {
        ChunkReader {
            file,
            path,
            file_len,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// Bytes `pos..pos + len`; the caller has checked they lie within the file.
    pub(crate) fn get(&mut self, pos: u64, len: usize) -> Result<&[u8], LogError> {
        let end = pos + len as u64;
        if pos < self.buf_start || end > self.buf_start + self.buf.len() as u64 {
            let n = (self.file_len - pos).min(len.max(SCAN_CHUNK) as u64) as usize;
            self.buf.resize(n, 0);
            self.file
                .read_exact_at(&mut self.buf, pos)
                .map_err(LogError::io("read", self.path))?;
            self.buf_start = pos;
        }
        let from = (pos - self.buf_start) as usize;
        Ok(&self.buf[from..from + len])
    }

    /// How many bytes at the end of the file, after `from`, are zero; read backwards, so
    /// usually only the last chunk is read.
    fn trailing_zeros(&mut self, from: u64) -> Result<u64, LogError> {
        let mut end = self.file_len;
        while end > from {
            let start = end.saturating_sub(SCAN_CHUNK as u64).max(from);
            if let Some(i) = self.get(start, (end - start) as usize)?.iter().rposition(|b| *b != 0) {
                return Ok(self.file_len - (start + i as u64 + 1));
            }
            end = start;
        }
        Ok(self.file_len - from)
    }
}
