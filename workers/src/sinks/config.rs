//! The `[[sinks]]` table: `type` picks the sink, `name` names its consumer group.

use std::sync::Arc;

use serde::Deserialize;

use super::file::{FileSink, FileWriter};
use super::http::{HttpConfig, HttpSink};
use super::postgres::{PostgresOffsets, PostgresSink};
use super::prometheus::{LatestValues, LatestValuesCollector, PrometheusConfig, PrometheusSink};
use super::remote_write::{RemoteWriteConfig, RemoteWriteSink};
use super::stdout::StdoutSink;
use super::{FileConfig, PostgresConfig, Sink, StdoutConfig, StoredOffsets};

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    Stdout(StdoutConfig),
    File(FileConfig),
    Http(HttpConfig),
    Prometheus(PrometheusConfig),
    Postgres(PostgresConfig),
    #[serde(rename = "remote_write")]
    RemoteWrite(RemoteWriteConfig),
}

/// Builds one sink per consumer instance; sinks with shared state (prometheus) share it.
pub type SinkFactory = Arc<dyn Fn() -> Box<dyn Sink> + Send + Sync>;

/// A sink setting that is well-formed TOML but cannot work: (key, what was expected, what was given).
pub type SinkConfigError = (String, String, String);

impl SinkConfig {
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::Stdout(c) => &c.name,
            SinkConfig::File(c) => &c.name,
            SinkConfig::Http(c) => &c.name,
            SinkConfig::Prometheus(c) => &c.name,
            SinkConfig::Postgres(c) => &c.name,
            SinkConfig::RemoteWrite(c) => &c.name,
        }
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), SinkConfigError> {
        match self {
            SinkConfig::Http(c) => c.validate(),
            SinkConfig::RemoteWrite(c) => c.validate(),
            _ => Ok(()),
        }
    }

    /// Where the sink keeps its consumers' offsets itself (exactly-once): the postgres sink, in
    /// its offsets table. `None`: Kafka's committed offsets alone say where to start
    /// (at-least-once).
    pub fn stored_offsets(&self) -> Option<Arc<dyn StoredOffsets>> {
        match self {
            SinkConfig::Postgres(c) => Some(Arc::new(PostgresOffsets::new(c))),
            _ => None,
        }
    }

    /// One sink on its own, outside a worker (benchmarks, tests): a prometheus sink gets a
    /// registry of its own that nothing serves.
    pub fn build(&self) -> Box<dyn Sink> {
        let factory = self
            .open(&prometheus::Registry::new())
            .expect("a fresh registry takes any one collector");
        factory()
    }

    /// Prepares the sink once per process: shared state is created and, for the prometheus
    /// sink, registered in `registry` (the worker's `/metrics`).
    pub fn open(&self, registry: &prometheus::Registry) -> Result<SinkFactory, prometheus::Error> {
        Ok(match self {
            SinkConfig::Stdout(c) => {
                let c = c.clone();
                Arc::new(move || Box::new(StdoutSink::new(&c)))
            }
            SinkConfig::File(c) => {
                let c = c.clone();
                let writer = FileWriter::new(&c);
                Arc::new(move || Box::new(FileSink::sharing(writer.clone(), &c)))
            }
            SinkConfig::Http(c) => {
                let c = c.clone();
                Arc::new(move || Box::new(HttpSink::new(&c)))
            }
            SinkConfig::Postgres(c) => {
                let c = c.clone();
                Arc::new(move || Box::new(PostgresSink::new(&c)))
            }
            SinkConfig::RemoteWrite(c) => {
                let c = c.clone();
                Arc::new(move || Box::new(RemoteWriteSink::new(&c)))
            }
            SinkConfig::Prometheus(c) => {
                let values = LatestValues::new(c.expiration_interval);
                registry.register(Box::new(LatestValuesCollector(values.clone())))?;
                Arc::new(move || Box::new(PrometheusSink::new(values.clone())))
            }
        })
    }
}

/// The example of a sink of `kind` that `config/workers.toml` holds commented out (it needs a
/// server to run), uncommented: what a user gets by removing the `#`s.
#[cfg(test)]
pub(crate) fn commented_example(kind: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/workers.toml");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let Some(start) = text.find(&format!("# [[sinks]]\n# type = \"{kind}\"")) else {
        panic!("config/workers.toml has no commented {kind} example");
    };
    text[start..]
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{}\n", l.trim_start_matches('#')))
        .collect()
}
