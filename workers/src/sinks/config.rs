//! The `[[sinks]]` table: `type` picks the sink, `name` names its consumer group.

use serde::Deserialize;

use super::file::FileSink;
use super::postgres::PostgresSink;
use super::stdout::StdoutSink;
use super::{FileConfig, PostgresConfig, Sink, StdoutConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    Stdout(StdoutConfig),
    File(FileConfig),
    Postgres(PostgresConfig),
}

impl SinkConfig {
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::Stdout(c) => &c.name,
            SinkConfig::File(c) => &c.name,
            SinkConfig::Postgres(c) => &c.name,
        }
    }

    /// A fresh sink (one per consumer instance).
    pub fn build(&self) -> Box<dyn Sink> {
        match self {
            SinkConfig::Stdout(c) => Box::new(StdoutSink::new(c)),
            SinkConfig::File(c) => Box::new(FileSink::new(c)),
            SinkConfig::Postgres(c) => Box::new(PostgresSink::new(c)),
        }
    }
}
