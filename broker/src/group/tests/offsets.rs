//! Commits, fetches, deletes and expiry of offsets.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;

use super::errors::commit_request;
use super::*;

async fn committed(c: &Coordinator, group: &str, partition: i32) -> i64 {
    let f = c
        .fetch_offsets(group.into(), Some(vec![("t".into(), vec![partition])]))
        .await
        .unwrap();
    f[0].offset
}

#[tokio::test(start_paused = true)]
async fn a_partition_without_a_commit_fetches_minus_one() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    assert_eq!(committed(c, "nobody", 0).await, -1);
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    assert_eq!(committed(c, "g", 0).await, -1);
    let r = c.commit(commit_request("g", generation, &ids[0], 42)).await;
    assert_eq!(r.errors, vec![None]);
    assert_eq!(r.durable.0.len(), 1, "the answer waits for the record's fsync");
    assert_eq!(committed(c, "g", 0).await, 42);
    assert_eq!(committed(c, "g", 1).await, -1);
    let all = c.fetch_offsets("g".into(), None).await.unwrap();
    assert_eq!(
        all,
        vec![FetchedOffset {
            topic: "t".into(),
            partition: 0,
            offset: 42,
            leader_epoch: 0,
            metadata: "m".into(),
            unstable: false,
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn commits_during_a_rebalance_are_accepted_for_the_current_generation() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    let newcomer = member_id(c, "g").await;
    let join = spawn_join(c, join_request("g", &newcomer));
    tokio::time::sleep(Duration::from_millis(10)).await;
    // PreparingRebalance: a member may still commit what it consumed before rejoining.
    let r = c.commit(commit_request("g", generation, &ids[0], 5)).await;
    assert_eq!(r.errors, vec![None]);
    c.join(join_request("g", &ids[0])).await;
    join.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn offsets_of_an_empty_group_expire_after_the_retention() {
    let env = Env::start(GroupConfig {
        offsets_retention: Duration::from_secs(60),
        offsets_retention_check_interval: Duration::from_secs(1),
        ..config()
    })
    .await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    c.commit(commit_request("g", generation, &ids[0], 9)).await;
    // While the group has members its offsets are kept, however old.
    let alive = keep_alive(c, "g", generation, &ids[0]);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(committed(c, "g", 0).await, 9);
    alive.abort();
    c.leave(LeaveRequest {
        group_id: "g".into(),
        members: vec![(ids[0].clone(), None)],
    })
    .await;
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(committed(c, "g", 0).await, 9, "not yet");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(committed(c, "g", 0).await, -1);
    assert!(
        c.list(vec![]).await.unwrap().is_empty(),
        "the group is gone with its offsets"
    );
}

#[tokio::test(start_paused = true)]
async fn simple_commits_expire_from_their_commit_time() {
    let env = Env::start(GroupConfig {
        offsets_retention: Duration::from_secs(60),
        offsets_retention_check_interval: Duration::from_secs(1),
        ..config()
    })
    .await;
    let c = &env.coord;
    assert_eq!(c.commit(commit_request("manual", -1, "", 1)).await.errors, vec![None]);
    tokio::time::sleep(Duration::from_secs(40)).await;
    let mut later = commit_request("manual", -1, "", 2);
    later.offsets[0].partition = 1;
    c.commit(later).await;
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(
        (committed(c, "manual", 0).await, committed(c, "manual", 1).await),
        (-1, 2)
    );
    let listed = c.list(vec![]).await.unwrap();
    assert_eq!(
        (listed[0].group_id.as_str(), listed[0].protocol_type.as_str()),
        ("manual", "")
    );
}

/// ConsumerProtocolSubscription v0 for `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.put_slice(t.as_bytes());
    }
    b.put_i32(-1);
    b.freeze()
}

#[tokio::test(start_paused = true)]
async fn offsets_of_subscribed_topics_cannot_be_deleted_while_the_group_is_active() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let mut req = join_request("g", "");
    req.require_known_member_id = false;
    req.protocols = vec![("range".into(), subscription(&["t"]))];
    let r = c.join(req).await;
    c.sync(sync_request("g", 1, &r.member_id, &[])).await;
    let mut commit = commit_request("g", 1, &r.member_id, 3);
    commit.offsets.push(CommitOffset {
        leader_epoch: -1,
        topic: "old".into(),
        partition: 0,
        offset: 4,
        metadata: None,
    });
    c.commit(commit).await;
    let d = c
        .delete_offsets("g".into(), vec![("t".into(), 0), ("old".into(), 0)])
        .await;
    assert_eq!(d.error, None);
    assert_eq!(
        d.partitions,
        vec![
            ("t".into(), 0, Some(ResponseError::GroupSubscribedToTopic)),
            ("old".into(), 0, None)
        ]
    );
    let left = c.fetch_offsets("g".into(), None).await.unwrap();
    assert_eq!(left.iter().map(|f| f.topic.as_str()).collect::<Vec<_>>(), vec!["t"]);
}

/// Appends a transaction marker for `producer_id` to the group's offsets partition, as the
/// transaction coordinator does when the transaction ends.
fn mark(env: &Env, group: &str, producer_id: i64, commit: bool) {
    use crate::record::{marker_batch, BatchHeader, ControlType};
    let kind = if commit {
        ControlType::Commit
    } else {
        ControlType::Abort
    };
    let mut batch = marker_batch(producer_id, 0, 0, kind, 0);
    let header = BatchHeader::parse(&batch).unwrap();
    env.offsets_partition(group).append(&mut batch, &header, 0).unwrap();
}

async fn txn_commit(c: &Coordinator, group: &str, producer_id: i64, offset: i64) {
    let r = c
        .txn_commit(TxnCommitRequest {
            commit: commit_request(group, -1, "", offset),
            producer_id,
            producer_epoch: 0,
        })
        .await;
    assert!(r.errors.iter().all(Option::is_none), "{:?}", r.errors);
    r.durable.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn offsets_committed_in_a_transaction_wait_for_its_marker_also_across_a_restart() {
    let env = Env::start(config()).await;
    txn_commit(&env.coord, "g", 7, 10).await;
    txn_commit(&env.coord, "g", 8, 20).await;
    let fetched = env
        .coord
        .fetch_offsets("g".into(), Some(vec![("t".into(), vec![0])]))
        .await
        .unwrap();
    assert_eq!(
        (fetched[0].offset, fetched[0].unstable),
        (-1, true),
        "pending, not committed"
    );
    // Producer 7 commits: its marker is written, then the coordinator is told.
    mark(&env, "g", 7, true);
    env.coord.txn_ended(7, true).await;
    assert_eq!(committed(&env.coord, "g", 0).await, 10);
    // Producer 8's transaction is still open when the broker restarts.
    let env = env.restart().await;
    let fetched = env
        .coord
        .fetch_offsets("g".into(), Some(vec![("t".into(), vec![0])]))
        .await
        .unwrap();
    assert_eq!(
        (fetched[0].offset, fetched[0].unstable),
        (10, true),
        "replay keeps 8's offset pending"
    );
    mark(&env, "g", 8, false);
    env.coord.txn_ended(8, false).await;
    let fetched = env
        .coord
        .fetch_offsets("g".into(), Some(vec![("t".into(), vec![0])]))
        .await
        .unwrap();
    assert_eq!(
        (fetched[0].offset, fetched[0].unstable),
        (10, false),
        "an abort drops it"
    );
    // A transaction whose marker reached the log before a stop is applied by replay alone.
    txn_commit(&env.coord, "g", 9, 30).await;
    mark(&env, "g", 9, true);
    let env = env.restart().await;
    assert_eq!(committed(&env.coord, "g", 0).await, 30);
}
