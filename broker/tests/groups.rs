//! Consumer-group APIs over raw sockets with hostile input: each bad request gets Kafka's error
//! code, a malformed one closes only its connection, and every other group carries on.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn group_id(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_string()))
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn heartbeat(conn: &mut TcpStream, group: &str, generation: i32, member_id: &str) -> i16 {
    let mut r = HeartbeatRequest::default();
    r.group_id = group_id(group);
    r.generation_id = generation;
    r.member_id = s(member_id);
    let resp: HeartbeatResponse = call(conn, ApiKey::Heartbeat, 4, &r).await;
    resp.error_code
}

async fn sync(conn: &mut TcpStream, group: &str, generation: i32, member_id: &str, assign: bool) -> SyncGroupResponse {
    let mut r = SyncGroupRequest::default();
    r.group_id = group_id(group);
    r.generation_id = generation;
    r.member_id = s(member_id);
    if assign {
        let mut a = sync_group_request::SyncGroupRequestAssignment::default();
        a.member_id = s(member_id);
        a.assignment = Bytes::from_static(b"everything");
        r.assignments = vec![a];
    }
    call(conn, ApiKey::SyncGroup, 5, &r).await
}

/// A member commit of `offset` for `meta` partition 0, with `metadata`.
fn member_commit(group: &str, generation: i32, member_id: &str, offset: i64, metadata: &str) -> OffsetCommitRequest {
    let mut r = commit_request(group, offset);
    r.generation_id_or_member_epoch = generation;
    r.member_id = s(member_id);
    r.topics[0].partitions[0].committed_metadata = Some(s(metadata));
    r
}

async fn commit_error(conn: &mut TcpStream, request: &OffsetCommitRequest) -> i16 {
    let resp: OffsetCommitResponse = call(conn, ApiKey::OffsetCommit, 8, request).await;
    resp.topics[0].partitions[0].error_code
}

/// The healthy group keeps working: a heartbeat, a commit and reading it back.
async fn still_served(conn: &mut TcpStream, generation: i32, member_id: &str, offset: i64) {
    assert_eq!(heartbeat(conn, "healthy", generation, member_id).await, 0);
    let commit = member_commit("healthy", generation, member_id, offset, "");
    assert_eq!(commit_error(conn, &commit).await, 0);
    let mut fetch = OffsetFetchRequest::default();
    fetch.group_id = group_id("healthy");
    let mut t = offset_fetch_request::OffsetFetchRequestTopic::default();
    t.name = topic_name("meta");
    t.partition_indexes = vec![0];
    fetch.topics = Some(vec![t]);
    let fetched: OffsetFetchResponse = call(conn, ApiKey::OffsetFetch, 7, &fetch).await;
    assert_eq!(fetched.topics[0].partitions[0].committed_offset, offset);
}

#[tokio::test]
async fn hostile_group_requests_get_kafkas_error_codes_and_other_groups_carry_on() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("meta", 1).unwrap();
    let mut healthy = TcpStream::connect(broker.local_addr()).await.unwrap();
    let (m, generation) = stable(&mut healthy, "healthy").await;
    let mut x = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut offset = 0;
    let mut next = || {
        offset += 1;
        offset
    };

    for timeout in [i32::MAX, i32::MIN, -1, 0, 5_999, 1_800_001] {
        let mut r = join_request("absurd", "");
        r.session_timeout_ms = timeout;
        let resp: JoinGroupResponse = call(&mut x, ApiKey::JoinGroup, 5, &r).await;
        assert_eq!(resp.error_code, 26, "INVALID_SESSION_TIMEOUT for {timeout}");
        still_served(&mut healthy, generation, &m, next()).await;
    }

    let resp: JoinGroupResponse = call(&mut x, ApiKey::JoinGroup, 7, &join_request("", "")).await;
    assert_eq!(resp.error_code, 24, "INVALID_GROUP_ID");
    assert_eq!(resp.protocol_name, None, "v7 answers errors with a null protocol name");
    let resp: JoinGroupResponse = call(&mut x, ApiKey::JoinGroup, 5, &join_request("", "")).await;
    assert_eq!(
        resp.protocol_name.as_deref(),
        Some(""),
        "before v7 the name is never null"
    );
    still_served(&mut healthy, generation, &m, next()).await;

    let resp = sync(&mut x, "healthy", generation, "intruder", true).await;
    assert_eq!(resp.error_code, 25, "a SyncGroup from a stranger: UNKNOWN_MEMBER_ID");
    let resp = sync(&mut x, "healthy", generation + 7, &m, true).await;
    assert_eq!(resp.error_code, 22, "ILLEGAL_GENERATION");
    assert_eq!(heartbeat(&mut x, "healthy", generation, "intruder").await, 25);
    assert_eq!(heartbeat(&mut x, "healthy", generation - 1, &m).await, 22);
    still_served(&mut healthy, generation, &m, next()).await;

    let passed = member_commit("healthy", generation - 1, &m, 999, "");
    assert_eq!(
        commit_error(&mut x, &passed).await,
        22,
        "a commit for a generation that has passed"
    );
    let stranger = member_commit("healthy", generation, "intruder", 999, "");
    assert_eq!(commit_error(&mut x, &stranger).await, 25);
    let simple = commit_request("healthy", 999);
    assert_eq!(
        commit_error(&mut x, &simple).await,
        25,
        "a memberless commit to an active group"
    );
    let huge = member_commit("healthy", generation, &m, 999, &"x".repeat(5000));
    assert_eq!(commit_error(&mut x, &huge).await, 12, "OFFSET_METADATA_TOO_LARGE");
    let mut unknown_topic = member_commit("healthy", generation, &m, 999, "");
    unknown_topic.topics[0].name = topic_name("no-such-topic");
    assert_eq!(commit_error(&mut x, &unknown_topic).await, 3);
    still_served(&mut healthy, generation, &m, next()).await;

    let mut leave = LeaveGroupRequest::default();
    leave.group_id = group_id("healthy");
    leave.members = (0..500)
        .map(|i| {
            let mut who = leave_group_request::MemberIdentity::default();
            who.member_id = s(&format!("stranger-{i}"));
            who
        })
        .collect();
    let resp: LeaveGroupResponse = call(&mut x, ApiKey::LeaveGroup, 4, &leave).await;
    assert!(resp.members.iter().all(|r| r.error_code == 25));
    let mut describe = DescribeGroupsRequest::default();
    describe.groups = (0..200).map(|i| group_id(&format!("nobody-{i}"))).collect();
    describe.groups.push(group_id(""));
    let resp: DescribeGroupsResponse = call(&mut x, ApiKey::DescribeGroups, 5, &describe).await;
    assert!(resp.groups[..200]
        .iter()
        .all(|g| g.error_code == 0 && g.group_state.as_str() == "Dead"));
    assert_eq!(resp.groups[200].error_code, 24);
    let mut delete = DeleteGroupsRequest::default();
    delete.groups_names = vec![group_id("healthy")];
    let resp: DeleteGroupsResponse = call(&mut x, ApiKey::DeleteGroups, 2, &delete).await;
    assert_eq!(resp.results[0].error_code, 68, "NON_EMPTY_GROUP");
    still_served(&mut healthy, generation, &m, next()).await;

    // Clients may not write the coordinator's topic, delete it, or grow it.
    let mut produce = ProduceRequest::default();
    produce.acks = 1;
    let mut t = produce_request::TopicProduceData::default();
    t.name = topic_name("__consumer_offsets");
    let mut p = produce_request::PartitionProduceData::default();
    p.records = Some(Bytes::from_static(b"junk"));
    t.partition_data = vec![p];
    produce.topic_data = vec![t];
    let resp: ProduceResponse = call(&mut x, ApiKey::Produce, 9, &produce).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 17);
    let mut delete = DeleteTopicsRequest::default();
    delete.topic_names = vec![topic_name("__consumer_offsets")];
    let resp: DeleteTopicsResponse = call(&mut x, ApiKey::DeleteTopics, 4, &delete).await;
    assert_eq!(resp.responses[0].error_code, 17);

    let mut d = DescribeGroupsRequest::default();
    d.groups = vec![group_id("healthy")];
    let resp: DescribeGroupsResponse = call(&mut healthy, ApiKey::DescribeGroups, 5, &d).await;
    assert_eq!(resp.groups[0].group_state.as_str(), "Stable");
    assert_eq!(resp.groups[0].members.len(), 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_malformed_group_request_closes_only_its_connection() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("meta", 1).unwrap();
    let mut healthy = TcpStream::connect(broker.local_addr()).await.unwrap();
    let (m, generation) = stable(&mut healthy, "healthy").await;
    // JoinGroup v5 whose protocol array claims i32::MAX entries.
    let mut bytes = frame(ApiKey::JoinGroup, 5, 1, &join_request("g", "")).to_vec();
    let protocols_at = bytes.len() - (4 + 2 + 5 + 4 + 12);
    assert_eq!(&bytes[protocols_at..protocols_at + 4], &[0, 0, 0, 1]);
    bytes[protocols_at..protocols_at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    expect_closed(broker.local_addr(), &bytes).await;
    still_served(&mut healthy, generation, &m, 1).await;
    broker.shutdown().await;
}

fn short_join(group: &str, member_id: &str) -> JoinGroupRequest {
    let mut r = join_request(group, member_id);
    r.session_timeout_ms = 1_000;
    r.rebalance_timeout_ms = 2_000;
    r
}

/// Heartbeats until the group asks for a rejoin (REBALANCE_IN_PROGRESS).
async fn until_rebalance(conn: &mut TcpStream, group: &str, generation: i32, member_id: &str) {
    loop {
        match heartbeat(conn, group, generation, member_id).await {
            0 => tokio::time::sleep(Duration::from_millis(200)).await,
            27 => return,
            other => panic!("heartbeat answered {other}"),
        }
    }
}

#[tokio::test]
async fn a_member_whose_connection_closes_mid_join_does_not_wedge_the_group() {
    let (broker, _dir) = start_with(|c| c.groups.min_session_timeout = Duration::from_millis(500)).await;
    let started = Instant::now();
    let mut a = TcpStream::connect(broker.local_addr()).await.unwrap();
    let joined: JoinGroupResponse = call(&mut a, ApiKey::JoinGroup, 3, &short_join("w", "")).await;
    let me = joined.member_id.to_string();
    assert_eq!(sync(&mut a, "w", 1, &me, true).await.error_code, 0);

    // b joins, which parks its JoinGroup until a rejoins, and vanishes meanwhile.
    let mut b = TcpStream::connect(broker.local_addr()).await.unwrap();
    b.write_all(&frame(ApiKey::JoinGroup, 3, 1, &short_join("w", "")))
        .await
        .unwrap();
    until_rebalance(&mut a, "w", 1, &me).await;
    drop(b);

    // a rejoins: b counts as joined, so generation 2 has both, but b never syncs.
    let second: JoinGroupResponse = call(&mut a, ApiKey::JoinGroup, 3, &short_join("w", &me)).await;
    assert_eq!((second.generation_id, second.members.len()), (2, 2));
    assert_eq!(sync(&mut a, "w", 2, &me, true).await.error_code, 0);
    // The rebalance timeout removes b; a is asked to rejoin and ends up alone.
    until_rebalance(&mut a, "w", 2, &me).await;
    let third: JoinGroupResponse = call(&mut a, ApiKey::JoinGroup, 3, &short_join("w", &me)).await;
    assert_eq!((third.generation_id, third.members.len()), (3, 1));
    assert_eq!(sync(&mut a, "w", 3, &me, true).await.error_code, 0);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    broker.shutdown().await;
}

/// DescribeGroups v3+ with `include_authorized_operations`: READ, DELETE, DESCRIBE,
/// DESCRIBE_CONFIGS and ALTER_CONFIGS (bits 3, 6, 8, 10 and 11 of Kafka's AclOperation; Kafka 4's
/// operations on a group) without authorization; with grants, only what the user holds.
#[tokio::test]
async fn described_groups_report_what_the_user_may_do() {
    const READ: i32 = 1 << 3;
    const DELETE: i32 = 1 << 6;
    const DESCRIBE: i32 = 1 << 8;
    const CONFIGS: i32 = (1 << 10) | (1 << 11);
    async fn operations(broker: &broker::RunningBroker, version: i16, include: bool) -> Vec<i32> {
        let mut conn = TcpStream::connect(broker.local_addr()).await.unwrap();
        let mut d = DescribeGroupsRequest::default();
        d.groups = vec![group_id("workers"), group_id("audit")];
        d.include_authorized_operations = include;
        let resp: DescribeGroupsResponse = call(&mut conn, ApiKey::DescribeGroups, version, &d).await;
        resp.groups.iter().map(|g| g.authorized_operations).collect()
    }

    let (open, _dir) = start().await;
    assert_eq!(
        operations(&open, 5, true).await,
        [READ | DELETE | DESCRIBE | CONFIGS; 2]
    );
    // Not asked for (v2 cannot ask): Kafka's "not provided".
    assert_eq!(operations(&open, 5, false).await, [i32::MIN; 2]);
    assert_eq!(operations(&open, 2, false).await, [i32::MIN; 2]);
    open.shutdown().await;

    // A plaintext client is ANONYMOUS: it may use `workers` and only look at `audit`.
    let (guarded, _dir) = start_with(|c| {
        use broker::auth::grants::grant;
        grant(
            &mut c.acls.bindings,
            "ANONYMOUS",
            "groups",
            &toml::Value::from(vec!["work*"]),
        )
        .unwrap();
        grant(
            &mut c.acls.bindings,
            "ANONYMOUS",
            "describe",
            &toml::Value::from(vec!["audit"]),
        )
        .unwrap();
        c.acls.enabled = true;
    })
    .await;
    assert_eq!(operations(&guarded, 5, true).await, [READ | DESCRIBE, DESCRIBE]);
    guarded.shutdown().await;
}
