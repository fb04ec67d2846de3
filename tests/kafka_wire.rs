//! The same raw requests to the bundled broker and to Apache Kafka 4.4, their answers compared
//! field by field: the corners of the group APIs that no client or tool shows directly —
//! DescribeGroups v5 and v6 for an unknown group, a simple (manual-assignment) group and a
//! KIP-848 consumer group, and OffsetCommit v8/v9 for groups that do not exist, with and without
//! a generation or a member id.

#[path = "../broker/tests/common/mod.rs"]
mod common;
mod support;

use common::call;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use support::kafka::Kafka;
use tokio::net::TcpStream;

/// What one broker answered to each step, in a form both can be compared in.
type Answers = Vec<(String, String)>;

fn group_id(name: &str) -> GroupId {
    GroupId(StrBytes::from_string(name.to_string()))
}

/// OffsetCommit of offset 1 for `wire` partition 0.
fn commit(group: &str, generation: i32, member: &str) -> OffsetCommitRequest {
    let mut r = common::commit_request(group, 1);
    r.topics[0].name = TopicName(StrBytes::from_static_str("wire"));
    r.generation_id_or_member_epoch = generation;
    r.member_id = StrBytes::from_string(member.to_string());
    r
}

/// FindCoordinator for each group until the broker answers that it is the coordinator, as
/// clients ask before any group request (Kafka creates `__consumer_offsets` on the first ask and
/// answers COORDINATOR_NOT_AVAILABLE until its partitions are loaded).
async fn coordinator_ready(s: &mut TcpStream, groups: &[&str]) {
    for group in groups {
        let mut r = FindCoordinatorRequest::default();
        r.key = StrBytes::from_string(group.to_string());
        let mut waited = 0;
        loop {
            let resp: FindCoordinatorResponse = call(s, ApiKey::FindCoordinator, 3, &r).await;
            if resp.error_code == 0 {
                break;
            }
            waited += 1;
            assert!(
                waited < 300,
                "no coordinator for {group} after 30 s: {}",
                resp.error_code
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// Kafka's answers while a coordinator is still loading its partition; clients retry them.
const NOT_READY: [i16; 3] = [14, 15, 16];

/// Sends `req` until its answer's error (`error` reads it) is not a not-ready one, for 30 s.
async fn ready_call<Req, Resp>(s: &mut TcpStream, key: ApiKey, version: i16, req: &Req, error: fn(&Resp) -> i16) -> Resp
where
    Req: kafka_protocol::protocol::Encodable,
    Resp: kafka_protocol::protocol::Decodable,
{
    for _ in 0..300 {
        let resp: Resp = call(s, key, version, req).await;
        if !NOT_READY.contains(&error(&resp)) {
            return resp;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{key:?}: the coordinator was not ready within 30 s");
}

async fn scenario(bootstrap: &str) -> Answers {
    let mut s = TcpStream::connect(bootstrap).await.unwrap();
    let mut create = CreateTopicsRequest::default();
    let mut topic = create_topics_request::CreatableTopic::default();
    topic.name = TopicName(StrBytes::from_static_str("wire"));
    topic.num_partitions = 1;
    topic.replication_factor = 1;
    create.topics = vec![topic];
    create.timeout_ms = 10_000;
    let created: CreateTopicsResponse = call(&mut s, ApiKey::CreateTopics, 5, &create).await;
    assert_eq!(created.topics[0].error_code, 0, "{:?}", created.topics[0].error_message);
    let groups = ["wire-ghost", "wire-manual", "wire-simple", "wire-cg", "wire-nobody"];
    coordinator_ready(&mut s, &groups).await;
    let mut answers = Answers::new();
    let mut note = |step: &str, answer: String| answers.push((step.to_string(), answer));

    // OffsetCommit to groups that do not exist.
    for (step, group, generation, member, version) in [
        ("commit v9, a generation, unknown group", "wire-ghost", 3, "m", 9),
        ("commit v8, a generation, unknown group", "wire-ghost", 3, "m", 8),
        (
            "commit v9, no generation, a member id",
            "wire-manual",
            -1,
            "self-named",
            9,
        ),
        ("commit v9, no generation, no member id", "wire-simple", -1, "", 9),
        (
            "commit v9, again to the simple group",
            "wire-manual",
            -1,
            "self-named",
            9,
        ),
    ] {
        let first_error = |r: &OffsetCommitResponse| r.topics[0].partitions[0].error_code;
        let resp: OffsetCommitResponse = ready_call(
            &mut s,
            ApiKey::OffsetCommit,
            version,
            &commit(group, generation, member),
            first_error,
        )
        .await;
        note(step, format!("{:?}", resp.topics[0].partitions[0].error_code));
    }

    // A KIP-848 consumer group with one member.
    let mut join = ConsumerGroupHeartbeatRequest::default();
    join.group_id = group_id("wire-cg");
    join.member_id = StrBytes::from_static_str("wire-member-0000000000");
    join.rebalance_timeout_ms = 30_000;
    join.subscribed_topic_names = Some(vec![TopicName(StrBytes::from_static_str("wire"))]);
    join.topic_partitions = Some(vec![]);
    let joined: ConsumerGroupHeartbeatResponse = ready_call(
        &mut s,
        ApiKey::ConsumerGroupHeartbeat,
        1,
        &join,
        |r: &ConsumerGroupHeartbeatResponse| r.error_code,
    )
    .await;
    // Epochs are opaque to clients, and Kafka 4.4 answers a new group's first member with epoch
    // 2 where this broker answers 1; what both must agree on is that the member is in.
    note(
        "consumer group joined",
        format!(
            "error {} member epoch > 0: {}",
            joined.error_code,
            joined.member_epoch > 0
        ),
    );

    for version in [5, 6] {
        let mut r = DescribeGroupsRequest::default();
        r.groups = ["wire-nobody", "wire-simple", "wire-cg"].map(group_id).to_vec();
        let worst = |r: &DescribeGroupsResponse| r.groups.iter().map(|g| g.error_code).max().unwrap_or(0);
        let mut resp: DescribeGroupsResponse = ready_call(&mut s, ApiKey::DescribeGroups, version, &r, worst).await;
        // Kafka answers groups in the order of their coordinator partitions, not as asked;
        // clients match them by id.
        resp.groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        for g in resp.groups {
            note(
                &format!("describe v{version} {}", g.group_id.as_str()),
                format!(
                    "error {} message {:?} state {:?} protocol type {:?} members {}",
                    g.error_code,
                    g.error_message.as_deref(),
                    g.group_state.as_str(),
                    g.protocol_type.as_str(),
                    g.members.len()
                ),
            );
        }
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_api_corners_answer_as_kafka_answers() {
    let (sluice, _dir) = common::start().await;
    let on_sluice = scenario(&sluice.local_addr().to_string()).await;
    drop(sluice);
    let kafka = tokio::task::spawn_blocking(|| Kafka::start(1, &[])).await.unwrap();
    let on_kafka = scenario(&kafka.bootstrap).await;
    drop(kafka);
    let differences: Vec<String> = on_kafka
        .iter()
        .zip(&on_sluice)
        .filter(|(k, s)| k != s)
        .map(|((step, k), (_, s))| format!("{step}:\n  kafka:  {k}\n  sluice: {s}"))
        .collect();
    eprintln!("Kafka's answers: {on_kafka:#?}");
    assert_eq!(on_kafka.len(), on_sluice.len());
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
