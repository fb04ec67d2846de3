//! Per-partition storage settings, under Kafka's topic-config names.

/// Kafka's default `log.segment.bytes`.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1 << 30;
/// Kafka's default `log.roll.ms` (7 days).
pub const DEFAULT_SEGMENT_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's default `log.retention.ms` (`log.retention.hours` = 168).
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's default `index.interval.bytes`.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u32 = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll before a batch would take the active segment past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when this long has passed since the active segment's first batch.
    /// `None` never rolls by time.
    pub segment_ms: Option<u64>,
    /// `retention.ms`: `None` keeps data forever (Kafka's -1).
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: `None` is unlimited (Kafka's -1).
    pub retention_bytes: Option<u64>,
    /// `index.interval.bytes`: log bytes between two index entries.
    pub index_interval_bytes: u32,
    /// Set for a compacted log (`cleanup.policy` holding `compact`): how the cleaner treats it.
    pub compaction: Option<Compaction>,
}

/// The topic configs of log compaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Compaction {
    /// `min.cleanable.dirty.ratio`: clean once the part not yet cleaned is this share of the log.
    pub min_cleanable_dirty_ratio: f64,
    /// `delete.retention.ms`: how long a tombstone stays after the cleaning that first kept it.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: a segment holding a record younger than this is not cleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: clean, whatever the ratio, once the oldest record not yet
    /// cleaned is this old.
    pub max_compaction_lag_ms: i64,
}

impl Default for Compaction {
    /// Kafka's defaults.
    fn default() -> Compaction {
        Compaction {
            min_cleanable_dirty_ratio: 0.5,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: Some(DEFAULT_SEGMENT_MS),
            retention_ms: Some(DEFAULT_RETENTION_MS),
            retention_bytes: None,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            compaction: None,
        }
    }
}
