//! `config/broker.toml`: Kafka's broker setting names and defaults, written in TOML.
//!
//! Kafka's names contain dots, and TOML reads `log.retention.hours = 168` as nested tables. We
//! accept that spelling (and the quoted `"log.retention.hours"` one, and `[log]` sections) by
//! flattening every table back into dotted names before looking the keys up. Every key is
//! checked: a known key with a bad value, or an unknown key, fails start-up with a message naming
//! the file, the key and what was expected. Kafka settings that mean nothing on a single node are
//! accepted with one warning each. Settings Kafka has no name for live under `sluice.`.
//!
//! - `settings`: the one table of settings ([`SETTINGS`]): names, how each is read, how
//!   DescribeConfigs shows it.
//! - `reader`: the flattened file, the value checks every setting shares, the ignored names.
//! - `listeners`, `security`: the settings read as families (listeners and their protocol map;
//!   `ssl.*`, SASL mechanisms and grants).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::record::Codec;

pub mod dynamic;
mod listeners;
mod reader;
mod security;
mod settings;
mod table;
#[cfg(test)]
mod tests;

pub use crate::auth::config::{ClientAuth, SecurityProtocol, TlsSettings, DEFAULT_MECHANISMS, SUPPORTED_MECHANISMS};
pub use listeners::Listener;
pub use reader::IGNORED;
pub use settings::{describe, resource_type, ConfigEntry, ConfigSource, ConfigType, Fallback, Setting, SETTINGS};

/// A configuration mistake, reported with the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: unknown setting `{key}` (not a broker setting sluice knows; check the spelling against config/broker.toml)")]
    UnknownKey { path: PathBuf, key: String },
    #[error("{path}: `{key}` expects {expected}, got {got}")]
    BadValue {
        path: PathBuf,
        key: String,
        expected: String,
        got: String,
    },
}

/// Defaults for every topic's log; a topic may override each with its own config.
#[derive(Debug, Clone, PartialEq)]
pub struct LogDefaults {
    /// `log.retention.ms` (or `.minutes`, `.hours`); None = keep forever (Kafka's -1).
    pub retention_ms: Option<i64>,
    /// `log.retention.bytes`; None = unlimited.
    pub retention_bytes: Option<u64>,
    pub segment_bytes: u64,
    /// `log.roll.ms` (or `log.roll.hours`).
    pub roll_ms: u64,
    pub index_interval_bytes: u32,
    /// `message.max.bytes`: the largest record batch a producer may send.
    pub message_max_bytes: i32,
    /// `log.message.timestamp.type`: CreateTime or LogAppendTime.
    pub log_append_time: bool,
    /// `compression.type`: None keeps the producer's codec (`producer`), a codec is what every
    /// batch is stored in.
    pub compression: Option<Codec>,
    /// `log.message.timestamp.before.max.ms` / `after.max.ms`: how far a CreateTime record's
    /// timestamp may lie behind or ahead of the broker's clock.
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// `log.cleaner.min.cleanable.ratio`, `log.cleaner.delete.retention.ms` and the compaction
    /// lags: the defaults of a compacted topic's configs.
    pub compaction: crate::log::Compaction,
}

/// The log cleaner's own settings (`log.cleaner.*`), which compacts `cleanup.policy=compact`
/// topics (`log::clean`).
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerConfig {
    /// `log.cleaner.enable`.
    pub enable: bool,
    /// `log.cleaner.backoff.ms`: the pause between two looks for a log to clean.
    pub backoff: Duration,
    /// `log.cleaner.dedupe.buffer.size`: memory for the keys of one cleaning.
    pub dedupe_buffer_bytes: u64,
}

impl Default for CleanerConfig {
    /// Kafka's defaults.
    fn default() -> CleanerConfig {
        CleanerConfig {
            enable: true,
            backoff: Duration::from_millis(15_000),
            dedupe_buffer_bytes: 128 << 20,
        }
    }
}

/// A double as Java prints it (`1.0`, not `1`), as Kafka describes one.
pub fn java_double(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// Kafka's values of `compression.type`, for a topic and for the broker: `producer` keeps each
/// batch as the producer compressed it; the others are the codec batches are stored in
/// (the broker recompresses those that came in another).
pub const COMPRESSION_TYPES: &[(&str, Option<Codec>)] = &[
    ("producer", None),
    ("uncompressed", Some(Codec::None)),
    ("gzip", Some(Codec::Gzip)),
    ("snappy", Some(Codec::Snappy)),
    ("lz4", Some(Codec::Lz4)),
    ("zstd", Some(Codec::Zstd)),
];

/// What [`COMPRESSION_TYPES`] expects, for an error message.
pub const COMPRESSION_EXPECTED: &str = "one of producer, uncompressed, gzip, snappy, lz4, zstd";

/// The `compression.type` named `value`.
pub fn compression_type(value: &str) -> Option<Option<Codec>> {
    COMPRESSION_TYPES
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, c)| *c)
}

/// The name of a `compression.type`.
pub fn compression_type_name(compression: Option<Codec>) -> &'static str {
    COMPRESSION_TYPES
        .iter()
        .find(|(_, c)| *c == compression)
        .map_or("producer", |(name, _)| name)
}

/// The group coordinator's settings (Kafka's `group.*` and `offsets.*` names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long a new group waits for more members.
    pub initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms` / `group.max.session.timeout.ms`: the session timeouts a
    /// JoinGroup may ask for (INVALID_SESSION_TIMEOUT outside).
    pub min_session_timeout: Duration,
    pub max_session_timeout: Duration,
    /// `group.max.size`: members per group (GROUP_MAX_SIZE_REACHED above).
    pub max_size: usize,
    /// `offsets.retention.minutes`: how long an empty group's offsets are kept.
    pub offsets_retention: Duration,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are looked for.
    pub offsets_retention_check_interval: Duration,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` when it is created.
    pub offsets_topic_partitions: i32,
    /// `offsets.topic.segment.bytes`: segment size of `__consumer_offsets`, and how many bytes a
    /// partition of it may grow before its live state is snapshotted and the history dropped.
    pub offsets_topic_segment_bytes: u64,
    /// `offset.metadata.max.bytes`: the longest commit metadata (OFFSET_METADATA_TOO_LARGE above).
    pub offset_metadata_max_bytes: usize,
    /// `group.consumer.heartbeat.interval.ms`: how often KIP-848 members heartbeat.
    pub consumer_heartbeat_interval: Duration,
    /// `group.consumer.min.heartbeat.interval.ms` and `…max…`: the bounds of the interval,
    /// here and in a group's `consumer.heartbeat.interval.ms`.
    pub consumer_heartbeat_range: (Duration, Duration),
    /// `group.consumer.min.session.timeout.ms` and `…max…`: the bounds of the session timeout,
    /// here and in a group's `consumer.session.timeout.ms`.
    pub consumer_session_range: (Duration, Duration),
    /// `group.consumer.session.timeout.ms`: a KIP-848 member without a heartbeat this long is
    /// removed and its partitions move.
    pub consumer_session_timeout: Duration,
    /// `group.consumer.assignors`: the server-side assignors members may name; the first is
    /// the default.
    pub consumer_assignors: Vec<String>,
    /// `group.consumer.max.size`: members per KIP-848 group (GROUP_MAX_SIZE_REACHED above).
    pub consumer_max_size: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(3000),
            min_session_timeout: Duration::from_millis(6000),
            max_session_timeout: Duration::from_millis(1_800_000),
            max_size: i32::MAX as usize,
            offsets_retention: Duration::from_secs(10_080 * 60),
            offsets_retention_check_interval: Duration::from_millis(600_000),
            offsets_topic_partitions: 50,
            offsets_topic_segment_bytes: 104_857_600,
            offset_metadata_max_bytes: 4096,
            consumer_heartbeat_interval: Duration::from_millis(5000),
            consumer_heartbeat_range: (Duration::from_millis(5000), Duration::from_millis(15_000)),
            consumer_session_range: (Duration::from_millis(45_000), Duration::from_millis(60_000)),
            consumer_session_timeout: Duration::from_millis(45_000),
            consumer_assignors: vec!["uniform".into(), "range".into()],
            consumer_max_size: i32::MAX as usize,
        }
    }
}

/// The broker's whole configuration, resolved.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub listeners: Vec<Listener>,
    /// None: advertise the address actually bound (what tests with port 0 need).
    pub advertised_listeners: Option<Vec<Listener>>,
    pub data_dir: PathBuf,
    pub num_partitions: i32,
    pub auto_create_topics: bool,
    pub log: LogDefaults,
    pub retention_check_interval: Duration,
    pub cleaner: CleanerConfig,
    pub socket_request_max_bytes: usize,
    pub groups: GroupConfig,
    /// `transactional.id.expiration.ms`: a transactional id with no transaction open and no
    /// request for this long is forgotten, as Kafka forgets it.
    pub transactional_id_expiration: Duration,
    /// `sluice.http.listen`: where `/metrics` and `/health` are served; None (`""`) = nowhere.
    pub http_listen: Option<SocketAddr>,
    /// `ssl.*`: the certificate of SSL and SASL_SSL listeners, and the CAs of client certificates.
    pub tls: TlsSettings,
    /// `sasl.enabled.mechanisms`: offered on SASL_PLAINTEXT and SASL_SSL listeners.
    pub sasl_mechanisms: Vec<String>,
    /// `super.users` and `[acls.<user>]`: what each authenticated user may do.
    pub acls: crate::auth::acl::Acls,
    /// `max.connections`, `max.connections.per.ip` and its overrides.
    pub connection_limits: ConnectionLimitsConfig,
    /// `sluice.max.partitions`: partitions the broker will hold; clients' CreateTopics,
    /// CreatePartitions and auto-creations past it are refused (the broker's own internal topics
    /// are always created).
    pub max_partitions: usize,
}

/// Kafka's connection limits (`net::limits` applies them).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionLimitsConfig {
    /// `max.connections`: open connections on the whole broker.
    pub max_connections: usize,
    /// `max.connections.per.ip`: open connections from one address.
    pub max_connections_per_ip: usize,
    /// `max.connections.per.ip.overrides`: other limits for named addresses.
    pub per_ip_overrides: std::collections::HashMap<std::net::IpAddr, usize>,
}

impl Default for ConnectionLimitsConfig {
    fn default() -> Self {
        // Kafka's defaults: Int.MaxValue, which is no limit.
        ConnectionLimitsConfig {
            max_connections: i32::MAX as usize,
            max_connections_per_ip: i32::MAX as usize,
            per_ip_overrides: Default::default(),
        }
    }
}

const HTTP_LISTEN_EXPECTED: &str =
    "an IP address and port such as \"127.0.0.1:9644\", or \"\" to turn the endpoint off";

/// `sluice.http.listen` (or `--http-listen`): `"IP:port"`, or `""` for no HTTP endpoint. Err is
/// what was expected.
pub fn parse_http_listen(s: &str) -> Result<Option<SocketAddr>, &'static str> {
    match s.trim() {
        "" => Ok(None),
        addr => addr.parse().map(Some).map_err(|_| HTTP_LISTEN_EXPECTED),
    }
}

/// The broker's HTTP endpoint on its default port (README.md#ports).
pub const DEFAULT_HTTP_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9644);

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listeners: vec![Listener::plaintext("127.0.0.1", 9092)],
            advertised_listeners: None,
            data_dir: PathBuf::from("./data"),
            num_partitions: 1,
            auto_create_topics: true,
            log: LogDefaults {
                retention_ms: Some(168 * 3_600_000),
                retention_bytes: None,
                segment_bytes: 1 << 30,
                roll_ms: 168 * 3_600_000,
                index_interval_bytes: 4096,
                message_max_bytes: 1_048_588,
                log_append_time: false,
                compression: None,
                timestamp_before_max_ms: i64::MAX,
                // Kafka 4.0's default (KIP-1000's limit on future timestamps): an hour.
                timestamp_after_max_ms: 3_600_000,
                compaction: Default::default(),
            },
            retention_check_interval: Duration::from_millis(300_000),
            transactional_id_expiration: Duration::from_millis(604_800_000),
            cleaner: CleanerConfig::default(),
            socket_request_max_bytes: 104_857_600,
            groups: GroupConfig::default(),
            http_listen: Some(DEFAULT_HTTP_LISTEN),
            tls: TlsSettings::default(),
            sasl_mechanisms: DEFAULT_MECHANISMS.iter().map(|m| m.to_string()).collect(),
            acls: Default::default(),
            connection_limits: ConnectionLimitsConfig::default(),
            max_partitions: 10_000,
        }
    }
}

impl BrokerConfig {
    /// Kafka's defaults, listening (Kafka and HTTP) on any free ports of 127.0.0.1 with data in
    /// `data_dir`: what tests and embedders want.
    pub fn ephemeral(data_dir: &Path) -> BrokerConfig {
        BrokerConfig {
            listeners: vec![Listener::plaintext("127.0.0.1", 0)],
            data_dir: data_dir.to_path_buf(),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..BrokerConfig::default()
        }
    }

    /// Reads and checks a config file; returns the config and the warnings to log.
    pub fn load(path: &Path) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
        let mut reader = reader::Reader::new(text, path)?;
        let config = settings::resolve(&mut reader)?;
        Ok((config, reader.finish()?))
    }
}
