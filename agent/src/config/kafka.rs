//! `[[outputs.kafka]]`: Telegraf's Kafka output settings, and a `librdkafka` table passed to
//! librdkafka as it is.

use std::path::PathBuf;

use kafka_client::{Secret, Security};
use serde::Deserialize;

use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port`.
    #[serde(default)]
    pub brokers: Vec<String>,
    #[serde(default = "default_topic")]
    pub topic: String,
    /// The record key is this tag's value, so one host's samples stay in order in one partition.
    #[serde(default = "default_routing_tag")]
    pub routing_tag: String,
    /// -1 (all in-sync replicas), 1 (the leader) or 0 (no answer).
    #[serde(default = "default_required_acks")]
    pub required_acks: i32,
    /// Telegraf's numbers (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) or the names.
    #[serde(default)]
    pub compression_codec: Compression,
    /// Largest record librdkafka will send (`message.max.bytes`).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    #[serde(default)]
    pub data_format: DataFormat,
    /// With `data_format = "json"`: the unit of `timestamp`.
    #[serde(default = "default_json_timestamp_units")]
    pub json_timestamp_units: Duration,
    /// With `data_format = "influx"`: write unsigned integers as `42u` rather than `42i`.
    #[serde(default)]
    pub influx_uint_support: bool,
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// Idempotent producer (no duplicates from librdkafka's retries). Unset: on when
    /// `required_acks = -1`, which it needs.
    #[serde(default)]
    pub idempotent_writes: Option<bool>,
    /// TLS: on when any `tls_*` option is set, or with `enable_tls = true` alone (the system's
    /// CA store then verifies the broker).
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
    /// SASL: on when `sasl_username` is set. `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    #[serde(default)]
    pub sasl_username: Option<String>,
    /// Best written as `"${VAR}"`, read from the environment.
    #[serde(default)]
    pub sasl_password: Option<Secret>,
    /// librdkafka settings, passed as they are (`"socket.keepalive.enable" = true`).
    #[serde(default)]
    pub librdkafka: kafka_client::Librdkafka,
}

fn default_topic() -> String {
    "metrics".into()
}
fn default_routing_tag() -> String {
    "host".into()
}
fn default_required_acks() -> i32 {
    -1
}
fn default_max_message_bytes() -> usize {
    1_000_000
}
fn default_json_timestamp_units() -> Duration {
    Duration::secs(1)
}
fn default_client_id() -> String {
    "sluice-agent".into()
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: Vec::new(),
            topic: default_topic(),
            routing_tag: default_routing_tag(),
            required_acks: default_required_acks(),
            compression_codec: Compression::default(),
            max_message_bytes: default_max_message_bytes(),
            data_format: DataFormat::default(),
            json_timestamp_units: default_json_timestamp_units(),
            influx_uint_support: false,
            client_id: default_client_id(),
            idempotent_writes: None,
            enable_tls: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            insecure_skip_verify: false,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            librdkafka: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// librdkafka's `compression.codec` value.
    pub fn librdkafka_name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Name(String),
        }
        let expected = "0-4 (none, gzip, snappy, lz4, zstd) or one of those names";
        let c = match Raw::deserialize(d)? {
            Raw::Number(0) => Compression::None,
            Raw::Number(1) => Compression::Gzip,
            Raw::Number(2) => Compression::Snappy,
            Raw::Number(3) => Compression::Lz4,
            Raw::Number(4) => Compression::Zstd,
            Raw::Name(n) => match n.as_str() {
                "none" => Compression::None,
                "gzip" => Compression::Gzip,
                "snappy" => Compression::Snappy,
                "lz4" => Compression::Lz4,
                "zstd" => Compression::Zstd,
                other => return Err(serde::de::Error::custom(format!("expected {expected}, got {other:?}"))),
            },
            Raw::Number(n) => return Err(serde::de::Error::custom(format!("expected {expected}, got {n}"))),
        };
        Ok(c)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    #[default]
    Influx,
    Json,
}

/// librdkafka settings that a first-class option sets, with the option to use instead.
const FIRST_CLASS: &[(&str, &str)] = &[
    ("bootstrap.servers", "brokers"),
    ("metadata.broker.list", "brokers"),
    ("client.id", "client_id"),
    ("acks", "required_acks"),
    ("request.required.acks", "required_acks"),
    ("compression.codec", "compression_codec"),
    ("compression.type", "compression_codec"),
    ("message.max.bytes", "max_message_bytes"),
    ("enable.idempotence", "idempotent_writes"),
];

/// librdkafka settings sluice owns, and why.
const RESERVED: &[(&str, &str)] = &[
    (
        "message.timeout.ms",
        "sluice sets it to 0 (never) so librdkafka cannot drop a sample silently; bound loss with metric_buffer_limit or spool_max_bytes/spool_max_age",
    ),
    ("delivery.timeout.ms", "same as message.timeout.ms, which sluice sets to 0"),
];

impl KafkaConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.iter().all(|b| b.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "outputs.kafka.brokers",
                "at least one broker such as [\"127.0.0.1:9092\"] (or --brokers)",
                "an empty list",
            ));
        }
        if self.topic.is_empty() {
            return Err(ConfigError::invalid("outputs.kafka.topic", "a topic name", "\"\""));
        }
        if ![-1, 0, 1].contains(&self.required_acks) {
            return Err(ConfigError::invalid(
                "outputs.kafka.required_acks",
                "-1 (all), 1 or 0",
                self.required_acks.to_string(),
            ));
        }
        if self.idempotent_writes == Some(true) && self.required_acks != -1 {
            return Err(ConfigError::invalid(
                "outputs.kafka.idempotent_writes",
                "required_acks = -1 (an idempotent producer needs acks=all)",
                format!("required_acks = {}", self.required_acks),
            ));
        }
        self.security().validate("outputs.kafka.", self.librdkafka.keys())?;
        for key in self.librdkafka.keys() {
            let name = format!("outputs.kafka.librdkafka.\"{key}\"");
            if let Some((_, option)) = FIRST_CLASS.iter().find(|(k, _)| k == key) {
                return Err(ConfigError::invalid(
                    name,
                    format!("to be set with the first-class option `{option}` instead"),
                    "a conflicting librdkafka setting",
                ));
            }
            if let Some((_, why)) = RESERVED.iter().find(|(k, _)| k == key) {
                return Err(ConfigError::invalid(name, format!("not to be set: {why}"), "a value"));
            }
        }
        self.librdkafka.check("outputs.kafka.")
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

    /// Whether the producer is idempotent.
    pub fn idempotent(&self) -> bool {
        self.idempotent_writes.unwrap_or(self.required_acks == -1)
    }
}
