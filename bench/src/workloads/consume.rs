//! The consume workload: a topic filled untimed ([`fill`], which Kafka's consumer perf tool
//! reads too), then read from the beginning by one librdkafka consumer.

use std::time::{Duration, Instant};

use anyhow::bail;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::produce::{produce, ProduceLoad};
use super::Figures;
use crate::broker::Broker;

/// Writes `count` records of `size` bytes into partition 0 of a new `topic`, untimed (acks=1,
/// one producer): what the consume workloads then read.
pub fn fill(broker: &Broker, topic: &str, count: u64, size: usize) -> anyhow::Result<()> {
    produce(
        broker,
        ProduceLoad {
            topic: topic.into(),
            partitions: 1,
            count,
            size,
            acks: "1",
            producers: 1,
            compression: "none",
        },
    )?;
    Ok(())
}

/// Fills `topic` (untimed), then reads its `count` records from the beginning of partition 0.
pub fn consume(broker: &Broker, topic: &str, count: u64, size: usize) -> anyhow::Result<Figures> {
    fill(broker, topic, count, size)?;
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", "sluice-bench")
        .set("enable.auto.commit", "false")
        // librdkafka pauses fetching for fetch.queue.backoff.ms (1 s) whenever its local queue
        // holds more than queued.min.messages; a broker that answers fast trips that often and
        // the pauses, not the broker, would set the figure. Same setting for every broker.
        .set("fetch.queue.backoff.ms", "10")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let cpu_before = broker.cpu_seconds()?;
    let start = Instant::now();
    // Throughput counts from the first record: the time before it is the consumer's start-up
    // (metadata, offset lookup, group machinery), reported on its own line.
    let mut first: Option<Instant> = None;
    let mut n = 0u64;
    while n < count {
        match consumer.poll(Duration::from_secs(10)) {
            Some(Ok(_)) => {
                first.get_or_insert_with(Instant::now);
                n += 1
            }
            Some(Err(e)) => bail!("consume failed: {e}"),
            None => bail!("{}: consumer stalled at {n} of {count}", broker.name),
        }
    }
    let first = first.unwrap_or(start);
    eprintln!("{}: first record after {:?}", broker.name, first - start);
    let elapsed = first.elapsed().as_secs_f64();
    let cpu = broker.cpu_seconds()? - cpu_before;
    // Closing a consumer that has a group.id waits for the group to be left; not measured.
    std::mem::forget(consumer);
    Ok(Figures {
        records_per_sec: count as f64 / elapsed,
        mb_per_sec: (count * size as u64) as f64 / elapsed / 1e6,
        broker_cpu_us_per_record: cpu * 1e6 / count as f64,
        latency: None,
    })
}
