//! The exporter against the bundled broker, checked against the truth: records produced with
//! known timestamps, consumed and committed by real librdkafka clients.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lag_exporter::{Config, Granularity};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INTERVAL: Duration = Duration::from_millis(300);

async fn start_broker() -> (broker::RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.groups.initial_rebalance_delay = Duration::ZERO;
    config.groups.min_session_timeout = Duration::from_secs(1);
    // KIP-848 members heartbeat this often, so an assignment takes half a second, not five.
    config.groups.consumer_heartbeat_interval = Duration::from_millis(500);
    (broker::start(config).await.expect("broker starts"), dir)
}

fn exporter_config(bootstrap: &str, granularity: Granularity) -> Config {
    Config {
        brokers: vec![bootstrap.to_string()],
        interval: INTERVAL,
        timeout: Duration::from_secs(5),
        listen: "127.0.0.1:0".into(),
        granularity,
        ..Config::default()
    }
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// GET /metrics, parsed into `name{labels}` → value.
async fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).await.unwrap();
    let body = page.split_once("\r\n\r\n").unwrap().1;
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

async fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = client(bootstrap).create().unwrap();
    let r = admin
        .create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
}

/// The timestamp given to record `offset` of `partition`: an hour ago plus a second per offset.
fn record_ts(t0: i64, partition: i32, offset: i64) -> i64 {
    t0 + offset * 1000 + i64::from(partition) * 100
}

/// Produces `counts[p]` records to each partition p, timestamped by [`record_ts`].
async fn produce(bootstrap: &str, topic: &str, counts: &[i64], t0: i64) {
    let producer: FutureProducer = client(bootstrap).set("linger.ms", "5").create().unwrap();
    for (p, n) in counts.iter().enumerate() {
        for o in 0..*n {
            let value = format!("{p}-{o}");
            let key = "k";
            let record: FutureRecord<str, str> = FutureRecord::to(topic)
                .partition(p as i32)
                .payload(value.as_str())
                .key(key)
                .timestamp(record_ts(t0, p as i32, o));
            let d = producer.send(record, Duration::from_secs(10)).await.unwrap();
            assert_eq!((d.partition, d.offset), (p as i32, o));
        }
    }
}

/// Consumes the first `consume[p]` records of each partition as group `group` and commits
/// the position after them (Kafka's "next offset to read").
fn consume_and_commit(bootstrap: &str, group: &str, topic: &str, consume: &[i64]) {
    let consumer: BaseConsumer = client(bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..consume.len() as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut next = vec![0i64; consume.len()];
    let deadline = Instant::now() + Duration::from_secs(20);
    while next.iter().zip(consume).any(|(n, c)| n < c) {
        assert!(Instant::now() < deadline, "consumed only {next:?} of {consume:?}");
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.unwrap();
        let p = m.partition() as usize;
        if m.offset() < consume[p] {
            assert_eq!(m.offset(), next[p]);
            next[p] = m.offset() + 1;
        }
    }
    let mut commit = TopicPartitionList::new();
    for (p, n) in next.iter().enumerate() {
        commit
            .add_partition_offset(topic, p as i32, Offset::Offset(*n))
            .unwrap();
    }
    consumer.commit(&commit, CommitMode::Sync).unwrap();
}

/// A member of `group` subscribed to `topic` that never commits, polling until dropped.
struct Member {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Member {
    /// A member of a classic group (JoinGroup/SyncGroup).
    fn join(bootstrap: &str, group: &str, topic: &str) -> Member {
        let consumer: BaseConsumer = client(bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "3000")
            .set("heartbeat.interval.ms", "300")
            .create()
            .unwrap();
        Member::poll(consumer, topic)
    }

    /// A member of a KIP-848 consumer group (ConsumerGroupHeartbeat); the broker sets the
    /// session timeout and heartbeat interval.
    fn join_consumer_protocol(bootstrap: &str, group: &str, topic: &str) -> Member {
        let consumer: BaseConsumer = client(bootstrap)
            .set("group.id", group)
            .set("group.protocol", "consumer")
            .set("client.id", "kip848-member")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        Member::poll(consumer, topic)
    }

    fn poll(consumer: BaseConsumer, topic: &str) -> Member {
        consumer.subscribe(&[topic]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(50));
            }
        });
        Member {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Scrapes after each collection until `done` holds (or fails after 20 s).
async fn wait_for(
    exporter: &mut lag_exporter::RunningExporter,
    what: &str,
    done: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        exporter.next_collection().await;
        let m = scrape(exporter.local_addr()).await;
        if done(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "{what}: {m:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_equals_produced_minus_committed_and_deleted_groups_disappear() {
    let (broker, _dir) = start_broker().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "t", 3).await;
    let t0 = now_ms() - 3_600_000;
    let produced = [10i64, 7, 5];
    let consumed = [4i64, 7, 1];
    produce(&bootstrap, "t", &produced, t0).await;
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || consume_and_commit(&b, "g", "t", &consumed))
        .await
        .unwrap();
    let _fresh = Member::join(&bootstrap, "fresh", "t");

    let mut exporter = lag_exporter::start(exporter_config(&bootstrap, Granularity::Partition))
        .await
        .unwrap();
    let m = wait_for(&mut exporter, "the fresh member's group is stable", |m| {
        m.get(r#"kafka_consumergroup_state{group="fresh",state="Stable"}"#) == Some(&1.0)
            && m.contains_key(r#"kafka_consumergroup_lag_seconds{group="g",topic="t"}"#)
    })
    .await;
    let scraped_at = now_ms();

    for p in 0..3 {
        let lag = (produced[p] - consumed[p]) as f64;
        assert_eq!(
            m[&format!(r#"kafka_consumergroup_lag{{group="g",partition="{p}",topic="t"}}"#)],
            lag
        );
        assert_eq!(
            m[&format!(r#"kafka_consumergroup_committed_offset{{group="g",partition="{p}",topic="t"}}"#)],
            consumed[p] as f64
        );
        assert_eq!(
            m[&format!(r#"kafka_topic_partition_high_watermark{{partition="{p}",topic="t"}}"#)],
            produced[p] as f64
        );
        assert_eq!(
            m[&format!(r#"kafka_topic_partition_log_start_offset{{partition="{p}",topic="t"}}"#)],
            0.0
        );
    }
    assert_eq!(m[r#"kafka_consumergroup_records_lag_max{group="g",topic="t"}"#], 6.0);
    assert_eq!(m[r#"kafka_consumergroup_lag_sum{group="g",topic="t"}"#], 10.0);
    assert_eq!(
        m[r#"kafka_consumergroup_partitions_uncommitted{group="g",topic="t"}"#],
        0.0
    );
    assert_eq!(m[r#"kafka_consumergroup_members{group="g"}"#], 0.0);
    assert_eq!(m[r#"kafka_consumergroup_state{group="g",state="Empty"}"#], 1.0);

    // The oldest unconsumed record: offset 4 of partition 0 or offset 1 of partition 2.
    // Lag seconds are dated at the collection, which ends just before
    // `last_success_timestamp_seconds` is set: the two agree within one collection interval.
    let first_unconsumed = record_ts(t0, 0, 4).min(record_ts(t0, 2, 1));
    let collected_at_ms = m["sluice_lag_exporter_last_success_timestamp_seconds"] * 1000.0;
    let expected = (collected_at_ms - first_unconsumed as f64) / 1000.0;
    let seen = m[r#"kafka_consumergroup_lag_seconds{group="g",topic="t"}"#];
    assert!(
        (seen - expected).abs() <= INTERVAL.as_secs_f64(),
        "lag_seconds {seen}, expected {expected} (the collection at {collected_at_ms} ms)"
    );
    assert!(collected_at_ms <= scraped_at as f64 + 1.0);

    // A group that never committed: its partitions are counted, and no lag is made up.
    assert_eq!(
        m[r#"kafka_consumergroup_partitions_uncommitted{group="fresh",topic="t"}"#],
        3.0
    );
    assert_eq!(m[r#"kafka_consumergroup_members{group="fresh"}"#], 1.0);
    assert!(
        !m.keys().any(|k| k.contains(r#"group="fresh""#)
            && (k.starts_with("kafka_consumergroup_lag") || k.starts_with("kafka_consumergroup_records_lag_max"))),
        "{m:#?}"
    );
    assert_eq!(m["sluice_lag_exporter_up"], 1.0);
    assert!(m["sluice_lag_exporter_series"] > 20.0);

    // Catching up makes lag and lag_seconds 0.
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || consume_and_commit(&b, "g", "t", &produced))
        .await
        .unwrap();
    wait_for(&mut exporter, "caught up", |m| {
        m.get(r#"kafka_consumergroup_records_lag_max{group="g",topic="t"}"#) == Some(&0.0)
            && m.get(r#"kafka_consumergroup_lag_seconds{group="g",topic="t"}"#) == Some(&0.0)
    })
    .await;

    // A deleted group's series are gone at the next collection.
    let admin: AdminClient<DefaultClientContext> = client(&bootstrap).create().unwrap();
    let deleted = admin.delete_groups(&["g"], &AdminOptions::new()).await.unwrap();
    assert!(deleted[0].is_ok(), "{deleted:?}");
    wait_for(&mut exporter, "group g disappears", |m| {
        !m.keys().any(|k| k.contains(r#"group="g""#))
    })
    .await;

    // A deleted topic's series are gone at the next collection, with the lag of groups on it.
    create_topic(&bootstrap, "doomed", 2).await;
    produce(&bootstrap, "doomed", &[3, 2], t0).await;
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || consume_and_commit(&b, "d", "doomed", &[1, 1]))
        .await
        .unwrap();
    wait_for(&mut exporter, "topic doomed and group d appear", |m| {
        m.get(r#"kafka_consumergroup_records_lag_max{group="d",topic="doomed"}"#) == Some(&2.0)
            && m.contains_key(r#"kafka_topic_partition_high_watermark{partition="1",topic="doomed"}"#)
    })
    .await;
    let deleted = admin.delete_topics(&["doomed"], &AdminOptions::new()).await.unwrap();
    assert!(deleted[0].is_ok(), "{deleted:?}");
    wait_for(&mut exporter, "topic doomed disappears", |m| {
        !m.keys().any(|k| k.contains(r#"topic="doomed""#))
    })
    .await;

    // The cluster going away: up = 0, the last good figures stay.
    broker.shutdown().await;
    let m = wait_for(&mut exporter, "up = 0", |m| {
        m.get("sluice_lag_exporter_up") == Some(&0.0)
    })
    .await;
    assert_eq!(
        m[r#"kafka_consumergroup_partitions_uncommitted{group="fresh",topic="t"}"#],
        3.0
    );
    exporter.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kip848_group_is_reported_with_its_member_and_state() {
    // DescribeGroups answers a KIP-848 group as Dead with no members (as Kafka 4 does, and as
    // kafka_exporter reports it); the exporter describes it with ConsumerGroupDescribe.
    let (broker, _dir) = start_broker().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "t", 3).await;
    // A record in each partition, so each one the group leaves uncommitted is counted.
    produce(&bootstrap, "t", &[1, 1, 1], now_ms()).await;
    let member = Member::join_consumer_protocol(&bootstrap, "kip848", "t");
    let mut exporter = lag_exporter::start(exporter_config(&bootstrap, Granularity::Partition))
        .await
        .unwrap();
    let m = wait_for(&mut exporter, "the KIP-848 group is stable", |m| {
        m.get(r#"kafka_consumergroup_state{group="kip848",state="Stable"}"#) == Some(&1.0)
    })
    .await;
    assert_eq!(m[r#"kafka_consumergroup_members{group="kip848"}"#], 1.0);
    assert_eq!(m[r#"kafka_consumergroup_state{group="kip848",state="Dead"}"#], 0.0);
    // The group never committed: it is on topic t only through its member's assignment.
    assert_eq!(
        m[r#"kafka_consumergroup_partitions_uncommitted{group="kip848",topic="t"}"#],
        3.0
    );

    // Leaving (the consumer closes on drop) empties the group; a KIP-848 group stays, Empty.
    drop(member);
    let m = wait_for(&mut exporter, "the KIP-848 group is empty", |m| {
        m.get(r#"kafka_consumergroup_state{group="kip848",state="Empty"}"#) == Some(&1.0)
    })
    .await;
    assert_eq!(m[r#"kafka_consumergroup_members{group="kip848"}"#], 0.0);
    exporter.shutdown().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_answers_while_the_cluster_does_not() {
    // A "broker" that accepts connections and never answers: every collection hangs until its
    // timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bootstrap = silent.local_addr().unwrap().to_string();
    let held = std::thread::spawn(move || silent.incoming().take(3).flatten().collect::<Vec<_>>());
    let mut config = exporter_config(&bootstrap, Granularity::Topic);
    config.timeout = Duration::from_secs(3);
    let exporter = lag_exporter::start(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let started = Instant::now();
        let m = scrape(exporter.local_addr()).await;
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(m["sluice_lag_exporter_up"], 0.0);
        assert_eq!(m["sluice_lag_exporter_last_success_timestamp_seconds"], 0.0);
    }
    drop(held);
    drop(exporter);
}
