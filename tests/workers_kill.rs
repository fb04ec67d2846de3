//! A worker process killed with SIGKILL in the middle of delivering: after a restart nothing the
//! file sink acknowledged is missing, and duplicates are bounded by one batch per partition.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use support::{free_port, spawn_broker, KillOnDrop};

const PARTITIONS: i32 = 3;
const RECORDS: u64 = 60_000;
const BATCH: u64 = 500;

fn worker(config: &Path) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("worker")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn,librdkafka=off,rdkafka=off")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sluice binary runs"),
    )
}

/// Occurrences of each `seq` in the sink file, and its complete lines. A last line without its
/// newline is one being written, or torn by the SIGKILL (the sink drops a torn tail when it
/// reopens the file): it is not a record yet.
fn seqs(path: &Path) -> (BTreeMap<u64, u32>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut counts = BTreeMap::new();
    let mut lines = 0;
    for line in text.split_inclusive('\n').filter_map(|l| l.strip_suffix('\n')) {
        lines += 1;
        let seq: u64 = line
            .split("seq=")
            .nth(1)
            .and_then(|r| r.split('i').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a line that is not a whole record: {line:?}"));
        *counts.entry(seq).or_insert(0) += 1;
    }
    (counts, lines)
}

#[test]
fn a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_a_batch_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Killed on drop too, so a failing assertion leaves no broker behind.
    let broker = spawn_broker(port, &dir.path().join("broker"), Path::new("/dev/null"));
    let bootstrap = format!("127.0.0.1:{port}");
    let created = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "topics",
            "--bootstrap-server",
            &bootstrap,
            "--create",
            "--topic",
            "metrics",
        ])
        .args(["--partitions", &PARTITIONS.to_string()])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for seq in 0..RECORDS {
        let line = format!(
            "app,host=h{} seq={seq}i {}",
            seq % 7,
            1_700_000_000_000_000_000u64 + seq
        );
        let key = format!("h{}", seq % 7);
        loop {
            match producer.send(BaseRecord::to("metrics").key(&key).payload(&line)) {
                Ok(()) => break,
                Err((_, _)) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    let sink = dir.path().join("sink.lp");
    let config = dir.path().join("workers.toml");
    std::fs::write(
        &config,
        format!(
            "brokers = [\"{bootstrap}\"]\nmetrics_listen = \"\"\nbatch_size = {BATCH}\nbatch_timeout = \"50ms\"\n\
             [librdkafka]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n\
             [[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n",
            sink.display()
        ),
    )
    .unwrap();

    // Kill it once it is well into the topic, while batches are being written.
    let mut first = worker(&config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while seqs(&sink).1 < (RECORDS / 4) as usize {
        assert!(Instant::now() < deadline, "the worker never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let (at_kill, lines_at_kill) = seqs(&sink);
    assert!(
        (lines_at_kill as u64) < RECORDS,
        "killed before the end ({lines_at_kill} of {RECORDS} lines)"
    );

    let mut second = worker(&config);
    let deadline = Instant::now() + Duration::from_secs(120);
    while seqs(&sink).0.len() < RECORDS as usize {
        assert!(
            Instant::now() < deadline,
            "after the restart only {} of {RECORDS} records arrived",
            seqs(&sink).0.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the restarted worker settle: nothing more may arrive once it caught up.
    std::thread::sleep(Duration::from_secs(2));
    let _ = second.kill();
    let _ = second.wait();
    drop(broker);

    let (after, lines) = seqs(&sink);
    let missing: Vec<u64> = (0..RECORDS).filter(|s| !after.contains_key(s)).take(10).collect();
    assert!(missing.is_empty(), "records missing after the restart: {missing:?}…");
    for (seq, n) in &at_kill {
        assert!(after[seq] >= *n, "seq {seq}, written before the kill, is gone");
    }
    let duplicates = lines as u64 - RECORDS;
    assert!(
        duplicates <= BATCH * PARTITIONS as u64,
        "{duplicates} duplicates; at most one batch ({BATCH}) per partition ({PARTITIONS}) may be redelivered"
    );
    eprintln!(
        "SIGKILL after {lines_at_kill} of {RECORDS} lines; after restart all {RECORDS} present, {duplicates} duplicates \
         (bound {})",
        BATCH * PARTITIONS as u64
    );
}
