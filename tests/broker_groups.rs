//! Consumer groups with librdkafka (through rdkafka) against the bundled broker: rebalances when
//! members leave or die, cooperative-sticky, resuming at committed offsets after a restart, and
//! describing and listing groups through the admin API.
//!
//! Members run on their own threads, each polling a `BaseConsumer`; a member that must die
//! without leaving the group runs in a child process (this test binary, re-run as the ignored
//! `member_process` test) that is SIGKILLed.

mod support;
use support::{free_port, wait_for};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

/// librdkafka settings that keep rebalances quick: short sessions (the broker below accepts
/// 1 s and up), frequent heartbeats, and a rebalance timeout of 10 s instead of 5 min.
const MEMBER_SETTINGS: &[(&str, &str)] = &[
    ("session.timeout.ms", "3000"),
    ("heartbeat.interval.ms", "300"),
    ("max.poll.interval.ms", "10000"),
    ("auto.offset.reset", "earliest"),
    ("enable.auto.commit", "true"),
    ("auto.commit.interval.ms", "100"),
    ("fetch.wait.max.ms", "100"),
];

async fn start_broker() -> (broker::RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig {
        listeners: vec![broker::Listener::plaintext("127.0.0.1", 0)],
        data_dir: dir.path().to_path_buf(),
        // No HTTP endpoint: tests run side by side, and 9644 can be had by one of them only.
        http_listen: None,
        ..Default::default()
    };
    config.groups.min_session_timeout = Duration::from_secs(1);
    config.groups.initial_rebalance_delay = Duration::from_millis(300);
    (broker::start(config).await.expect("broker starts"), dir)
}

async fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
}

/// Produces `count` records round-robin over `partitions`; returns (partition, offset) → value.
async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    tag: &str,
    count: usize,
) -> BTreeMap<(i32, i64), String> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "2")
        .create()
        .unwrap();
    let mut sent = BTreeMap::new();
    for i in 0..count {
        let value = format!("{tag}-{i}");
        let p = i as i32 % partitions;
        let record: FutureRecord<str, str> = FutureRecord::to(topic).partition(p).payload(&value);
        let d = producer.send(record, Duration::from_secs(10)).await.expect("delivered");
        sent.insert((d.partition, d.offset), value);
    }
    sent
}

/// What a member saw: its current assignment, the records it consumed, partitions revoked.
#[derive(Default, Debug)]
struct Seen {
    assignment: BTreeSet<i32>,
    records: Vec<((i32, i64), String)>,
    revoked: Vec<i32>,
}

struct Recorder(Arc<Mutex<Seen>>);

impl ClientContext for Recorder {}

impl ConsumerContext for Recorder {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let mut seen = self.0.lock().unwrap();
            seen.revoked.extend(tpl.elements().iter().map(|e| e.partition()));
        }
    }
}

/// A group member polling on its own thread until stopped; then it closes (leaves the group).
struct Member {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Member {
    fn start(bootstrap: &str, group: &str, topic: &str, extra: &[(&str, &str)]) -> Member {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", bootstrap).set("group.id", group);
        for (k, v) in MEMBER_SETTINGS.iter().chain(extra) {
            config.set(*k, *v);
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let consumer: BaseConsumer<Recorder> = config.create_with_context(Recorder(seen.clone())).unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let message = consumer.poll(Duration::from_millis(50));
                    let mut s = seen.lock().unwrap();
                    if let Some(Ok(m)) = message {
                        let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string();
                        s.records.push(((m.partition(), m.offset()), value));
                    }
                    if let Ok(tpl) = consumer.assignment() {
                        s.assignment = tpl.elements().iter().map(|e| e.partition()).collect();
                    }
                }
                // Commit what was consumed, then close: LeaveGroup.
                let _ = consumer.commit_consumer_state(CommitMode::Sync);
                drop(consumer);
            })
        };
        Member {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.seen.lock().unwrap().assignment.clone()
    }

    /// Leaves the group cleanly and returns what it consumed.
    fn leave(mut self) -> Vec<((i32, i64), String)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut self.seen.lock().unwrap().records)
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

/// A member in a child process, to be killed without a chance to leave.
struct ChildMember {
    child: support::KillOnDrop,
    seen: Arc<Mutex<Seen>>,
}

impl ChildMember {
    fn start(bootstrap: &str, group: &str, topic: &str) -> ChildMember {
        let mut child = support::spawn_self(
            "member_process",
            ("SLUICE_TEST_MEMBER", format!("{bootstrap} {group} {topic}")),
        );
        let seen = Arc::new(Mutex::new(Seen::default()));
        let out = BufReader::new(child.stdout.take().unwrap());
        let reader_seen = seen.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let mut s = reader_seen.lock().unwrap();
                let mut words = line.split(' ');
                match words.next() {
                    Some("ASSIGNED") => {
                        s.assignment = words.filter_map(|w| w.parse().ok()).collect();
                    }
                    Some("RECORD") => {
                        let (p, o, v) = (words.next(), words.next(), words.next());
                        if let (Some(p), Some(o), Some(v)) = (p, o, v) {
                            s.records
                                .push(((p.parse().unwrap(), o.parse().unwrap()), v.to_string()));
                        }
                    }
                    _ => {}
                }
            }
        });
        ChildMember { child, seen }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.seen.lock().unwrap().assignment.clone()
    }

    /// SIGKILL: no commit, no LeaveGroup; the broker finds out when its session expires.
    fn kill(mut self) -> Vec<((i32, i64), String)> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::take(&mut self.seen.lock().unwrap().records)
    }
}

impl Drop for ChildMember {
    /// A failing test must not leave the child polling forever.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of the child member; does nothing unless started by [`ChildMember::start`].
#[test]
#[ignore]
fn member_process() {
    let Ok(args) = std::env::var("SLUICE_TEST_MEMBER") else {
        return;
    };
    let args: Vec<&str> = args.split(' ').collect();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", args[0]).set("group.id", args[1]);
    for (k, v) in MEMBER_SETTINGS {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().unwrap();
    consumer.subscribe(&[args[2]]).unwrap();
    let mut reported = None;
    loop {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string();
            println!("RECORD {} {} {value}", m.partition(), m.offset());
        }
        let assignment: Vec<i32> = consumer
            .assignment()
            .map(|t| t.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        if reported.as_ref() != Some(&assignment) {
            let list: Vec<String> = assignment.iter().map(i32::to_string).collect();
            println!("ASSIGNED {}", list.join(" "));
            reported = Some(assignment);
        }
    }
}

fn sizes(assignments: &[BTreeSet<i32>]) -> Vec<usize> {
    assignments.iter().map(BTreeSet::len).collect()
}

/// Every produced record was consumed by some member (duplicates are allowed: at-least-once).
fn assert_all_consumed(produced: &BTreeMap<(i32, i64), String>, consumed: &[((i32, i64), String)]) {
    let got: BTreeMap<(i32, i64), &String> = consumed.iter().map(|(k, v)| (*k, v)).collect();
    let missing: Vec<_> = produced.keys().filter(|k| !got.contains_key(k)).collect();
    assert!(
        missing.is_empty(),
        "{} records never consumed, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    for (k, v) in produced {
        assert_eq!(got[k], v, "record at {k:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_that_leave_or_die_hand_their_partitions_over_and_nothing_is_skipped() {
    let (broker, _dir) = start_broker().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "six", 6).await;
    let a = Member::start(&bootstrap, "trio", "six", &[]);
    let b = Member::start(&bootstrap, "trio", "six", &[]);
    let c = ChildMember::start(&bootstrap, "trio", "six");
    wait_for(
        "three members hold two partitions each",
        Duration::from_secs(30),
        &[],
        || sizes(&[a.assignment(), b.assignment(), c.assignment()]) == [2, 2, 2],
    );
    let all: BTreeSet<i32> = [a.assignment(), b.assignment(), c.assignment()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(all, (0..6).collect());
    let mut produced = produce(&bootstrap, "six", 6, "first", 300).await;

    // b leaves cleanly: a and c take over its partitions.
    let mut consumed = b.leave();
    wait_for(
        "two members hold three partitions each",
        Duration::from_secs(30),
        &[],
        || sizes(&[a.assignment(), c.assignment()]) == [3, 3],
    );
    produced.extend(produce(&bootstrap, "six", 6, "second", 300).await);

    // c dies: after its session times out, a holds everything.
    wait_for("c has consumed its share", Duration::from_secs(30), &[], || {
        c.seen.lock().unwrap().records.len() >= 100
    });
    consumed.extend(c.kill());
    wait_for("a holds all six partitions", Duration::from_secs(30), &[], || {
        a.assignment().len() == 6
    });
    produced.extend(produce(&bootstrap, "six", 6, "third", 300).await);

    let a_seen = a.seen.clone();
    wait_for("every record is consumed", Duration::from_secs(30), &[], || {
        let mut all = consumed.clone();
        all.extend(a_seen.lock().unwrap().records.clone());
        let keys: BTreeSet<(i32, i64)> = all.iter().map(|(k, _)| *k).collect();
        produced.keys().all(|k| keys.contains(k))
    });
    consumed.extend(a.leave());
    assert_all_consumed(&produced, &consumed);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cooperative_sticky_the_survivors_keep_their_partitions() {
    let (broker, _dir) = start_broker().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "coop", 6).await;
    let strategy = [("partition.assignment.strategy", "cooperative-sticky")];
    let a = Member::start(&bootstrap, "sticky", "coop", &strategy);
    let b = Member::start(&bootstrap, "sticky", "coop", &strategy);
    let c = Member::start(&bootstrap, "sticky", "coop", &strategy);
    wait_for(
        "three members hold two partitions each",
        Duration::from_secs(30),
        &[],
        || sizes(&[a.assignment(), b.assignment(), c.assignment()]) == [2, 2, 2],
    );
    let (a_before, c_before) = (a.assignment(), c.assignment());
    for m in [&a, &c] {
        m.seen.lock().unwrap().revoked.clear();
    }
    let mut produced = produce(&bootstrap, "coop", 6, "before", 120).await;
    let mut consumed = b.leave();
    wait_for(
        "a and c hold three partitions each",
        Duration::from_secs(30),
        &[],
        || sizes(&[a.assignment(), c.assignment()]) == [3, 3],
    );
    assert!(
        a.assignment().is_superset(&a_before),
        "{a_before:?} → {:?}",
        a.assignment()
    );
    assert!(
        c.assignment().is_superset(&c_before),
        "{c_before:?} → {:?}",
        c.assignment()
    );
    for (name, m) in [("a", &a), ("c", &c)] {
        let revoked = m.seen.lock().unwrap().revoked.clone();
        assert!(
            revoked.is_empty(),
            "{name} had {revoked:?} revoked during the rebalance"
        );
    }
    produced.extend(produce(&bootstrap, "coop", 6, "after", 120).await);
    let (a_seen, c_seen) = (a.seen.clone(), c.seen.clone());
    wait_for("every record is consumed", Duration::from_secs(30), &[], || {
        let keys: BTreeSet<(i32, i64)> = consumed
            .iter()
            .chain(a_seen.lock().unwrap().records.iter())
            .chain(c_seen.lock().unwrap().records.iter())
            .map(|(k, _)| *k)
            .collect();
        produced.keys().all(|k| keys.contains(k))
    });
    consumed.extend(a.leave());
    consumed.extend(c.leave());
    assert_all_consumed(&produced, &consumed);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_described_listed_and_deleted_through_the_admin_api() {
    let (broker, _dir) = start_broker().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "desc", 4).await;
    let a = Member::start(&bootstrap, "described", "desc", &[("client.id", "member-a")]);
    let b = Member::start(&bootstrap, "described", "desc", &[("client.id", "member-b")]);
    wait_for(
        "two members hold two partitions each",
        Duration::from_secs(30),
        &[],
        || sizes(&[a.assignment(), b.assignment()]) == [2, 2],
    );
    let observer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let list = observer
        .fetch_group_list(Some("described"), Duration::from_secs(10))
        .unwrap();
    let g = &list.groups()[0];
    assert_eq!(
        (g.name(), g.state(), g.protocol_type(), g.protocol()),
        ("described", "Stable", "consumer", "range")
    );
    let mut members: Vec<(&str, &str)> = g.members().iter().map(|m| (m.client_id(), m.client_host())).collect();
    members.sort();
    assert_eq!(members, vec![("member-a", "/127.0.0.1"), ("member-b", "/127.0.0.1")]);
    for m in g.members() {
        assert!(m.id().starts_with(m.client_id()), "{}", m.id());
        // The consumer protocol's subscription and assignment, as the clients wrote them.
        assert!(m.metadata().is_some_and(|md| md.windows(4).any(|w| w == b"desc")));
        assert!(m.assignment().is_some_and(|asg| asg.windows(4).any(|w| w == b"desc")));
    }
    let all = observer.fetch_group_list(None, Duration::from_secs(10)).unwrap();
    assert!(all.groups().iter().any(|g| g.name() == "described"));

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let busy = admin.delete_groups(&["described"], &AdminOptions::new()).await.unwrap();
    assert!(
        matches!(&busy[0], Err((_, RDKafkaErrorCode::NonEmptyGroup))),
        "{busy:?}"
    );
    a.leave();
    b.leave();
    let deleted = admin.delete_groups(&["described"], &AdminOptions::new()).await.unwrap();
    assert!(deleted[0].is_ok(), "{deleted:?}");
    let all = observer.fetch_group_list(None, Duration::from_secs(10)).unwrap();
    assert!(all.groups().iter().all(|g| g.name() != "described"));
    drop(observer);
    broker.shutdown().await;
}

/// The real binary, with a config that keeps group rebalances short.
fn spawn_broker(port: u16, dir: &Path) -> support::KillOnDrop {
    let config = dir.join("broker.toml");
    std::fs::write(
        &config,
        "group.initial.rebalance.delay.ms = 100\ngroup.min.session.timeout.ms = 1000\n",
    )
    .unwrap();
    support::spawn_broker(port, &dir.join("data"), &config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_resumes_at_its_committed_offsets_after_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let mut child = spawn_broker(port, dir.path());
    create_topic(&bootstrap, "resume", 2).await;
    let first = produce(&bootstrap, "resume", 2, "first", 100).await;
    let member = Member::start(&bootstrap, "resumer", "resume", &[]);
    let seen = member.seen.clone();
    wait_for(
        "the first 100 records are consumed",
        Duration::from_secs(30),
        &[],
        || seen.lock().unwrap().records.len() >= 100,
    );
    // Leaving commits synchronously: the broker acknowledged the offsets once on disk.
    let consumed = member.leave();
    assert_all_consumed(&first, &consumed);
    let second = produce(&bootstrap, "resume", 2, "second", 60).await;

    child.kill().unwrap(); // SIGKILL: only what was fsynced survives.
    child.wait().unwrap();
    let mut child = spawn_broker(port, dir.path());

    let checker: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "resumer")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("resume", 0);
    tpl.add_partition("resume", 1);
    let committed = checker.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    let committed: Vec<_> = committed.elements().iter().map(|e| e.offset()).collect();
    assert_eq!(
        committed,
        vec![rdkafka::Offset::Offset(50), rdkafka::Offset::Offset(50)]
    );
    drop(checker);

    let member = Member::start(&bootstrap, "resumer", "resume", &[]);
    let seen = member.seen.clone();
    wait_for("the next 60 records are consumed", Duration::from_secs(30), &[], || {
        seen.lock().unwrap().records.len() >= 60
    });
    std::thread::sleep(Duration::from_millis(300));
    let resumed = member.leave();
    // Exactly the records after the committed offsets: nothing skipped, nothing repeated.
    assert_eq!(resumed.len(), second.len(), "no record twice");
    let resumed: BTreeMap<(i32, i64), String> = resumed.into_iter().collect();
    assert_eq!(resumed, second);
    child.kill().unwrap();
    child.wait().unwrap();
}
