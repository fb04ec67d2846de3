//! Every error code of docs/kafka-protocol.md#group-error-codes, each where Kafka returns it.

use std::time::Duration;

use kafka_protocol::error::ResponseError;

use super::*;

#[tokio::test(start_paused = true)]
async fn join_validation_errors() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let empty_group = c.join(join_request("", "")).await;
    assert_eq!(empty_group.error, Some(ResponseError::InvalidGroupId));
    for timeout in [999, 1_800_001, -5, i32::MAX] {
        let mut req = join_request("g", "");
        req.session_timeout_ms = timeout;
        assert_eq!(
            c.join(req).await.error,
            Some(ResponseError::InvalidSessionTimeout),
            "{timeout}"
        );
    }
    let mut no_protocols = join_request("g", "");
    no_protocols.protocols.clear();
    assert_eq!(
        c.join(no_protocols).await.error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    assert_eq!(
        c.join(join_request("g", "made-up-id")).await.error,
        Some(ResponseError::UnknownMemberId),
        "a member id the group never issued"
    );
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    let mut other_type = join_request("g", "");
    other_type.protocol_type = "connect".into();
    assert_eq!(
        c.join(other_type).await.error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    let mut other_protocol = join_request("g", "");
    other_protocol.protocols = protocols(&["sticky"]);
    assert_eq!(
        c.join(other_protocol).await.error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    // The group is untouched by all of that.
    assert_eq!(heartbeat(c, "g", generation, &ids[0]).await, None);
}

#[tokio::test(start_paused = true)]
async fn a_full_group_refuses_new_members() {
    let env = Env::start(GroupConfig {
        max_size: 1,
        ..config()
    })
    .await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    let mut second = join_request("g", "");
    second.require_known_member_id = false;
    assert_eq!(c.join(second).await.error, Some(ResponseError::GroupMaxSizeReached));
    assert_eq!(heartbeat(c, "g", generation, &ids[0]).await, None);
}

#[tokio::test(start_paused = true)]
async fn sync_and_heartbeat_errors() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    assert_eq!(
        c.sync(sync_request("nope", 1, "x", &[])).await.error,
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(heartbeat(c, "nope", 1, "x").await, Some(ResponseError::UnknownMemberId));
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    let a = &ids[0];
    assert_eq!(
        c.sync(sync_request("g", generation, "stranger", &[])).await.error,
        Some(ResponseError::UnknownMemberId),
        "a SyncGroup from a stranger"
    );
    assert_eq!(
        c.sync(sync_request("g", generation + 5, a, &[])).await.error,
        Some(ResponseError::IllegalGeneration)
    );
    let mut wrong_protocol = sync_request("g", generation, a, &[]);
    wrong_protocol.protocol_name = Some("roundrobin".into());
    assert_eq!(
        c.sync(wrong_protocol).await.error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    assert_eq!(
        heartbeat(c, "g", generation - 1, a).await,
        Some(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        heartbeat(c, "g", generation, "stranger").await,
        Some(ResponseError::UnknownMemberId)
    );

    // A newcomer starts a rebalance: heartbeats and syncs of the old generation are told so.
    let newcomer = member_id(c, "g").await;
    let join = spawn_join(c, join_request("g", &newcomer));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        heartbeat(c, "g", generation, a).await,
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(
        c.sync(sync_request("g", generation, a, &[])).await.error,
        Some(ResponseError::RebalanceInProgress)
    );
    let ra = c.join(join_request("g", a)).await;
    join.await.unwrap();
    // CompletingRebalance: commits wait for the assignment.
    let commit = c.commit(commit_request("g", ra.generation_id, a, 7)).await;
    assert_eq!(commit.errors, vec![Some(ResponseError::RebalanceInProgress)]);
}

pub fn commit_request(group: &str, generation: i32, member_id: &str, offset: i64) -> CommitRequest {
    CommitRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member_id.into(),
        group_instance_id: None,
        retention_time_ms: -1,
        offsets: vec![CommitOffset {
            topic: "t".into(),
            partition: 0,
            offset,
            leader_epoch: 0,
            metadata: Some("m".into()),
        }],
        api_version: 9,
    }
}

#[tokio::test(start_paused = true)]
async fn commit_errors() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let errors = |r: CommitResponse| r.errors;
    assert_eq!(
        errors(c.commit(commit_request("", -1, "", 1)).await),
        vec![Some(ResponseError::InvalidGroupId)]
    );
    assert_eq!(
        errors(c.commit(commit_request("unknown", 3, "m", 1)).await),
        vec![Some(ResponseError::GroupIdNotFound)],
        "a member commit (v9) to a group that does not exist"
    );
    let mut v8 = commit_request("unknown", 3, "m", 1);
    v8.api_version = 8;
    assert_eq!(
        errors(c.commit(v8).await),
        vec![Some(ResponseError::IllegalGeneration)],
        "the same before v9"
    );
    // Without a generation the commit creates the group, whatever member id it names (a
    // KIP-848 client with manually assigned partitions names its own), and an empty group
    // keeps taking such commits.
    for _ in 0..2 {
        assert_eq!(
            errors(c.commit(commit_request("manual", -1, "self-named", 1)).await),
            vec![None]
        );
    }
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    assert_eq!(
        errors(c.commit(commit_request("g", generation - 1, &ids[0], 1)).await),
        vec![Some(ResponseError::IllegalGeneration)],
        "a commit for a generation that has passed"
    );
    assert_eq!(
        errors(c.commit(commit_request("g", generation, "stranger", 1)).await),
        vec![Some(ResponseError::UnknownMemberId)]
    );
    assert_eq!(
        errors(c.commit(commit_request("g", -1, "", 1)).await),
        vec![Some(ResponseError::UnknownMemberId)],
        "a simple commit to a group with members"
    );
    let mut big = commit_request("g", generation, &ids[0], 1);
    big.offsets[0].metadata = Some("x".repeat(4097));
    big.offsets
        .push(commit_request("g", generation, &ids[0], 2).offsets.remove(0));
    big.offsets[1].partition = 1;
    assert_eq!(
        errors(c.commit(big).await),
        vec![Some(ResponseError::OffsetMetadataTooLarge), None]
    );
    let mut unknown_instance = commit_request("g", generation, "old", 1);
    unknown_instance.group_instance_id = Some("host-x".into());
    assert_eq!(
        errors(c.commit(unknown_instance).await),
        vec![Some(ResponseError::UnknownMemberId)]
    );
}

#[tokio::test(start_paused = true)]
async fn leave_and_delete_errors() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let left = c
        .leave(LeaveRequest {
            group_id: "nope".into(),
            members: vec![("x".into(), None)],
        })
        .await;
    assert_eq!(left.error, Some(ResponseError::UnknownMemberId));
    let (_, ids, _) = stable_group(c, "g", 1).await;
    let left = c
        .leave(LeaveRequest {
            group_id: "g".into(),
            members: vec![("stranger".into(), None), ("".into(), Some("no-such-instance".into()))],
        })
        .await;
    assert_eq!(
        left.members.iter().map(|m| m.2).collect::<Vec<_>>(),
        vec![Some(ResponseError::UnknownMemberId); 2]
    );
    let deleted = c.delete_groups(vec!["g".into(), "nope".into(), "".into()]).await;
    let codes: Vec<_> = deleted.results.iter().map(|r| r.1).collect();
    assert_eq!(
        codes,
        vec![
            Some(ResponseError::NonEmptyGroup),
            Some(ResponseError::GroupIdNotFound),
            Some(ResponseError::InvalidGroupId)
        ]
    );
    assert_eq!(env.describe("g").await.members[0].member_id, ids[0]);
    let gone = c.delete_offsets("nope".into(), vec![("t".into(), 0)]).await;
    assert_eq!(gone.error, Some(ResponseError::GroupIdNotFound));
}

#[tokio::test(start_paused = true)]
async fn a_pending_member_that_never_rejoins_is_forgotten() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let id = member_id(c, "g").await;
    tokio::time::sleep(Duration::from_millis(SESSION_MS as u64 + 1)).await;
    assert_eq!(
        c.join(join_request("g", &id)).await.error,
        Some(ResponseError::UnknownMemberId)
    );
}
