//! The produce workloads: `producers` librdkafka producers, each on its own thread, sending as
//! fast as the broker takes records, and counting the deliveries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use super::Figures;
use crate::broker::{create_topic, Broker};

#[derive(Default)]
struct Deliveries {
    ok: AtomicU64,
    failed: AtomicU64,
}

struct CountingContext(Arc<Deliveries>);

impl ClientContext for CountingContext {}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = if result.is_ok() { &self.0.ok } else { &self.0.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What one produce workload sends.
#[derive(Clone)]
pub struct ProduceLoad {
    pub topic: String,
    pub partitions: i32,
    pub count: u64,
    pub size: usize,
    pub acks: &'static str,
    pub producers: u64,
    pub compression: &'static str,
}

/// Produces `count` records of `size` bytes as fast as `producers` librdkafka producers, each on
/// its own thread, take them.
pub fn produce(broker: &Broker, load: ProduceLoad) -> anyhow::Result<Figures> {
    create_topic(broker, &load.topic, load.partitions)?;
    let deliveries = Arc::new(Deliveries::default());
    let cpu_before = broker.cpu_seconds()?;
    let start = Instant::now();
    let threads: Vec<_> = (0..load.producers)
        .map(|i| {
            let (client, deliveries, load) = (broker.client(), deliveries.clone(), load.clone());
            let share = load.count / load.producers + u64::from(i < load.count % load.producers);
            std::thread::spawn(move || produce_share(client, load, share, deliveries))
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = broker.cpu_seconds()? - cpu_before;
    let (count, size) = (load.count, load.size);
    let failed = deliveries.failed.load(Ordering::Relaxed);
    if failed > 0 || deliveries.ok.load(Ordering::Relaxed) != count {
        bail!("{}: {failed} of {count} records failed", broker.name);
    }
    Ok(Figures {
        records_per_sec: count as f64 / elapsed,
        mb_per_sec: (count * size as u64) as f64 / elapsed / 1e6,
        broker_cpu_us_per_record: cpu * 1e6 / count as f64,
        latency: None,
    })
}

fn produce_share(
    mut client: ClientConfig,
    load: ProduceLoad,
    count: u64,
    deliveries: Arc<Deliveries>,
) -> anyhow::Result<()> {
    let ProduceLoad {
        topic,
        partitions,
        size,
        acks,
        compression,
        ..
    } = load;
    let topic = topic.as_str();
    let producer: BaseProducer<CountingContext> = client
        .set("acks", acks)
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151")
        .set("compression.codec", compression)
        .create_with_context(CountingContext(deliveries))?;
    let payload = vec![b'x'; size];
    for i in 0..count {
        let partition = (i % partitions as u64) as i32;
        let mut record = BaseRecord::<[u8], [u8]>::to(topic)
            .payload(&payload[..])
            .partition(partition);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => bail!("send failed: {e}"),
            }
        }
        if i % 4096 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}
