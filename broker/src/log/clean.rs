//! Log compaction (`cleanup.policy=compact`): keeping the latest record of each key, as Kafka's
//! log cleaner does ([design](https://kafka.apache.org/documentation/#compaction)).
//!
//! # What is cleaned
//!
//! Only sealed segments: the active one takes appends. Of those, the *cleanable* ones run from
//! the first up to the first segment holding a record younger than `min.compaction.lag.ms`.
//! The cleaner remembers where it stopped last time (`first_dirty`, kept in
//! `<dir>/cleaner-offset`, like Kafka's `cleaner-offset-checkpoint`): below it the log is
//! *clean*, each key appearing once; from it on it is *dirty*. A log is cleaned when
//! - its dirty bytes are at least `min.cleanable.dirty.ratio` of its cleanable bytes, or
//! - its first dirty record is older than `max.compaction.lag.ms`, or
//! - a tombstone it kept has reached its delete horizon (below).
//!
//! # One cleaning
//!
//! 1. [`PartitionLog::clean_job`], under the caller's lock and cheap: picks the segments and takes
//!    their open files. Sealed segments never change, so the rest reads them without the lock.
//! 2. [`CleanJob::run`], without the lock: reads the dirty segments into a map from each key to
//!    its last offset (at most `map_bytes` of keys, in whole segments; at least one segment), then
//!    rewrites every cleanable segment the map covers, clean and dirty alike, into groups of
//!    consecutive segments that fit `segment.bytes` together (so small segments merge). A record
//!    stays when no later offset has its key, unless it is a tombstone past its horizon or has no
//!    key at all. Batches keep their offsets (`record::compact_batch`), so the log gets gaps:
//!    between batches, and between a segment's last batch and the next segment's base. A batch
//!    that keeps nothing goes, unless it is the last one of its producer here: its header stays,
//!    so the producer's sequence survives a restart, which rebuilds producers from headers.
//!    Each group is written to `<base>.log.cleaned` and fsynced.
//! 3. [`PartitionLog::install`], under the lock: if every segment the job read is still there
//!    (retention or DeleteRecords may have deleted some meanwhile; then the work is dropped), each
//!    group replaces its segments and the checkpoint moves to where the map ended.
//!
//! # Tombstones
//!
//! A record with a null value deletes its key. The first cleaning that keeps a tombstone gives
//! its batch a delete horizon of now + `delete.retention.ms` (KIP-534; `record::compact`); a
//! cleaning after the horizon removes the tombstone. Consumers that read the topic within
//! `delete.retention.ms` of that first cleaning therefore see the delete.
//!
//! # Crash safety
//!
//! Installing a group: rename `<base>.log.cleaned` to `<base>.log.swap` and fsync the directory
//! (from here the new segment wins); delete the group's other segments; delete the first
//! segment's indexes; rename the swap over `<base>.log`; write fresh indexes. Recovery
//! ([`finish_swaps`]) deletes leftover `.cleaned` files and completes a swap it finds: the
//! segments whose base lies inside the swap's offsets go, and it takes the base's name. A segment
//! that ended after the swap's last batch may stay: it holds only records the swap superseded,
//! which the next cleaning removes. Indexes are rebuilt by the usual recovery check.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cadence::IndexCadence;
use super::config::Compaction;
use super::error::LogError;
use super::index::OffsetEntry;
use super::partition::PartitionLog;
use super::recovery::{delete_segment_files, list_bases, sync_dir, write_atomically};
use super::scan::ChunkReader;
use super::segment::{file_name, Segment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use super::time_index::TimeEntry;
use crate::record::{compact_batch, for_each_record, BatchHeader, Compacted, HEADER_LEN, MAX_DECOMPRESSED_BYTES};

/// Where the cleaner stopped, kept across restarts: `<first dirty offset> [<next horizon>]`.
pub const CHECKPOINT: &str = "cleaner-offset";
const CLEANED: &str = "cleaned";
const SWAP: &str = "swap";
/// What a key costs in the map besides its bytes: the offset, the hash table's slot and the
/// allocation's header, roughly.
const MAP_ENTRY_OVERHEAD: u64 = 48;

/// The cleaner's memory of a log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CleanerState {
    /// Below it every key appears once (unless a later key superseded it since).
    pub(crate) first_dirty: i64,
    /// The earliest delete horizon of a batch the last cleaning kept with one still ahead: the
    /// log needs cleaning again after it, dirty or not.
    pub(crate) next_horizon: Option<i64>,
}

impl CleanerState {
    pub(crate) fn read(dir: &Path) -> CleanerState {
        let Ok(text) = std::fs::read_to_string(dir.join(CHECKPOINT)) else {
            return CleanerState::default();
        };
        let mut fields = text.split_whitespace().map(str::parse::<i64>);
        match (fields.next(), fields.next()) {
            (Some(Ok(first_dirty)), horizon) => CleanerState {
                first_dirty,
                next_horizon: horizon.and_then(Result::ok),
            },
            _ => {
                tracing::warn!(file = %dir.join(CHECKPOINT).display(), "unreadable cleaner checkpoint: the whole log counts as dirty");
                CleanerState::default()
            }
        }
    }

    fn write(&self, dir: &Path) -> Result<(), LogError> {
        let text = match self.next_horizon {
            Some(h) => format!("{} {h}\n", self.first_dirty),
            None => format!("{}\n", self.first_dirty),
        };
        write_atomically(dir, CHECKPOINT, text.as_bytes())
    }
}

/// A sealed segment as the cleaner reads it, outside the log's lock.
#[derive(Debug)]
struct Source {
    base: i64,
    next_offset: i64,
    size: u64,
    file: Arc<File>,
    path: PathBuf,
}

/// One cleaning, chosen under the lock, run without it.
#[derive(Debug)]
pub struct CleanJob {
    dir: PathBuf,
    /// The cleanable segments, from the first.
    sources: Vec<Source>,
    first_dirty: i64,
    now_ms: i64,
    compaction: Compaction,
    segment_bytes: u64,
    index_interval: u32,
    map_bytes: u64,
    /// Why the log is cleaned now, for the log line.
    pub reason: String,
}

/// A cleaning's output, waiting for [`PartitionLog::install`].
#[derive(Debug)]
pub struct Cleaned {
    groups: Vec<Group>,
    state: CleanerState,
    pub stats: CleanStats,
}

/// Segments rewritten as one.
#[derive(Debug)]
struct Group {
    base: i64,
    replaced: Vec<i64>,
    next_offset: i64,
    size: u64,
    offsets: Vec<OffsetEntry>,
    times: Vec<TimeEntry>,
    cadence: IndexCadence,
}

/// What a cleaning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments_read: usize,
    pub segments_written: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_removed: u64,
    /// Distinct keys of the dirty part.
    pub keys: usize,
    /// The dirty part that was cleaned: `first_dirty..cleaned_to`.
    pub first_dirty: i64,
    pub cleaned_to: i64,
    /// The job's segments changed before it could be installed; nothing was replaced.
    pub abandoned: bool,
}

impl PartitionLog {
    /// A cleaning this log needs now, if it is compacted and one of the reasons in the module
    /// doc holds. `map_bytes` bounds the memory of the key map (`log.cleaner.dedupe.buffer.size`).
    pub fn clean_job(&self, now_ms: i64, map_bytes: u64) -> Option<CleanJob> {
        let compaction = self.config.compaction.clone()?;
        let young = |s: &&Segment| {
            compaction.min_compaction_lag_ms > 0
                && s.max_timestamp()
                    .is_some_and(|(ts, _)| ts > now_ms.saturating_sub(compaction.min_compaction_lag_ms))
        };
        let cleanable: Vec<&Segment> = self.sealed.iter().take_while(|s| !young(s)).collect();
        let first_dirty = self.cleaner.first_dirty.max(self.log_start_offset);
        let (mut clean, mut dirty) = (0u64, 0u64);
        for s in &cleanable {
            match s.next_offset <= first_dirty {
                true => clean += s.size,
                false => dirty += s.size,
            }
        }
        let ratio = match clean + dirty {
            0 => 0.0,
            total => dirty as f64 / total as f64,
        };
        let first_dirty_ts = cleanable
            .iter()
            .find(|s| s.next_offset > first_dirty && s.size > 0)
            .and_then(|s| s.header_at(0).ok())
            .map(|h| h.max_timestamp);
        let reason = if dirty > 0 && ratio >= compaction.min_cleanable_dirty_ratio {
            format!("dirty ratio {ratio:.2} >= min.cleanable.dirty.ratio")
        } else if dirty > 0
            && first_dirty_ts.is_some_and(|ts| ts >= 0 && now_ms.saturating_sub(ts) > compaction.max_compaction_lag_ms)
        {
            "first dirty record older than max.compaction.lag.ms".to_string()
        } else if clean > 0 && self.cleaner.next_horizon.is_some_and(|h| now_ms > h) {
            "tombstones reached their delete horizon".to_string()
        } else {
            return None;
        };
        Some(CleanJob {
            dir: self.dir.clone(),
            sources: cleanable
                .iter()
                .map(|s| Source {
                    base: s.base_offset,
                    next_offset: s.next_offset,
                    size: s.size,
                    file: Arc::clone(&s.file),
                    path: s.log_path.clone(),
                })
                .collect(),
            first_dirty,
            now_ms,
            compaction,
            segment_bytes: self.config.segment_bytes,
            index_interval: self.config.index_interval_bytes,
            map_bytes,
            reason,
        })
    }

    /// Puts a cleaning's segments in place of those it read, or drops them if any of those is
    /// gone (see the module doc).
    pub fn install(&mut self, cleaned: Cleaned) -> Result<CleanStats, LogError> {
        let mut stats = cleaned.stats;
        let present = |base: &i64| self.sealed.iter().any(|s| s.base_offset == *base);
        if !cleaned.groups.iter().all(|g| g.replaced.iter().all(present)) {
            for g in &cleaned.groups {
                remove_if_present(&self.dir.join(cleaned_name(g.base)))?;
            }
            stats.abandoned = true;
            return Ok(stats);
        }
        if !was_compacted(&self.dir) {
            // Recovery accepts offset gaps only in a log with a checkpoint: write it first.
            self.cleaner.write(&self.dir)?;
        }
        for g in cleaned.groups {
            let log_name = file_name(g.base, LOG_SUFFIX);
            let swap = self.dir.join(format!("{log_name}.{SWAP}"));
            std::fs::rename(self.dir.join(cleaned_name(g.base)), &swap).map_err(LogError::io("rename", &swap))?;
            sync_dir(&self.dir)?;
            let at = self.sealed.iter().position(|s| s.base_offset == g.base).unwrap_or(0);
            let mut old = self.sealed.drain(at..at + g.replaced.len());
            // The first keeps its name: its files are replaced, not deleted through it.
            let first = old.next();
            let rest: Vec<Segment> = old.collect();
            for s in rest {
                s.delete()?;
            }
            drop(first);
            for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                remove_if_present(&self.dir.join(file_name(g.base, suffix)))?;
            }
            std::fs::rename(&swap, self.dir.join(&log_name)).map_err(LogError::io("rename", &swap))?;
            let segment = Segment::cleaned(&self.dir, g.base, g.next_offset, g.size, g.offsets, g.times, g.cadence)?;
            sync_dir(&self.dir)?;
            self.sealed.insert(at, segment);
        }
        cleaned.state.write(&self.dir)?;
        self.cleaner = cleaned.state;
        Ok(stats)
    }
}

impl CleanJob {
    /// Builds the key map and writes the cleaned segments; reads and writes files only.
    pub fn run(self) -> Result<Cleaned, LogError> {
        let mut stats = CleanStats {
            first_dirty: self.first_dirty,
            ..CleanStats::default()
        };
        let (map, map_end) = self.build_map()?;
        stats.keys = map.len();
        stats.cleaned_to = map_end;
        let to_clean: Vec<&Source> = self.sources.iter().filter(|s| s.next_offset <= map_end).collect();
        let mut last_of_producer = HashMap::new();
        for src in &to_clean {
            for_each_header(src, |h| {
                if h.producer_id >= 0 {
                    last_of_producer.insert(h.producer_id, h.base_offset);
                }
            })?;
        }
        let mut groups: Vec<Vec<&Source>> = Vec::new();
        for src in to_clean {
            match groups.last_mut() {
                Some(g)
                    if g.iter().map(|s| s.size).sum::<u64>() + src.size <= self.segment_bytes
                        && src.next_offset - g[0].base <= i64::from(u32::MAX) =>
                {
                    g.push(src)
                }
                _ => groups.push(vec![src]),
            }
        }
        let mut next_horizon: Option<i64> = None;
        let mut written = Vec::with_capacity(groups.len());
        for group in &groups {
            let (g, horizon) = self.write_group(group, &map, &last_of_producer, &mut stats)?;
            next_horizon = match (next_horizon, horizon) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            written.push(g);
        }
        Ok(Cleaned {
            groups: written,
            state: CleanerState {
                first_dirty: map_end,
                next_horizon,
            },
            stats,
        })
    }

    /// Each key of the dirty segments and its last offset, and the offset where the map stops:
    /// the end of the last dirty segment read whole.
    fn build_map(&self) -> Result<(HashMap<Vec<u8>, i64>, i64), LogError> {
        let mut map: HashMap<Vec<u8>, i64> = HashMap::new();
        let (mut used, mut map_end) = (0u64, self.first_dirty);
        for src in self.sources.iter().filter(|s| s.next_offset > self.first_dirty) {
            if used >= self.map_bytes && map_end > self.first_dirty {
                break;
            }
            for_each_batch(src, |pos, h, bytes| {
                if h.is_control() || h.last_offset() < self.first_dirty {
                    return;
                }
                let read = for_each_record(bytes, h, MAX_DECOMPRESSED_BYTES, |r| {
                    let Some(key) = r.key.filter(|_| r.offset >= self.first_dirty) else {
                        return;
                    };
                    match map.get_mut(key) {
                        Some(offset) => *offset = r.offset,
                        None => {
                            used += key.len() as u64 + MAP_ENTRY_OVERHEAD;
                            map.insert(key.to_vec(), r.offset);
                        }
                    }
                });
                if let Err(e) = read {
                    // The batch is kept as it is (`write_group`), so nothing is lost.
                    tracing::warn!(segment = %src.path.display(), position = pos, error = e.0, "cleaner cannot read a batch's records; keeping it whole");
                }
            })?;
            map_end = src.next_offset;
        }
        Ok((map, map_end))
    }

    /// Writes `group` as one cleaned segment; returns it and the earliest delete horizon still
    /// ahead among the batches written.
    fn write_group(
        &self,
        group: &[&Source],
        map: &HashMap<Vec<u8>, i64>,
        last_of_producer: &HashMap<i64, i64>,
        stats: &mut CleanStats,
    ) -> Result<(Group, Option<i64>), LogError> {
        let base = group[0].base;
        let path = self.dir.join(cleaned_name(base));
        let file = File::create(&path).map_err(LogError::io("create", &path))?;
        let mut out = BufWriter::with_capacity(1 << 20, &file);
        let mut cadence = IndexCadence::new(self.index_interval);
        let (mut offsets, mut times) = (Vec::new(), Vec::new());
        let (mut pos, mut horizon, mut failed) = (0u64, None::<i64>, None);
        let now = self.now_ms;
        let new_horizon = now.saturating_add(self.compaction.delete_retention_ms);
        for src in group {
            stats.segments_read += 1;
            stats.bytes_read += src.size;
            for_each_batch(src, |at, h, bytes| {
                if failed.is_some() {
                    return;
                }
                let tombstones_expired = h.delete_horizon_ms().is_some_and(|dh| now > dh);
                let keep_empty = h.producer_id >= 0 && last_of_producer.get(&h.producer_id) == Some(&h.base_offset);
                let kept = match h.is_control() {
                    true => Ok(Compacted::Unchanged),
                    false => compact_batch(bytes, h, MAX_DECOMPRESSED_BYTES, new_horizon, keep_empty, |r| {
                        r.key.is_some_and(|k| map.get(k).is_none_or(|last| r.offset >= *last))
                            && !(r.tombstone && tombstones_expired)
                    }),
                };
                let batch: Cow<[u8]> = match kept {
                    Ok(Compacted::Unchanged) => Cow::Borrowed(bytes),
                    Ok(Compacted::Rewritten(b)) => Cow::Owned(b),
                    Ok(Compacted::Dropped) => {
                        stats.records_read += h.record_count.max(0) as u64;
                        stats.records_removed += h.record_count.max(0) as u64;
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(segment = %src.path.display(), position = at, error = e.0, "cleaner cannot read a batch's records; keeping it whole");
                        Cow::Borrowed(bytes)
                    }
                };
                let Ok(written) = BatchHeader::parse(&batch) else {
                    failed = Some(LogError::corrupt(&path, pos, "cleaner wrote a batch it cannot read"));
                    return;
                };
                stats.records_read += h.record_count.max(0) as u64;
                stats.records_removed += (h.record_count - written.record_count).max(0) as u64;
                let (Ok(rel), Ok(pos32)) = (u32::try_from(written.base_offset - base), u32::try_from(pos)) else {
                    failed = Some(LogError::corrupt(
                        &path,
                        pos,
                        "cleaned batch past the segment index's range",
                    ));
                    return;
                };
                let (o, t) = cadence.on_batch(rel, pos32, &written);
                offsets.extend(o);
                times.extend(t);
                if let Some(h) = written.delete_horizon_ms().filter(|h| *h > now) {
                    horizon = Some(horizon.map_or(h, |m| m.min(h)));
                }
                if let Err(e) = out.write_all(&batch) {
                    failed = Some(LogError::io("write", &path)(e));
                }
                pos += batch.len() as u64;
            })?;
        }
        if let Some(e) = failed {
            return Err(e);
        }
        out.flush().map_err(LogError::io("write", &path))?;
        drop(out);
        file.sync_data().map_err(LogError::io("fsync", &path))?;
        times.extend(cadence.seal_entry());
        stats.segments_written += 1;
        stats.bytes_written += pos;
        let g = Group {
            base,
            replaced: group.iter().map(|s| s.base).collect(),
            next_offset: group.last().map_or(base, |s| s.next_offset),
            size: pos,
            offsets,
            times,
            cadence,
        };
        Ok((g, horizon))
    }
}

fn cleaned_name(base: i64) -> String {
    format!("{}.{CLEANED}", file_name(base, LOG_SUFFIX))
}

fn remove_if_present(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::io("delete", path)(e)),
        _ => Ok(()),
    }
}

/// Calls `each` with every batch of `src`: its position, header and bytes.
fn for_each_batch(src: &Source, mut each: impl FnMut(u64, &BatchHeader, &[u8])) -> Result<(), LogError> {
    let mut reader = ChunkReader::new(&src.file, &src.path, src.size);
    let mut pos = 0u64;
    while pos + HEADER_LEN as u64 <= src.size {
        let header = BatchHeader::parse(reader.get(pos, HEADER_LEN)?)
            .map_err(|e| LogError::corrupt(&src.path, pos, e.to_string()))?;
        let total = header.total_len();
        if pos + total > src.size {
            return Err(LogError::corrupt(&src.path, pos, "batch runs past end of segment"));
        }
        each(pos, &header, reader.get(pos, total as usize)?);
        pos += total;
    }
    Ok(())
}

/// Calls `each` with every batch header of `src`, one positioned read each.
fn for_each_header(src: &Source, mut each: impl FnMut(&BatchHeader)) -> Result<(), LogError> {
    let mut buf = [0u8; HEADER_LEN];
    let mut pos = 0u64;
    while pos + HEADER_LEN as u64 <= src.size {
        src.file
            .read_exact_at(&mut buf, pos)
            .map_err(LogError::io("read", &src.path))?;
        let header = BatchHeader::parse(&buf).map_err(|e| LogError::corrupt(&src.path, pos, e.to_string()))?;
        each(&header);
        pos += header.total_len();
    }
    Ok(())
}

/// Whether the cleaner has ever rewritten this log, so its offsets may have gaps: it writes its
/// checkpoint before its first swap.
pub(crate) fn was_compacted(dir: &Path) -> bool {
    dir.join(CHECKPOINT).exists()
}

/// Before recovery opens the segments: deletes cleanings that never reached their swap, and
/// completes those that did (see the module doc). Returns how many swaps it completed.
pub(crate) fn finish_swaps(dir: &Path) -> Result<usize, LogError> {
    let mut swaps = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(LogError::io("list", dir))? {
        let name = entry.map_err(LogError::io("list", dir))?.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(&format!(".{CLEANED}")) {
            remove_if_present(&dir.join(name))?;
        } else if let Some(base) = name
            .strip_suffix(&format!(".{LOG_SUFFIX}.{SWAP}"))
            .and_then(|b| b.parse::<i64>().ok())
        {
            swaps.push(base);
        }
    }
    swaps.sort_unstable();
    for &base in &swaps {
        let swap = dir.join(format!("{}.{SWAP}", file_name(base, LOG_SUFFIX)));
        let file = File::open(&swap).map_err(LogError::io("open", &swap))?;
        let size = file.metadata().map_err(LogError::io("stat", &swap))?.len();
        let src = Source {
            base,
            next_offset: base,
            size,
            file: Arc::new(file),
            path: swap.clone(),
        };
        let mut last = base;
        // The swap was fsynced whole before its rename; a header that does not read ends it.
        let _ = for_each_header(&src, |h| last = last.max(h.last_offset()));
        for other in list_bases(dir)?.into_iter().filter(|b| *b > base && *b <= last) {
            delete_segment_files(dir, other)?;
        }
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            remove_if_present(&dir.join(file_name(base, suffix)))?;
        }
        std::fs::rename(&swap, dir.join(file_name(base, LOG_SUFFIX))).map_err(LogError::io("rename", &swap))?;
        sync_dir(dir)?;
        tracing::info!(dir = %dir.display(), base, "completed a cleaned segment's swap interrupted by a stop");
    }
    Ok(swaps.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_log::{open, small_config};
    use crate::log::LogConfig;
    use crate::record::test_batch::TestBatch;

    const DAY: i64 = 24 * 60 * 60 * 1000;

    fn compacted() -> LogConfig {
        LogConfig {
            compaction: Some(Compaction {
                min_cleanable_dirty_ratio: 0.0,
                ..Compaction::default()
            }),
            ..small_config()
        }
    }

    fn put(log: &mut PartitionLog, entries: &[(&str, Option<&str>)], ts: i64) -> i64 {
        let mut b = TestBatch::keyed(entries, ts).build();
        log.append(&mut b, ts).unwrap().base_offset
    }

    /// (offset, key, value or None) of every record a reader gets from the log start.
    fn contents(log: &PartitionLog) -> Vec<(i64, String, Option<String>)> {
        let data = log.read(log.log_start_offset(), usize::MAX >> 1, true).unwrap().data;
        let mut out = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let h = BatchHeader::parse(rest).unwrap();
            let batch = &rest[..h.total_len() as usize];
            assert!(crate::record::crc_ok(batch));
            let mut values = Vec::new();
            // The value is what follows the key; decode it from the record through a second walk.
            for_each_record(batch, &h, u64::MAX, |r| {
                values.push((
                    r.offset,
                    String::from_utf8_lossy(r.key.unwrap()).into_owned(),
                    r.tombstone,
                ))
            })
            .unwrap();
            out.extend(
                values
                    .into_iter()
                    .map(|(o, k, tomb)| (o, k, (!tomb).then(|| format!("v{o}")))),
            );
            rest = &rest[h.total_len() as usize..];
        }
        out
    }

    /// Writes key `k{i % keys}` with value `v<offset>` for `n` records, 4 to a batch, then rolls.
    fn fill(log: &mut PartitionLog, n: usize, keys: usize, ts: i64) {
        for chunk in (0..n).collect::<Vec<_>>().chunks(4) {
            let base = log.log_end_offset();
            let owned: Vec<(String, String)> = chunk
                .iter()
                .enumerate()
                .map(|(j, i)| (format!("k{}", i % keys), format!("v{}", base + j as i64)))
                .collect();
            let entries: Vec<(&str, Option<&str>)> =
                owned.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect();
            put(log, &entries, ts);
        }
        log.roll_active().unwrap();
    }

    fn clean(log: &mut PartitionLog, now: i64) -> Option<CleanStats> {
        let job = log.clean_job(now, 1 << 20)?;
        Some(log.install(job.run().unwrap()).unwrap())
    }

    #[test]
    fn keeps_the_latest_record_of_each_key_at_its_offset_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compacted());
        fill(&mut log, 120, 10, 1000);
        let before = log.sealed.len();
        assert!(before > 3, "{before} segments");
        put(&mut log, &[("k1", Some("active"))], 1000);
        let end = log.log_end_offset();
        let stats = clean(&mut log, 5000).expect("dirty");
        assert_eq!((stats.first_dirty, stats.cleaned_to, stats.keys), (0, 120, 10));
        assert_eq!((stats.records_read, stats.records_removed), (120, 110));
        assert_eq!(
            log.sealed.len(),
            before,
            "segments are grouped by their size before cleaning"
        );
        let expected: Vec<_> = (110..120)
            .map(|o| (o, format!("k{}", o % 10), Some(format!("v{o}"))))
            .chain([(120, "k1".to_string(), Some("v120".to_string()))])
            .collect();
        assert_eq!(contents(&log), expected, "the active segment is never cleaned");
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, end));
        assert!(clean(&mut log, 5000).is_none(), "nothing dirty is left");
        drop(log);
        let (log, report) = PartitionLog::open(dir.path(), compacted()).unwrap();
        assert_eq!((report.truncated_bytes, report.reason.as_deref()), (0, None));
        assert!(report.rescanned.is_empty() && report.indexes_rebuilt == 0, "{report:?}");
        assert_eq!(contents(&log), expected);
        assert_eq!(log.cleaner.first_dirty, 120, "the checkpoint survives");
        // Reads from inside a gap start at the next batch kept.
        let r = log.read(3, 1 << 20, true).unwrap();
        assert_eq!(BatchHeader::parse(&r.data).unwrap().base_offset, 108);
        let mut log = log;
        fill(&mut log, 4, 10, 1000);
        clean(&mut log, 5000).expect("dirty again");
        assert!(
            log.sealed.len() < before,
            "small cleaned segments merge: {}",
            log.sealed.len()
        );
        assert_eq!(contents(&log).len(), 10, "one record per key: k0..k9");
    }

    #[test]
    fn only_dirty_logs_past_the_ratio_and_the_lag_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = compacted();
        let c = config.compaction.as_mut().unwrap();
        c.min_cleanable_dirty_ratio = 0.5;
        c.min_compaction_lag_ms = 10_000;
        let mut log = open(dir.path(), config);
        assert!(log.clean_job(0, 1 << 20).is_none(), "empty");
        fill(&mut log, 40, 40, 1000);
        assert!(log.clean_job(5000, 1 << 20).is_none(), "records younger than the lag");
        let stats = clean(&mut log, 20_000).expect("old enough and all dirty");
        assert_eq!((stats.records_read, stats.records_removed), (40, 0));
        fill(&mut log, 4, 4, 1000);
        assert!(
            log.clean_job(20_000, 1 << 20).is_none(),
            "a little dirt on a cleaned log stays below the ratio"
        );
        let mut config = log.config().clone();
        config.compaction.as_mut().unwrap().max_compaction_lag_ms = 1000;
        log.set_config(config);
        let job = log.clean_job(20_000, 1 << 20).expect("overdue");
        assert!(job.reason.contains("max.compaction.lag.ms"), "{}", job.reason);
    }

    #[test]
    fn tombstones_stay_until_their_delete_horizon_then_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compacted());
        put(&mut log, &[("a", Some("1")), ("b", Some("2"))], 0);
        put(&mut log, &[("a", None), ("c", Some("4"))], 0);
        log.roll_active().unwrap();
        put(&mut log, &[("z", Some("5"))], 0);
        let now = 1_000_000;
        clean(&mut log, now).unwrap();
        let keys = |log: &PartitionLog| -> Vec<(i64, String, bool)> {
            contents(log).into_iter().map(|(o, k, v)| (o, k, v.is_none())).collect()
        };
        assert_eq!(
            keys(&log),
            vec![
                (1, "b".into(), false),
                (2, "a".into(), true),
                (3, "c".into(), false),
                (4, "z".into(), false)
            ]
        );
        let horizon = now + DAY;
        assert_eq!(log.cleaner.next_horizon, Some(horizon));
        assert!(log.clean_job(horizon, 1 << 20).is_none(), "not yet");
        let job = log.clean_job(horizon + 1, 1 << 20).expect("horizon passed");
        assert!(job.reason.contains("horizon"));
        log.install(job.run().unwrap()).unwrap();
        assert_eq!(
            keys(&log),
            vec![(1, "b".into(), false), (3, "c".into(), false), (4, "z".into(), false)]
        );
        assert_eq!(log.cleaner.next_horizon, None);
    }

    #[test]
    fn a_producers_last_batch_keeps_its_header_when_its_records_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compacted());
        for (i, pid) in [(0, 7), (1, 7), (2, 8)] {
            let mut b = TestBatch::keyed(&[("k", Some("x"))], 0).producer(pid, 0, i).build();
            log.append(&mut b, 0).unwrap();
        }
        log.roll_active().unwrap();
        clean(&mut log, 1).unwrap();
        let headers = log.batch_headers_from(0).unwrap();
        let seen: Vec<_> = headers
            .iter()
            .map(|h| (h.base_offset, h.producer_id, h.record_count))
            .collect();
        assert_eq!(
            seen,
            vec![(1, 7, 0), (2, 8, 1)],
            "producer 7's first batch goes, its last stays empty"
        );
    }

    #[test]
    fn a_cleaning_interrupted_before_its_swap_is_undone_and_after_it_completed() {
        for committed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut log = open(dir.path(), compacted());
            fill(&mut log, 80, 5, 0);
            let original = contents(&log);
            let job = log.clean_job(1, 1 << 20).unwrap();
            let cleaned = job.run().unwrap();
            let base = cleaned.groups[0].base;
            if committed {
                // The stop came right after the commit point: the swap is named, nothing else done.
                let log_name = file_name(base, LOG_SUFFIX);
                std::fs::rename(
                    dir.path().join(cleaned_name(base)),
                    dir.path().join(format!("{log_name}.{SWAP}")),
                )
                .unwrap();
            }
            drop(log);
            let (log, report) = PartitionLog::open(dir.path(), compacted()).unwrap();
            assert_eq!((report.truncated_bytes, report.reason.as_deref()), (0, None));
            let after = contents(&log);
            let names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert!(
                !names.iter().any(|n| n.ends_with(CLEANED) || n.ends_with(SWAP)),
                "{names:?}"
            );
            if committed {
                let latest: std::collections::BTreeMap<String, i64> =
                    original.iter().map(|(o, k, _)| (k.clone(), *o)).collect();
                let kept: Vec<_> = original.into_iter().filter(|(o, k, _)| latest[k] == *o).collect();
                // The first group's segments are replaced; any later group was never swapped in.
                assert!(after.len() < 80 && kept.iter().all(|r| after.contains(r)), "{after:?}");
                let offsets: Vec<i64> = after.iter().map(|r| r.0).collect();
                assert!(offsets.windows(2).all(|w| w[0] < w[1]));
            } else {
                assert_eq!(after, original);
            }
        }
    }

    #[test]
    fn a_cleaning_whose_segments_were_deleted_meanwhile_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compacted());
        fill(&mut log, 80, 5, 0);
        let job = log.clean_job(1, 1 << 20).unwrap();
        let second = log.sealed[1].base_offset;
        log.delete_records_before(second).unwrap();
        let before = contents(&log);
        let stats = log.install(job.run().unwrap()).unwrap();
        assert!(stats.abandoned);
        assert_eq!(contents(&log), before);
        assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(CLEANED)));
        assert!(clean(&mut log, 2).is_some(), "the next look cleans what is left");
    }

    #[test]
    fn the_key_map_stops_at_a_segment_boundary_when_full_and_the_rest_waits() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compacted());
        // Every key distinct: the map fills one segment's worth at a time.
        fill(&mut log, 200, 200, 0);
        let job = log.clean_job(1, 1).unwrap();
        let cleaned = job.run().unwrap();
        let to = cleaned.stats.cleaned_to;
        assert!(to > 0 && to < 200, "stopped at {to}");
        assert_eq!(cleaned.stats.records_removed, 0);
        log.install(cleaned).unwrap();
        assert_eq!(log.cleaner.first_dirty, to);
        assert_eq!(contents(&log).len(), 200);
    }
}
