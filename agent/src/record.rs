//! A record: one encoded metric on its way to Kafka, with what the headers carry.

use model::{json, line_protocol, Metric};

use crate::config::{DataFormat, KafkaConfig};

/// One metric, encoded, with its sequence number (assigned when it enters the buffer or spool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    /// Sample time, nanoseconds since the epoch.
    pub timestamp: i64,
    /// The record key: the value of `routing_tag`, if the metric has that tag.
    pub key: Option<String>,
    pub value: Vec<u8>,
}

/// Turns metrics into records in the configured `data_format`.
#[derive(Debug, Clone)]
pub struct Encoder {
    format: DataFormat,
    influx: line_protocol::Options,
    json_units_ns: i64,
    routing_tag: String,
}

impl Encoder {
    pub fn new(kafka: &KafkaConfig) -> Self {
        Encoder {
            format: kafka.data_format,
            influx: line_protocol::Options {
                uint_support: kafka.influx_uint_support,
            },
            json_units_ns: kafka.json_timestamp_units.0.as_nanos().clamp(1, i64::MAX as u128) as i64,
            routing_tag: kafka.routing_tag.clone(),
        }
    }

    /// The record for `metric`, with sequence number 0 until the buffer numbers it; `None` when
    /// the metric has nothing the format can carry.
    pub fn encode(&self, metric: &Metric) -> Option<Record> {
        let value = match self.format {
            DataFormat::Influx => line_protocol::encode(metric, self.influx)?.into_bytes(),
            DataFormat::Json => {
                let mut v = json::encode(metric, self.json_units_ns).into_bytes();
                v.push(b'\n');
                v
            }
        };
        Some(Record {
            seq: 0,
            timestamp: metric.timestamp,
            key: metric.tags.get(&self.routing_tag).cloned(),
            value,
        })
    }
}
