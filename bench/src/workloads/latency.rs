//! The latency workload: records produced at a fixed rate, each carrying its send time, and
//! consumed as they arrive; the figures are percentiles of send → receive.

use std::time::{Duration, Instant};

use anyhow::bail;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use super::Figures;
use crate::broker::{create_topic, Broker};

/// Produces at a fixed rate and measures send→receive time per record (p50, p99, p99.9, max in ms).
pub fn latency(broker: &Broker, topic: &str, rate: u64, seconds: u64) -> anyhow::Result<Figures> {
    create_topic(broker, topic, 1)?;
    let consumer: BaseConsumer = broker
        .client()
        .set("group.id", "sluice-bench-latency")
        // Commits are not what is measured.
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "500")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let producer: BaseProducer = broker.client().set("acks", "1").set("linger.ms", "0").create()?;
    // Warm up: the consumer must be fetching before the clock starts, or the first records
    // measure the consumer's start-up (metadata, offset lookup) instead of the broker.
    producer
        .send(BaseRecord::<[u8], [u8]>::to(topic).payload(&b"warm-up"[..]))
        .map_err(|(e, _)| e)?;
    producer.flush(Duration::from_secs(10))?;
    match consumer.poll(Duration::from_secs(30)) {
        Some(Ok(_)) => {}
        other => bail!(
            "{}: warm-up record not consumed: {:?}",
            broker.name,
            other.map(|r| r.map(|_| ()))
        ),
    }
    let base = Instant::now();
    let total = rate * seconds;
    let cpu_before = broker.cpu_seconds()?;
    let topic_owned = topic.to_string();
    let sender = std::thread::spawn(move || -> anyhow::Result<()> {
        // 1 ms ticks: rate/1000 records each, sent at their scheduled time.
        let per_tick = (rate / 1000).max(1);
        let mut sent = 0u64;
        let mut tick = 0u64;
        while sent < total {
            let due = Duration::from_micros(tick * 1000);
            if let Some(wait) = due.checked_sub(base.elapsed()) {
                std::thread::sleep(wait);
            }
            for _ in 0..per_tick.min(total - sent) {
                let stamp = (base.elapsed().as_nanos() as u64).to_be_bytes();
                producer
                    .send(BaseRecord::<[u8], [u8]>::to(&topic_owned).payload(&stamp[..]))
                    .map_err(|(e, _)| e)?;
                sent += 1;
            }
            producer.poll(Duration::ZERO);
            tick += 1;
        }
        producer.flush(Duration::from_secs(30))?;
        Ok(())
    });
    let mut samples = Vec::with_capacity(total as usize);
    let mut last_record = Instant::now();
    while (samples.len() as u64) < total {
        // `poll` also returns None after serving a non-message event (a commit result, an
        // error callback), so a stall is 10 s without a record, not one empty poll.
        if last_record.elapsed() > Duration::from_secs(10) {
            // A sender that failed (queue full, broker error) explains the stall better.
            if sender.is_finished() {
                sender.join().map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
            }
            bail!("{}: latency consumer stalled at {}", broker.name, samples.len());
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let now = base.elapsed().as_nanos() as u64;
                let stamp = m
                    .payload()
                    .and_then(|p| p.try_into().ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(now);
                samples.push((now.saturating_sub(stamp)) as f64 / 1e6);
                last_record = Instant::now();
            }
            Some(Err(e)) => bail!("latency consumer failed: {e}"),
            None => {}
        }
    }
    sender.join().map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
    let cpu = broker.cpu_seconds()? - cpu_before;
    std::mem::forget(consumer);
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    Ok(Figures {
        records_per_sec: rate as f64,
        mb_per_sec: 0.0,
        broker_cpu_us_per_record: cpu * 1e6 / total as f64,
        latency: Some([pct(0.50), pct(0.99), pct(0.999), samples[samples.len() - 1]]),
    })
}
