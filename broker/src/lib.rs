//! sluice's bundled broker: a single-node broker that speaks the Kafka wire protocol.
//!
//! Work in progress; see the module docs.

pub mod codec;
pub mod log;
