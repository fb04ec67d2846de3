//! When a batch earns index entries: Kafka's `index.interval.bytes` rule.

use super::index::OffsetEntry;
use super::time_index::TimeEntry;
use crate::record::BatchHeader;

/// When a batch earns index entries. Append and recovery share it, so a rebuilt index is
/// byte-identical to the one appends wrote and "does the index match" is a plain comparison.
#[derive(Debug, Clone)]
pub(crate) struct IndexCadence {
    interval: u64,
    bytes_since_entry: u64,
    indexed_any: bool,
    /// (timestamp, relative offset of the first batch that reached it). Kafka's "no timestamp"
    /// (-1) never counts.
    pub(crate) max_timestamp: Option<(i64, u32)>,
    last_time_entry: Option<i64>,
}

impl IndexCadence {
    pub(crate) fn new(interval: u32) -> IndexCadence {
        IndexCadence {
            interval: u64::from(interval),
            bytes_since_entry: 0,
            indexed_any: false,
            max_timestamp: None,
            last_time_entry: None,
        }
    }

    /// The entries due for a batch at relative offset `rel`, file position `pos`: an offset
    /// entry for the first batch and then every `interval` bytes, with a time entry at the same
    /// moments when the max timestamp grew since the last one.
    pub(crate) fn on_batch(
        &mut self,
        rel: u32,
        pos: u32,
        header: &BatchHeader,
    ) -> (Option<OffsetEntry>, Option<TimeEntry>) {
        if header.max_timestamp >= 0 && self.max_timestamp.is_none_or(|(ts, _)| header.max_timestamp > ts) {
            self.max_timestamp = Some((header.max_timestamp, rel));
        }
        let mut due = (None, None);
        if !self.indexed_any || self.bytes_since_entry >= self.interval {
            self.indexed_any = true;
            self.bytes_since_entry = 0;
            due = (
                Some(OffsetEntry {
                    relative_offset: rel,
                    position: pos,
                }),
                self.seal_entry(),
            );
        }
        self.bytes_since_entry += header.total_len();
        due
    }

    /// State of a sealed segment whose indexes were found intact: its last time entry holds the
    /// max timestamp (see `time_index`).
    pub(crate) fn restore_sealed(&mut self, last: Option<TimeEntry>) {
        self.indexed_any = true;
        self.max_timestamp = last.map(|e| (e.timestamp, e.relative_offset));
        self.last_time_entry = last.map(|e| e.timestamp);
    }

    /// A time entry for the max timestamp if the index does not have it yet.
    pub(crate) fn seal_entry(&mut self) -> Option<TimeEntry> {
        let (ts, rel) = self.max_timestamp?;
        if self.last_time_entry.is_some_and(|last| last >= ts) {
            return None;
        }
        self.last_time_entry = Some(ts);
        Some(TimeEntry {
            timestamp: ts,
            relative_offset: rel,
        })
    }
}
