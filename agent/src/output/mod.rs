//! Outputs. Kafka is the only one: sluice's pipeline is Kafka-wire end to end.

mod kafka;

pub use kafka::{KafkaOutput, Outcome};

/// The headers every record carries.
pub mod kafka_headers {
    pub use super::kafka::{HEADER_AGENT as AGENT, HEADER_SEQ as SEQ, HEADER_TIME as TIME};
}
