//! [`SETTINGS`], the rows of the broker's settings table (`settings` has what a row is and how
//! the table is read and described).

use std::time::Duration;

use super::settings::{ConfigType, Setting};
use super::Listener;

const I32: i64 = i32::MAX as i64;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

fn listeners(l: &[Listener]) -> String {
    l.iter()
        .map(|l| format!("{}://{}", l.name, l.addr()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every broker setting, in the order they are read and described.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "listener.security.protocol.map",
        synonyms: &[],
        read: |r, _, _| {
            r.protocols = r.protocol_map()?;
            Ok(())
        },
        describe: None,
    },
    Setting {
        name: "listeners",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(l) = r.listeners(key)? {
                c.listeners = l;
            }
            Ok(())
        },
        describe: Some((ConfigType::List, |c| listeners(&c.listeners))),
    },
    Setting {
        name: "advertised.listeners",
        synonyms: &[],
        read: |r, key, c| {
            c.advertised_listeners = r.listeners(key)?;
            Ok(())
        },
        describe: Some((ConfigType::List, |c| {
            c.advertised_listeners.as_deref().map(listeners).unwrap_or_default()
        })),
    },
    Setting {
        name: "log.dirs",
        synonyms: &["log.dir"],
        read: |r, key, c| {
            if let Some(dirs) = r.take(key).or_else(|| r.take("log.dir")) {
                c.data_dir = r.single_dir(dirs)?;
            }
            Ok(())
        },
        describe: Some((ConfigType::String, |c| c.data_dir.display().to_string())),
    },
    Setting {
        name: "num.partitions",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, I32)? {
                c.num_partitions = v as i32;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.num_partitions.to_string())),
    },
    Setting {
        name: "auto.create.topics.enable",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.bool(key)? {
                c.auto_create_topics = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::String, |c| c.auto_create_topics.to_string())),
    },
    Setting {
        name: "log.retention.ms",
        synonyms: &["log.retention.minutes", "log.retention.hours"],
        read: |r, key, c| {
            let hours = r
                .int("log.retention.hours", -1, i64::MAX / HOUR_MS)?
                .map(|h| h * HOUR_MS);
            let minutes = r
                .int("log.retention.minutes", -1, i64::MAX / MINUTE_MS)?
                .map(|m| m * MINUTE_MS);
            let ms = r.millis(key, -1)?;
            // Kafka's precedence: ms over minutes over hours; any negative value means forever.
            if let Some(v) = ms.or(minutes).or(hours) {
                c.log.retention_ms = (v >= 0).then_some(v);
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.retention_ms.unwrap_or(-1).to_string())),
    },
    Setting {
        name: "log.retention.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, -1, i64::MAX)? {
                c.log.retention_bytes = (v >= 0).then_some(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| {
            c.log.retention_bytes.map_or(-1, |b| b as i64).to_string()
        })),
    },
    Setting {
        name: "log.segment.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 14, I32)? {
                c.log.segment_bytes = v as u64;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.log.segment_bytes.to_string())),
    },
    Setting {
        name: "log.roll.ms",
        synonyms: &["log.roll.hours"],
        read: |r, key, c| {
            let hours = r.int("log.roll.hours", 1, i64::MAX / HOUR_MS)?.map(|h| h * HOUR_MS);
            if let Some(v) = r.millis(key, 1)?.or(hours) {
                c.log.roll_ms = v as u64;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.roll_ms.to_string())),
    },
    Setting {
        name: "log.index.interval.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, I32)? {
                c.log.index_interval_bytes = v as u32;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.log.index_interval_bytes.to_string())),
    },
    Setting {
        name: "message.max.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, I32)? {
                c.log.message_max_bytes = v as i32;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.log.message_max_bytes.to_string())),
    },
    Setting {
        name: "log.message.timestamp.type",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.string(key)? {
                c.log.log_append_time = match v.as_str() {
                    "CreateTime" => false,
                    "LogAppendTime" => true,
                    _ => return Err(r.bad(key, "CreateTime or LogAppendTime", &v)),
                };
            }
            Ok(())
        },
        describe: Some((ConfigType::String, |c| {
            if c.log.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            }
            .to_string()
        })),
    },
    Setting {
        name: "log.message.timestamp.before.max.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, i64::MAX)? {
                c.log.timestamp_before_max_ms = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.timestamp_before_max_ms.to_string())),
    },
    Setting {
        name: "log.message.timestamp.after.max.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, i64::MAX)? {
                c.log.timestamp_after_max_ms = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.timestamp_after_max_ms.to_string())),
    },
    Setting {
        name: "compression.type",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.string(key)? {
                c.log.compression =
                    super::compression_type(&v).ok_or_else(|| r.bad(key, super::COMPRESSION_EXPECTED, &v))?;
            }
            Ok(())
        },
        describe: Some((ConfigType::String, |c| {
            super::compression_type_name(c.log.compression).to_string()
        })),
    },
    Setting {
        name: "transactional.id.expiration.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, i64::from(i32::MAX))? {
                c.transactional_id_expiration = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.transactional_id_expiration))),
    },
    Setting {
        name: "log.retention.check.interval.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.retention_check_interval = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| millis(c.retention_check_interval))),
    },
    Setting {
        name: "log.cleaner.enable",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.bool(key)? {
                c.cleaner.enable = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Boolean, |c| c.cleaner.enable.to_string())),
    },
    Setting {
        name: "log.cleaner.backoff.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 0)? {
                c.cleaner.backoff = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| millis(c.cleaner.backoff))),
    },
    Setting {
        name: "log.cleaner.dedupe.buffer.size",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, i64::MAX)? {
                c.cleaner.dedupe_buffer_bytes = v as u64;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.cleaner.dedupe_buffer_bytes.to_string())),
    },
    Setting {
        name: "log.cleaner.min.cleanable.ratio",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.ratio(key)? {
                c.log.compaction.min_cleanable_dirty_ratio = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Double, |c| {
            super::java_double(c.log.compaction.min_cleanable_dirty_ratio)
        })),
    },
    Setting {
        name: "log.cleaner.delete.retention.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 0)? {
                c.log.compaction.delete_retention_ms = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.compaction.delete_retention_ms.to_string())),
    },
    Setting {
        name: "log.cleaner.min.compaction.lag.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 0)? {
                c.log.compaction.min_compaction_lag_ms = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.compaction.min_compaction_lag_ms.to_string())),
    },
    Setting {
        name: "log.cleaner.max.compaction.lag.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.log.compaction.max_compaction_lag_ms = v;
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| c.log.compaction.max_compaction_lag_ms.to_string())),
    },
    Setting {
        name: "socket.request.max.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1024, I32)? {
                c.socket_request_max_bytes = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.socket_request_max_bytes.to_string())),
    },
    Setting {
        name: "max.connections",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, I32)? {
                c.connection_limits.max_connections = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.connection_limits.max_connections.to_string())),
    },
    Setting {
        name: "max.connections.per.ip",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, I32)? {
                c.connection_limits.max_connections_per_ip = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| {
            c.connection_limits.max_connections_per_ip.to_string()
        })),
    },
    Setting {
        name: "max.connections.per.ip.overrides",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(entries) = r.list(key, "HOST:COUNT entries such as \"127.0.0.1:200\"")? {
                c.connection_limits.per_ip_overrides = r.ip_counts(key, &entries)?;
            }
            // Kafka: 0 per address makes sense only when some addresses are named.
            if c.connection_limits.max_connections_per_ip == 0 && c.connection_limits.per_ip_overrides.is_empty() {
                return Err(r.bad(
                    "max.connections.per.ip",
                    "a positive count (0 only with max.connections.per.ip.overrides set)",
                    &0,
                ));
            }
            Ok(())
        },
        describe: Some((ConfigType::String, |c| {
            let mut entries: Vec<String> = c
                .connection_limits
                .per_ip_overrides
                .iter()
                .map(|(ip, n)| format!("{ip}:{n}"))
                .collect();
            entries.sort();
            entries.join(",")
        })),
    },
    Setting {
        name: "sluice.max.partitions",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, I32)? {
                c.max_partitions = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.max_partitions.to_string())),
    },
    Setting {
        name: "group.initial.rebalance.delay.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 0)? {
                c.groups.initial_rebalance_delay = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.initial_rebalance_delay))),
    },
    Setting {
        name: "group.min.session.timeout.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.min_session_timeout = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.min_session_timeout))),
    },
    Setting {
        name: "group.max.session.timeout.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.max_session_timeout = Duration::from_millis(v as u64);
            }
            let g = &c.groups;
            if g.min_session_timeout > g.max_session_timeout {
                let got = format!("{} ms", g.max_session_timeout.as_millis());
                return Err(r.bad(key, "at least group.min.session.timeout.ms", &got));
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.max_session_timeout))),
    },
    Setting {
        name: "group.consumer.min.heartbeat.interval.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.consumer_heartbeat_range.0 = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.consumer_heartbeat_range.0))),
    },
    Setting {
        name: "group.consumer.max.heartbeat.interval.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.consumer_heartbeat_range.1 = Duration::from_millis(v as u64);
            }
            let (min, max) = c.groups.consumer_heartbeat_range;
            if min > max {
                let got = format!("{} ms", max.as_millis());
                return Err(r.bad(key, "at least group.consumer.min.heartbeat.interval.ms", &got));
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.consumer_heartbeat_range.1))),
    },
    Setting {
        name: "group.consumer.heartbeat.interval.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.consumer_heartbeat_interval = Duration::from_millis(v as u64);
            }
            let (min, max) = c.groups.consumer_heartbeat_range;
            if !(min..=max).contains(&c.groups.consumer_heartbeat_interval) {
                let got = format!("{} ms", c.groups.consumer_heartbeat_interval.as_millis());
                let expected = "within group.consumer.min/max.heartbeat.interval.ms";
                return Err(r.bad(key, expected, &got));
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.consumer_heartbeat_interval))),
    },
    Setting {
        name: "group.consumer.min.session.timeout.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.consumer_session_range.0 = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.consumer_session_range.0))),
    },
    Setting {
        name: "group.consumer.max.session.timeout.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.consumer_session_range.1 = Duration::from_millis(v as u64);
            }
            let (min, max) = c.groups.consumer_session_range;
            if min > max {
                let got = format!("{} ms", max.as_millis());
                return Err(r.bad(key, "at least group.consumer.min.session.timeout.ms", &got));
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.consumer_session_range.1))),
    },
    Setting {
        name: "group.consumer.session.timeout.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.consumer_session_timeout = Duration::from_millis(v as u64);
            }
            let g = &c.groups;
            let (min, max) = g.consumer_session_range;
            if !(min..=max).contains(&g.consumer_session_timeout) {
                let got = format!("{} ms", g.consumer_session_timeout.as_millis());
                return Err(r.bad(key, "within group.consumer.min/max.session.timeout.ms", &got));
            }
            if g.consumer_heartbeat_interval >= g.consumer_session_timeout {
                let got = format!("{} ms", g.consumer_session_timeout.as_millis());
                return Err(r.bad(key, "more than group.consumer.heartbeat.interval.ms", &got));
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| millis(c.groups.consumer_session_timeout))),
    },
    Setting {
        name: "group.consumer.assignors",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(names) = r.list(key, "assignor names (uniform, range)")? {
                if names.is_empty() || names.iter().any(String::is_empty) {
                    return Err(r.bad(key, "assignor names (uniform, range)", &names.join(",")));
                }
                c.groups.consumer_assignors = names;
            }
            Ok(())
        },
        describe: Some((ConfigType::List, |c| c.groups.consumer_assignors.join(","))),
    },
    Setting {
        name: "group.consumer.max.size",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, I32)? {
                c.groups.consumer_max_size = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.groups.consumer_max_size.to_string())),
    },
    Setting {
        name: "group.max.size",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, I32)? {
                c.groups.max_size = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.groups.max_size.to_string())),
    },
    Setting {
        name: "offsets.retention.minutes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, i64::MAX / MINUTE_MS)? {
                c.groups.offsets_retention = Duration::from_secs(v as u64 * 60);
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| {
            (c.groups.offsets_retention.as_secs() / 60).to_string()
        })),
    },
    Setting {
        name: "offsets.retention.check.interval.ms",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.millis(key, 1)? {
                c.groups.offsets_retention_check_interval = Duration::from_millis(v as u64);
            }
            Ok(())
        },
        describe: Some((ConfigType::Long, |c| millis(c.groups.offsets_retention_check_interval))),
    },
    Setting {
        name: "offsets.topic.num.partitions",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1, 10_000)? {
                c.groups.offsets_topic_partitions = v as i32;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.groups.offsets_topic_partitions.to_string())),
    },
    Setting {
        name: "offsets.topic.segment.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 1024, I32)? {
                c.groups.offsets_topic_segment_bytes = v as u64;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.groups.offsets_topic_segment_bytes.to_string())),
    },
    Setting {
        name: "offset.metadata.max.bytes",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.int(key, 0, I32)? {
                c.groups.offset_metadata_max_bytes = v as usize;
            }
            Ok(())
        },
        describe: Some((ConfigType::Int, |c| c.groups.offset_metadata_max_bytes.to_string())),
    },
    Setting {
        name: "sluice.http.listen",
        synonyms: &[],
        read: |r, key, c| {
            if let Some(v) = r.take(key) {
                c.http_listen = r.http_listen(v)?;
            }
            Ok(())
        },
        describe: None,
    },
];
