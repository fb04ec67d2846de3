//! The workloads of a run, in the table's order ([`workloads`]), and what one yields on one
//! broker ([`Figures`]). librdkafka's workloads live in the submodules; Kafka's perf tools in
//! kafka.rs.

pub mod consume;
mod latency;
mod produce;

use crate::broker::Broker;
use crate::kafka;
use crate::Args;
use consume::consume;
use latency::latency;
use produce::{produce, ProduceLoad};

/// One workload's figures on one broker.
#[derive(Clone, Default)]
pub struct Figures {
    pub records_per_sec: f64,
    pub mb_per_sec: f64,
    pub broker_cpu_us_per_record: f64,
    pub latency: Option<[f64; 4]>,
}

pub type Workload = (&'static str, Box<dyn Fn(&Broker, usize) -> anyhow::Result<Figures>>);

// Workload names that the floors against Kafka (kafka.rs) refer to.
pub const ACKS_ALL: &str = "produce 100 B, acks=all, 1 partition";
pub const LATENCY: &str = "latency at a fixed rate";
pub const PERF_PRODUCE_100: &str = "kafka-producer-perf-test 100 B, acks=all, 1 partition";
pub const PERF_PRODUCE_1K: &str = "kafka-producer-perf-test 1 KiB, acks=all, 1 partition";

pub fn workloads(args: &Args) -> Vec<Workload> {
    let (small, large) = (args.small_records, args.large_records);
    let (rate, secs) = (args.latency_rate, args.latency_seconds);
    let producers = args.producers;
    // Leaked once so the workload closures stay Copy.
    let compression: &'static str = Box::leak(args.compression.clone().into_boxed_str());
    let load = move |topic: String, partitions, count, size, acks| ProduceLoad {
        topic,
        partitions,
        count,
        size,
        acks,
        producers,
        compression,
    };
    let mut all: Vec<Workload> = vec![
        (
            "produce 100 B, acks=1, 1 partition",
            Box::new(move |b, r| produce(b, load(format!("p100-acks1-{r}"), 1, small, 100, "1"))),
        ),
        (
            ACKS_ALL,
            Box::new(move |b, r| produce(b, load(format!("p100-acksall-{r}"), 1, small, 100, "all"))),
        ),
        (
            "produce 1 KB, acks=1, 6 partitions",
            Box::new(move |b, r| produce(b, load(format!("p1k-6-{r}"), 6, large, 1000, "1"))),
        ),
        (
            "consume 100 B records, 1 partition",
            Box::new(move |b, r| consume(b, &format!("consume-{r}"), small, 100)),
        ),
        (
            LATENCY,
            Box::new(move |b, r| latency(b, &format!("latency-{r}"), rate, secs)),
        ),
    ];
    if let Some(script) = &args.kafka {
        let s = script.clone();
        all.push((
            PERF_PRODUCE_100,
            Box::new(move |b, r| kafka::producer_perf(&s, b, &format!("perf-p100-{r}"), small, 100)),
        ));
        let s = script.clone();
        all.push((
            PERF_PRODUCE_1K,
            Box::new(move |b, r| kafka::producer_perf(&s, b, &format!("perf-p1k-{r}"), large, 1024)),
        ));
        let s = script.clone();
        all.push((
            "kafka-consumer-perf-test 100 B, 1 partition",
            Box::new(move |b, r| kafka::consumer_perf(&s, b, &format!("perf-c100-{r}"), small, 100)),
        ));
        let s = script.clone();
        all.push((
            "kafka-consumer-perf-test 1 KiB, 1 partition",
            Box::new(move |b, r| kafka::consumer_perf(&s, b, &format!("perf-c1k-{r}"), large, 1024)),
        ));
    }
    all
}
