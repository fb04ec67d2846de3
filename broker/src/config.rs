//! `config/broker.toml`: Kafka's broker setting names and defaults, written in TOML.
//!
//! Kafka's names contain dots, and TOML reads `log.retention.hours = 168` as nested tables. We
//! accept that spelling (and the quoted `"log.retention.hours"` one, and `[log]` sections) by
//! flattening every table back into dotted names before looking the keys up. Every key is
//! checked: a known key with a bad value, or an unknown key, fails start-up with a message naming
//! the file, the key and what was expected. Kafka settings that mean nothing on a single node are
//! accepted with one warning each. Settings Kafka has no name for live under `sluice.`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::auth::config::{ClientAuth, SecurityProtocol, TlsSettings, SUPPORTED_MECHANISMS};

/// Settings that exist in Kafka but have no meaning for one node, with the reason we give.
const IGNORED: &[(&str, &str)] = &[
    (
        "zookeeper.connect",
        "sluice keeps its own metadata; there is no ZooKeeper (Kafka 4.0 removed it too)",
    ),
    ("zookeeper.connection.timeout.ms", "there is no ZooKeeper"),
    ("broker.id", "a single node is always node 0"),
    ("node.id", "a single node is always node 0"),
    ("process.roles", "the one node is both broker and controller"),
    ("controller.quorum.voters", "there is no controller quorum on one node"),
    ("controller.listener.names", "there is no controller quorum on one node"),
    (
        "offsets.topic.replication.factor",
        "replication factor is always 1 on one node",
    ),
    (
        "transaction.state.log.replication.factor",
        "replication factor is always 1 on one node",
    ),
    (
        "transaction.state.log.min.isr",
        "the in-sync replica set is this one node",
    ),
    (
        "default.replication.factor",
        "replication factor is always 1 on one node",
    ),
    ("min.insync.replicas", "the in-sync replica set is this one node"),
    (
        "num.network.threads",
        "connections run on the async runtime, not a thread pool",
    ),
    ("num.io.threads", "requests run on the async runtime, not a thread pool"),
    (
        "num.recovery.threads.per.data.dir",
        "recovery checks partitions one after another",
    ),
    ("socket.send.buffer.bytes", "the operating system sizes socket buffers"),
    (
        "socket.receive.buffer.bytes",
        "the operating system sizes socket buffers",
    ),
    (
        "log.flush.interval.messages",
        "acks=all always fsyncs; acks=1 leaves flushing to the OS",
    ),
    (
        "log.flush.interval.ms",
        "acks=all always fsyncs; acks=1 leaves flushing to the OS",
    ),
    ("inter.broker.listener.name", "there are no other brokers"),
];

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

/// How one listener is reached: Kafka's `NAME://host:port`, and how it is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The listener's name (`PLAINTEXT`, `SASL_SSL`, or a name of `listener.security.protocol.map`).
    pub name: String,
    pub protocol: SecurityProtocol,
    pub host: String,
    pub port: u16,
}

impl Listener {
    /// A `PLAINTEXT` listener on `host:port`.
    pub fn plaintext(host: &str, port: u16) -> Listener {
        Listener {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            host: host.into(),
            port,
        }
    }

    /// Parses `NAME://host:port` (NAME one of Kafka's security protocols) or a bare `host:port`
    /// (PLAINTEXT).
    pub fn parse(s: &str) -> Result<Listener, String> {
        Listener::parse_with(s, &BTreeMap::new())
    }

    /// Parses with `listener.security.protocol.map` (listener name → protocol).
    pub fn parse_with(s: &str, map: &BTreeMap<String, SecurityProtocol>) -> Result<Listener, String> {
        let (name, rest) = s.split_once("://").unwrap_or(("PLAINTEXT", s));
        let protocol = map
            .get(name)
            .copied()
            .or_else(|| SecurityProtocol::from_name(name))
            .ok_or_else(|| {
                format!(
                    "listener name {name} is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, \
                     SASL_SSL); map it in listener.security.protocol.map"
                )
            })?;
        let (host, port) = rest.rsplit_once(':').ok_or("no :port")?;
        let port = port.parse::<u16>().map_err(|_| format!("bad port `{port}`"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        Ok(Listener {
            name: name.to_string(),
            protocol,
            host: host.to_string(),
            port,
        })
    }

    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
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
    pub socket_request_max_bytes: usize,
    pub groups: GroupConfig,
    /// `sluice.http.listen`: where `/metrics` and `/health` are served; None (`""`) = nowhere.
    pub http_listen: Option<SocketAddr>,
    /// `ssl.*`: the certificate of SSL and SASL_SSL listeners, and the CAs of client certificates.
    pub tls: TlsSettings,
    /// `sasl.enabled.mechanisms`: offered on SASL_PLAINTEXT and SASL_SSL listeners.
    pub sasl_mechanisms: Vec<String>,
    /// `super.users` and `[acls.<user>]`: what each authenticated user may do.
    pub acls: crate::auth::acl::Acls,
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
            },
            retention_check_interval: Duration::from_millis(300_000),
            socket_request_max_bytes: 104_857_600,
            groups: GroupConfig::default(),
            http_listen: Some(DEFAULT_HTTP_LISTEN),
            tls: TlsSettings::default(),
            sasl_mechanisms: SUPPORTED_MECHANISMS.iter().map(|m| m.to_string()).collect(),
            acls: Default::default(),
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
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.into(),
            message: e.message().to_string(),
        })?;
        let mut flat = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut flat);
        let mut settings = Settings {
            path,
            flat,
            warnings: Vec::new(),
        };
        let config = settings.resolve()?;
        Ok((config, settings.warnings))
    }
}

/// The flattened `dotted.key → value` view of one file, consumed key by key.
struct Settings<'a> {
    path: &'a Path,
    flat: BTreeMap<String, toml::Value>,
    warnings: Vec<String>,
}

impl Settings<'_> {
    fn resolve(&mut self) -> Result<BrokerConfig, ConfigError> {
        let mut c = BrokerConfig::default();
        let map = self.protocol_map()?;
        if let Some(l) = self.listeners("listeners", &map)? {
            c.listeners = l;
        }
        c.advertised_listeners = self.listeners("advertised.listeners", &map)?;
        self.check_listener_names(&c)?;
        self.security(&mut c)?;
        self.acls(&mut c)?;
        if let Some(dirs) = self.take("log.dirs").or_else(|| self.take("log.dir")) {
            c.data_dir = self.single_dir(dirs)?;
        }
        c.num_partitions = self
            .int("num.partitions", 1, i32::MAX as i64)?
            .map_or(c.num_partitions, |v| v as i32);
        c.auto_create_topics = self.bool("auto.create.topics.enable")?.unwrap_or(c.auto_create_topics);
        let hours = self
            .int("log.retention.hours", -1, i64::MAX / 3_600_000)?
            .map(|h| h * 3_600_000);
        let minutes = self
            .int("log.retention.minutes", -1, i64::MAX / 60_000)?
            .map(|m| m * 60_000);
        let ms = self.millis("log.retention.ms", -1)?;
        // Kafka's precedence: ms over minutes over hours; any negative value means forever.
        if let Some(v) = ms.or(minutes).or(hours) {
            c.log.retention_ms = (v >= 0).then_some(v);
        }
        if let Some(v) = self.int("log.retention.bytes", -1, i64::MAX)? {
            c.log.retention_bytes = (v >= 0).then_some(v as u64);
        }
        if let Some(v) = self.int("log.segment.bytes", 14, i32::MAX as i64)? {
            c.log.segment_bytes = v as u64;
        }
        let roll_hours = self
            .int("log.roll.hours", 1, i64::MAX / 3_600_000)?
            .map(|h| h * 3_600_000);
        if let Some(v) = self.millis("log.roll.ms", 1)?.or(roll_hours) {
            c.log.roll_ms = v as u64;
        }
        if let Some(v) = self.int("log.index.interval.bytes", 0, i32::MAX as i64)? {
            c.log.index_interval_bytes = v as u32;
        }
        if let Some(v) = self.int("message.max.bytes", 0, i32::MAX as i64)? {
            c.log.message_max_bytes = v as i32;
        }
        if let Some(v) = self.string("log.message.timestamp.type")? {
            c.log.log_append_time = match v.as_str() {
                "CreateTime" => false,
                "LogAppendTime" => true,
                _ => return Err(self.bad("log.message.timestamp.type", "CreateTime or LogAppendTime", &v)),
            };
        }
        if let Some(v) = self.millis("log.retention.check.interval.ms", 1)? {
            c.retention_check_interval = Duration::from_millis(v as u64);
        }
        if let Some(v) = self.int("socket.request.max.bytes", 1024, i32::MAX as i64)? {
            c.socket_request_max_bytes = v as usize;
        }
        self.groups(&mut c.groups)?;
        if let Some(v) = self.take("sluice.http.listen") {
            c.http_listen = self.http_listen(v)?;
        }
        for (key, why) in IGNORED {
            if self.flat.remove(*key).is_some() {
                self.warnings
                    .push(format!("{}: `{key}` is ignored: {why}", self.path.display()));
            }
        }
        if let Some(key) = self.flat.keys().next() {
            return Err(ConfigError::UnknownKey {
                path: self.path.into(),
                key: key.clone(),
            });
        }
        Ok(c)
    }

    fn groups(&mut self, g: &mut GroupConfig) -> Result<(), ConfigError> {
        let ms = |v: i64| Duration::from_millis(v as u64);
        if let Some(v) = self.millis("group.initial.rebalance.delay.ms", 0)? {
            g.initial_rebalance_delay = ms(v);
        }
        if let Some(v) = self.millis("group.min.session.timeout.ms", 1)? {
            g.min_session_timeout = ms(v);
        }
        if let Some(v) = self.millis("group.max.session.timeout.ms", 1)? {
            g.max_session_timeout = ms(v);
        }
        if g.min_session_timeout > g.max_session_timeout {
            let got = format!("{} ms", g.max_session_timeout.as_millis());
            return Err(self.bad(
                "group.max.session.timeout.ms",
                "at least group.min.session.timeout.ms",
                &got,
            ));
        }
        if let Some(v) = self.int("group.max.size", 1, i32::MAX as i64)? {
            g.max_size = v as usize;
        }
        if let Some(v) = self.int("offsets.retention.minutes", 1, i64::MAX / 60_000)? {
            g.offsets_retention = Duration::from_secs(v as u64 * 60);
        }
        if let Some(v) = self.millis("offsets.retention.check.interval.ms", 1)? {
            g.offsets_retention_check_interval = ms(v);
        }
        if let Some(v) = self.int("offsets.topic.num.partitions", 1, 10_000)? {
            g.offsets_topic_partitions = v as i32;
        }
        if let Some(v) = self.int("offsets.topic.segment.bytes", 1024, i32::MAX as i64)? {
            g.offsets_topic_segment_bytes = v as u64;
        }
        if let Some(v) = self.int("offset.metadata.max.bytes", 0, i32::MAX as i64)? {
            g.offset_metadata_max_bytes = v as usize;
        }
        Ok(())
    }

    fn take(&mut self, key: &str) -> Option<toml::Value> {
        self.flat.remove(key)
    }

    fn bad(&self, key: &str, expected: &str, got: &dyn std::fmt::Display) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.into(),
            key: key.into(),
            expected: expected.into(),
            got: got.to_string(),
        }
    }

    /// An integer in `[min, max]`; Kafka's files hold numbers as strings, so "168" is accepted too.
    fn int(&mut self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ConfigError> {
        let Some(v) = self.take(key) else { return Ok(None) };
        let n = match &v {
            toml::Value::Integer(n) => Some(*n),
            toml::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(self.bad(key, &format!("an integer from {min} to {max}"), &v)),
        }
    }

    /// Milliseconds: an integer (Kafka's way) or a human duration such as "7days" or "500ms".
    fn millis(&mut self, key: &str, min: i64) -> Result<Option<i64>, ConfigError> {
        if let Some(toml::Value::String(s)) = self.flat.get(key) {
            if let Ok(d) = humantime::parse_duration(s) {
                self.flat.remove(key);
                return Ok(Some(d.as_millis().min(i64::MAX as u128) as i64));
            }
        }
        match self.int(key, min, i64::MAX) {
            Err(ConfigError::BadValue { path, key, got, .. }) => Err(ConfigError::BadValue {
                path,
                key,
                expected: format!("milliseconds (an integer ≥ {min}) or a duration such as \"10s\""),
                got,
            }),
            other => other,
        }
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(b)),
            Some(toml::Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(v) => Err(self.bad(key, "true or false", &v)),
        }
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.bad(key, "a string", &v)),
        }
    }

    /// `sluice.http.listen`: `"IP:port"`, or `""` for no HTTP endpoint.
    fn http_listen(&self, v: toml::Value) -> Result<Option<SocketAddr>, ConfigError> {
        match &v {
            toml::Value::String(s) => {
                parse_http_listen(s).map_err(|expected| self.bad("sluice.http.listen", expected, &v))
            }
            _ => Err(self.bad("sluice.http.listen", HTTP_LISTEN_EXPECTED, &v)),
        }
    }

    /// `listener.security.protocol.map`: `"CLIENT:SASL_SSL,INTERNAL:PLAINTEXT"` or a list.
    fn protocol_map(&mut self) -> Result<BTreeMap<String, SecurityProtocol>, ConfigError> {
        let key = "listener.security.protocol.map";
        let expected = "NAME:PROTOCOL pairs such as \"CLIENT:SASL_SSL,INTERNAL:PLAINTEXT\"";
        let mut map = BTreeMap::new();
        for pair in self.list(key, expected)?.unwrap_or_default() {
            let protocol = pair
                .split_once(':')
                .and_then(|(name, p)| Some((name.trim(), SecurityProtocol::from_name(p.trim())?)));
            match protocol {
                Some((name, p)) if !name.is_empty() => map.insert(name.to_string(), p),
                _ => return Err(self.bad(key, expected, &format!("`{pair}`"))),
            };
        }
        Ok(map)
    }

    /// `super.users` (a list, or Kafka's `"User:a;User:b"`) and the `[acls.<user>]` tables.
    fn acls(&mut self, c: &mut BrokerConfig) -> Result<(), ConfigError> {
        let expected = "user names: [\"admin\"] or Kafka's \"User:admin;User:ops\"";
        if let Some(v) = self.take("super.users") {
            let names: Vec<&str> = match &v {
                toml::Value::String(s) => s.split(';').collect(),
                toml::Value::Array(a) => a.iter().map(|u| u.as_str().unwrap_or("")).collect(),
                _ => Vec::new(),
            };
            let names: Vec<String> = names
                .iter()
                .map(|n| n.trim().trim_start_matches("User:").to_string())
                .collect();
            if names.is_empty() || names.iter().any(String::is_empty) {
                return Err(self.bad("super.users", expected, &v));
            }
            c.acls.super_users = names;
            c.acls.enabled = true;
        }
        let keys: Vec<String> = self.flat.keys().filter(|k| k.starts_with("acls.")).cloned().collect();
        for key in keys {
            let Some(value) = self.take(&key) else { continue };
            let Some((user, permission)) = key["acls.".len()..].rsplit_once('.') else {
                return Err(self.bad(
                    &key,
                    "[acls.<user>] tables of produce, consume, groups, describe or admin",
                    &value,
                ));
            };
            let grants = c.acls.users.entry(user.to_string()).or_default();
            crate::auth::acl::grant(grants, permission, &value).map_err(|expected| self.bad(&key, expected, &value))?;
            c.acls.enabled = true;
        }
        Ok(())
    }

    /// Kafka's rules: a listener name appears once in `listeners`, every port is bound once,
    /// and each advertised listener names one of `listeners`.
    fn check_listener_names(&self, c: &BrokerConfig) -> Result<(), ConfigError> {
        let expected = "listeners with distinct names and ports, such as \
                        [\"PLAINTEXT://127.0.0.1:9092\", \"SASL_SSL://0.0.0.0:9093\"]";
        for (i, l) in c.listeners.iter().enumerate() {
            let earlier = &c.listeners[..i];
            if earlier.iter().any(|e| e.name == l.name) {
                return Err(self.bad("listeners", expected, &format!("the name {} twice", l.name)));
            }
            if l.port != 0 && earlier.iter().any(|e| e.port == l.port) {
                return Err(self.bad("listeners", expected, &format!("port {} twice", l.port)));
            }
        }
        for a in c.advertised_listeners.iter().flatten() {
            if !c.listeners.iter().any(|l| l.name == a.name) {
                return Err(self.bad(
                    "advertised.listeners",
                    "names that appear in `listeners`",
                    &format!("{}://{}, which no listener is called", a.name, a.addr()),
                ));
            }
        }
        Ok(())
    }

    /// `ssl.*` and `sasl.enabled.mechanisms`; TLS listeners need a certificate.
    fn security(&mut self, c: &mut BrokerConfig) -> Result<(), ConfigError> {
        for key in ["ssl.keystore.type", "ssl.truststore.type"] {
            if let Some(t) = self.string(key)? {
                if !t.eq_ignore_ascii_case("PEM") {
                    return Err(self.bad(
                        key,
                        "PEM (JKS and PKCS12 stores are not read; convert with openssl)",
                        &t,
                    ));
                }
            }
        }
        for key in ["ssl.key.password", "ssl.keystore.password", "ssl.truststore.password"] {
            // The value is a secret: it is never echoed.
            if self.take(key).is_some() {
                return Err(self.bad(
                    key,
                    "no password: encrypted keys and password-protected stores are not read; \
                     give unencrypted PEM files readable only by the broker",
                    &"a password (not shown)",
                ));
            }
        }
        c.tls.keystore = self.string("ssl.keystore.location")?.map(PathBuf::from);
        c.tls.key = self.string("ssl.key.location")?.map(PathBuf::from);
        c.tls.truststore = self.string("ssl.truststore.location")?.map(PathBuf::from);
        if let Some(v) = self.string("ssl.client.auth")? {
            c.tls.client_auth = match v.as_str() {
                "none" => ClientAuth::None,
                "requested" => ClientAuth::Requested,
                "required" => ClientAuth::Required,
                _ => return Err(self.bad("ssl.client.auth", "none, requested or required", &v)),
            };
        }
        let expected = "a list of SASL mechanisms from PLAIN, SCRAM-SHA-256, SCRAM-SHA-512";
        if let Some(mechanisms) = self.list("sasl.enabled.mechanisms", expected)? {
            if let Some(bad) = mechanisms.iter().find(|m| !SUPPORTED_MECHANISMS.contains(&m.as_str())) {
                return Err(self.bad("sasl.enabled.mechanisms", expected, &format!("`{bad}`")));
            }
            if mechanisms.is_empty() {
                return Err(self.bad("sasl.enabled.mechanisms", expected, &"an empty list"));
            }
            c.sasl_mechanisms = mechanisms;
        }
        let tls_listener = c.listeners.iter().find(|l| l.protocol.tls());
        if let (Some(l), None) = (tls_listener, &c.tls.keystore) {
            return Err(self.bad(
                "ssl.keystore.location",
                "a PEM file with the broker's certificate chain and private key",
                &format!("nothing, while listener {}://{} uses TLS", l.name, l.addr()),
            ));
        }
        if c.tls.client_auth != ClientAuth::None && c.tls.truststore.is_none() {
            return Err(self.bad(
                "ssl.truststore.location",
                "a PEM file with the CAs that sign client certificates (ssl.client.auth is on)",
                &"nothing",
            ));
        }
        Ok(())
    }

    /// A list of strings, as a TOML array or Kafka's comma-separated string.
    fn list(&mut self, key: &str, expected: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let items: Vec<String> = match self.take(key) {
            None => return Ok(None),
            Some(toml::Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
            Some(toml::Value::Array(a)) => {
                let mut items = Vec::new();
                for v in a {
                    match v {
                        toml::Value::String(s) => items.push(s),
                        other => return Err(self.bad(key, expected, &other)),
                    }
                }
                items
            }
            Some(v) => return Err(self.bad(key, expected, &v)),
        };
        Ok(Some(items.into_iter().filter(|s| !s.is_empty()).collect()))
    }

    /// A list of listeners, as a TOML array or Kafka's comma-separated string.
    fn listeners(
        &mut self,
        key: &str,
        map: &BTreeMap<String, SecurityProtocol>,
    ) -> Result<Option<Vec<Listener>>, ConfigError> {
        let expected = "a list of listeners such as [\"PLAINTEXT://127.0.0.1:9092\"]";
        let Some(items) = self.list(key, expected)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in &items {
            out.push(
                Listener::parse_with(item, map).map_err(|why| self.bad(key, expected, &format!("`{item}` ({why})")))?,
            );
        }
        if out.is_empty() {
            return Err(self.bad(key, expected, &"an empty list"));
        }
        Ok(Some(out))
    }

    fn single_dir(&self, v: toml::Value) -> Result<PathBuf, ConfigError> {
        let s = match &v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(a) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        };
        if s.is_empty() || s.contains(',') {
            return Err(self.bad("log.dirs", "one directory (a single node keeps one data directory)", &v));
        }
        Ok(PathBuf::from(s))
    }
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, toml::Value>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
        BrokerConfig::parse(text, Path::new("broker.toml"))
    }

    #[test]
    fn dotted_kafka_names_are_read_unquoted_and_quoted() {
        let (c, _) = parse("log.retention.hours = 1\n\"log.segment.bytes\" = 1024\n").unwrap();
        assert_eq!(c.log.retention_ms, Some(3_600_000));
        assert_eq!(c.log.segment_bytes, 1024);
    }

    #[test]
    fn retention_ms_wins_over_hours_and_negative_means_forever() {
        let (c, _) = parse("log.retention.hours = 5\nlog.retention.ms = 1000\n").unwrap();
        assert_eq!(c.log.retention_ms, Some(1000));
        let (c, _) = parse("log.retention.ms = -1\n").unwrap();
        assert_eq!(c.log.retention_ms, None);
    }

    #[test]
    fn durations_accept_human_strings() {
        let (c, _) = parse("log.retention.check.interval.ms = \"5s\"\n").unwrap();
        assert_eq!(c.retention_check_interval, Duration::from_secs(5));
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let err = parse("log.segmnt.bytes = 10\n").unwrap_err().to_string();
        assert!(err.contains("broker.toml") && err.contains("log.segmnt.bytes"), "{err}");
    }

    #[test]
    fn bad_value_says_what_was_expected() {
        let err = parse("num.partitions = \"many\"\n").unwrap_err().to_string();
        assert!(
            err.contains("num.partitions") && err.contains("an integer from 1"),
            "{err}"
        );
        let err = parse("auto.create.topics.enable = 3\n").unwrap_err().to_string();
        assert!(err.contains("true or false"), "{err}");
    }

    #[test]
    fn zookeeper_settings_are_accepted_with_a_reason() {
        let (_, warnings) = parse("zookeeper.connect = \"localhost:2181\"\nbroker.id = 0\n").unwrap();
        assert_eq!(warnings.len(), 2);
        assert!(warnings
            .iter()
            .any(|w| w.contains("zookeeper.connect") && w.contains("ZooKeeper")));
        let (_, warnings) = parse(
            "default.replication.factor = 3
offsets.topic.replication.factor = 3
             transaction.state.log.replication.factor = 3
",
        )
        .unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings
                .iter()
                .all(|w| w.contains("replication factor is always 1 on one node")),
            "{warnings:?}"
        );
    }

    #[test]
    fn listeners_parse_kafka_urls_and_reject_unsupported_protocols() {
        let (c, _) = parse("listeners = [\"PLAINTEXT://0.0.0.0:19092\"]\n").unwrap();
        assert_eq!(c.listeners, vec![Listener::plaintext("0.0.0.0", 19092)]);
        let (c, _) = parse("listeners = \"PLAINTEXT://:9093\"\n").unwrap();
        assert_eq!(c.listeners[0].host, "0.0.0.0");
        let err = parse("listeners = [\"CLIENT://127.0.0.1:9093\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CLIENT") && err.contains("listener.security.protocol.map"),
            "{err}"
        );
        let (c, _) = parse(
            "listeners = [\"CLIENT://127.0.0.1:9093\"]\n\
             listener.security.protocol.map = \"CLIENT:SASL_PLAINTEXT\"\n",
        )
        .unwrap();
        assert_eq!(
            (c.listeners[0].name.as_str(), c.listeners[0].protocol),
            ("CLIENT", SecurityProtocol::SaslPlaintext)
        );
    }

    #[test]
    fn acls_tables_and_super_users_turn_authorization_on() {
        use crate::auth::acl::{Operation, Resource};
        let (c, _) = parse("").unwrap();
        assert!(!c.acls.enabled);
        let (c, _) = parse(
            "super.users = \"User:ops;User:root\"\n\
             [acls.agent]\nproduce = [\"metrics\"]\n\
             [acls.\"john.doe\"]\nconsume = [\"metrics-*\"]\ngroups = [\"sluice-workers-*\"]\n",
        )
        .unwrap();
        assert!(c.acls.enabled);
        assert_eq!(c.acls.super_users, ["ops", "root"]);
        assert!(c.acls.allows("agent", Operation::Write, Resource::Topic("metrics")));
        assert!(c
            .acls
            .allows("john.doe", Operation::Read, Resource::Topic("metrics-dlq")));
        assert!(!c.acls.allows("john.doe", Operation::Read, Resource::Topic("metrics")));
        let (c, _) = parse("super.users = [\"admin\"]\n").unwrap();
        assert!(c.acls.enabled && !c.acls.allows("agent", Operation::Describe, Resource::Topic("metrics")));
        let err = parse("[acls.agent]\nwrite = [\"metrics\"]\n").unwrap_err().to_string();
        assert!(
            err.contains("acls.agent.write") && err.contains("one of produce, consume"),
            "{err}"
        );
        let err = parse("[acls.agent]\nproduce = \"metrics\"\n").unwrap_err().to_string();
        assert!(err.contains("a list of names or glob patterns"), "{err}");
        let err = parse("super.users = 3\n").unwrap_err().to_string();
        assert!(err.contains("super.users"), "{err}");
    }

    #[test]
    fn several_listeners_need_distinct_names_and_ports_and_advertised_names_must_exist() {
        let (c, _) = parse(
            "listeners = [\"PLAINTEXT://127.0.0.1:9092\", \"SASL_PLAINTEXT://0.0.0.0:9093\"]\n\
             advertised.listeners = [\"SASL_PLAINTEXT://broker.example:9093\"]\n",
        )
        .unwrap();
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(c.advertised_listeners.unwrap()[0].host, "broker.example");
        let err = parse("listeners = [\"PLAINTEXT://127.0.0.1:9092\", \"PLAINTEXT://0.0.0.0:9093\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("the name PLAINTEXT twice"), "{err}");
        let err = parse(
            "listener.security.protocol.map = \"A:PLAINTEXT,B:SASL_PLAINTEXT\"\n\
             listeners = [\"A://127.0.0.1:9092\", \"B://0.0.0.0:9092\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("port 9092 twice"), "{err}");
        let err =
            parse("listeners = [\"PLAINTEXT://127.0.0.1:9092\"]\nadvertised.listeners = [\"SASL_SSL://b:9093\"]\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("`advertised.listeners` expects names that appear in `listeners`"),
            "{err}"
        );
    }

    #[test]
    fn tls_listeners_need_a_pem_certificate_and_sasl_mechanisms_are_checked() {
        let err = parse("listeners = [\"SASL_SSL://127.0.0.1:9093\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ssl.keystore.location") && err.contains("SASL_SSL"),
            "{err}"
        );
        let (c, _) = parse(
            "listeners = [\"SASL_SSL://127.0.0.1:9093\"]\nssl.keystore.location = \"/etc/sluice/broker.pem\"\n\
             sasl.enabled.mechanisms = \"SCRAM-SHA-512\"\nssl.client.auth = \"none\"\n",
        )
        .unwrap();
        assert_eq!(c.tls.keystore, Some(PathBuf::from("/etc/sluice/broker.pem")));
        assert_eq!(c.sasl_mechanisms, ["SCRAM-SHA-512"]);
        let err = parse("sasl.enabled.mechanisms = [\"GSSAPI\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("GSSAPI") && err.contains("SCRAM-SHA-256"), "{err}");
        let err = parse("ssl.keystore.type = \"JKS\"\n").unwrap_err().to_string();
        assert!(err.contains("ssl.keystore.type") && err.contains("PEM"), "{err}");
        let err = parse("ssl.key.password = \"hunter2\"\n").unwrap_err().to_string();
        assert!(err.contains("ssl.key.password") && !err.contains("hunter2"), "{err}");
        let err = parse("ssl.client.auth = \"required\"\n").unwrap_err().to_string();
        assert!(err.contains("ssl.truststore.location"), "{err}");
    }

    #[test]
    fn the_shipped_example_parses_and_matches_kafkas_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/broker.toml");
        let (c, warnings) = BrokerConfig::load(&path).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let d = BrokerConfig::default();
        assert_eq!((c.listeners, c.data_dir, c.log), (d.listeners, d.data_dir, d.log));
        assert_eq!(c.retention_check_interval, d.retention_check_interval);
        assert_eq!(c.groups, d.groups);
        assert_eq!(c.http_listen, Some(DEFAULT_HTTP_LISTEN));
    }

    #[test]
    fn http_listen_takes_an_address_or_empty_for_off() {
        let (c, _) = parse("sluice.http.listen = \"0.0.0.0:19644\"\n").unwrap();
        assert_eq!(c.http_listen, Some("0.0.0.0:19644".parse().unwrap()));
        let (c, _) = parse("[sluice.http]\nlisten = \"\"\n").unwrap();
        assert_eq!(c.http_listen, None);
        let (c, _) = parse("").unwrap();
        assert_eq!(c.http_listen, Some(DEFAULT_HTTP_LISTEN));
        assert_eq!(
            BrokerConfig::ephemeral(Path::new("d")).http_listen.map(|a| a.port()),
            Some(0)
        );
    }

    #[test]
    fn a_bad_http_listen_names_file_key_and_expectation() {
        for bad in [
            "sluice.http.listen = \"localhost\"",
            "sluice.http.listen = \"127.0.0.1:99999\"",
            "sluice.http.listen = 9644",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("broker.toml: `sluice.http.listen` expects") && err.contains("127.0.0.1:9644"),
                "{err}"
            );
        }
        let err = parse("sluice.http.listn = \"127.0.0.1:1\"").unwrap_err().to_string();
        assert!(err.contains("unknown setting `sluice.http.listn`"), "{err}");
    }

    #[test]
    fn group_settings_use_kafkas_names() {
        let text = "group.min.session.timeout.ms = 1000\ngroup.initial.rebalance.delay.ms = \"100ms\"\n\
                    offsets.retention.minutes = 1\noffsets.topic.num.partitions = 3\ngroup.max.size = 2\n";
        let (c, _) = parse(text).unwrap();
        assert_eq!(c.groups.min_session_timeout, Duration::from_secs(1));
        assert_eq!(c.groups.initial_rebalance_delay, Duration::from_millis(100));
        assert_eq!(c.groups.offsets_retention, Duration::from_secs(60));
        assert_eq!((c.groups.offsets_topic_partitions, c.groups.max_size), (3, 2));
        let err = parse("group.min.session.timeout.ms = 9000\ngroup.max.session.timeout.ms = 8000\n").unwrap_err();
        assert!(err.to_string().contains("group.max.session.timeout.ms"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = parse("listeners = [").unwrap_err().to_string();
        assert!(err.starts_with("broker.toml: not valid TOML"), "{err}");
    }
}
