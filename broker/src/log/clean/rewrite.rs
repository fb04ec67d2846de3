//! The part of a cleaning that runs without the log's lock: reading the dirty segments into a
//! key map and writing the cleanable ones again (`CleanJob::run`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

use super::{cleaned_name, CleanJob, CleanStats, Cleaned, CleanerState, Group, Source, MAP_ENTRY_OVERHEAD};
use crate::log::cadence::IndexCadence;
use crate::log::error::LogError;
use crate::log::scan::ChunkReader;
use crate::record::{compact_batch, for_each_record, BatchHeader, Compacted, HEADER_LEN, MAX_DECOMPRESSED_BYTES};

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

    fn is_aborted(&self, h: &BatchHeader) -> bool {
        self.aborted.iter().any(|a| a.holds(h))
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
                if h.is_control() || h.last_offset() < self.first_dirty || self.is_aborted(h) {
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
                    false if self.is_aborted(h) => Ok(Compacted::Dropped),
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
pub(super) fn for_each_header(src: &Source, mut each: impl FnMut(&BatchHeader)) -> Result<(), LogError> {
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
