//! Per-topic settings: Kafka's topic config names, each defaulting to a broker setting.
//!
//! A topic stores only its overrides (what CreateTopics, `--config k=v` or IncrementalAlterConfigs
//! set); the effective value is resolved against the broker's [`LogDefaults`]. DescribeConfigs
//! reports every key with where its value came from, as Kafka does.
//!
//! [`TOPIC_KEYS`] holds every topic config Apache Kafka 4.4 has. Most take effect here; the
//! others are checked as Kafka checks them, kept and described, and change nothing on a single
//! node without tiered storage: each names why. A client that sets one (as
//! librdkafka's tests set `flush.ms` and `delete.retention.ms`) succeeds as against Kafka.

use std::collections::BTreeMap;

use super::topic_keys::Effect;
pub use super::topic_keys::{topic_key, TopicKey, TOPIC_KEYS};
use crate::config::LogDefaults;
pub use crate::config::{ConfigEntry, ConfigSource, ConfigType};
use crate::log::Compaction;
use crate::record::Codec;

/// Effective settings of one topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<u64>,
    pub segment_bytes: u64,
    pub segment_ms: u64,
    pub max_message_bytes: i32,
    pub log_append_time: bool,
    /// None: batches are stored as the producer compressed them.
    pub compression: Option<Codec>,
    pub index_interval_bytes: u32,
    /// `message.timestamp.before.max.ms` / `after.max.ms`: how far a CreateTime record's
    /// timestamp may lie behind or ahead of the broker's clock (INVALID_TIMESTAMP beyond).
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// `cleanup.policy`: `delete` has retention remove old segments; `compact` has every record
    /// carry a key and the log cleaner keep only each key's latest (`log::clean`).
    pub delete: bool,
    pub compact: bool,
    /// How the cleaner treats the topic when `compact`.
    pub compaction: Compaction,
}

impl TopicConfig {
    /// Resolves overrides against the broker defaults; an unknown key or bad value is an error
    /// message fit for CreateTopics' `error_message` (INVALID_CONFIG).
    pub fn resolve(defaults: &LogDefaults, overrides: &BTreeMap<String, String>) -> Result<TopicConfig, String> {
        let mut c = TopicConfig {
            retention_ms: defaults.retention_ms,
            retention_bytes: defaults.retention_bytes,
            segment_bytes: defaults.segment_bytes,
            segment_ms: defaults.roll_ms,
            max_message_bytes: defaults.message_max_bytes,
            log_append_time: defaults.log_append_time,
            compression: defaults.compression,
            index_interval_bytes: defaults.index_interval_bytes,
            timestamp_before_max_ms: defaults.timestamp_before_max_ms,
            timestamp_after_max_ms: defaults.timestamp_after_max_ms,
            delete: true,
            compact: false,
            compaction: defaults.compaction.clone(),
        };
        for (key, value) in overrides {
            match topic_key(key).map(|k| &k.effect) {
                Some(Effect::Applied { apply, .. }) => apply(&mut c, value)?,
                Some(Effect::Inert { check, .. }) => check.check(key, value)?,
                None => return Err(format!("unknown topic config `{key}`")),
            }
        }
        Ok(c)
    }

    /// Every topic key with its effective value and where it came from.
    pub fn describe(&self, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
        TOPIC_KEYS
            .iter()
            .map(|key| {
                let given = overrides.get(key.name);
                let value = match &key.effect {
                    Effect::Applied { show, .. } => show(self),
                    Effect::Inert { kafka_default, .. } => {
                        given.map_or(kafka_default.to_string(), |v| v.trim().to_string())
                    }
                };
                ConfigEntry {
                    name: key.name,
                    value,
                    source: if given.is_some() {
                        ConfigSource::TopicOverride
                    } else {
                        ConfigSource::Default
                    },
                    config_type: key.config_type,
                    fallbacks: Vec::new(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::partition::log_config;
    use crate::config::BrokerConfig;

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn overrides_replace_broker_defaults_and_are_marked_as_such() {
        let defaults = BrokerConfig::default().log;
        let o = overrides(&[("retention.ms", "1000"), ("message.timestamp.type", "LogAppendTime")]);
        let c = TopicConfig::resolve(&defaults, &o).unwrap();
        assert_eq!(c.retention_ms, Some(1000));
        assert!(c.log_append_time);
        let described = c.describe(&o);
        let retention = described.iter().find(|e| e.name == "retention.ms").unwrap();
        assert_eq!(
            (retention.value.as_str(), retention.source),
            ("1000", ConfigSource::TopicOverride)
        );
        let segment = described.iter().find(|e| e.name == "segment.bytes").unwrap();
        assert_eq!(segment.source, ConfigSource::Default);
    }

    #[test]
    fn every_kafka_topic_config_is_accepted_at_its_default_and_described_in_name_order() {
        let defaults = BrokerConfig::default().log;
        let plain = TopicConfig::resolve(&defaults, &BTreeMap::new()).unwrap();
        let described = plain.describe(&BTreeMap::new());
        assert_eq!(described.len(), TOPIC_KEYS.len());
        assert!(TOPIC_KEYS.windows(2).all(|w| w[0].name < w[1].name), "name order");
        // Each key's value as described is accepted back as an override, and changes nothing.
        for entry in &described {
            let o = overrides(&[(entry.name, entry.value.as_str())]);
            let c = TopicConfig::resolve(&defaults, &o).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            assert_eq!(c, plain, "{}", entry.name);
            let again = c.describe(&o);
            let same = again.iter().find(|e| e.name == entry.name).unwrap();
            assert_eq!((&same.value, same.source), (&entry.value, ConfigSource::TopicOverride));
        }
    }

    #[test]
    fn cleanup_policy_compact_keeps_segments_from_retention_unless_delete_is_also_set() {
        let defaults = BrokerConfig::default().log;
        let with = |policy: &str| {
            TopicConfig::resolve(
                &defaults,
                &overrides(&[("cleanup.policy", policy), ("retention.ms", "1000")]),
            )
        };
        let compact = with("compact").unwrap();
        assert!(compact.compact && !compact.delete);
        assert_eq!(
            (log_config(&compact).retention_ms, log_config(&compact).retention_bytes),
            (None, None)
        );
        for both in ["compact,delete", "delete, compact"] {
            let c = with(both).unwrap();
            assert!(c.compact && c.delete);
            assert_eq!(log_config(&c).retention_ms, Some(1000));
            let shown = c.describe(&overrides(&[("cleanup.policy", both)]));
            assert_eq!(
                shown.iter().find(|e| e.name == "cleanup.policy").unwrap().value,
                "compact,delete"
            );
        }
        assert!(with("delete").unwrap().delete);
        for bad in ["", "compacted", "delete,forever"] {
            assert!(with(bad).unwrap_err().contains("cleanup.policy"), "{bad}");
        }
    }

    #[test]
    fn keys_without_effect_are_still_checked_as_kafka_checks_them() {
        let defaults = BrokerConfig::default().log;
        for (key, bad) in [
            ("flush.ms", "-5"),
            ("flush.messages", "0"),
            ("min.cleanable.dirty.ratio", "1.5"),
            ("preallocate", "yes"),
            ("leader.replication.throttled.replicas", "0:x"),
            ("remote.storage.enable", "true"),
            ("compression.zstd.level", "23"),
        ] {
            let err = TopicConfig::resolve(&defaults, &overrides(&[(key, bad)])).unwrap_err();
            assert!(err.contains(key), "{key}={bad}: {err}");
        }
        for (key, good) in [
            ("flush.ms", "1000"),
            ("file.delete.delay.ms", "900"),
            ("leader.replication.throttled.replicas", "0:0,1:0"),
            ("follower.replication.throttled.replicas", "*"),
        ] {
            let o = overrides(&[(key, good)]);
            let c = TopicConfig::resolve(&defaults, &o).unwrap();
            let entry = c.describe(&o).into_iter().find(|e| e.name == key).unwrap();
            assert_eq!(entry.value, good);
            assert!(topic_key(key).unwrap().inert_because().is_some());
        }
        let o = overrides(&[("index.interval.bytes", "100"), ("compression.type", "lz4")]);
        let c = TopicConfig::resolve(&defaults, &o).unwrap();
        assert_eq!((c.index_interval_bytes, c.compression), (100, Some(Codec::Lz4)));
    }

    #[test]
    fn compaction_keys_reach_a_compacted_topics_log_and_show_as_kafka_shows_them() {
        let defaults = BrokerConfig::default().log;
        let o = overrides(&[
            ("cleanup.policy", "compact"),
            ("delete.retention.ms", "900"),
            ("min.cleanable.dirty.ratio", "0.1"),
            ("min.compaction.lag.ms", "5"),
            ("max.compaction.lag.ms", "60000"),
        ]);
        let c = TopicConfig::resolve(&defaults, &o).unwrap();
        let expected = Compaction {
            min_cleanable_dirty_ratio: 0.1,
            delete_retention_ms: 900,
            min_compaction_lag_ms: 5,
            max_compaction_lag_ms: 60000,
        };
        assert_eq!(log_config(&c).compaction, Some(expected));
        let shown = c.describe(&o);
        for (key, value) in &o {
            let entry = shown.iter().find(|e| e.name == key).unwrap();
            assert_eq!((&entry.value, entry.source), (value, ConfigSource::TopicOverride));
        }
        let plain = TopicConfig::resolve(&defaults, &overrides(&[])).unwrap();
        assert_eq!(log_config(&plain).compaction, None, "a delete topic is never cleaned");
        let ratio = plain.describe(&overrides(&[]));
        let ratio = ratio.iter().find(|e| e.name == "min.cleanable.dirty.ratio").unwrap();
        assert_eq!(ratio.value, "0.5");
        let one = TopicConfig::resolve(&defaults, &overrides(&[("min.cleanable.dirty.ratio", "1")])).unwrap();
        assert_eq!(
            one.describe(&overrides(&[]))[..]
                .iter()
                .find(|e| e.name == "min.cleanable.dirty.ratio")
                .unwrap()
                .value,
            "1.0"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_key_named() {
        let defaults = BrokerConfig::default().log;
        let err = TopicConfig::resolve(&defaults, &overrides(&[("retention.mss", "1")])).unwrap_err();
        assert!(err.contains("retention.mss"), "{err}");
        let err = TopicConfig::resolve(&defaults, &overrides(&[("segment.bytes", "x")])).unwrap_err();
        assert!(err.contains("segment.bytes") && err.contains("integer"), "{err}");
    }
}
