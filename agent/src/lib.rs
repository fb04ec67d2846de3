//! The collector: inputs (cpu, mem) → batches → Kafka output, with a spool for broker outages.

pub mod config;
pub mod filter;
pub mod inputs;
pub mod queue;
pub mod record;

pub use config::Config;
