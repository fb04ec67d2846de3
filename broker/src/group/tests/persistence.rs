//! What `__consumer_offsets` holds, restarts, and snapshots keeping it bounded.

use std::time::Duration;

use bytes::Bytes;

use super::errors::commit_request;
use super::*;
use crate::group::batch;
use crate::group::records::{decode_group_value, decode_key, decode_offset_value, RecordKey};

/// Every (key, value) in the group's partition of `__consumer_offsets`, decoded.
fn stored(env: &Env, group: &str) -> Vec<(RecordKey, Option<Bytes>)> {
    let p = env.offsets_partition(group);
    let (start, _) = p.offsets();
    let data = p.read(start, usize::MAX, true).unwrap().data;
    batch::split(&data)
        .into_iter()
        .flat_map(|(h, b)| batch::decode(&h, b).unwrap())
        .map(|r| (decode_key(&r.key.unwrap()).unwrap(), r.value))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn commits_and_generations_are_written_in_kafkas_record_format() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 2).await;
    c.commit(commit_request("g", generation, &ids[0], 77)).await;
    let records = stored(&env, "g");
    let (_, group_value) = records
        .iter()
        .find(|(k, _)| matches!(k, RecordKey::Group { group } if group == "g"))
        .expect("a group record");
    let raw = group_value.as_ref().unwrap();
    assert_eq!(&raw[..2], &[0, 3], "group value v3");
    let g = decode_group_value(raw).unwrap();
    assert_eq!(
        (g.protocol_type.as_str(), g.generation, g.members.len()),
        ("consumer", generation, 2)
    );
    assert_eq!(g.protocol.as_deref(), Some("range"));
    assert!(g.members.iter().all(|m| m.client_host == "/127.0.0.1"));
    let (key, value) = records.last().unwrap();
    assert_eq!(
        key,
        &RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 0
        }
    );
    let raw = value.as_ref().unwrap();
    assert_eq!(&raw[..2], &[0, 3], "offset value v3");
    let v = decode_offset_value(raw).unwrap();
    assert_eq!(
        (v.offset, v.leader_epoch, v.metadata.as_str()),
        (77, 0, "m"),
        "the committed leader epoch is kept"
    );
}

#[tokio::test(start_paused = true)]
async fn groups_and_offsets_survive_a_restart() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 2).await;
    c.commit(commit_request("g", generation, &ids[0], 123)).await;
    c.commit(commit_request("manual", -1, "", 5)).await;
    let (_, solo, _) = stable_group(c, "gone", 1).await;
    c.leave(LeaveRequest {
        group_id: "gone".into(),
        members: vec![(solo[0].clone(), None)],
    })
    .await;
    c.delete_groups(vec!["gone".into()]).await;
    let before = env.describe("g").await;

    let env = env.restart().await;
    let c = &env.coord;
    let after = env.describe("g").await;
    assert_eq!(after, before, "members, assignments, protocol and state come back");
    let fetched = |group: &str| c.fetch_offsets(group.into(), Some(vec![("t".into(), vec![0])]));
    assert_eq!(fetched("g").await.unwrap()[0].offset, 123);
    assert_eq!(fetched("manual").await.unwrap()[0].offset, 5);
    let listed: Vec<String> = c.list(vec![]).await.unwrap().into_iter().map(|g| g.group_id).collect();
    assert_eq!(listed, vec!["g", "manual"], "the deleted group stays deleted");
    // Loaded members carry on in their generation, or expire like any silent member.
    assert_eq!(heartbeat(c, "g", generation, &ids[0]).await, None);
    tokio::time::sleep(Duration::from_millis(SESSION_MS as u64 + 10)).await;
    assert_eq!(
        heartbeat(c, "g", generation, &ids[1]).await,
        Some(ResponseError::UnknownMemberId)
    );
}

use kafka_protocol::error::ResponseError;

#[tokio::test(start_paused = true)]
async fn snapshots_keep_the_offsets_topic_bounded() {
    let threshold = 4096;
    let env = Env::start(GroupConfig {
        offsets_topic_segment_bytes: threshold,
        ..config()
    })
    .await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 1).await;
    let p = env.offsets_partition("g");
    let mut largest = 0;
    for i in 0..3000 {
        let mut commit = commit_request("g", generation, &ids[0], i);
        commit.offsets[0].partition = (i % 4) as i32;
        assert_eq!(c.commit(commit).await.errors, vec![None]);
        largest = largest.max(p.size_bytes());
    }
    // 3000 commits are ~300 KB of records; the partition never holds much more than two
    // thresholds, and its history has been dropped.
    assert!(largest < 3 * threshold, "partition reached {largest} bytes");
    let (log_start, log_end) = p.offsets();
    assert!(log_start > 2900, "log start {log_start} of {log_end}");

    let env = env.restart().await;
    let c = &env.coord;
    let all = c.fetch_offsets("g".into(), None).await.unwrap();
    let offsets: Vec<i64> = all.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, vec![2996, 2997, 2998, 2999], "the latest commit per partition");
    assert_eq!(
        env.describe("g").await.state,
        "Stable",
        "the group record is in the snapshot"
    );
}
