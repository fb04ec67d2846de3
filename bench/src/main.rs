//! `sluice-bench`: the same librdkafka workloads against `sluice broker` and peer brokers
//! (Tansu; Apache Kafka as it ships and fsyncing every append), one after the other in one run,
//! so the machine's noise hits all alike.
//!
//! Each broker runs as its own process; its CPU time is read from `/proc/<pid>/stat` around
//! every workload, so "broker CPU per record" excludes the client's work. Workloads:
//!
//! 1. produce 100-byte records, acks=1, one partition
//! 2. produce 100-byte records, acks=all, one partition (sluice fsyncs before answering)
//! 3. produce 1 KB records, acks=1, six partitions
//! 4. consume workload 1's topic from the beginning
//! 5. produce→consume latency at a fixed rate (10,000 records/s by default)
//!
//! With `--kafka`, also Kafka's own `kafka-producer-perf-test` and `kafka-consumer-perf-test` at
//! 100-byte and 1 KiB records against every broker (kafka.rs), and the floors against
//! Kafka under the table.
//!
//! The clients run on mimalloc, which also serves librdkafka's C allocations: with glibc's
//! malloc a single consumer stalls on an arena lock shared by librdkafka's fetch and poll
//! threads, and the faster the broker answers, the more the two overlap (BENCHMARKS.md).
//! Build with `--no-default-features` to measure with glibc's malloc.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod kafka;
mod secure;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator of this process, which is the clients' (named under the table).
const CLIENT_ALLOCATOR: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "glibc malloc"
};

use anyhow::{bail, Context};
use clap::Parser;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

#[derive(Parser)]
#[command(about = "Benchmark sluice broker against a peer broker with librdkafka workloads")]
struct Args {
    /// The sluice binary (release build).
    #[arg(long, default_value = "target/release/sluice")]
    sluice: PathBuf,
    /// A Tansu binary to compare against (memory storage); omit to bench sluice alone.
    #[arg(long, conflicts_with = "sasl_ssl")]
    tansu: Option<PathBuf>,
    /// The Kafka fixture script (tests/kafka/kafka.sh): compare against Apache Kafka, one KRaft
    /// node as it ships and one with log.flush.interval.messages=1, and add Kafka's perf tools
    /// to the workloads.
    #[arg(long)]
    kafka: Option<PathBuf>,
    /// KAFKA_HEAP_OPTS of the Kafka brokers (Kafka's own start script uses -Xmx1G -Xms1G).
    #[arg(long, default_value = "-Xmx1G -Xms1G")]
    kafka_heap: String,
    /// Compare sluice over PLAINTEXT with a second sluice broker over SASL_SSL (TLS with
    /// SCRAM-SHA-256, the certificate and user made for the run) instead of with Tansu.
    #[arg(long)]
    sasl_ssl: bool,
    /// Records in each 100-byte produce workload.
    #[arg(long, default_value_t = 2_000_000)]
    small_records: u64,
    /// Records in the 1 KB six-partition workload.
    #[arg(long, default_value_t = 500_000)]
    large_records: u64,
    /// librdkafka's `compression.codec` for the produce workloads (none, gzip, snappy, lz4,
    /// zstd); the records are 'x' repeated, so they compress far better than real ones.
    #[arg(long, default_value = "none")]
    compression: String,
    /// Producer instances (one thread each) in the produce workloads; the same for every broker.
    #[arg(long, default_value_t = 1)]
    producers: u64,
    /// Rounds of every workload; the table shows each broker's median round.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Run only the workloads whose name contains one of these words (e.g. `--only consume`).
    #[arg(long)]
    only: Vec<String>,
    /// Rate of the latency workload, records per second.
    #[arg(long, default_value_t = 10_000)]
    latency_rate: u64,
    /// Length of the latency workload.
    #[arg(long, default_value = "10")]
    latency_seconds: u64,
}

/// One workload's figures on one broker.
#[derive(Clone, Default)]
struct Figures {
    records_per_sec: f64,
    mb_per_sec: f64,
    broker_cpu_us_per_record: f64,
    latency: Option<[f64; 4]>,
}

struct Broker {
    name: &'static str,
    process: Process,
    bootstrap: String,
    /// librdkafka settings every client of this broker needs (security).
    settings: Vec<(&'static str, String)>,
    started: Started,
    _dir: Option<TempDir>,
}

/// How a broker runs: a child of this process, or a Kafka node that kafka.sh launched.
enum Process {
    Child(Child),
    Kafka(kafka::Node),
}

/// How long a broker took to start, from its process's start.
struct Started {
    /// Until its Kafka port accepted a TCP connection.
    accepting: Duration,
    /// Until it said it was ready, and what it said (for brokers that log it).
    ready: Option<(Duration, &'static str)>,
}

/// A directory removed when dropped (no tempfile crate needed in a benchmark binary).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Broker {
    fn start_sluice(bin: &PathBuf) -> anyhow::Result<Broker> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("sluice-bench-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let spawned = Instant::now();
        let child = Command::new(bin)
            .args([
                "broker",
                "--config",
                "/dev/null",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--http-listen",
                "",
                "--data-dir",
            ])
            .arg(&dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Broker::ready("sluice", child, spawned, port, Some(TempDir(dir)))
    }

    fn start_tansu(bin: &PathBuf) -> anyhow::Result<Broker> {
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let spawned = Instant::now();
        let child = Command::new(bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Broker::ready("tansu", child, spawned, port, None)
    }

    /// Waits for a broker spawned at `spawned` to accept connections on `port` (polled every
    /// 5 ms, which is its start time's resolution).
    fn ready(
        name: &'static str,
        mut child: Child,
        spawned: Instant,
        port: u16,
        dir: Option<TempDir>,
    ) -> anyhow::Result<Broker> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait()? {
                bail!("{name} exited at start: {status}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{name} did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Broker {
            name,
            process: Process::Child(child),
            bootstrap: format!("127.0.0.1:{port}"),
            settings: Vec::new(),
            started: Started {
                accepting: spawned.elapsed(),
                ready: None,
            },
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        match &self.process {
            Process::Child(c) => c.id(),
            Process::Kafka(node) => node.pid,
        }
    }

    /// A client config for this broker: its address and security settings.
    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in &self.settings {
            c.set(*k, v);
        }
        c
    }

    /// User + system CPU seconds the broker process has used so far.
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(ticks as f64 / clock_ticks_per_second())
    }

    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // A Kafka node is stopped by its own Drop (kafka.sh stop).
        if let Process::Child(child) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn clock_ticks_per_second() -> f64 {
    // CLK_TCK is 100 on every Linux this runs on; `getconf` confirms it when available.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

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

fn create_topic(broker: &Broker, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = broker.client().create()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = rt.block_on(admin.create_topics(&[topic], &AdminOptions::new()))?;
    for r in results {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok(())
}

/// What one produce workload sends.
#[derive(Clone)]
struct ProduceLoad {
    topic: String,
    partitions: i32,
    count: u64,
    size: usize,
    acks: &'static str,
    producers: u64,
    compression: &'static str,
}

/// Produces `count` records of `size` bytes as fast as `producers` librdkafka producers, each on
/// its own thread, take them.
fn produce(broker: &Broker, load: ProduceLoad) -> anyhow::Result<Figures> {
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

/// Writes `count` records of `size` bytes into partition 0 of a new `topic`, untimed (acks=1,
/// one producer): what the consume workloads then read.
fn fill(broker: &Broker, topic: &str, count: u64, size: usize) -> anyhow::Result<()> {
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
fn consume(broker: &Broker, topic: &str, count: u64, size: usize) -> anyhow::Result<Figures> {
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

/// Produces at a fixed rate and measures send→receive time per record (p50, p99, p99.9, max in ms).
fn latency(broker: &Broker, topic: &str, rate: u64, seconds: u64) -> anyhow::Result<Figures> {
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

type Workload = (&'static str, Box<dyn Fn(&Broker, usize) -> anyhow::Result<Figures>>);

// Workload names that the floors against Kafka (kafka.rs) refer to.
const ACKS_ALL: &str = "produce 100 B, acks=all, 1 partition";
const LATENCY: &str = "latency at a fixed rate";
const PERF_PRODUCE_100: &str = "kafka-producer-perf-test 100 B, acks=all, 1 partition";
const PERF_PRODUCE_1K: &str = "kafka-producer-perf-test 1 KiB, acks=all, 1 partition";

fn workloads(args: &Args) -> Vec<Workload> {
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

/// The round whose headline figure is the median of all rounds (the upper median for an even
/// count); a failure in any round is reported instead.
fn median(mut rounds: Vec<Result<Figures, String>>) -> Result<Figures, String> {
    if let Some(failed) = rounds.iter().find(|r| r.is_err()) {
        return failed.clone();
    }
    let key = |f: &Figures| f.latency.map_or(-f.records_per_sec, |l| l[1]);
    rounds.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => key(a).total_cmp(&key(b)),
        _ => std::cmp::Ordering::Equal,
    });
    rounds.swap_remove(rounds.len() / 2)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut brokers = vec![Broker::start_sluice(&args.sluice)?];
    if let Some(tansu) = &args.tansu {
        brokers.push(Broker::start_tansu(tansu)?);
    }
    if args.sasl_ssl {
        brokers.push(secure::start(&args.sluice)?);
    }
    if let Some(script) = &args.kafka {
        for (i, setup) in kafka::SETUPS.iter().enumerate() {
            brokers.push(kafka::start(script, &args.kafka_heap, setup, i)?);
        }
    }
    for b in &brokers {
        eprintln!("{} started: {}", b.name, describe_start(&b.started));
    }
    let mut results: Vec<(&str, Vec<Result<Figures, String>>)> = Vec::new();
    for (name, run) in workloads(&args) {
        if !args.only.is_empty() && !args.only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let mut per_broker: Vec<Vec<Result<Figures, String>>> = brokers.iter().map(|_| Vec::new()).collect();
        for round in 0..args.rounds {
            // Alternate who goes first so drift in the machine's load does not favour one broker.
            let mut order: Vec<usize> = (0..brokers.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let b = &brokers[i];
                eprintln!("{name}: {} (round {}) …", b.name, round + 1);
                // A broker failing one workload is a result to report, not a reason to stop.
                let figures = run(b, round).map_err(|e| {
                    eprintln!("{name} on {}: {e:#}", b.name);
                    format!("failed: {e}")
                });
                // Every round on stderr, so an outlying median can be told from a slow round.
                if let Ok(f) = &figures {
                    eprintln!(
                        "  {}, broker CPU {:.2} µs/record",
                        describe(f),
                        f.broker_cpu_us_per_record
                    );
                }
                per_broker[i].push(figures);
            }
        }
        results.push((name, per_broker.into_iter().map(median).collect()));
    }
    print_table(&brokers, &results);
    kafka::print_floors(&brokers, &results);
    Ok(())
}

/// sluice ÷ peer: the ratio of throughputs, or of p99 latencies for the latency workload.
fn ratio(sluice: &Figures, peer: &Figures) -> f64 {
    match (sluice.latency, peer.latency) {
        (Some(s), Some(p)) => s[1] / p[1],
        _ => sluice.records_per_sec / peer.records_per_sec,
    }
}

fn describe_start(s: &Started) -> String {
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    let mut text = format!("port accepting after {}", ms(s.accepting));
    if let Some((d, what)) = s.ready {
        text += &format!(", {what} after {}", ms(d));
    }
    text
}

fn print_table(brokers: &[Broker], results: &[(&str, Vec<Result<Figures, String>>)]) {
    let names: Vec<&str> = brokers.iter().map(|b| b.name).collect();
    // A table row from its columns: workload, one per broker, one ratio per peer (the first
    // broker, sluice, ÷ that peer), broker CPU.
    let line = |columns: Vec<String>| println!("| {} |", columns.join(" | "));
    let mut header = vec!["workload".to_string()];
    header.extend(names.iter().map(|n| n.to_string()));
    header.extend(names[1..].iter().map(|p| format!("{} ÷ {p}", names[0])));
    header.push(format!("broker CPU µs/record ({})", names.join(" / ")));
    let columns = header.len();
    line(header);
    println!("|{}", "---|".repeat(columns));
    for (name, row) in results {
        let mut cells = vec![name.to_string()];
        cells.extend(row.iter().map(|r| r.as_ref().map_or_else(Clone::clone, describe)));
        cells.extend(row[1..].iter().map(|peer| match (&row[0], peer) {
            (Ok(s), Ok(p)) if s.latency.is_some() => format!("p99 {:.3}×", ratio(s, p)),
            (Ok(s), Ok(p)) => format!("{:.2}×", ratio(s, p)),
            _ => "–".into(),
        }));
        let cpu: Vec<String> = row
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or("–".into(), |f| format!("{:.2}", f.broker_cpu_us_per_record))
            })
            .collect();
        cells.push(cpu.join(" / "));
        line(cells);
    }
    println!();
    println!("clients' allocator: {CLIENT_ALLOCATOR}  ");
    for b in brokers {
        if let Some(rss) = b.peak_rss_mib() {
            println!("{} peak resident memory: {rss:.0} MiB  ", b.name);
        }
    }
    for b in brokers {
        println!("{} start (process start →): {}  ", b.name, describe_start(&b.started));
    }
}

fn describe(f: &Figures) -> String {
    match f.latency {
        Some([p50, p99, p999, max]) => {
            format!("p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {p999:.2} ms, max {max:.1} ms")
        }
        None => format!("{:.0} rec/s ({:.0} MB/s)", f.records_per_sec, f.mb_per_sec),
    }
}
