//! Reading one broker.toml: its tables flattened back into Kafka's dotted names, then consumed
//! key by key by the readers of `settings`, each value checked as it is taken. What is left at
//! the end is an unknown key, unless Kafka has it and it means nothing on one node (warned about
//! once each).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{parse_http_listen, ConfigError, SecurityProtocol, HTTP_LISTEN_EXPECTED};

/// Settings that exist in Kafka but have no meaning for one node, with the reason we give.
pub const IGNORED: &[(&str, &str)] = &[
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

/// The flattened `dotted.key → value` view of one file, consumed key by key.
pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
    pub(super) flat: BTreeMap<String, toml::Value>,
    pub(super) warnings: Vec<String>,
    /// `listener.security.protocol.map`, once read: listener name → protocol.
    pub(super) protocols: BTreeMap<String, SecurityProtocol>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &str, path: &'a Path) -> Result<Reader<'a>, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.into(),
            message: e.message().to_string(),
        })?;
        let mut flat = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut flat);
        Ok(Reader {
            path,
            flat,
            warnings: Vec::new(),
            protocols: BTreeMap::new(),
        })
    }

    /// After every reader: warns about Kafka's settings that mean nothing here, and refuses
    /// anything else left.
    pub(super) fn finish(mut self) -> Result<Vec<String>, ConfigError> {
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
        Ok(self.warnings)
    }

    pub(super) fn take(&mut self, key: &str) -> Option<toml::Value> {
        self.flat.remove(key)
    }

    pub(super) fn bad(&self, key: &str, expected: &str, got: &dyn std::fmt::Display) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.into(),
            key: key.into(),
            expected: expected.into(),
            got: got.to_string(),
        }
    }

    /// An integer in `[min, max]`; Kafka's files hold numbers as strings, so "168" is accepted too.
    pub(super) fn int(&mut self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ConfigError> {
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
    pub(super) fn millis(&mut self, key: &str, min: i64) -> Result<Option<i64>, ConfigError> {
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

    /// A number from 0 to 1 (`0.5`, `"0.5"` or `1`).
    pub(super) fn ratio(&mut self, key: &str) -> Result<Option<f64>, ConfigError> {
        let Some(v) = self.take(key) else { return Ok(None) };
        let n = match &v {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(n) => Some(*n as f64),
            toml::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if (0.0..=1.0).contains(&n) => Ok(Some(n)),
            _ => Err(self.bad(key, "a number from 0 to 1", &v)),
        }
    }

    pub(super) fn bool(&mut self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(b)),
            Some(toml::Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(v) => Err(self.bad(key, "true or false", &v)),
        }
    }

    pub(super) fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.bad(key, "a string", &v)),
        }
    }

    /// `HOST:COUNT` entries (Kafka's `max.connections.per.ip.overrides`) as a count per address;
    /// a host name stands for every address it resolves to (from /etc/hosts or DNS, at start).
    pub(super) fn ip_counts(
        &self,
        key: &str,
        entries: &[String],
    ) -> Result<std::collections::HashMap<std::net::IpAddr, usize>, ConfigError> {
        use std::net::ToSocketAddrs;
        let mut out = std::collections::HashMap::new();
        for entry in entries.iter().filter(|e| !e.is_empty()) {
            let expected = "HOST:COUNT, such as \"127.0.0.1:200\" (COUNT from 0 to 2147483647)";
            let (host, count) = entry.rsplit_once(':').ok_or_else(|| self.bad(key, expected, entry))?;
            let count: usize = count
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= i32::MAX as usize)
                .ok_or_else(|| self.bad(key, expected, entry))?;
            let host = host.trim().trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<std::net::IpAddr> = match host.parse() {
                Ok(ip) => vec![ip],
                Err(_) => (host, 0)
                    .to_socket_addrs()
                    .map_err(|e| self.bad(key, "host names that resolve", &format!("{host} ({e})")))?
                    .map(|a| a.ip().to_canonical())
                    .collect(),
            };
            for ip in addrs {
                out.insert(ip.to_canonical(), count);
            }
        }
        Ok(out)
    }

    /// A list of strings, as a TOML array or Kafka's comma-separated string.
    pub(super) fn list(&mut self, key: &str, expected: &str) -> Result<Option<Vec<String>>, ConfigError> {
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

    /// `sluice.http.listen`: `"IP:port"`, or `""` for no HTTP endpoint.
    pub(super) fn http_listen(&self, v: toml::Value) -> Result<Option<SocketAddr>, ConfigError> {
        match &v {
            toml::Value::String(s) => {
                parse_http_listen(s).map_err(|expected| self.bad("sluice.http.listen", expected, &v))
            }
            _ => Err(self.bad("sluice.http.listen", HTTP_LISTEN_EXPECTED, &v)),
        }
    }

    pub(super) fn single_dir(&self, v: toml::Value) -> Result<PathBuf, ConfigError> {
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
