//! `native::describe_consumer_groups` against the bundled broker with real librdkafka members:
//! a classic group and a KIP-848 group (`group.protocol=consumer`) are both described with
//! their member, its assignment and the group's real state, where DescribeGroups (rdkafka's
//! `fetch_group_list`) answers the KIP-848 group as Dead with no members.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kafka_client::native::{describe_consumer_groups, GroupDescription, GroupType};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

const TOPIC: &str = "t";
const PARTITIONS: i32 = 4;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A subscribed member polling on its own thread until stopped; it leaves on drop.
struct Member {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Member {
    fn join(config: &mut ClientConfig) -> Member {
        let consumer: BaseConsumer = config.set("enable.auto.commit", "false").create().unwrap();
        consumer.subscribe(&[TOPIC]).unwrap();
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

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

/// Describes `groups` until every one is Stable with one member holding every partition.
fn described_when_settled(admin: &AdminClient<DefaultClientContext>, groups: &[String]) -> Vec<GroupDescription> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = describe_consumer_groups(admin.inner(), groups, TIMEOUT).unwrap();
        let settled = described.iter().all(|g| {
            g.state == "Stable" && g.members.len() == 1 && g.members[0].assignment.len() == PARTITIONS as usize
        });
        if settled {
            return described;
        }
        assert!(Instant::now() < deadline, "the groups never settled: {described:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_and_kip848_groups_are_described_with_their_members() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig {
        listeners: vec![broker::Listener::plaintext("127.0.0.1", 0)],
        data_dir: dir.path().to_path_buf(),
        http_listen: None,
        ..Default::default()
    };
    config.groups.initial_rebalance_delay = Duration::ZERO;
    config.groups.consumer_heartbeat_interval = Duration::from_millis(500);
    let broker = broker::start(config).await.expect("broker starts");
    let bootstrap = broker.local_addr().to_string();
    let admin: AdminClient<DefaultClientContext> = client(&bootstrap).create().unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");

    let members = [
        Member::join(
            client(&bootstrap)
                .set("group.id", "classic")
                .set("client.id", "classic-member")
                .set("group.instance.id", "classic-1"),
        ),
        Member::join(
            client(&bootstrap)
                .set("group.id", "kip848")
                .set("group.protocol", "consumer")
                .set("client.id", "kip848-member"),
        ),
    ];
    let names = ["classic", "kip848", "nobody", "kip848"].map(String::from);
    let (described, classic_view) = tokio::task::spawn_blocking(move || {
        let settled = described_when_settled(&admin, &names[..2]);
        // A name given twice is described once; a group nobody has is Dead, as DescribeGroups
        // answers it, without an error.
        let all = describe_consumer_groups(admin.inner(), &names, TIMEOUT).unwrap();
        assert_eq!(
            all.iter().map(|g| g.group_id.as_str()).collect::<Vec<_>>(),
            ["classic", "kip848", "nobody"]
        );
        assert_eq!((all[2].state.as_str(), all[2].members.len()), ("Dead", 0));
        assert_eq!(all[2].error, None);
        // Why this call exists: the classic DescribeGroups says the KIP-848 group is Dead.
        let list = admin.inner().fetch_group_list(Some("kip848"), TIMEOUT).unwrap();
        let g = &list.groups()[0];
        (settled, (g.state().to_string(), g.members().len()))
    })
    .await
    .unwrap();
    assert_eq!(classic_view, ("Dead".to_string(), 0));
    let every_partition: Vec<(String, i32)> = (0..PARTITIONS).map(|p| (TOPIC.to_string(), p)).collect();
    let sorted = |mut ps: Vec<(String, i32)>| {
        ps.sort();
        ps
    };

    let classic = &described[0];
    assert_eq!((classic.group_type, classic.error.as_ref()), (GroupType::Classic, None));
    assert_eq!(classic.partition_assignor, "range");
    let m = &classic.members[0];
    assert!(m.member_id.starts_with("classic-1-"), "{m:?}");
    assert_eq!(m.group_instance_id.as_deref(), Some("classic-1"));
    assert_eq!(
        (m.client_id.as_str(), m.host.as_str()),
        ("classic-member", "/127.0.0.1")
    );
    assert_eq!(sorted(m.assignment.clone()), every_partition);
    assert_eq!(m.target_assignment, None);

    let kip848 = &described[1];
    assert_eq!((kip848.group_type, kip848.error.as_ref()), (GroupType::Consumer, None));
    assert_eq!(kip848.partition_assignor, "uniform");
    let m = &kip848.members[0];
    assert!(!m.member_id.is_empty());
    assert_eq!(m.group_instance_id, None);
    assert_eq!((m.client_id.as_str(), m.host.as_str()), ("kip848-member", "/127.0.0.1"));
    assert_eq!(sorted(m.assignment.clone()), every_partition);
    assert_eq!(m.target_assignment.clone().map(sorted), Some(every_partition));

    drop(members);
    broker.shutdown().await;
}
