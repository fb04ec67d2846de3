//! What the workers' end-to-end tests share: a broker, a worker config, reading a topic back.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

pub const PARTITIONS: i32 = 1;

pub async fn broker() -> (broker::RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.groups.initial_rebalance_delay = Duration::ZERO;
    let running = broker::start(config).await.unwrap();
    running.ensure_topic("metrics", PARTITIONS).unwrap();
    running.ensure_topic("metrics-dead-letter", 1).unwrap();
    (running, dir)
}

/// A worker config for `bootstrap` with the given `[[sinks]]` tables, fast batches and retries.
pub fn worker_config(bootstrap: &str, sinks: &str) -> workers::Config {
    let text = format!(
        "brokers = [\"{bootstrap}\"]\nmetrics_listen = \"127.0.0.1:0\"\nbatch_timeout = \"50ms\"\n\
         retry_initial_backoff = \"50ms\"\nretry_max_backoff = \"1s\"\n{sinks}"
    );
    let config = workers::Config::parse(&text).unwrap();
    config.validate().unwrap();
    config
}

pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub value: Vec<u8>,
    pub headers: HashMap<String, String>,
}

/// Every record of `topic` from the beginning, read until `count` arrived or `wait` passed.
pub fn read_topic(bootstrap: &str, topic: &str, partitions: i32, count: usize, wait: Duration) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "workers-test-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Consumed {
                partition: m.partition(),
                offset: m.offset(),
                value: m.payload().unwrap_or_default().to_vec(),
                headers,
            });
        }
    }
    out
}

/// The lines of a file ("" when it does not exist yet).
pub fn lines_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}
