//! Putting a cleaning in place, and finishing or undoing one a stop interrupted (the steps and
//! why they are safe: "Crash safety" in the module doc of `clean`).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use super::{cleaned_name, for_each_header, CleanStats, Cleaned, Source, CHECKPOINT, CLEANED, SWAP};
use crate::log::cadence::IndexCadence;
use crate::log::error::LogError;
use crate::log::partition::PartitionLog;
use crate::log::recovery::{delete_segment_files, list_bases, sync_dir};
use crate::log::segment::{file_name, Segment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};

impl PartitionLog {
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

pub(super) fn remove_if_present(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LogError::io("delete", path)(e)),
        _ => Ok(()),
    }
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

impl Segment {
    /// A sealed segment the cleaner wrote (its `.log` already in place): fresh indexes from
    /// `offsets` and `times`, fsynced with the log. `next_offset` is where the next segment
    /// starts, which may lie past its last batch.
    pub(crate) fn cleaned(
        dir: &Path,
        base_offset: i64,
        next_offset: i64,
        size: u64,
        offsets: Vec<crate::log::index::OffsetEntry>,
        times: Vec<crate::log::time_index::TimeEntry>,
        cadence: IndexCadence,
    ) -> Result<Segment, LogError> {
        let log_path = dir.join(file_name(base_offset, LOG_SUFFIX));
        let file = crate::log::segment::open_log(&log_path, false)?;
        let mut offset_index = crate::log::index::OffsetIndex {
            file: crate::log::index::EntryFile::create(dir.join(file_name(base_offset, INDEX_SUFFIX)))?,
        };
        offset_index.file.replace(offsets)?;
        let mut time_index = crate::log::time_index::TimeIndex {
            file: crate::log::index::EntryFile::create(dir.join(file_name(base_offset, TIME_INDEX_SUFFIX)))?,
        };
        time_index.file.replace(times)?;
        let segment = Segment {
            base_offset,
            file: Arc::new(file),
            size,
            file_len: size,
            next_offset,
            offset_index,
            time_index,
            cadence,
            roll_base_ms: None,
            log_path,
        };
        segment.sync()?;
        Ok(segment)
    }
}
