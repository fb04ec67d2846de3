//! Per-topic settings: Kafka's topic config names, each defaulting to a broker setting.
//!
//! A topic stores only its overrides (what CreateTopics or `--config k=v` set); the effective
//! value is resolved against the broker's [`LogDefaults`]. DescribeConfigs reports every key with
//! where its value came from, as Kafka does.

use std::collections::BTreeMap;

use crate::config::{compression_type, compression_type_name, LogDefaults, COMPRESSION_EXPECTED};
pub use crate::config::{ConfigEntry, ConfigSource, ConfigType};
use crate::record::Codec;

/// The topic config keys sluice implements.
pub const TOPIC_KEYS: &[(&str, ConfigType)] = &[
    ("cleanup.policy", ConfigType::List),
    ("compression.type", ConfigType::String),
    ("max.message.bytes", ConfigType::Int),
    ("message.timestamp.type", ConfigType::String),
    ("retention.bytes", ConfigType::Long),
    ("retention.ms", ConfigType::Long),
    ("segment.bytes", ConfigType::Int),
    ("segment.ms", ConfigType::Long),
];

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
        };
        for (key, value) in overrides {
            let int = |min: i64, max: i64| -> Result<i64, String> {
                value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|v| (min..=max).contains(v))
                    .ok_or_else(|| format!("`{key}` expects an integer from {min} to {max}, got `{value}`"))
            };
            match key.as_str() {
                "retention.ms" => c.retention_ms = Some(int(-1, i64::MAX)?).filter(|v| *v >= 0),
                "retention.bytes" => c.retention_bytes = Some(int(-1, i64::MAX)?).filter(|v| *v >= 0).map(|v| v as u64),
                "segment.bytes" => c.segment_bytes = int(14, i32::MAX as i64)? as u64,
                "segment.ms" => c.segment_ms = int(1, i64::MAX)? as u64,
                "max.message.bytes" => c.max_message_bytes = int(0, i32::MAX as i64)? as i32,
                "message.timestamp.type" => {
                    c.log_append_time = match value.as_str() {
                        "CreateTime" => false,
                        "LogAppendTime" => true,
                        _ => return Err(format!("`{key}` expects CreateTime or LogAppendTime, got `{value}`")),
                    }
                }
                "compression.type" => {
                    c.compression = compression_type(value)
                        .ok_or_else(|| format!("`{key}` expects {COMPRESSION_EXPECTED}, got `{value}`"))?;
                }
                "cleanup.policy" if value == "delete" => {}
                "cleanup.policy" => {
                    return Err(format!("`cleanup.policy` = `{value}` is not supported (only `delete`)"));
                }
                _ => return Err(format!("unknown topic config `{key}`")),
            }
        }
        Ok(c)
    }

    /// Every topic key with its effective value and where it came from.
    pub fn describe(&self, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
        TOPIC_KEYS
            .iter()
            .map(|&(name, config_type)| {
                let value = match name {
                    "cleanup.policy" => "delete".to_string(),
                    "compression.type" => compression_type_name(self.compression).to_string(),
                    "max.message.bytes" => self.max_message_bytes.to_string(),
                    "message.timestamp.type" => if self.log_append_time {
                        "LogAppendTime"
                    } else {
                        "CreateTime"
                    }
                    .to_string(),
                    "retention.bytes" => self.retention_bytes.map_or(-1, |v| v as i64).to_string(),
                    "retention.ms" => self.retention_ms.unwrap_or(-1).to_string(),
                    "segment.bytes" => self.segment_bytes.to_string(),
                    _ => self.segment_ms.to_string(),
                };
                let source = if overrides.contains_key(name) {
                    ConfigSource::TopicOverride
                } else {
                    ConfigSource::Default
                };
                ConfigEntry {
                    name,
                    value,
                    source,
                    config_type,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn unknown_keys_and_bad_values_are_refused_with_the_key_named() {
        let defaults = BrokerConfig::default().log;
        let err = TopicConfig::resolve(&defaults, &overrides(&[("retention.mss", "1")])).unwrap_err();
        assert!(err.contains("retention.mss"), "{err}");
        let err = TopicConfig::resolve(&defaults, &overrides(&[("segment.bytes", "x")])).unwrap_err();
        assert!(err.contains("segment.bytes") && err.contains("integer"), "{err}");
    }
}
