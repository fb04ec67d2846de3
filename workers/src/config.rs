//! `workers.toml`: where to read, where dead letters go, and the `[[sinks]]`.
//!
//! Every table denies unknown keys and every key has a default function beside it, so the
//! example in `config/workers.toml` is the documentation (a test parses it).

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use kafka_client::ConfigError;
use kafka_client::{Secret, Security};
use serde::Deserialize;

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
    /// The consumer group protocol: `classic` (JoinGroup and SyncGroup, every broker) or
    /// `consumer` (KIP-848: the broker assigns partitions and members move one at a time, so a
    /// worker joining or leaving stops no other; Kafka 4 or the bundled broker).
    #[serde(default)]
    pub group_protocol: GroupProtocol,
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
    #[serde(default = "default_batch_timeout", deserialize_with = "kafka_client::duration")]
    pub batch_timeout: Duration,
    /// First retry delay after a transient sink error; doubles on each retry.
    #[serde(
        default = "default_retry_initial_backoff",
        deserialize_with = "kafka_client::duration"
    )]
    pub retry_initial_backoff: Duration,
    /// Cap of the retry delay.
    #[serde(default = "default_retry_max_backoff", deserialize_with = "kafka_client::duration")]
    pub retry_max_backoff: Duration,
    /// librdkafka settings passed as is to every sink's consumer (`session.timeout.ms`,
    /// `security.protocol`, …); they win over the worker's defaults, except the two that
    /// at-least-once rests on (`enable.auto.commit` and `enable.auto.offset.store` stay false).
    #[serde(default)]
    pub librdkafka: kafka_client::Librdkafka,
    /// TLS and SASL, with the agent's (Telegraf's) names; see [`Security`].
    #[serde(default)]
    pub enable_tls: Option<bool>,
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    #[serde(default)]
    pub sasl_username: Option<String>,
    #[serde(default)]
    pub sasl_password: Option<Secret>,
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
}

/// librdkafka's `group.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupProtocol {
    #[default]
    Classic,
    Consumer,
}

impl GroupProtocol {
    pub fn name(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
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

impl Config {
    /// Reads `path`, expands `${VAR}` from the environment, parses and validates it. No error
    /// shows a value that came from the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        kafka_client::load_toml(path, Config::validate)
    }

    /// Parses TOML text without validating it (flags may still fill in what is missing).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        kafka_client::parse_toml(text)
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
        self.security().validate("", self.librdkafka.keys())?;
        self.librdkafka.check("")?;
        let mut names = std::collections::HashSet::new();
        let mut places = std::collections::HashMap::new();
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
            if let SinkConfig::Postgres(c) = s {
                if let Some(other) = places.insert(c.tables_place(), &c.name) {
                    return Err(ConfigError::invalid(
                        format!("sinks.{}.table_prefix", c.name),
                        "a schema or table_prefix of its own: each sink is a consumer group storing its own \
                         offsets, so two sinks writing the same tables would each write every record \
                         (one sink's tables per group)",
                        format!("the database, schema and table_prefix of sinks.{other}"),
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

    /// The TLS and SASL options, as one value.
    pub fn security(&self) -> Security {
        Security {
            enable_tls: self.enable_tls,
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
            sasl_mechanism: self.sasl_mechanism.clone(),
            sasl_username: self.sasl_username.clone(),
            sasl_password: self.sasl_password.clone(),
        }
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
