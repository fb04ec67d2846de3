//! The dead-letter topic: records that can never be decoded or that a sink rejected for good,
//! sent as they came (key, value, headers) plus headers saying why, for which sink, and where
//! they were read from.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::config::Config;

pub const HEADER_REASON: &str = "sluice-dlq-reason";
pub const HEADER_SINK: &str = "sluice-dlq-sink";
pub const HEADER_TOPIC: &str = "sluice-dlq-topic";
pub const HEADER_PARTITION: &str = "sluice-dlq-partition";
pub const HEADER_OFFSET: &str = "sluice-dlq-offset";

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetters {
    /// A producer to `config.dead_letter_topic`, connecting as the sinks' consumers do.
    pub fn new(config: &Config) -> Result<Self, KafkaError> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", config.brokers.join(","))
            .set("client.id", "sluice-worker-dead-letter");
        config.security().apply(&mut c);
        config.librdkafka.apply(&mut c);
        // A dead letter is acknowledged by every replica before its offset is committed.
        let producer = c.set("acks", "all").set("message.timeout.ms", "30000").create()?;
        Ok(DeadLetters {
            producer,
            topic: config.dead_letter_topic.clone(),
        })
    }

    /// Sends `record` with the reason and waits for the broker's acknowledgement: its offset
    /// is committed only after that.
    pub async fn send(&self, record: &OwnedMessage, sink: &str, reason: &str) -> Result<(), KafkaError> {
        let mut headers = OwnedHeaders::new();
        if let Some(original) = record.headers() {
            for h in original.iter() {
                headers = headers.insert(h);
            }
        }
        let partition = record.partition().to_string();
        let offset = record.offset().to_string();
        for (key, value) in [
            (HEADER_REASON, reason),
            (HEADER_SINK, sink),
            (HEADER_TOPIC, record.topic()),
            (HEADER_PARTITION, &partition),
            (HEADER_OFFSET, &offset),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        let mut out = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(key) = record.key() {
            out = out.key(key);
        }
        if let Some(value) = record.payload() {
            out = out.payload(value);
        }
        self.producer
            .send(out, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(e, _)| e)
    }
}
