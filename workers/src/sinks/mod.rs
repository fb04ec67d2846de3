//! Sinks: one per file, each behind the [`Sink`] trait and configured by one `[[sinks]]` table
//! whose `type` picks it ([`SinkConfig`]).

mod config;
mod file;
mod format;
mod http;
mod postgres;
mod prometheus;
pub mod remote_write;
mod sink;
mod stdout;

pub use config::{SinkConfig, SinkFactory};
pub use file::FileConfig;
pub use format::Format;
pub use http::HttpConfig;
pub use postgres::{PostgresConfig, TagsAs};
pub use prometheus::{LatestValues, PrometheusConfig};
pub use remote_write::RemoteWriteConfig;
pub use sink::{Origin, Sink, SinkError, SinkFuture, StoredOffsets};
pub use stdout::StdoutConfig;
