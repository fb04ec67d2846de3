//! Dynamic broker configs (KIP-226): settings changed while the broker runs, with `kafka-configs
//! --alter --entity-type brokers --entity-name 0` (this broker's own) or `--entity-default`
//! (the default of every broker in the cluster). Two layers sit over broker.toml, the broker's
//! own over the cluster default over the file over Kafka's default, as in Kafka.
//!
//! Only the settings in [`DYNAMIC`] change this way: the defaults of every topic's log, which
//! the broker applies to its topics at once. The others are read when the broker starts; Kafka
//! refuses to change those dynamically too, or changes them only on its controllers. A dynamic
//! value is checked by the same reader as broker.toml's, so it meets the same bounds.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::reader::Reader;
use super::settings::{ConfigEntry, ConfigSource, Fallback, SETTINGS};
use super::{BrokerConfig, ConfigError};

/// The settings that may change while the broker runs (with the other names of each, such as
/// `log.retention.hours`): every one feeds the defaults of the topics' logs.
pub const DYNAMIC: &[&str] = &[
    "log.retention.ms",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.roll.ms",
    "log.index.interval.bytes",
    "message.max.bytes",
    "log.message.timestamp.type",
    "log.message.timestamp.before.max.ms",
    "log.message.timestamp.after.max.ms",
    "compression.type",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
];

/// Which of the two dynamic layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `--entity-default`: the resource named "".
    ClusterDefault,
    /// `--entity-name 0`: this broker.
    Broker,
}

/// The dynamic settings as set, by Kafka's names, values as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DynamicSettings {
    #[serde(default)]
    pub cluster_default: BTreeMap<String, String>,
    #[serde(default)]
    pub broker: BTreeMap<String, String>,
}

impl DynamicSettings {
    pub fn layer(&self, layer: Layer) -> &BTreeMap<String, String> {
        match layer {
            Layer::ClusterDefault => &self.cluster_default,
            Layer::Broker => &self.broker,
        }
    }

    pub fn layer_mut(&mut self, layer: Layer) -> &mut BTreeMap<String, String> {
        match layer {
            Layer::ClusterDefault => &mut self.cluster_default,
            Layer::Broker => &mut self.broker,
        }
    }

    /// `file` (broker.toml's settings) with the cluster default over it and this broker's
    /// settings over that. A key that may not change dynamically, or a value broker.toml could
    /// not hold, is refused with a message for the client.
    pub fn apply(&self, file: &BrokerConfig) -> Result<BrokerConfig, String> {
        let mut config = file.clone();
        for layer in [&self.cluster_default, &self.broker] {
            if let Some(key) = layer.keys().find(|k| !is_dynamic(k)) {
                return Err(format!("Cannot update these configs dynamically: [{key}]"));
            }
            let flat = layer
                .iter()
                .map(|(k, v)| (k.clone(), toml::Value::String(v.clone())))
                .collect();
            let mut reader = Reader {
                path: Path::new("a dynamic broker config"),
                flat,
                warnings: Vec::new(),
                protocols: BTreeMap::new(),
            };
            for setting in SETTINGS.iter().filter(|s| DYNAMIC.contains(&s.name)) {
                (setting.read)(&mut reader, setting.name, &mut config).map_err(|e| match e {
                    ConfigError::BadValue { key, expected, got, .. } => {
                        let got = got.trim_matches('"');
                        format!("Invalid value {got} for configuration {key}: expected {expected}")
                    }
                    other => other.to_string(),
                })?;
            }
        }
        Ok(config)
    }

    /// The broker's settings as DescribeConfigs reports them for `layer`: for this broker,
    /// every setting with the layer that set it (a dynamic value names the layers and the file
    /// value beneath it among its synonyms); for the cluster default, only what that layer
    /// sets, as Kafka answers for the resource "".
    pub fn describe(&self, file: &BrokerConfig, layer: Layer) -> Vec<ConfigEntry> {
        let effective = self.apply(file).unwrap_or_else(|_| file.clone());
        let under_default = self.only_default().apply(file).unwrap_or_else(|_| file.clone());
        // Four views of the same settings, each in SETTINGS' order.
        let from_file = super::describe(file);
        let from_default_layer = super::describe(&under_default);
        let kafka_defaults = super::describe(&BrokerConfig::default());
        super::describe(&effective)
            .into_iter()
            .zip(from_file)
            .zip(from_default_layer)
            .zip(kafka_defaults)
            .filter_map(|(((mut entry, file_entry), default_layer_entry), kafka_default)| {
                let set_in = |layer: &BTreeMap<String, String>| names_of(entry.name).find(|n| layer.contains_key(*n));
                let own = set_in(&self.broker);
                let default = set_in(&self.cluster_default);
                let mut below = Vec::new();
                if let Some(name) = default {
                    below.push(Fallback {
                        name,
                        value: default_layer_entry.value,
                        source: ConfigSource::DynamicDefaultBroker,
                    });
                }
                if file_entry.source != ConfigSource::Default {
                    below.push(Fallback {
                        name: entry.name,
                        value: file_entry.value,
                        source: file_entry.source,
                    });
                }
                // Beneath a dynamic value Kafka lists the default last.
                below.push(Fallback {
                    name: entry.name,
                    value: kafka_default.value,
                    source: ConfigSource::Default,
                });
                match (layer, own, default) {
                    (Layer::ClusterDefault, _, None) => return None,
                    (Layer::ClusterDefault, _, Some(_)) => {
                        entry.value = below.remove(0).value;
                        entry.source = ConfigSource::DynamicDefaultBroker;
                        below.clear();
                    }
                    (Layer::Broker, Some(_), _) => entry.source = ConfigSource::DynamicBroker,
                    (Layer::Broker, None, Some(_)) => {
                        entry.source = ConfigSource::DynamicDefaultBroker;
                        below.remove(0);
                    }
                    // Neither layer sets it: what broker.toml or Kafka's default says, as before.
                    (Layer::Broker, None, None) => below.clear(),
                }
                entry.fallbacks = below;
                Some(entry)
            })
            .collect()
    }

    fn only_default(&self) -> DynamicSettings {
        DynamicSettings {
            cluster_default: self.cluster_default.clone(),
            broker: BTreeMap::new(),
        }
    }
}

/// Whether `key` (a setting's name or one of its other names) may change while the broker runs.
pub fn is_dynamic(key: &str) -> bool {
    SETTINGS
        .iter()
        .any(|s| DYNAMIC.contains(&s.name) && (s.name == key || s.synonyms.contains(&key)))
}

/// A setting's name and its other names.
fn names_of(name: &'static str) -> impl Iterator<Item = &'static str> {
    let synonyms = SETTINGS.iter().find(|s| s.name == name).map_or(&[][..], |s| s.synonyms);
    std::iter::once(name).chain(synonyms.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(default: &[(&str, &str)], broker: &[(&str, &str)]) -> DynamicSettings {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        DynamicSettings {
            cluster_default: map(default),
            broker: map(broker),
        }
    }

    #[test]
    fn the_broker_layer_beats_the_cluster_default_which_beats_the_file() {
        let mut file = BrokerConfig::default();
        file.log.segment_bytes = 2 << 20;
        let d = settings(
            &[("log.retention.ms", "7200000"), ("log.segment.bytes", "4194304")],
            &[("log.retention.hours", "1")],
        );
        let c = d.apply(&file).unwrap();
        assert_eq!(c.log.retention_ms, Some(3_600_000));
        assert_eq!(c.log.segment_bytes, 4 << 20);
        assert_eq!(settings(&[], &[]).apply(&file).unwrap().log, file.log);
    }

    #[test]
    fn a_setting_read_at_start_or_a_bad_value_is_refused() {
        let file = BrokerConfig::default();
        let err = settings(&[], &[("group.consumer.session.timeout.ms", "50000")])
            .apply(&file)
            .unwrap_err();
        assert_eq!(
            err,
            "Cannot update these configs dynamically: [group.consumer.session.timeout.ms]"
        );
        let err = settings(&[("log.segment.bytes", "10")], &[]).apply(&file).unwrap_err();
        assert!(
            err.starts_with("Invalid value 10 for configuration log.segment.bytes"),
            "{err}"
        );
        let err = settings(&[], &[("log.retention.ms", "abc")]).apply(&file).unwrap_err();
        assert!(err.contains("log.retention.ms"), "{err}");
    }

    #[test]
    fn describe_names_each_layer_as_kafka_does() {
        let file = BrokerConfig::default();
        let d = settings(
            &[("log.retention.ms", "7200000"), ("log.segment.bytes", "4194304")],
            &[("log.retention.ms", "3600000")],
        );
        let find = |entries: &[ConfigEntry], name: &str| entries.iter().find(|e| e.name == name).cloned();
        let broker = d.describe(&file, Layer::Broker);
        let retention = find(&broker, "log.retention.ms").unwrap();
        assert_eq!(
            (retention.value.as_str(), retention.source),
            ("3600000", ConfigSource::DynamicBroker)
        );
        let below: Vec<_> = retention
            .fallbacks
            .iter()
            .map(|f| (f.name, f.value.as_str(), f.source))
            .collect();
        assert_eq!(
            below,
            [
                ("log.retention.ms", "7200000", ConfigSource::DynamicDefaultBroker),
                ("log.retention.ms", "604800000", ConfigSource::Default)
            ]
        );
        let segment = find(&broker, "log.segment.bytes").unwrap();
        assert_eq!(
            (segment.value.as_str(), segment.source),
            ("4194304", ConfigSource::DynamicDefaultBroker)
        );
        let below: Vec<_> = segment.fallbacks.iter().map(|f| (f.value.as_str(), f.source)).collect();
        assert_eq!(below, [("1073741824", ConfigSource::Default)]);
        let untouched = find(&broker, "log.roll.ms").unwrap();
        assert_eq!(untouched.source, ConfigSource::Default);

        let default = d.describe(&file, Layer::ClusterDefault);
        let names: Vec<_> = default.iter().map(|e| (e.name, e.value.as_str(), e.source)).collect();
        assert_eq!(
            names,
            [
                ("log.retention.ms", "7200000", ConfigSource::DynamicDefaultBroker),
                ("log.segment.bytes", "4194304", ConfigSource::DynamicDefaultBroker)
            ]
        );
    }
}
