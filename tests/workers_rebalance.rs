//! Several workers in one group: `instances = 2` in one process and a second process's worker
//! share the partitions; a worker joining and a worker leaving under load lose nothing and repeat
//! at most one batch per partition; a worker stopped cleanly has committed everything it
//! delivered, so its successor repeats nothing.

mod support;
mod workers_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::eventually;
use workers_support::{broker, worker_config};

const TOPIC: &str = "shared";
const PARTITIONS: i32 = 4;
const BATCH: u64 = 50;

fn config(bootstrap: &str, instances: usize, path: &Path) -> workers::Config {
    let mut c = worker_config(
        bootstrap,
        &format!(
            "topic = \"{TOPIC}\"\ninstances = {instances}\nbatch_size = {BATCH}\n\
             [[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n",
            path.display()
        ),
    );
    // The group's offsets, not the file, decide where a member starts.
    c.librdkafka.insert("session.timeout.ms", "6000");
    c
}

/// Sends records `from..to` paced over `over`, keyed by host so each host stays in one partition.
async fn produce(producer: &FutureProducer, from: u64, to: u64, over: Duration) {
    let started = Instant::now();
    let n = (to - from).max(1);
    for seq in from..to {
        let due = started + over.mul_f64((seq - from) as f64 / n as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        let host = format!("h{}", seq % 13);
        let line = format!("app,host={host} seq={seq}i {}", 1_700_000_000_000_000_000u64 + seq);
        producer
            .send(
                FutureRecord::to(TOPIC).key(&host).payload(&line),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
}

/// How often each sequence number appears across the sink files.
fn seqs(paths: &[&Path]) -> BTreeMap<u64, u32> {
    let mut counts = BTreeMap::new();
    for path in paths {
        for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
            let seq: u64 = line
                .split("seq=")
                .nth(1)
                .and_then(|r| r.split('i').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a whole record: {line:?}"));
            *counts.entry(seq).or_insert(0) += 1;
        }
    }
    counts
}

/// Every seq in `range` present; returns how many extra copies there are.
fn check_range(counts: &BTreeMap<u64, u32>, range: std::ops::Range<u64>) -> u64 {
    let missing: Vec<u64> = range.clone().filter(|s| !counts.contains_key(s)).collect();
    assert!(
        missing.is_empty(),
        "missing {} records, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    range.map(|s| u64::from(counts[&s] - 1)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_joining_and_leaving_under_load_lose_nothing_and_a_clean_stop_repeats_nothing() {
    let (b, dir) = broker().await;
    b.ensure_topic(TOPIC, PARTITIONS).unwrap();
    let bootstrap = b.bootstrap();
    let (file_a, file_b, file_c) = (
        dir.path().join("a.lp"),
        dir.path().join("b.lp"),
        dir.path().join("c.lp"),
    );
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "2")
        .create()
        .unwrap();

    // Phase 1: worker A (two consumers in one process) is alone; worker B joins while records flow.
    let a = workers::start(config(&bootstrap, 2, &file_a)).await.unwrap();
    let load = {
        let producer = producer.clone();
        tokio::spawn(async move { produce(&producer, 0, 3_000, Duration::from_secs(3)).await })
    };
    // B joins once A has delivered part of the load, while the rest is still being produced.
    assert!(eventually(Duration::from_secs(30), || seqs(&[&file_a]).len() >= 500).await);
    let b_worker = workers::start(config(&bootstrap, 1, &file_b)).await.unwrap();
    load.await.unwrap();
    assert!(
        eventually(Duration::from_secs(30), || seqs(&[&file_a, &file_b]).len() == 3_000).await,
        "phase 1 delivered {} of 3000",
        seqs(&[&file_a, &file_b]).len()
    );
    let counts = seqs(&[&file_a, &file_b]);
    let repeated_on_join = check_range(&counts, 0..3_000);
    assert!(
        !seqs(&[&file_b]).is_empty(),
        "worker B never got a partition: the group did not rebalance"
    );

    // Phase 2: worker A stops cleanly while records flow; B takes every partition.
    let load = {
        let producer = producer.clone();
        tokio::spawn(async move { produce(&producer, 3_000, 6_000, Duration::from_secs(3)).await })
    };
    // A stops once part of this load is delivered, while the rest is still being produced.
    assert!(eventually(Duration::from_secs(30), || seqs(&[&file_a, &file_b]).len() >= 3_500).await);
    a.shutdown().await.unwrap();
    load.await.unwrap();
    assert!(
        eventually(Duration::from_secs(30), || seqs(&[&file_a, &file_b]).len() == 6_000).await,
        "phase 2 delivered {} of 6000",
        seqs(&[&file_a, &file_b]).len()
    );
    let repeated_on_leave = check_range(&seqs(&[&file_a, &file_b]), 3_000..6_000);
    eprintln!("repeated: {repeated_on_join} records when B joined, {repeated_on_leave} when A left");
    // A batch in flight when its partition is revoked is delivered but not committed by its
    // old owner: at most one batch per partition comes again.
    let bound = BATCH * PARTITIONS as u64;
    assert!(
        repeated_on_join <= bound,
        "{repeated_on_join} repeated when B joined (bound {bound})"
    );
    assert!(
        repeated_on_leave <= bound,
        "{repeated_on_leave} repeated when A left (bound {bound})"
    );

    // Phase 3: B stops cleanly when idle; its successor C starts at B's commits and repeats
    // nothing of the 6,000 records.
    b_worker.shutdown().await.unwrap();
    let c = workers::start(config(&bootstrap, 1, &file_c)).await.unwrap();
    produce(&producer, 6_000, 6_010, Duration::ZERO).await;
    assert!(
        eventually(Duration::from_secs(30), || seqs(&[&file_c]).len() == 10).await,
        "C delivered {:?}",
        seqs(&[&file_c])
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = seqs(&[&file_c]);
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (6_000..6_010).collect::<Vec<_>>(),
        "C repeated what B had delivered"
    );
    c.shutdown().await.unwrap();
    b.shutdown().await;
}
