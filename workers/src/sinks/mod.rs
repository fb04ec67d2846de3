//! Sinks: one per file, each behind the [`Sink`] trait and configured by one `[[sinks]]` table
//! whose `type` picks it ([`SinkConfig`]).

mod config;
mod file;
mod format;
mod postgres;
mod sink;
mod stdout;

pub use config::SinkConfig;
pub use file::FileConfig;
pub use format::Format;
pub use postgres::{PostgresConfig, TagsAs};
pub use sink::{Sink, SinkError, SinkFuture};
pub use stdout::StdoutConfig;
