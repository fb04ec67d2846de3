//! Outputs. Kafka is the only one: sluice's pipeline is Kafka-wire end to end.

mod kafka;

pub use kafka::{KafkaOutput, Outcome};
