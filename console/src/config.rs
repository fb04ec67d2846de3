//! `config/console.toml`: where the console listens, how much history it keeps, how often the
//! page refreshes, and when a group counts as lagging.
//!
//! The lagging thresholds default to those of the shipped alert rules
//! (`dashboards/prometheus/alerts.yml`: `KafkaConsumerGroupLagHigh`, `…LagSecondsHigh`), so what
//! the page marks is what would page someone; a test holds the two together.

use std::path::Path;
use std::time::Duration;

pub use kafka_client::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the page and its JSON are served; "" turns the console off.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// How far back the charts reach; also what the console reads back of the metric topic
    /// when it starts.
    #[serde(default = "default_window", deserialize_with = "kafka_client::duration")]
    pub window: Duration,
    /// How often the page refreshes and the console samples topic counters and lag.
    #[serde(default = "default_refresh", deserialize_with = "kafka_client::duration")]
    pub refresh: Duration,
    #[serde(default)]
    pub lagging: Lagging,
}

/// A group is marked lagging on a topic when either figure is above its threshold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lagging {
    #[serde(default = "default_lag_records")]
    pub records: i64,
    #[serde(default = "default_lag_seconds")]
    pub seconds: f64,
}

impl Default for Lagging {
    fn default() -> Self {
        Lagging {
            records: default_lag_records(),
            seconds: default_lag_seconds(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            window: default_window(),
            refresh: default_refresh(),
            lagging: Lagging::default(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:9645".into()
}
fn default_window() -> Duration {
    Duration::from_secs(3600)
}
fn default_refresh() -> Duration {
    Duration::from_secs(5)
}
fn default_lag_records() -> i64 {
    10_000
}
fn default_lag_seconds() -> f64 {
    300.0
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        kafka_client::load_toml(path, Config::validate)
    }

    /// Parses TOML text without validating it.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        kafka_client::parse_toml(text)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.listen.is_empty() && self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                "listen",
                "IP:PORT or \"\"",
                format!("{:?}", self.listen),
            ));
        }
        for (key, d) in [("window", self.window), ("refresh", self.refresh)] {
            if d.is_zero() {
                return Err(ConfigError::invalid(key, "a positive duration", "0s"));
            }
        }
        if self.refresh > self.window {
            return Err(ConfigError::invalid(
                "refresh",
                "a duration no longer than `window`",
                format!("{:?}", self.refresh),
            ));
        }
        if self.lagging.records < 0 || self.lagging.seconds.is_nan() || self.lagging.seconds < 0.0 {
            return Err(ConfigError::invalid(
                "lagging",
                "thresholds of 0 or more",
                format!("records = {}, seconds = {}", self.lagging.records, self.lagging.seconds),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_the_defaults_and_bad_values_name_their_key() {
        let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/console.toml")).unwrap();
        let c = Config::parse(&shipped).unwrap();
        c.validate().unwrap();
        let d = Config::default();
        assert_eq!((c.listen, c.window, c.refresh), (d.listen, d.window, d.refresh));
        assert_eq!(
            (c.lagging.records, c.lagging.seconds),
            (d.lagging.records, d.lagging.seconds)
        );

        let e = Config::parse("window = \"soon\"").unwrap_err().to_string();
        assert!(e.contains("window") && e.contains("expected a duration"), "{e}");
        let e = Config::parse("listen = \"localhost\"")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listen` expects IP:PORT"), "{e}");
        let e = Config::parse("refresh = \"2h\"")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("`refresh`"), "{e}");
        assert!(Config::parse("colour = \"red\"").is_err());
    }

    /// The page marks as lagging what the shipped alert rules fire on.
    #[test]
    fn lagging_thresholds_are_the_alert_rules_thresholds() {
        let rules = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../dashboards/prometheus/alerts.yml"
        ))
        .unwrap();
        let threshold = |metric: &str| -> f64 {
            let line = rules
                .lines()
                .find(|l| l.contains("expr:") && l.contains(&format!("({metric})")))
                .unwrap_or_else(|| panic!("no rule on {metric}"));
            line.rsplit('>').next().unwrap().trim().parse().unwrap()
        };
        let d = Lagging::default();
        assert_eq!(threshold("kafka_consumergroup_records_lag_max"), d.records as f64);
        assert_eq!(threshold("kafka_consumergroup_lag_seconds"), d.seconds);
    }
}
