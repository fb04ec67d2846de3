//! `[agent]`: Telegraf's agent settings, plus sluice's spool and self-metrics address.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, Duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// How often inputs are gathered.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Gather on multiples of `interval` (`:00`, `:10`, … for 10s) rather than from start-up.
    #[serde(default = "default_round_interval")]
    pub round_interval: bool,
    /// A random sleep in `[0, collection_jitter)` before each gather.
    #[serde(default)]
    pub collection_jitter: Duration,
    /// How often buffered samples are sent (also sent at once when a batch is full).
    #[serde(default = "default_flush_interval")]
    pub flush_interval: Duration,
    /// A random sleep in `[0, flush_jitter)` added to each flush interval.
    #[serde(default)]
    pub flush_jitter: Duration,
    /// Most records sent in one batch.
    #[serde(default = "default_metric_batch_size")]
    pub metric_batch_size: usize,
    /// Most records held in memory while the broker is unreachable; the oldest go first.
    #[serde(default = "default_metric_buffer_limit")]
    pub metric_buffer_limit: usize,
    /// Timestamps are rounded to this; 0 means 1s for intervals of a second or more (as Telegraf).
    #[serde(default)]
    pub precision: Duration,
    /// The `host` tag; empty means this machine's hostname.
    #[serde(default)]
    pub hostname: String,
    /// Leave out the `host` tag.
    #[serde(default)]
    pub omit_hostname: bool,
    /// sluice: keep unsent samples on disk here, so they survive a restart of the agent.
    #[serde(default)]
    pub spool_dir: Option<PathBuf>,
    /// sluice: bound on the spool's size on disk; the oldest samples are dropped beyond it.
    #[serde(default = "default_spool_max_bytes")]
    pub spool_max_bytes: u64,
    /// sluice: samples older than this are dropped from the spool.
    #[serde(default = "default_spool_max_age")]
    pub spool_max_age: Duration,
    /// sluice: where self-metrics are served (`/metrics`); empty turns the endpoint off.
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: String,
}

fn default_interval() -> Duration {
    Duration::secs(10)
}
fn default_round_interval() -> bool {
    true
}
fn default_flush_interval() -> Duration {
    Duration::secs(10)
}
fn default_metric_batch_size() -> usize {
    1000
}
fn default_metric_buffer_limit() -> usize {
    10_000
}
fn default_spool_max_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_spool_max_age() -> Duration {
    Duration::secs(24 * 3600)
}
fn default_metrics_listen() -> String {
    "127.0.0.1:9273".into()
}

impl Default for AgentConfig {
    fn default() -> Self {
        // An empty `[agent]` table: every field takes its default.
        AgentConfig {
            interval: default_interval(),
            round_interval: default_round_interval(),
            collection_jitter: Duration::default(),
            flush_interval: default_flush_interval(),
            flush_jitter: Duration::default(),
            metric_batch_size: default_metric_batch_size(),
            metric_buffer_limit: default_metric_buffer_limit(),
            precision: Duration::default(),
            hostname: String::new(),
            omit_hostname: false,
            spool_dir: None,
            spool_max_bytes: default_spool_max_bytes(),
            spool_max_age: default_spool_max_age(),
            metrics_listen: default_metrics_listen(),
        }
    }
}

impl AgentConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &str, d: Duration| {
            if d.0.is_zero() {
                Err(ConfigError::invalid(
                    format!("agent.{key}"),
                    "a duration above zero",
                    "0s",
                ))
            } else {
                Ok(())
            }
        };
        positive("interval", self.interval)?;
        positive("flush_interval", self.flush_interval)?;
        if self.metric_batch_size == 0 {
            return Err(ConfigError::invalid("agent.metric_batch_size", "at least 1", "0"));
        }
        if self.metric_buffer_limit < self.metric_batch_size {
            return Err(ConfigError::invalid(
                "agent.metric_buffer_limit",
                format!("at least metric_batch_size ({})", self.metric_batch_size),
                self.metric_buffer_limit.to_string(),
            ));
        }
        if !self.metrics_listen.is_empty() && self.metrics_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                "agent.metrics_listen",
                "HOST:PORT with an IP address, or \"\" to turn it off",
                format!("{:?}", self.metrics_listen),
            ));
        }
        Ok(())
    }

    /// The timestamp precision in nanoseconds: `precision`, or Telegraf's choice from the interval.
    pub fn precision_ns(&self) -> i64 {
        let p = if self.precision.0.is_zero() {
            let i = self.interval.0;
            [1_000_000_000u64, 1_000_000, 1_000]
                .into_iter()
                .find(|&unit| i.as_nanos() >= unit as u128)
                .unwrap_or(1)
        } else {
            self.precision.0.as_nanos().min(i64::MAX as u128) as u64
        };
        p as i64
    }
}
