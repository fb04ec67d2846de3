//! `type = "remote_write"`: each batch pushed to a Prometheus remote write 1.0 receiver
//! (Prometheus with `--web.enable-remote-write-receiver`, Mimir, Thanos Receive,
//! VictoriaMetrics, …) as one `POST` of a snappy-compressed `WriteRequest`.
//!
//! - Series are named as the prometheus sink names them (`cpu_usage_idle{cpu="cpu-total",
//!   host="web-1"}`), and each sample keeps the agent's own timestamp (in milliseconds), so a
//!   query sees when it was measured, not when it was sent.
//! - 2xx acknowledges the batch; a refused connection, a timeout, a 5xx or 429 is transient
//!   (retried with the worker's backoff, the offsets uncommitted); any other answer rejects the
//!   batch to the dead-letter topic, as the spec forbids retrying a 4xx.
//!
//! `config` reads the table, `request` turns a batch into series, `wire` holds the message
//! and its bytes, `sink` sends it.

mod config;
mod request;
mod sink;
pub mod wire;

pub use config::{Authorization, BasicAuth, RemoteWriteConfig};
pub use sink::RemoteWriteSink;
