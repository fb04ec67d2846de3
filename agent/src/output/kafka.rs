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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig};

use crate::config::KafkaConfig;
use crate::record::Record;

use model::headers;

/// Longest pause between two polls for acknowledgements while a batch is in flight.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(100);

/// librdkafka's logs, errors and delivery reports.
///
/// Logs and errors go to the agent's log levels: an unreachable broker is expected trouble that
/// the flusher reports once per outage, so librdkafka's per-attempt complaints about it go to
/// DEBUG; other errors are WARN. Delivery reports are collected by sequence number for
/// [`KafkaOutput::send`], which polls for them itself: rdkafka's polling thread (behind
/// `FutureProducer`) wakes ten times a second and spins through the last millisecond of each
/// wait (it rounds the remaining timeout down to whole milliseconds), about 1 % of a core on
/// an idle agent.
struct AgentContext {
    /// Outcomes by seq. A std mutex: held for a push or a drain, never across an `.await`.
    delivered: Mutex<Vec<(u64, Result<(), KafkaError>)>>,
}

impl ClientContext for AgentContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        kafka_client::librdkafka_log::log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if kafka_client::librdkafka_log::is_unreachable(&error) {
            tracing::debug!(target: "librdkafka", "{error}: {reason}")
        } else {
            tracing::warn!(target: "librdkafka", "{error}: {reason}")
        }
    }
}

impl ProducerContext for AgentContext {
    /// The record's sequence number.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let outcome = result.as_ref().map(|_| ()).map_err(|(e, _)| e.clone());
        self.delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((seq as u64, outcome));
    }
}

pub struct KafkaOutput {
    producer: BaseProducer<AgentContext>,
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
        config.security().apply(&mut c);
        for (k, v) in config.librdkafka.settings() {
            c.set(k, v);
        }
        let context = AgentContext {
            delivered: Mutex::new(Vec::new()),
        };
        Ok(KafkaOutput {
            producer: c.create_with_context(context)?,
            topic: config.topic.clone(),
            agent_id: agent_id.to_string(),
        })
    }

    /// Sends `batch` and waits for every acknowledgement; one outcome per record, in order.
    pub async fn send(&self, batch: &[Record]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = batch.iter().map(|_| None).collect();
        let mut index: HashMap<u64, usize> = HashMap::with_capacity(batch.len());
        for (i, r) in batch.iter().enumerate() {
            match self.producer.send(self.base_record(r)) {
                Ok(()) => {
                    index.insert(r.seq, i);
                }
                Err((e, _)) => outcomes[i] = Some(Outcome::Failed(e)),
            }
        }
        let mut pause = Duration::from_millis(1);
        while !index.is_empty() {
            self.poll();
            let delivered = std::mem::take(
                &mut *self
                    .producer
                    .context()
                    .delivered
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            );
            for (seq, result) in delivered {
                // A report for a record not in this batch (an earlier, abandoned one) is ignored.
                let Some(i) = index.remove(&seq) else { continue };
                outcomes[i] = Some(match result {
                    Ok(()) => Outcome::Delivered,
                    Err(e) if is_permanent(&e) => Outcome::Rejected(e),
                    Err(e) => Outcome::Failed(e),
                });
            }
            if index.is_empty() {
                break;
            }
            // Acknowledgements usually come within milliseconds; back off during an outage.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL_PAUSE);
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Failed(KafkaError::Canceled)))
            .collect()
    }

    fn base_record<'a>(&'a self, r: &'a Record) -> BaseRecord<'a, str, [u8], usize> {
        let seq = r.seq.to_string();
        let time = r.timestamp.to_string();
        let headers = OwnedHeaders::new_with_capacity(3)
            .insert(Header {
                key: headers::AGENT,
                value: Some(self.agent_id.as_bytes()),
            })
            .insert(Header {
                key: headers::SEQ,
                value: Some(seq.as_bytes()),
            })
            .insert(Header {
                key: headers::TIME,
                value: Some(time.as_bytes()),
            });
        let mut record = BaseRecord::with_opaque_to(&self.topic, r.seq as usize)
            .payload(r.value.as_slice())
            .headers(headers)
            .timestamp(r.timestamp.div_euclid(1_000_000));
        if let Some(key) = r.key.as_deref() {
            record = record.key(key);
        }
        record
    }

    /// Serves librdkafka's event queue without blocking: delivery reports, logs, errors.
    /// Each zero-timeout poll takes at most one event, so a few are taken in a row.
    fn poll(&self) {
        for _ in 0..16 {
            self.producer.poll(Duration::ZERO);
        }
    }

    /// Drops what librdkafka still holds (at shutdown, when the broker cannot be reached), so
    /// the pending deliveries resolve as failed.
    pub fn purge(&self) {
        self.producer.purge(PurgeConfig::default().queue().inflight());
    }

    /// librdkafka's fatal error, after which this producer cannot send again (idempotence
    /// broken, for example).
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
