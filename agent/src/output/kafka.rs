//! `[[outputs.kafka]]`: an idempotent librdkafka producer, acks=all by default.
//!
//! `message.timeout.ms` is 0 (never): librdkafka keeps retrying a record until the broker takes
//! it, so it never drops a sample on its own. The agent sends one batch at a time and waits for
//! it, so at most one batch lives inside librdkafka; everything else waits in the buffer or
//! spool, whose bounds decide (and count) what is dropped during a long outage.
//!
//! Each record is keyed by the `routing_tag` value (default `host`: one host's samples stay in
//! order in one partition) and carries the headers `sluice-agent` (the host id), `sluice-seq`
//! (the per-agent sequence number) and `sluice-time` (sample time, ns since the epoch), so a
//! consumer can detect gaps. The Kafka timestamp is the sample time too.

use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer, PurgeConfig};

use crate::config::KafkaConfig;
use crate::record::Record;

pub const HEADER_AGENT: &str = "sluice-agent";
pub const HEADER_SEQ: &str = "sluice-seq";
pub const HEADER_TIME: &str = "sluice-time";

/// librdkafka's logs and errors, at the agent's log levels: an unreachable broker is expected
/// trouble that the flusher reports once per outage, so librdkafka's per-attempt complaints
/// about it go to DEBUG; other errors are WARN.
struct AgentContext;

impl ClientContext for AgentContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Debug | RDKafkaLogLevel::Info | RDKafkaLogLevel::Notice => {
                tracing::trace!(target: "librdkafka", "{fac} {message}")
            }
            _ => tracing::debug!(target: "librdkafka", "{fac} {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure) => {
                tracing::debug!(target: "librdkafka", "{error}: {reason}")
            }
            _ => tracing::warn!(target: "librdkafka", "{error}: {reason}"),
        }
    }
}

pub struct KafkaOutput {
    producer: FutureProducer<AgentContext>,
    topic: String,
    agent_id: String,
}

/// What became of one record of a batch.
#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// The broker will never take it (too large): drop it and count it.
    Rejected(KafkaError),
    /// Not delivered this time; send it again.
    Failed(KafkaError),
}

impl KafkaOutput {
    /// `message_timeout`: `None` for the agent (never time out); `--once` sets one.
    pub fn new(config: &KafkaConfig, agent_id: &str, message_timeout: Option<Duration>) -> Result<Self, KafkaError> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", config.brokers.join(","))
            .set("client.id", &config.client_id)
            .set("acks", config.required_acks.to_string())
            .set("compression.codec", config.compression_codec.librdkafka_name())
            .set("message.max.bytes", config.max_message_bytes.to_string())
            .set("enable.idempotence", config.idempotent().to_string())
            .set(
                "message.timeout.ms",
                message_timeout.map_or(0, |d| d.as_millis().max(1)).to_string(),
            )
            // The agent sends a batch at a time; waiting a few ms lets librdkafka pack it into
            // one request per partition.
            .set("linger.ms", "5")
            .set("reconnect.backoff.max.ms", "1000");
        for (k, v) in config.librdkafka_settings() {
            c.set(k, v);
        }
        Ok(KafkaOutput {
            producer: c.create_with_context(AgentContext)?,
            topic: config.topic.clone(),
            agent_id: agent_id.to_string(),
        })
    }

    /// Sends `batch` and waits for every acknowledgement; one outcome per record, in order.
    pub async fn send(&self, batch: &[Record]) -> Vec<Outcome> {
        let mut pending = Vec::with_capacity(batch.len());
        for r in batch {
            let seq = r.seq.to_string();
            let time = r.timestamp.to_string();
            let headers = OwnedHeaders::new_with_capacity(3)
                .insert(Header {
                    key: HEADER_AGENT,
                    value: Some(self.agent_id.as_bytes()),
                })
                .insert(Header {
                    key: HEADER_SEQ,
                    value: Some(seq.as_bytes()),
                })
                .insert(Header {
                    key: HEADER_TIME,
                    value: Some(time.as_bytes()),
                });
            let mut record = FutureRecord::<str, [u8]>::to(&self.topic)
                .payload(r.value.as_slice())
                .headers(headers)
                .timestamp(r.timestamp.div_euclid(1_000_000));
            if let Some(key) = r.key.as_deref() {
                record = record.key(key);
            }
            pending.push(self.producer.send_result(record).map_err(|(e, _)| e));
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for p in pending {
            let outcome = match p {
                Err(e) => Outcome::Failed(e),
                Ok(future) => match future.await {
                    Ok(Ok(_)) => Outcome::Delivered,
                    Ok(Err((e, _))) if is_permanent(&e) => Outcome::Rejected(e),
                    Ok(Err((e, _))) => Outcome::Failed(e),
                    Err(_) => Outcome::Failed(KafkaError::Canceled),
                },
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Drops what librdkafka still holds (at shutdown, when the broker cannot be reached), so
    /// the pending deliveries resolve as failed.
    pub fn purge(&self) {
        self.producer.purge(PurgeConfig::default().queue().inflight());
    }

    /// librdkafka's fatal error, after which this producer cannot send again (idempotence
    /// broken, for example); the caller makes a new one.
    pub fn fatal_error(&self) -> Option<String> {
        self.producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code}: {reason}"))
    }
}

fn is_permanent(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize)
    )
}
