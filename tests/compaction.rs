//! Log compaction (`cleanup.policy=compact`) held against Apache Kafka: the same records written
//! with `kafka-console-producer` to the bundled broker and to Kafka 4.x, each with its log
//! cleaner looking every 500 ms, then read back from the start with `kafka-console-consumer`.
//! Both must print the same offsets, keys and values: the latest record of each key at its
//! original offset, tombstones kept until a cleaning after their `delete.retention.ms`, and the
//! active segment left alone. The bundled broker is restarted in between, so what it compacted
//! must also survive recovery.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::kafka::{kafka_tool_ok, Kafka};
use support::{free_port, spawn_broker};

/// The cleaner's pause between looks, on both brokers.
const BACKOFF: &str = "log.cleaner.backoff.ms=500";
/// A segment rolls at the first append this long after its first: the test waits past it so the
/// next record starts a new segment and the first becomes cleanable.
const SEGMENT_MS: u64 = 1000;

/// Five records, two keys superseded and one deleted by a tombstone (`NULL`).
const FIRST: &str = "host-a:1\nhost-b:2\nhost-a:3\nhost-c:4\nhost-b:NULL\n";

fn produce(bootstrap: &str, topic: &str, records: &str) {
    kafka_tool_ok(
        "kafka-console-producer",
        &[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
            "--reader-property",
            "null.marker=NULL",
        ],
        Some(records),
    );
}

/// Every record of partition 0 from the start, as `Offset:N<TAB>key<TAB>value` lines.
fn consume(bootstrap: &str, topic: &str) -> String {
    kafka_tool_ok(
        "kafka-console-consumer",
        &[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--partition",
            "0",
            "--offset",
            "earliest",
            "--timeout-ms",
            "3000",
            "--formatter-property",
            "print.key=true",
            "--formatter-property",
            "print.offset=true",
        ],
        None,
    )
}

/// Consumes until `done` holds for what was read; gives up (failing) after a minute.
fn consume_until(bootstrap: &str, topic: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = consume(bootstrap, topic);
        if done(&out) {
            return out;
        }
        assert!(Instant::now() < deadline, "{what} never happened; last read:\n{out}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn create(bootstrap: &str, topic: &str, extra: &[&str]) {
    let mut args = vec![
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        topic,
        "--partitions",
        "1",
    ];
    let segment_ms = format!("segment.ms={SEGMENT_MS}");
    for config in ["cleanup.policy=compact", "min.cleanable.dirty.ratio=0.01", &segment_ms]
        .iter()
        .chain(extra)
    {
        args.extend(["--config", config]);
    }
    kafka_tool_ok("kafka-topics", &args, None);
}

/// Writes `FIRST`, then, once the segment is old enough to roll, one more record, which starts
/// a new segment and leaves the first to the cleaner.
fn write_and_roll(bootstrap: &str, topic: &str, next: &str) {
    produce(bootstrap, topic, FIRST);
    std::thread::sleep(Duration::from_millis(SEGMENT_MS + 500));
    produce(bootstrap, topic, next);
}

/// The steps, with `restart` called where the bundled broker restarts; what each read printed.
fn scenario(bootstrap: &str, restart: &mut dyn FnMut()) -> BTreeMap<&'static str, String> {
    let mut seen = BTreeMap::new();
    create(bootstrap, "latest", &[]);
    write_and_roll(bootstrap, "latest", "host-d:5\n");
    let cleaned = |out: &str| !out.contains("Offset:0\t");
    seen.insert(
        "latest, cleaned",
        consume_until(bootstrap, "latest", "compaction", cleaned),
    );
    restart();
    seen.insert("latest, after a restart", consume(bootstrap, "latest"));

    create(bootstrap, "expiring", &["delete.retention.ms=100"]);
    write_and_roll(bootstrap, "expiring", "host-d:5\n");
    consume_until(bootstrap, "expiring", "compaction", cleaned);
    // Kafka drops a tombstone past its horizon at the next cleaning, which new records start.
    std::thread::sleep(Duration::from_millis(SEGMENT_MS + 500));
    produce(bootstrap, "expiring", "host-e:6\n");
    seen.insert(
        "expiring, tombstone gone",
        consume_until(bootstrap, "expiring", "tombstone removal", |out| {
            !out.contains("Offset:4\t") && out.contains("Offset:5\t")
        }),
    );
    seen
}

#[test]
fn a_compacted_topic_reads_the_same_from_the_bundled_broker_as_from_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broker.toml");
    let (key, value) = BACKOFF.split_once('=').unwrap();
    std::fs::write(&config, format!("{key} = {value}\n")).unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut broker = Some(spawn_broker(port, &data, &config));
    let bootstrap = format!("127.0.0.1:{port}");
    let on_sluice = scenario(&bootstrap, &mut || {
        drop(broker.take());
        broker = Some(spawn_broker(port, &data, &config));
    });
    drop(broker);

    let expected = "Offset:2\thost-a\t3\nOffset:3\thost-c\t4\nOffset:4\thost-b\tnull\nOffset:5\thost-d\t5\n";
    assert_eq!(on_sluice["latest, cleaned"], expected);
    assert_eq!(on_sluice["latest, after a restart"], expected);
    assert_eq!(
        on_sluice["expiring, tombstone gone"],
        "Offset:2\thost-a\t3\nOffset:3\thost-c\t4\nOffset:5\thost-d\t5\nOffset:6\thost-e\t6\n"
    );

    let kafka = Kafka::start(1, &[BACKOFF]);
    let on_kafka = scenario(&kafka.bootstrap, &mut || {});
    drop(kafka);
    assert_eq!(on_sluice, on_kafka);
}
