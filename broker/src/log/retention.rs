//! Retention: deleting whole old segments by age (`retention.ms`) and total size
//! (`retention.bytes`), as Kafka does. Records are never removed from inside a segment.

use std::time::UNIX_EPOCH;

use super::error::LogError;
use super::partition::PartitionLog;
use super::segment::Segment;

impl PartitionLog {
    /// Deletes segments, oldest first, while the oldest is expired: its largest timestamp is
    /// older than `now_ms - retention_ms`, or the log without it would still hold at least
    /// `retention_bytes`. Advances the log start offset to the next segment's base. Returns
    /// how many segments went.
    ///
    /// When the active segment itself is expired (every record is), it is rolled first, as
    /// Kafka does, and deleted: the log is then one empty segment and log start = log end.
    /// An empty active segment is never rolled or deleted.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        loop {
            let oldest = self.sealed.first().unwrap_or(&self.active);
            if !self.is_expired(oldest, now_ms)? {
                break;
            }
            if self.sealed.is_empty() {
                if self.active.size == 0 {
                    break;
                }
                self.roll()?;
            }
            let oldest = self.sealed.remove(0);
            self.log_start_offset = self.sealed.first().unwrap_or(&self.active).base_offset;
            oldest.delete()?;
            deleted += 1;
        }
        Ok(deleted)
    }

    fn is_expired(&self, segment: &Segment, now_ms: i64) -> Result<bool, LogError> {
        if let Some(limit) = self.config.retention_bytes {
            if self.size_bytes() - segment.size >= limit {
                return Ok(true);
            }
        }
        let Some(retention_ms) = self.config.retention_ms.filter(|ms| *ms >= 0) else {
            return Ok(false);
        };
        Ok(largest_timestamp(segment)? < now_ms.saturating_sub(retention_ms))
    }
}

/// The segment's largest record timestamp, or when its records carry none, the file's
/// modification time (Kafka's `LogSegment.largestTimestamp`).
fn largest_timestamp(segment: &Segment) -> Result<i64, LogError> {
    if let Some((ts, _)) = segment.max_timestamp() {
        return Ok(ts);
    }
    let modified = segment
        .file
        .metadata()
        .and_then(|m| m.modified())
        .map_err(LogError::io("stat", &segment.log_path))?;
    Ok(modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}
