//! KIP-848 consumer groups (`group.protocol=consumer`) with librdkafka, against the bundled
//! broker and against Apache Kafka with the same steps and the same checks:
//!
//! - one member gets every partition; a second member joins and the partitions split with no
//!   partition ever held by two members at once; the first leaves and the second takes
//!   everything; every record is consumed; Kafka's `kafka-consumer-groups` describes the group
//!   with its members;
//! - a member SIGKILLed in a child process (this test binary re-run as the ignored
//!   `member_process`) loses its partitions to the other once its session times out;
//! - the broker restarts under two members, which carry on at their epochs: no partition is
//!   revoked or assigned, and consumption resumes.
//!
//! Ownership is checked from the members' own rebalance callbacks, stamped from one counter: a
//! partition may be assigned to a member only after every other member that had it revoked it.

mod support;
use support::kafka::{kafka_tool_ok, Kafka};
use support::{free_port, table_rows, wait_for, KillOnDrop};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

const TOPIC: &str = "kip848";
const GROUP: &str = "kip848-group";
const PARTITIONS: i32 = 6;
/// How often members heartbeat, on both brokers (Kafka's default 5 s would make each step of
/// a rebalance take seconds).
const HEARTBEAT_MS: u64 = 500;
/// How long a silent member keeps its partitions, on both brokers (Kafka's default is 45 s).
/// Longer than Apache Kafka takes to restart here (about 15 s): librdkafka gives its partitions
/// up as lost when it cannot heartbeat for a session, which is not what the restart test is
/// about.
const SESSION_MS: u64 = 30_000;

#[derive(Debug, Clone)]
enum Event {
    Assigned(&'static str, Vec<i32>),
    Revoked(&'static str, Vec<i32>),
}

#[derive(Default)]
struct Shared {
    events: Mutex<Vec<(u64, Event)>>,
    clock: AtomicU64,
    consumed: Mutex<BTreeMap<(i32, i64), &'static str>>,
}

impl Shared {
    fn log(&self, e: Event) {
        let at = self.clock.fetch_add(1, Ordering::SeqCst);
        self.events.lock().unwrap().push((at, e));
    }

    /// Who holds what, replaying the callbacks; panics if a partition was assigned while
    /// another member held it.
    fn owners(&self) -> BTreeMap<i32, &'static str> {
        let mut events = self.events.lock().unwrap().clone();
        events.sort_by_key(|(at, _)| *at);
        let mut owner = BTreeMap::new();
        for (at, e) in events {
            match e {
                Event::Assigned(m, ps) => {
                    for p in ps {
                        if let Some(other) = owner.insert(p, m) {
                            assert_eq!(other, m, "partition {p} assigned to {m} at {at} while {other} held it");
                        }
                    }
                }
                Event::Revoked(m, ps) => {
                    for p in ps {
                        assert_eq!(owner.remove(&p), Some(m), "{m} revoked {p} it did not hold");
                    }
                }
            }
        }
        owner
    }

    fn held_by(&self, member: &str) -> usize {
        self.owners().values().filter(|m| **m == member).count()
    }

    fn consumed(&self) -> usize {
        self.consumed.lock().unwrap().len()
    }
}

struct Callbacks {
    name: &'static str,
    shared: Arc<Shared>,
}

impl ClientContext for Callbacks {}

fn partitions(tpl: &rdkafka::TopicPartitionList) -> Vec<i32> {
    tpl.elements().iter().map(|e| e.partition()).collect()
}

impl ConsumerContext for Callbacks {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.shared.log(Event::Revoked(self.name, partitions(tpl)));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance) {
        if let Rebalance::Assign(tpl) = rebalance {
            self.shared.log(Event::Assigned(self.name, partitions(tpl)));
        }
    }
}

/// A member of `GROUP` on `TOPIC`, polling on its own thread until `stop`.
fn member(bootstrap: &str, name: &'static str, shared: &Arc<Shared>, stop: &Arc<AtomicBool>) -> JoinHandle<()> {
    member_of(bootstrap, (TOPIC, GROUP), name, shared, stop)
}

/// A member of `group` on `topic`, polling on its own thread until `stop`; closing leaves the
/// group (epoch -1).
fn member_of(
    bootstrap: &str,
    (topic, group): (&str, &str),
    name: &'static str,
    shared: &Arc<Shared>,
    stop: &Arc<AtomicBool>,
) -> JoinHandle<()> {
    let consumer: BaseConsumer<Callbacks> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("client.id", name)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "100")
        .set("fetch.wait.max.ms", "100")
        .create_with_context(Callbacks {
            name,
            shared: shared.clone(),
        })
        .expect("a consumer with group.protocol=consumer");
    consumer.subscribe(&[topic]).unwrap();
    let (shared, stop) = (shared.clone(), stop.clone());
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    shared
                        .consumed
                        .lock()
                        .unwrap()
                        .insert((m.partition(), m.offset()), name);
                }
                Some(Err(e)) => eprintln!("{name}: {e}"),
                None => {}
            }
        }
        consumer.unsubscribe();
        for _ in 0..20 {
            consumer.poll(Duration::from_millis(100));
        }
    })
}

async fn setup(bootstrap: &str) {
    create_topic(bootstrap, TOPIC, PARTITIONS).await;
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
}

async fn produce(bootstrap: &str, count: usize) {
    produce_to(bootstrap, TOPIC, PARTITIONS, count).await;
}

async fn produce_to(bootstrap: &str, topic: &str, partitions: i32, count: usize) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "2")
        .create()
        .unwrap();
    for i in 0..count {
        let partition = (i % partitions as usize) as i32;
        let value = format!("record-{i}");
        let record = FutureRecord::<(), _>::to(topic).payload(&value).partition(partition);
        producer.send(record, Duration::from_secs(10)).await.unwrap();
    }
}

/// The steps and checks of the module's notes, against whichever broker `bootstrap` is.
async fn members_join_and_leave(bootstrap: &str) {
    const LIMIT: Duration = Duration::from_secs(60);
    setup(bootstrap).await;
    produce(bootstrap, 600).await;
    let shared = Arc::new(Shared::default());
    let (stop_a, stop_b) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));

    let a = member(bootstrap, "member-a", &shared, &stop_a);
    wait_for("member-a to hold every partition and read all 600", LIMIT, &[], || {
        shared.held_by("member-a") == PARTITIONS as usize && shared.consumed() == 600
    });

    let b = member(bootstrap, "member-b", &shared, &stop_b);
    wait_for("the partitions to split 3 and 3", LIMIT, &[], || {
        shared.held_by("member-a") == 3 && shared.held_by("member-b") == 3
    });
    produce(bootstrap, 600).await;
    wait_for("both members to read the next 600", LIMIT, &[], || {
        shared.consumed() == 1200
    });
    let readers: BTreeSet<&str> = shared.consumed.lock().unwrap().values().copied().collect();
    assert_eq!(readers.len(), 2, "both members consumed records");

    let out = kafka_tool_ok(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--group",
            GROUP,
            "--members",
        ],
        None,
    );
    let rows = table_rows(&out, "GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS");
    let mut held: Vec<(String, String)> = rows.iter().map(|r| (r[3].clone(), r[4].clone())).collect();
    held.sort();
    assert_eq!(
        held,
        [("member-a".into(), "3".into()), ("member-b".into(), "3".into())],
        "{out}"
    );

    stop_a.store(true, Ordering::SeqCst);
    a.join().unwrap();
    wait_for(
        "member-b to take every partition after member-a left",
        LIMIT,
        &[],
        || shared.held_by("member-b") == PARTITIONS as usize,
    );
    produce(bootstrap, 600).await;
    wait_for("member-b to read the last 600", LIMIT, &[], || {
        shared.consumed() == 1800
    });

    stop_b.store(true, Ordering::SeqCst);
    b.join().unwrap();
    let owners = shared.owners();
    assert!(
        owners.is_empty(),
        "every partition was given back on leaving: {owners:?}"
    );
}

/// A killed member's partitions go to the other member once its session times out.
async fn a_killed_member_loses_its_partitions(bootstrap: &str) {
    const LIMIT: Duration = Duration::from_secs(60);
    let (topic, group) = ("kip848-kill", "kip848-kill-group");
    create_topic(bootstrap, topic, 4).await;
    let shared = Arc::new(Shared::default());
    let stop = Arc::new(AtomicBool::new(false));
    let child = ChildMember::start(bootstrap, group, topic);
    wait_for("the child member to hold all 4 partitions", LIMIT, &[], || {
        child.assignment().len() == 4
    });
    let survivor = member_of(bootstrap, (topic, group), "survivor", &shared, &stop);
    wait_for("the partitions to split 2 and 2", LIMIT, &[], || {
        shared.held_by("survivor") == 2 && child.assignment().len() == 2
    });
    let killed = Instant::now();
    child.kill();
    wait_for(
        "the survivor to take the killed member's partitions",
        LIMIT,
        &[],
        || shared.held_by("survivor") == 4,
    );
    let moved = killed.elapsed();
    eprintln!(
        "partitions moved {:.1} s after the SIGKILL (session {SESSION_MS} ms)",
        moved.as_secs_f64()
    );
    assert!(
        moved >= Duration::from_millis(SESSION_MS / 2),
        "the partitions moved before the session could have ended: {moved:?}"
    );
    stop.store(true, Ordering::SeqCst);
    survivor.join().unwrap();
}

/// The broker restarts under two members: they carry on at their epochs, with no partition
/// revoked or assigned, and consumption resumes.
async fn members_carry_on_across_a_restart(target: &mut Target) {
    const LIMIT: Duration = Duration::from_secs(60);
    let (topic, group) = ("kip848-restart", "kip848-restart-group");
    let bootstrap = target.bootstrap();
    create_topic(&bootstrap, topic, 4).await;
    produce_to(&bootstrap, topic, 4, 400).await;
    let shared = Arc::new(Shared::default());
    let stop = Arc::new(AtomicBool::new(false));
    let e = member_of(&bootstrap, (topic, group), "member-e", &shared, &stop);
    let f = member_of(&bootstrap, (topic, group), "member-f", &shared, &stop);
    wait_for("a 2/2 split and all 400 read", LIMIT, &[], || {
        shared.held_by("member-e") == 2 && shared.held_by("member-f") == 2 && shared.consumed() == 400
    });
    // Let the last auto-commit go out, so both resume where they stopped.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = shared.events.lock().unwrap().len();
    let restarting = Instant::now();
    target.restart().await;
    eprintln!("the broker restarted in {:.1} s", restarting.elapsed().as_secs_f64());
    produce_to(&bootstrap, topic, 4, 400).await;
    wait_for("all 800 read after the restart", LIMIT, &[], || {
        shared.consumed() == 800
    });
    let after: Vec<_> = shared.events.lock().unwrap()[events..].to_vec();
    assert!(after.is_empty(), "partitions moved across the restart: {after:?}");
    assert_eq!((shared.held_by("member-e"), shared.held_by("member-f")), (2, 2));
    stop.store(true, Ordering::SeqCst);
    e.join().unwrap();
    f.join().unwrap();
}

/// A broker under test, restartable on the same address and data.
enum Target {
    Sluice {
        broker: Option<broker::RunningBroker>,
        config: Box<broker::BrokerConfig>,
        _dir: tempfile::TempDir,
    },
    Kafka(Kafka),
}

impl Target {
    async fn sluice() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let mut config = broker::BrokerConfig {
            listeners: vec![broker::Listener::plaintext("127.0.0.1", free_port())],
            data_dir: dir.path().to_path_buf(),
            http_listen: None,
            ..Default::default()
        };
        config.groups.consumer_heartbeat_interval = Duration::from_millis(HEARTBEAT_MS);
        config.groups.consumer_session_timeout = Duration::from_millis(SESSION_MS);
        let broker = broker::start(config.clone()).await.expect("broker starts");
        Target::Sluice {
            broker: Some(broker),
            config: Box::new(config),
            _dir: dir,
        }
    }

    async fn kafka() -> Target {
        let settings = [
            format!("group.consumer.heartbeat.interval.ms={HEARTBEAT_MS}"),
            format!("group.consumer.min.heartbeat.interval.ms={HEARTBEAT_MS}"),
            format!("group.consumer.session.timeout.ms={SESSION_MS}"),
            format!("group.consumer.min.session.timeout.ms={SESSION_MS}"),
        ];
        let kafka = tokio::task::spawn_blocking(move || {
            let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
            Kafka::start(1, &settings)
        })
        .await
        .unwrap();
        Target::Kafka(kafka)
    }

    fn bootstrap(&self) -> String {
        match self {
            Target::Sluice { broker, .. } => broker.as_ref().expect("running").local_addr().to_string(),
            Target::Kafka(k) => k.bootstrap.clone(),
        }
    }

    async fn restart(&mut self) {
        match self {
            Target::Sluice { broker, config, .. } => {
                broker.take().expect("running").shutdown().await;
                *broker = Some(broker::start((**config).clone()).await.expect("broker restarts"));
            }
            Target::Kafka(k) => {
                tokio::task::block_in_place(|| {
                    k.kill_node(0);
                    k.restart_node(0);
                });
            }
        }
    }
}

/// Every scenario of the module's notes, against `target`.
async fn scenarios(mut target: Target) {
    let bootstrap = target.bootstrap();
    members_join_and_leave(&bootstrap).await;
    a_killed_member_loses_its_partitions(&bootstrap).await;
    members_carry_on_across_a_restart(&mut target).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_protocol_against_sluice_broker() {
    scenarios(Target::sluice().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_protocol_against_apache_kafka() {
    scenarios(Target::kafka().await).await;
}

/// A member in a child process, to be killed without a chance to leave.
struct ChildMember {
    child: KillOnDrop,
    assignment: Arc<Mutex<BTreeSet<i32>>>,
}

impl ChildMember {
    fn start(bootstrap: &str, group: &str, topic: &str) -> ChildMember {
        let mut child = support::spawn_self(
            "member_process",
            ("SLUICE_TEST_MEMBER", format!("{bootstrap} {group} {topic}")),
        );
        let assignment = Arc::new(Mutex::new(BTreeSet::new()));
        let out = BufReader::new(child.0.stdout.take().unwrap());
        let seen = assignment.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                // The first report shares its line with the test harness's "test … ".
                if let Some((_, list)) = line.split_once("ASSIGNED") {
                    *seen.lock().unwrap() = list.split_whitespace().filter_map(|w| w.parse().ok()).collect();
                }
            }
        });
        ChildMember { child, assignment }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.assignment.lock().unwrap().clone()
    }

    /// SIGKILL: no leave; the broker finds out when the member's session ends.
    fn kill(mut self) {
        self.child.0.kill().unwrap();
        self.child.0.wait().unwrap();
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
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", args[0])
        .set("group.id", args[1])
        .set("group.protocol", "consumer")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[args[2]]).unwrap();
    let mut reported = None;
    loop {
        consumer.poll(Duration::from_millis(50));
        let assignment: Vec<String> = consumer
            .assignment()
            .map(|t| t.elements().iter().map(|e| e.partition().to_string()).collect())
            .unwrap_or_default();
        if reported.as_ref() != Some(&assignment) {
            println!("ASSIGNED {}", assignment.join(" "));
            reported = Some(assignment);
        }
    }
}
