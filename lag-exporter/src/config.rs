//! `config/lag-exporter.toml`: which cluster, how often, which groups and topics, how fine.
//!
//! Every struct denies unknown keys, so a misspelt setting stops start-up with the file, the line
//! and the key instead of being ignored. [`Config::validate`] compiles the regular expressions and
//! checks what serde cannot; it runs again after command-line flags override the file.

use std::path::{Path, PathBuf};

pub use kafka_client::ConfigError;
use kafka_client::{Secret, Security};
use std::time::Duration;

use regex::RegexSet;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Bootstrap brokers of the cluster to watch.
    #[serde(default = "default_brokers")]
    pub brokers: Vec<String>,
    /// Time between the starts of two collections.
    #[serde(default = "default_interval", deserialize_with = "kafka_client::duration")]
    pub interval: Duration,
    /// How long one request to the cluster may take before the collection fails.
    #[serde(default = "default_timeout", deserialize_with = "kafka_client::duration")]
    pub timeout: Duration,
    /// Where `/metrics` is served.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `topic` (per group and topic) or `partition` (adds per-partition series).
    #[serde(default)]
    pub granularity: Granularity,
    /// Which consumer groups are exported.
    #[serde(default)]
    pub groups: Filter,
    /// Which topics are exported.
    #[serde(default = "default_topics")]
    pub topics: Filter,
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
    /// librdkafka settings passed as is to every client the exporter opens.
    #[serde(default)]
    pub librdkafka: kafka_client::Librdkafka,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Topic,
    Partition,
}

/// Names matching any `allow` and no `deny` expression pass. Each expression must match the
/// whole name (`"metrics"` is not `"metrics-dlq"`; write `"metrics.*"` for a prefix).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            allow: default_allow(),
            deny: Vec::new(),
        }
    }
}

fn default_brokers() -> Vec<String> {
    vec!["127.0.0.1:9092".into()]
}
fn default_interval() -> Duration {
    Duration::from_secs(15)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_listen() -> String {
    "127.0.0.1:9308".into()
}
fn default_allow() -> Vec<String> {
    vec![".*".into()]
}
/// Internal topics (`__consumer_offsets`) are Kafka's bookkeeping, not anyone's lag.
fn default_topics() -> Filter {
    Filter {
        allow: default_allow(),
        deny: vec!["__.*".into()],
    }
}

/// A compiled [`Filter`].
#[derive(Debug, Clone)]
pub struct Matcher {
    allow: RegexSet,
    deny: RegexSet,
}

impl Matcher {
    pub fn matches(&self, name: &str) -> bool {
        self.allow.is_match(name) && !self.deny.is_match(name)
    }
}

impl Filter {
    pub fn compile(&self, key: &str) -> Result<Matcher, ConfigError> {
        let set = |list: &[String], which: &str| {
            RegexSet::new(list.iter().map(|r| format!("^(?:{r})$"))).map_err(|e| {
                ConfigError::invalid(
                    format!("{key}.{which}"),
                    "regular expressions",
                    e.to_string().replace('\n', " "),
                )
            })
        };
        Ok(Matcher {
            allow: set(&self.allow, "allow")?,
            deny: set(&self.deny, "deny")?,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::parse("").unwrap_or_else(|_| unreachable!("an empty file takes every default"))
    }
}

impl Config {
    /// Reads `path`, expands `${VAR}` from the environment, parses and validates it. No error
    /// shows a value that came from the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        kafka_client::load_toml(path, Config::validate)
    }

    /// Parses TOML text without validating it.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        kafka_client::parse_toml(text)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.is_empty() || self.brokers.iter().any(|b| b.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "brokers",
                "at least one HOST:PORT",
                format!("{:?}", self.brokers),
            ));
        }
        if self.interval.is_zero() {
            return Err(ConfigError::invalid("interval", "a positive duration", "0s"));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid("timeout", "a positive duration", "0s"));
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                "listen",
                "HOST:PORT with an IP address",
                &self.listen,
            ));
        }
        self.groups.compile("groups")?;
        self.topics.compile("topics")?;
        self.security().validate("", self.librdkafka.keys())?;
        self.librdkafka.check("")?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/lag-exporter.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.brokers, ["127.0.0.1:9092"]);
        assert_eq!(c.interval, Duration::from_secs(15));
        assert_eq!(c.listen, "127.0.0.1:9308");
        assert_eq!(c.granularity, Granularity::Topic);
        let topics = c.topics.compile("topics").unwrap();
        assert!(topics.matches("metrics") && !topics.matches("__consumer_offsets"));
    }

    #[test]
    fn an_empty_file_takes_the_defaults() {
        let c = Config::parse("").unwrap();
        c.validate().unwrap();
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert!(c.groups.compile("groups").unwrap().matches("anything"));
    }

    #[test]
    fn expressions_match_whole_names_and_deny_wins() {
        let c = Config::parse("[groups]\nallow = [\"workers.*\", \"audit\"]\ndeny = [\"workers-test\"]\n").unwrap();
        let g = c.groups.compile("groups").unwrap();
        assert!(g.matches("workers") && g.matches("workers-prod") && g.matches("audit"));
        assert!(!g.matches("workers-test") && !g.matches("audit2") && !g.matches("my-audit"));
    }

    #[test]
    fn tls_and_sasl_options_become_sasl_ssl_and_clashing_librdkafka_keys_are_refused() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let text = format!(
            "tls_ca = \"{}\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"exporter\"\nsasl_password = \"pw\"\n",
            ca.path().display()
        );
        let c = Config::parse(&text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.security().protocol(), kafka_client::Protocol::SaslSsl);
        assert!(!format!("{c:?}").contains("\"pw\""));
        let clash = Config::parse(&format!("{text}[librdkafka]\n\"sasl.username\" = \"other\"\n")).unwrap();
        let e = clash.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("`librdkafka.\"sasl.username\"` expects to be left to the tls_* and sasl_* options"),
            "{e}"
        );
        let e = Config::parse("sasl_username = \"exporter\"\n")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("`sasl_password` expects"), "{e}");
    }

    #[test]
    fn mistakes_name_the_key() {
        let e = Config::parse("intervall = \"5s\"").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("unknown field `intervall`"), "{e}");
        let e = Config::parse("interval = \"soon\"").unwrap_err().to_string();
        assert!(e.contains("expected a duration such as"), "{e}");
        let e = Config::parse("granularity = \"host\"").unwrap_err().to_string();
        assert!(e.contains("unknown variant `host`"), "{e}");
        let c = Config::parse("[groups]\ndeny = [\"(\"]").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with("`groups.deny` expects regular expressions"), "{e}");
    }
}
