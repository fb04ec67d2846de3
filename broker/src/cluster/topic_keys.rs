//! [`TOPIC_KEYS`]: every topic config of Apache Kafka 4.4, each with Kafka's check of its value
//! and what it does here, either setting a field of [`TopicConfig`] or, for the few that change
//! nothing on one node, why (`topic_config` resolves and describes a topic's configs with it).

use super::topic_config::TopicConfig;
pub use crate::config::ConfigType;
use crate::config::{compression_type, compression_type_name, java_double, COMPRESSION_EXPECTED};

/// What a key does here.
pub(super) enum Effect {
    /// It sets the topic's [`TopicConfig`]: `apply` checks and reads an override, `show` gives
    /// the effective value.
    Applied {
        apply: fn(&mut TopicConfig, &str) -> Result<(), String>,
        show: fn(&TopicConfig) -> String,
    },
    /// It is checked and kept but changes nothing here, for the reason given.
    Inert {
        kafka_default: &'static str,
        check: Check,
        why: &'static str,
    },
}

/// Kafka's check of a value.
#[derive(Clone, Copy)]
pub(super) enum Check {
    Long(i64, i64),
    Int(i64, i64),
    Bool,
    /// `[partition]:[broker]` pairs, `*`, or nothing (the throttled-replica lists).
    Replicas,
    /// Only this value: a feature the broker does not have may only be off.
    Only(&'static str),
}

/// One topic config.
pub struct TopicKey {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub(super) effect: Effect,
}

impl TopicKey {
    /// Why the key changes nothing here, for the keys that do not.
    pub fn inert_because(&self) -> Option<&'static str> {
        match self.effect {
            Effect::Inert { why, .. } => Some(why),
            Effect::Applied { .. } => None,
        }
    }
}

const I32: i64 = i32::MAX as i64;

/// `cleanup.policy` as (delete, compact): `delete`, `compact`, or both in either order.
fn cleanup_policy(value: &str) -> Option<(bool, bool)> {
    let (mut delete, mut compact) = (false, false);
    for policy in value.split(',').map(str::trim) {
        match policy {
            "delete" => delete = true,
            "compact" => compact = true,
            _ => return None,
        }
    }
    (delete || compact).then_some((delete, compact))
}
const REPLICATION: &str = "a single node has one replica of each partition";
const TIERED: &str = "tiered storage is not offered";
const FSYNC: &str = "every acks=all batch is on disk before its answer, whatever the flush settings";

fn int(key: &str, value: &str, min: i64, max: i64) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| format!("`{key}` expects an integer from {min} to {max}, got `{value}`"))
}

/// A ratio from 0 to 1, as Kafka checks `min.cleanable.dirty.ratio`.
fn ratio(key: &str, value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("`{key}` expects a number from 0 to 1, got `{value}`"))
}

impl Check {
    pub(super) fn check(self, key: &str, value: &str) -> Result<(), String> {
        let v = value.trim();
        let (ok, expected) = match self {
            Check::Long(min, max) | Check::Int(min, max) => return int(key, value, min, max).map(|_| ()),
            Check::Bool => (matches!(v, "true" | "false"), "true or false".to_string()),
            Check::Replicas => (
                v == "*"
                    || v.split(',').map(str::trim).filter(|p| !p.is_empty()).all(|pair| {
                        pair.split_once(':')
                            .is_some_and(|(p, b)| p.parse::<u32>().is_ok() && b.parse::<u32>().is_ok())
                    }),
                "`*` or a list of [partition]:[broker] pairs".to_string(),
            ),
            Check::Only(only) => (v == only, format!("`{only}` ({TIERED})")),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("`{key}` expects {expected}, got `{value}`"))
        }
    }
}

macro_rules! applied {
    ($name:literal, $type:ident, |$c:ident, $v:ident, $k:ident| $apply:expr, |$s:ident| $show:expr) => {
        TopicKey {
            name: $name,
            config_type: ConfigType::$type,
            effect: Effect::Applied {
                apply: |$c, $v| {
                    let $k = $name;
                    $apply;
                    Ok(())
                },
                show: |$s| $show,
            },
        }
    };
}

macro_rules! inert {
    ($name:literal, $type:ident, $default:literal, $check:expr, $why:expr) => {
        TopicKey {
            name: $name,
            config_type: ConfigType::$type,
            effect: Effect::Inert {
                kafka_default: $default,
                check: $check,
                why: $why,
            },
        }
    };
}

/// Every topic config of Apache Kafka 4.4, in name order.
pub const TOPIC_KEYS: &[TopicKey] = &[
    applied!(
        "cleanup.policy",
        List,
        |c, v, key| (c.delete, c.compact) = cleanup_policy(v)
            .ok_or_else(|| format!("`{key}` expects delete, compact or both (`compact,delete`), got `{v}`"))?,
        |c| match (c.compact, c.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            _ => "delete",
        }
        .to_string()
    ),
    inert!(
        "compression.gzip.level",
        Int,
        "-1",
        Check::Int(-1, 9),
        "gzip is written at its default level"
    ),
    inert!(
        "compression.lz4.level",
        Int,
        "9",
        Check::Int(1, 17),
        "LZ4 is written at its one level"
    ),
    applied!(
        "compression.type",
        String,
        |c, v, key| c.compression =
            compression_type(v.trim()).ok_or_else(|| format!("`{key}` expects {COMPRESSION_EXPECTED}, got `{v}`"))?,
        |c| compression_type_name(c.compression).to_string()
    ),
    inert!(
        "compression.zstd.level",
        Int,
        "3",
        Check::Int(-131072, 22),
        "zstd is written at level 3"
    ),
    applied!(
        "delete.retention.ms",
        Long,
        |c, v, key| c.compaction.delete_retention_ms = int(key, v, 0, i64::MAX)?,
        |c| c.compaction.delete_retention_ms.to_string()
    ),
    inert!(
        "errors.deadletterqueue.group.enable",
        Boolean,
        "false",
        Check::Bool,
        "share groups are not offered"
    ),
    inert!(
        "file.delete.delay.ms",
        Long,
        "60000",
        Check::Long(0, i64::MAX),
        "segments are deleted at once"
    ),
    inert!(
        "flush.messages",
        Long,
        "9223372036854775807",
        Check::Long(1, i64::MAX),
        FSYNC
    ),
    inert!("flush.ms", Long, "9223372036854775807", Check::Long(0, i64::MAX), FSYNC),
    inert!(
        "follower.replication.throttled.replicas",
        List,
        "",
        Check::Replicas,
        REPLICATION
    ),
    applied!(
        "index.interval.bytes",
        Int,
        |c, v, key| c.index_interval_bytes = int(key, v, 0, I32)? as u32,
        |c| c.index_interval_bytes.to_string()
    ),
    inert!(
        "leader.replication.throttled.replicas",
        List,
        "",
        Check::Replicas,
        REPLICATION
    ),
    inert!("local.retention.bytes", Long, "-2", Check::Long(-2, i64::MAX), TIERED),
    inert!("local.retention.ms", Long, "-2", Check::Long(-2, i64::MAX), TIERED),
    applied!(
        "max.compaction.lag.ms",
        Long,
        |c, v, key| c.compaction.max_compaction_lag_ms = int(key, v, 1, i64::MAX)?,
        |c| c.compaction.max_compaction_lag_ms.to_string()
    ),
    inert!(
        "max.decompressed.message.bytes",
        Int,
        "2147483639",
        Check::Int(0, I32),
        "a compressed batch is refused past 64 MiB of records, whatever the topic says"
    ),
    applied!(
        "max.message.bytes",
        Int,
        |c, v, key| c.max_message_bytes = int(key, v, 0, I32)? as i32,
        |c| c.max_message_bytes.to_string()
    ),
    applied!(
        "message.timestamp.after.max.ms",
        Long,
        |c, v, key| c.timestamp_after_max_ms = int(key, v, 0, i64::MAX)?,
        |c| c.timestamp_after_max_ms.to_string()
    ),
    applied!(
        "message.timestamp.before.max.ms",
        Long,
        |c, v, key| c.timestamp_before_max_ms = int(key, v, 0, i64::MAX)?,
        |c| c.timestamp_before_max_ms.to_string()
    ),
    applied!(
        "message.timestamp.type",
        String,
        |c, v, key| c.log_append_time = match v.trim() {
            "CreateTime" => false,
            "LogAppendTime" => true,
            _ => return Err(format!("`{key}` expects CreateTime or LogAppendTime, got `{v}`")),
        },
        |c| if c.log_append_time {
            "LogAppendTime"
        } else {
            "CreateTime"
        }
        .to_string()
    ),
    applied!(
        "min.cleanable.dirty.ratio",
        Double,
        |c, v, key| c.compaction.min_cleanable_dirty_ratio = ratio(key, v)?,
        |c| java_double(c.compaction.min_cleanable_dirty_ratio)
    ),
    applied!(
        "min.compaction.lag.ms",
        Long,
        |c, v, key| c.compaction.min_compaction_lag_ms = int(key, v, 0, i64::MAX)?,
        |c| c.compaction.min_compaction_lag_ms.to_string()
    ),
    inert!("min.insync.replicas", Int, "1", Check::Int(1, I32), REPLICATION),
    inert!(
        "preallocate",
        Boolean,
        "false",
        Check::Bool,
        "the active segment is always zero-filled ahead of its end"
    ),
    inert!("remote.copy.lag.bytes", Long, "-1", Check::Long(-1, i64::MAX), TIERED),
    inert!("remote.copy.lag.ms", Long, "0", Check::Long(-1, i64::MAX), TIERED),
    inert!("remote.log.copy.disable", Boolean, "false", Check::Bool, TIERED),
    inert!("remote.log.delete.on.disable", Boolean, "false", Check::Bool, TIERED),
    inert!("remote.storage.enable", Boolean, "false", Check::Only("false"), TIERED),
    applied!(
        "retention.bytes",
        Long,
        |c, v, key| c.retention_bytes = Some(int(key, v, -1, i64::MAX)?).filter(|v| *v >= 0).map(|v| v as u64),
        |c| c.retention_bytes.map_or(-1, |v| v as i64).to_string()
    ),
    applied!(
        "retention.ms",
        Long,
        |c, v, key| c.retention_ms = Some(int(key, v, -1, i64::MAX)?).filter(|v| *v >= 0),
        |c| c.retention_ms.unwrap_or(-1).to_string()
    ),
    applied!(
        "segment.bytes",
        Int,
        |c, v, key| c.segment_bytes = int(key, v, 14, I32)? as u64,
        |c| c.segment_bytes.to_string()
    ),
    inert!(
        "segment.index.bytes",
        Int,
        "10485760",
        Check::Int(4, I32),
        "the offset index grows as it is written"
    ),
    inert!(
        "segment.jitter.ms",
        Long,
        "0",
        Check::Long(0, i64::MAX),
        "segments roll at segment.ms exactly"
    ),
    applied!(
        "segment.ms",
        Long,
        |c, v, key| c.segment_ms = int(key, v, 1, i64::MAX)? as u64,
        |c| c.segment_ms.to_string()
    ),
    inert!(
        "unclean.leader.election.enable",
        Boolean,
        "false",
        Check::Bool,
        REPLICATION
    ),
];

/// The key named `name`.
pub fn topic_key(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}
