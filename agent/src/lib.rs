//! The collector: a Telegraf-style agent that samples CPU and memory and produces the samples
//! into a Kafka topic. It owns inputs, batching, delivery and the spool; it knows nothing of
//! the broker beyond the Kafka protocol (through librdkafka).
//!
//! # Layout
//!
//! - [`config`]: `config/agent.toml`, a subset of Telegraf's config.
//! - [`inputs`]: one file per input (`cpu`, `mem`), each reading `/proc` into
//!   [`model::Metric`]s with Telegraf's names.
//! - [`scheduler`]: the gather loop; tags, timestamps, encoding ([`record`]), into the queue.
//! - [`queue`]: the bounded memory buffer or the on-disk spool; numbering, drop-oldest.
//! - [`flusher`] and [`output`]: batches out to Kafka, each acknowledged before the next.
//! - [`self_metrics`]: the agent's own metrics, served on 127.0.0.1:9273 by `metrics-endpoint`.
//!
//! A sample travels: input → scheduler (host and global tags, precision, encoding) → queue
//! (sequence number; spool on disk) → flusher (batch) → librdkafka → broker acknowledgement →
//! queue ack (the spool forgets it).

// Outside tests nothing unwraps, expects or panics: a failure is an error value. The few
// `expect`s left are on constants, each allowed where it stands, with its reason.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod config;
pub mod filter;
mod flusher;
pub mod inputs;
pub mod output;
pub mod queue;
pub mod record;
mod runner;
pub mod scheduler;
pub mod self_metrics;
mod shared;

pub use config::Config;
pub use runner::{hostname, once, run, test, AgentError};
