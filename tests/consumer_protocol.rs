//! KIP-848 consumer groups (`group.protocol=consumer`) with librdkafka, against the bundled
//! broker and against Apache Kafka with the same steps and the same checks: one member gets
//! every partition; a second member joins and the partitions split with no partition ever held
//! by two members at once; the first leaves and the second takes everything; every record is
//! consumed; and Kafka's `kafka-consumer-groups` describes the group with its member.
//!
//! Ownership is checked from the members' own rebalance callbacks, stamped from one counter: a
//! partition may be assigned to a member only after every other member that had it revoked it.

mod support;
use support::kafka::{kafka_tool_ok, Kafka};
use support::{table_rows, wait_for};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// A member polling on its own thread until `stop`; closing leaves the group (epoch -1).
fn member(bootstrap: &str, name: &'static str, shared: &Arc<Shared>, stop: &Arc<AtomicBool>) -> JoinHandle<()> {
    let consumer: BaseConsumer<Callbacks> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
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
    consumer.subscribe(&[TOPIC]).unwrap();
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
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
}

async fn produce(bootstrap: &str, count: usize) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "2")
        .create()
        .unwrap();
    for i in 0..count {
        let partition = (i % PARTITIONS as usize) as i32;
        let value = format!("record-{i}");
        let record = FutureRecord::<(), _>::to(TOPIC).payload(&value).partition(partition);
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

#[tokio::test(flavor = "multi_thread")]
async fn consumer_protocol_against_sluice_broker() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig {
        listeners: vec![broker::Listener::plaintext("127.0.0.1", 0)],
        data_dir: dir.path().to_path_buf(),
        http_listen: None,
        ..Default::default()
    };
    config.groups.consumer_heartbeat_interval = Duration::from_millis(HEARTBEAT_MS);
    let broker = broker::start(config).await.expect("broker starts");
    let bootstrap = broker.local_addr().to_string();
    members_join_and_leave(&bootstrap).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_protocol_against_apache_kafka() {
    let heartbeat = [
        format!("group.consumer.heartbeat.interval.ms={HEARTBEAT_MS}"),
        format!("group.consumer.min.heartbeat.interval.ms={HEARTBEAT_MS}"),
    ];
    let kafka = tokio::task::spawn_blocking(move || {
        let settings: Vec<&str> = heartbeat.iter().map(String::as_str).collect();
        Kafka::start(1, &settings)
    })
    .await
    .unwrap();
    members_join_and_leave(&kafka.bootstrap).await;
}
