//! `workers.toml`: where to read, where dead letters go, and the `[[sinks]]`.
//!
//! Every table denies unknown keys and every key has a default function beside it, so the
//! example in `config/workers.toml` is the documentation (a test parses it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::sinks::SinkConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Bootstrap brokers (any Kafka cluster, or the bundled broker).
    #[serde(default = "default_brokers")]
    pub brokers: Vec<String>,
    /// The metric topic the agent writes.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Consumer group prefix: each sink consumes as the group `<group>-<sink name>`.
    #[serde(default = "default_group")]
    pub group: String,
    /// Where undecodable and permanently rejected records go.
    #[serde(default = "default_dead_letter_topic")]
    pub dead_letter_topic: String,
    /// Consumers per sink in this process (members of the same group).
    #[serde(default = "default_instances")]
    pub instances: usize,
    /// Worker metrics and the prometheus sink; "" turns the endpoint off.
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: String,
    /// Most records handed to a sink at once.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long a batch waits to fill after its first record.
    #[serde(default = "default_batch_timeout", deserialize_with = "duration")]
    pub batch_timeout: Duration,
    /// First retry delay after a transient sink error; doubles on each retry.
    #[serde(default = "default_retry_initial_backoff", deserialize_with = "duration")]
    pub retry_initial_backoff: Duration,
    /// Cap of the retry delay.
    #[serde(default = "default_retry_max_backoff", deserialize_with = "duration")]
    pub retry_max_backoff: Duration,
    /// librdkafka settings passed as is to every sink's consumer (`session.timeout.ms`,
    /// `security.protocol`, …); they win over the worker's defaults, except the two that
    /// at-least-once rests on (`enable.auto.commit` and `enable.auto.offset.store` stay false).
    #[serde(default)]
    pub librdkafka: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
}

fn default_brokers() -> Vec<String> {
    vec!["127.0.0.1:9092".into()]
}
fn default_topic() -> String {
    "metrics".into()
}
fn default_group() -> String {
    "sluice-workers".into()
}
fn default_dead_letter_topic() -> String {
    "metrics-dead-letter".into()
}
fn default_instances() -> usize {
    1
}
fn default_metrics_listen() -> String {
    "127.0.0.1:9274".into()
}
fn default_batch_size() -> usize {
    500
}
fn default_batch_timeout() -> Duration {
    Duration::from_millis(200)
}
fn default_retry_initial_backoff() -> Duration {
    Duration::from_millis(100)
}
fn default_retry_max_backoff() -> Duration {
    Duration::from_secs(10)
}

/// A human duration ("10s", "500ms").
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {s:?} ({e}): expected a duration such as \"10s\" or \"500ms\""
        ))
    })
}

/// A configuration mistake: the file, where, and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}{location}: {message}", prefix(.path))]
    Parse {
        path: Option<PathBuf>,
        location: String,
        message: String,
    },
    #[error("{}`{key}` expects {expected}, got {got}", prefix(.path))]
    Invalid {
        path: Option<PathBuf>,
        key: String,
        expected: String,
        got: String,
    },
}

fn prefix(path: &Option<PathBuf>) -> String {
    path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default()
}

impl ConfigError {
    fn invalid(key: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: None,
            key: key.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    fn in_file(mut self, file: &Path) -> Self {
        if let ConfigError::Parse { path, .. } | ConfigError::Invalid { path, .. } = &mut self {
            *path = Some(file.to_path_buf());
        }
        self
    }
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config = Self::parse(&text).map_err(|e| e.in_file(path))?;
        config.validate().map_err(|e| e.in_file(path))?;
        Ok(config)
    }

    /// Parses TOML text without validating it (flags may still fill in what is missing).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let location = e
                .span()
                .map(|s| format!("line {}", text[..s.start.min(text.len())].matches('\n').count() + 1))
                .unwrap_or_else(|| "toml".into());
            ConfigError::Parse {
                path: None,
                location,
                message: e.message().trim().replace('\n', " "),
            }
        })
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.is_empty() {
            return Err(ConfigError::invalid("brokers", "at least one HOST:PORT", "[]"));
        }
        if self.instances == 0 {
            return Err(ConfigError::invalid("instances", "1 or more", "0"));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::invalid("batch_size", "1 or more", "0"));
        }
        if self.sinks.is_empty() {
            return Err(ConfigError::invalid("sinks", "at least one [[sinks]] table", "none"));
        }
        let mut names = std::collections::HashSet::new();
        let mut prometheus_sinks = 0;
        for s in &self.sinks {
            if let Err((key, expected, got)) = s.validate() {
                return Err(ConfigError::invalid(format!("sinks.{}.{key}", s.name()), expected, got));
            }
            if let SinkConfig::Prometheus(_) = s {
                prometheus_sinks += 1;
                if self.metrics_listen.is_empty() {
                    return Err(ConfigError::invalid(
                        "metrics_listen",
                        "a HOST:PORT when a prometheus sink is configured (it serves there)",
                        "\"\"",
                    ));
                }
            }
            let name = s.name();
            if name.is_empty() || !names.insert(name) {
                return Err(ConfigError::invalid(
                    "sinks.name",
                    "a unique, non-empty name per sink (it names the consumer group)",
                    format!("{name:?}"),
                ));
            }
        }
        if prometheus_sinks > 1 {
            return Err(ConfigError::invalid(
                "sinks",
                "at most one prometheus sink (they would serve the same series at one address)",
                format!("{prometheus_sinks}"),
            ));
        }
        Ok(())
    }

    /// The consumer group of one sink.
    pub fn group_of(&self, sink: &str) -> String {
        format!("{}-{sink}", self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/workers.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.topic, "metrics");
        assert_eq!(c.metrics_listen, "127.0.0.1:9274");
        assert!(c.sinks.len() >= 2);
        assert_eq!(c.group_of("archive"), "sluice-workers-archive");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line_and_key() {
        let e = Config::parse("topic = \"m\"\nbogus = 1\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("bogus"), "{e}");
        let e = Config::parse("[[sinks]]\ntype = \"nope\"\nname = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
        let c = Config::parse("instances = 0\n[[sinks]]\ntype = \"stdout\"\nname = \"x\"\n").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("`instances`"));
        let c =
            Config::parse("[[sinks]]\ntype = \"stdout\"\nname = \"x\"\n[[sinks]]\ntype = \"stdout\"\nname = \"x\"\n")
                .unwrap();
        assert!(c.validate().is_err(), "duplicate sink names");
    }
}
