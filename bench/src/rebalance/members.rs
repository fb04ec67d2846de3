//! One round: the producer, the members on their threads, and what their consumption shows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

#[derive(Clone, Copy)]
pub enum Protocol {
    Eager,
    Cooperative,
    Consumer,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Eager, Protocol::Cooperative, Protocol::Consumer];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Eager => "classic, range (eager)",
            Protocol::Cooperative => "classic, cooperative-sticky",
            Protocol::Consumer => "consumer (KIP-848)",
        }
    }

    fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Protocol::Eager => &[
                ("group.protocol", "classic"),
                ("partition.assignment.strategy", "range"),
            ],
            Protocol::Cooperative => &[
                ("group.protocol", "classic"),
                ("partition.assignment.strategy", "cooperative-sticky"),
            ],
            Protocol::Consumer => &[("group.protocol", "consumer")],
        }
    }
}

/// What one round measured.
pub struct Round {
    pub settled: Duration,
    pub paused: usize,
    pub longest_pause: Duration,
    /// The median partition's longest gap: high when every partition stopped together.
    pub median_pause: Duration,
    pub steady_gap: Duration,
}

/// A gap longer than this counts as the partition having paused.
pub const PAUSED: Duration = Duration::from_millis(500);

struct Member {
    stop: Arc<AtomicBool>,
    assignment: Arc<Mutex<BTreeSet<i32>>>,
    thread: JoinHandle<Vec<(Duration, i32)>>,
}

/// `work`: what handling one record costs the member (a sink's write), spent after each one.
fn member(
    bootstrap: &str,
    (topic, group): (&str, &str),
    protocol: Protocol,
    epoch: Instant,
    work: Duration,
) -> anyhow::Result<Member> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("auto.commit.interval.ms", "1000");
    for (k, v) in protocol.settings() {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().context("a member")?;
    consumer.subscribe(&[topic])?;
    let stop = Arc::new(AtomicBool::new(false));
    let assignment = Arc::new(Mutex::new(BTreeSet::new()));
    let (stopping, held) = (stop.clone(), assignment.clone());
    let thread = std::thread::spawn(move || {
        let mut consumed = Vec::new();
        while !stopping.load(Ordering::Relaxed) {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(20)) {
                consumed.push((epoch.elapsed(), m.partition()));
                std::thread::sleep(work);
            }
            if let Ok(tpl) = consumer.assignment() {
                let now: BTreeSet<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                *held.lock().unwrap_or_else(|e| e.into_inner()) = now;
            }
        }
        consumer.unsubscribe();
        consumed
    });
    Ok(Member {
        stop,
        assignment,
        thread,
    })
}

/// Whether the members hold every partition, each an equal share (±1).
fn settled(members: &[Member], partitions: i32) -> bool {
    let held: Vec<BTreeSet<i32>> = members
        .iter()
        .map(|m| m.assignment.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .collect();
    let all: BTreeSet<i32> = held.iter().flatten().copied().collect();
    let total: usize = held.iter().map(BTreeSet::len).sum();
    let (min, max) = (
        held.iter().map(BTreeSet::len).min(),
        held.iter().map(BTreeSet::len).max(),
    );
    total == partitions as usize && all.len() == total && max.zip(min).is_some_and(|(a, b)| a - b <= 1)
}

fn wait_settled(members: &[Member], partitions: i32, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !settled(members, partitions) {
        if Instant::now() > deadline {
            bail!("{what}: the group did not settle within 120 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

pub fn run_round(
    bootstrap: &str,
    protocol: Protocol,
    (partitions, rate, work): (i32, u32, Duration),
    index: usize,
) -> anyhow::Result<Round> {
    let topic = format!("rebalance-{index}");
    let group = format!("rebalance-group-{index}");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let created = runtime.block_on(admin.create_topics(
        &[NewTopic::new(&topic, partitions, TopicReplication::Fixed(1))],
        &AdminOptions::new(),
    ))?;
    if let Some(Err((_, e))) = created.into_iter().next() {
        bail!("creating {topic}: {e}");
    }
    let epoch = Instant::now();
    let producing = Arc::new(AtomicBool::new(true));
    let producer = {
        let (producing, topic, bootstrap) = (producing.clone(), topic.clone(), bootstrap.to_string());
        std::thread::spawn(move || -> anyhow::Result<()> {
            let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("linger.ms", "5")
                .create()?;
            let payload = [b'x'; 100];
            let mut sent: u64 = 0;
            let started = Instant::now();
            while producing.load(Ordering::Relaxed) {
                let due = (started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
                while sent < due {
                    let partition = (sent % partitions as u64) as i32;
                    let record = BaseRecord::<(), _>::to(&topic)
                        .payload(&payload[..])
                        .partition(partition);
                    if producer.send(record).is_err() {
                        producer.poll(Duration::from_millis(10));
                        continue;
                    }
                    sent += 1;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            producer.flush(Duration::from_secs(10))?;
            Ok(())
        })
    };
    let mut members = Vec::new();
    for _ in 0..4 {
        members.push(member(bootstrap, (&topic, &group), protocol, epoch, work)?);
    }
    wait_settled(&members, partitions, "four members")?;
    std::thread::sleep(Duration::from_secs(3));
    let steady_from = epoch.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let joined = epoch.elapsed();
    let joining = Instant::now();
    members.push(member(bootstrap, (&topic, &group), protocol, epoch, work)?);
    wait_settled(&members, partitions, "five members")?;
    let settled_after = joining.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let window_end = epoch.elapsed();
    for m in &members {
        m.stop.store(true, Ordering::Relaxed);
    }
    producing.store(false, Ordering::Relaxed);
    let mut by_partition: BTreeMap<i32, Vec<Duration>> = BTreeMap::new();
    for m in members {
        for (at, p) in m.thread.join().map_err(|_| anyhow::anyhow!("a member panicked"))? {
            by_partition.entry(p).or_default().push(at);
        }
    }
    producer
        .join()
        .map_err(|_| anyhow::anyhow!("the producer panicked"))??;
    // The longest gap between two consumptions of a partition that ends within the window.
    let longest = |from: Duration, to: Duration| -> BTreeMap<i32, Duration> {
        by_partition
            .iter()
            .map(|(p, times)| {
                let mut times = times.clone();
                times.sort();
                let gap = times
                    .windows(2)
                    .filter(|w| w[1] > from && w[0] < to)
                    .map(|w| w[1] - w[0])
                    .max()
                    .unwrap_or_default();
                (*p, gap)
            })
            .collect()
    };
    let during = longest(joined.saturating_sub(Duration::from_secs(1)), window_end);
    let steady = longest(steady_from, joined);
    let mut gaps: Vec<Duration> = during.values().copied().collect();
    gaps.sort();
    Ok(Round {
        settled: settled_after,
        paused: during.values().filter(|g| **g > PAUSED).count(),
        longest_pause: gaps.last().copied().unwrap_or_default(),
        median_pause: gaps.get(gaps.len() / 2).copied().unwrap_or_default(),
        steady_gap: steady.values().copied().max().unwrap_or_default(),
    })
}
