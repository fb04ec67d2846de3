//! Listeners: Kafka's `NAME://host:port`, each secured by the protocol its name (or
//! `listener.security.protocol.map`) says, and the rules a list of them must keep.

use std::collections::BTreeMap;

use super::reader::Reader;
use super::{BrokerConfig, ConfigError, SecurityProtocol};

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

impl Reader<'_> {
    /// `listener.security.protocol.map`: `"CLIENT:SASL_SSL,INTERNAL:PLAINTEXT"` or a list.
    pub(super) fn protocol_map(&mut self) -> Result<BTreeMap<String, SecurityProtocol>, ConfigError> {
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

    /// A list of listeners, as a TOML array or Kafka's comma-separated string.
    pub(super) fn listeners(&mut self, key: &str) -> Result<Option<Vec<Listener>>, ConfigError> {
        let expected = "a list of listeners such as [\"PLAINTEXT://127.0.0.1:9092\"]";
        let Some(items) = self.list(key, expected)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in &items {
            out.push(
                Listener::parse_with(item, &self.protocols)
                    .map_err(|why| self.bad(key, expected, &format!("`{item}` ({why})")))?,
            );
        }
        if out.is_empty() {
            return Err(self.bad(key, expected, &"an empty list"));
        }
        Ok(Some(out))
    }

    /// Kafka's rules: a listener name appears once in `listeners`, every port is bound once,
    /// and each advertised listener names one of `listeners`.
    pub(super) fn check_listener_names(&self, c: &BrokerConfig) -> Result<(), ConfigError> {
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
}
