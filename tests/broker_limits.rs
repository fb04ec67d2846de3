//! Limits on what clients take, each exceeded by one client while another keeps being served:
//! `max.connections.per.ip` (on the bundled broker and on Apache Kafka, which close the extra
//! connection alike), `max.connections` (new connections wait until one closes) and
//! `sluice.max.partitions` (CreateTopics, CreatePartitions and auto-creation refused with
//! POLICY_VIOLATION).

#[path = "../broker/tests/common/mod.rs"]
mod common;
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use common::{call, frame};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use support::kafka::Kafka;
use support::{free_port, spawn_broker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection from `source` (any 127.x address: all are this machine's loopback).
async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the broker answers ApiVersions on `s` within `wait`.
async fn answers(s: &mut TcpStream, wait: Duration) -> bool {
    let request = ApiVersionsRequest::default();
    if s.write_all(&frame(ApiKey::ApiVersions, 0, 1, &request)).await.is_err() {
        return false;
    }
    let mut size = [0u8; 4];
    match tokio::time::timeout(wait, s.read_exact(&mut size)).await {
        Ok(Ok(_)) => {
            let mut body = vec![0; i32::from_be_bytes(size) as usize];
            s.read_exact(&mut body).await.is_ok()
        }
        _ => false,
    }
}

/// Whether the broker closed `s` (end of stream or reset) within `wait`, without answering.
async fn closed(s: &mut TcpStream, wait: Duration) -> bool {
    let _ = s
        .write_all(&frame(ApiKey::ApiVersions, 0, 1, &ApiVersionsRequest::default()))
        .await;
    let mut buf = [0u8; 16];
    matches!(tokio::time::timeout(wait, s.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

/// Three connections from one address are served; a fourth is closed at once; the three go on;
/// once one closes, a new one is served.
async fn per_ip_scenario(addr: SocketAddr) {
    let mut three = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from("127.0.0.1", addr).await;
        assert!(answers(&mut s, Duration::from_secs(10)).await, "one of the first three");
        three.push(s);
    }
    let mut fourth = connect_from("127.0.0.1", addr).await;
    assert!(
        closed(&mut fourth, Duration::from_secs(10)).await,
        "the fourth is closed"
    );
    for s in &mut three {
        assert!(
            answers(s, Duration::from_secs(10)).await,
            "the first three are still served"
        );
    }
    // Another address is not held to this one's count.
    let mut other = connect_from("127.0.0.2", addr).await;
    assert!(
        answers(&mut other, Duration::from_secs(10)).await,
        "another address is served"
    );
    drop(three.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut s = connect_from("127.0.0.1", addr).await;
        if answers(&mut s, Duration::from_secs(2)).await {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a freed place is taken again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_max_connections_per_ip_is_closed_on_sluice_and_on_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broker.toml");
    std::fs::write(&config, "max.connections.per.ip = 3\n").unwrap();
    let port = free_port();
    let _sluice = spawn_broker(port, &dir.path().join("data"), &config);
    per_ip_scenario(format!("127.0.0.1:{port}").parse().unwrap()).await;

    let kafka = Kafka::start(1, &["max.connections.per.ip=3"]);
    per_ip_scenario(kafka.bootstrap.parse().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_a_new_connection_waits_until_one_closes_while_the_others_are_served() {
    let (broker, _dir) = common::start_with(|c| c.connection_limits.max_connections = 3).await;
    let addr = broker.local_addr();
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(answers(&mut s, Duration::from_secs(10)).await);
        open.push(s);
    }
    // The kernel completes the handshake, but the broker does not take the connection up.
    let mut waiting = TcpStream::connect(addr).await.unwrap();
    assert!(
        !answers(&mut waiting, Duration::from_secs(1)).await,
        "no fourth connection is served"
    );
    assert!(
        answers(&mut open[0], Duration::from_secs(5)).await,
        "the three are served meanwhile"
    );
    drop(open.pop());
    // Its ApiVersions, sent while it waited, is answered once a place is free.
    let mut size = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), waiting.read_exact(&mut size))
        .await
        .expect("served once a connection closed")
        .unwrap();
    broker.shutdown().await;
}

fn create_topic(name: &str, partitions: i32) -> CreateTopicsRequest {
    let mut topic = create_topics_request::CreatableTopic::default();
    topic.name = TopicName(StrBytes::from_string(name.to_string()));
    topic.num_partitions = partitions;
    topic.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![topic];
    r.timeout_ms = 10_000;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_sluice_max_partitions_creations_are_refused_with_policy_violation_and_the_topics_stay_served() {
    // The cap counts every partition the broker holds, its own __consumer_offsets (made one
    // partition here) included: 1 + 20.
    let (broker, _dir) = common::start_with(|c| {
        c.groups.offsets_topic_partitions = 1;
        c.max_partitions = 21;
    })
    .await;
    let mut admin = TcpStream::connect(broker.local_addr()).await.unwrap();
    let created: CreateTopicsResponse = call(&mut admin, ApiKey::CreateTopics, 5, &create_topic("kept", 12)).await;
    assert_eq!(created.topics[0].error_code, 0);

    // 13 + 10 > 21: refused with Kafka's POLICY_VIOLATION (44) and a message naming the limit.
    let refused: CreateTopicsResponse = call(&mut admin, ApiKey::CreateTopics, 5, &create_topic("big", 10)).await;
    assert_eq!(refused.topics[0].error_code, 44);
    let message = refused.topics[0]
        .error_message
        .as_deref()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("sluice.max.partitions") && message.contains("13 of the 21"),
        "{message}"
    );

    // Growing past it is refused as well; within it, it works.
    let mut grow = CreatePartitionsRequest::default();
    let mut wanted = create_partitions_request::CreatePartitionsTopic::default();
    wanted.name = TopicName(StrBytes::from_static_str("kept"));
    wanted.count = 22;
    grow.topics = vec![wanted];
    grow.timeout_ms = 10_000;
    let grown: CreatePartitionsResponse = call(&mut admin, ApiKey::CreatePartitions, 2, &grow).await;
    assert_eq!(grown.results[0].error_code, 44);
    grow.topics[0].count = 19;
    // 19 partitions of `kept` and __consumer_offsets' one: 20 held.
    let grown: CreatePartitionsResponse = call(&mut admin, ApiKey::CreatePartitions, 2, &grow).await;
    assert_eq!(grown.results[0].error_code, 0, "{grown:?}");

    // Auto-creation counts too: a Metadata request for 2 unknown topics of the default 1
    // partition each creates the first (21 held) and refuses the second.
    let mut md = MetadataRequest::default();
    md.allow_auto_topic_creation = true;
    md.topics = Some(
        ["auto-1", "auto-2"]
            .iter()
            .map(|n| {
                let mut t = metadata_request::MetadataRequestTopic::default();
                t.name = Some(TopicName(StrBytes::from_static_str(n)));
                t
            })
            .collect(),
    );
    let answer: MetadataResponse = call(&mut admin, ApiKey::Metadata, 12, &md).await;
    let codes: Vec<i16> = answer.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [0, 44], "{answer:?}");

    // Meanwhile the topics it holds are served: a produce to one of them is stored.
    let mut client = TcpStream::connect(broker.local_addr()).await.unwrap();
    let (code, _) = common::produce(&mut client, 9, "kept", -1, common::batch(None, &[b"still served"])).await;
    assert_eq!(code, 0);
    broker.shutdown().await;
}
