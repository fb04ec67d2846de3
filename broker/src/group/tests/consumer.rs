//! KIP-848 consumer groups through the coordinator: partitions move one member at a time and
//! never have two owners, sessions and rebalance timeouts remove members, commits check member
//! epochs, and classic and consumer groups refuse each other's members.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::error::ResponseError;

use super::*;

fn topics(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
    list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn assignment(list: &[(&str, &[i32])]) -> Assignment {
    list.iter()
        .map(|(t, ps)| (t.to_string(), ps.iter().copied().collect()))
        .collect()
}

fn join(group: &str, member: &str, subscribed: &[&str]) -> ConsumerHeartbeatRequest {
    ConsumerHeartbeatRequest {
        version: 1,
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: Some(subscribed.iter().map(|s| s.to_string()).collect()),
        owned: Some(Assignment::new()),
        client_id: "test-client".into(),
        client_host: "/127.0.0.1".into(),
        topics: topics(&[("t", 4), ("u", 2)]),
        ids: ids(&["t", "u"]),
        ..Default::default()
    }
}

fn ids(names: &[&str]) -> BTreeMap<String, uuid::Uuid> {
    (1..)
        .zip(names)
        .map(|(i, n)| (n.to_string(), uuid::Uuid::from_u128(i)))
        .collect()
}

/// A plain heartbeat at `epoch`, reporting `owned`.
fn beat(group: &str, member: &str, epoch: i32, owned: Option<Assignment>) -> ConsumerHeartbeatRequest {
    ConsumerHeartbeatRequest {
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        subscribed_topic_names: None,
        owned,
        ..join(group, member, &[])
    }
}

fn partitions(a: &Option<Assignment>) -> usize {
    a.as_ref().map_or(0, |a| a.values().map(|p| p.len()).sum())
}

#[tokio::test(start_paused = true)]
async fn partitions_move_to_a_new_member_only_after_the_old_owner_revokes_them() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let a = c.consumer_heartbeat(join("g", "a", &["t"])).await;
    assert_eq!(a.error, None, "{:?}", a.error_message);
    assert_eq!((a.member_epoch, a.heartbeat_interval_ms), (1, 5000));
    assert_eq!(a.assignment, Some(assignment(&[("t", &[0, 1, 2, 3])])));

    // b joins: epoch 2. Its target holds two of a's partitions, which a still has.
    let b = c.consumer_heartbeat(join("g", "b", &["t"])).await;
    assert_eq!(b.member_epoch, 2);
    assert_eq!(b.assignment, Some(Assignment::new()), "nothing is free yet");

    // a learns it must give up two partitions and stays at epoch 1 until it does.
    let owned = assignment(&[("t", &[0, 1, 2, 3])]);
    let a1 = c.consumer_heartbeat(beat("g", "a", 1, Some(owned))).await;
    assert_eq!(a1.member_epoch, 1);
    let kept = a1.assignment.clone().unwrap();
    assert_eq!(partitions(&a1.assignment), 2);
    let described = c.describe_consumer_groups(vec!["g".into()]).await.remove(0);
    assert_eq!(
        (described.state, described.epoch, described.assignment_epoch),
        ("Reconciling", 2, 2)
    );

    // b still gets nothing while a holds them.
    let b1 = c.consumer_heartbeat(beat("g", "b", 2, Some(Assignment::new()))).await;
    assert_eq!((b1.member_epoch, partitions(&b1.assignment)), (2, 0));

    // a reports only what it kept: epoch 2; then b gets the other two.
    let a2 = c.consumer_heartbeat(beat("g", "a", 1, Some(kept.clone()))).await;
    assert_eq!(a2.member_epoch, 2);
    let b2 = c.consumer_heartbeat(beat("g", "b", 2, Some(Assignment::new()))).await;
    let taken = b2.assignment.clone().unwrap();
    assert_eq!(partitions(&b2.assignment), 2);
    assert!(taken["t"].is_disjoint(&kept["t"]), "{taken:?} overlaps {kept:?}");

    let described = c.describe_consumer_groups(vec!["g".into()]).await.remove(0);
    assert_eq!((described.state, described.assignor.as_str()), ("Stable", "uniform"));
    assert_eq!(described.members.len(), 2);
    let listed = c.list(vec![]).await.unwrap();
    assert_eq!((listed[0].state, listed[0].group_type), ("Stable", "consumer"));
    // DescribeGroups (classic) calls it Dead, as Kafka 4 does for v5 and below.
    assert_eq!(env.describe("g").await.state, "Dead");
}

#[tokio::test(start_paused = true)]
async fn epochs_are_checked_and_a_silent_member_is_removed_after_its_session() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    c.consumer_heartbeat(join("g", "a", &["t", "u"])).await;
    let b = c.consumer_heartbeat(join("g", "b", &["t", "u"])).await;
    assert_eq!(b.member_epoch, 2);

    let ahead = c.consumer_heartbeat(beat("g", "b", 3, None)).await;
    assert_eq!(ahead.error, Some(ResponseError::FencedMemberEpoch));
    let unknown = c.consumer_heartbeat(beat("g", "nobody", 2, None)).await;
    assert_eq!(unknown.error, Some(ResponseError::UnknownMemberId));

    // Commits: at the member's epoch only, and with OffsetCommit v9 or later.
    let mut commit = errors::commit_request("g", 2, "b", 5);
    assert_eq!(c.commit(commit.clone()).await.errors, [None]);
    commit.generation_id = 1;
    assert_eq!(
        c.commit(commit.clone()).await.errors,
        [Some(ResponseError::StaleMemberEpoch)]
    );
    commit.generation_id = 2;
    commit.api_version = 8;
    assert_eq!(
        c.commit(commit.clone()).await.errors,
        [Some(ResponseError::UnsupportedVersion)]
    );
    commit.member_id = "nobody".into();
    assert_eq!(c.commit(commit).await.errors, [Some(ResponseError::UnknownMemberId)]);

    // a goes quiet; b keeps heartbeating and ends up with everything.
    let mut epoch = 2;
    let mut owned = Assignment::new();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let r = c.consumer_heartbeat(beat("g", "b", epoch, Some(owned.clone()))).await;
        assert_eq!(r.error, None, "{:?}", r.error_message);
        epoch = r.member_epoch;
        if let Some(a) = r.assignment {
            owned = a;
        }
    }
    let described = c.describe_consumer_groups(vec!["g".into()]).await.remove(0);
    assert_eq!(described.members.len(), 1, "a's 45 s session ended");
    assert_eq!(owned, assignment(&[("t", &[0, 1, 2, 3]), ("u", &[0, 1])]));
}

#[tokio::test(start_paused = true)]
async fn a_group_config_sets_its_members_heartbeat_interval_and_session_from_their_next_heartbeat() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let a = c.consumer_heartbeat(join("g", "a", &["t"])).await;
    assert_eq!(
        a.heartbeat_interval_ms, 5000,
        "the broker's interval before the group has its own"
    );
    // b takes another topic, so that a has nothing to revoke (and no rebalance timeout to meet).
    let b = c.consumer_heartbeat(join("g", "b", &["u"])).await;
    let overrides = [
        ("consumer.session.timeout.ms", "60000"),
        ("consumer.heartbeat.interval.ms", "7000"),
    ];
    let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    c.configs.alter("g", |_| Ok(overrides), &env.config, false).unwrap();
    // Another group keeps the broker's.
    let other = c.consumer_heartbeat(join("h", "x", &["u"])).await;
    assert_eq!(other.heartbeat_interval_ms, 5000);

    // Both members heartbeat once (their sessions are re-armed at 60 s); then a goes quiet.
    let r = c.consumer_heartbeat(beat("g", "a", a.member_epoch, None)).await;
    assert_eq!(
        r.heartbeat_interval_ms, 7000,
        "the new interval from the next heartbeat"
    );
    let mut epoch = c
        .consumer_heartbeat(beat("g", "b", b.member_epoch, None))
        .await
        .member_epoch;
    let members = |n: u64| async move {
        tokio::time::sleep(Duration::from_secs(n)).await;
        c.describe_consumer_groups(vec!["g".into()])
            .await
            .remove(0)
            .members
            .len()
    };
    for _ in 0..7 {
        // 7 × 7 s = 49 s: past the broker's 45 s session, within the group's 60 s.
        assert_eq!(members(7).await, 2);
        epoch = c.consumer_heartbeat(beat("g", "b", epoch, None)).await.member_epoch;
    }
    for _ in 0..2 {
        members(7).await;
        epoch = c.consumer_heartbeat(beat("g", "b", epoch, None)).await.member_epoch;
    }
    assert_eq!(
        members(0).await,
        1,
        "a's 60 s session ended 63 s after its last heartbeat"
    );
}

#[tokio::test(start_paused = true)]
async fn a_member_that_keeps_revoked_partitions_is_removed_after_its_rebalance_timeout() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    c.consumer_heartbeat(join("g", "a", &["t"])).await;
    let mut b = join("g", "b", &["t"]);
    b.rebalance_timeout_ms = 60_000;
    c.consumer_heartbeat(b).await;
    // a never lets go, though it keeps heartbeating.
    let all = assignment(&[("t", &[0, 1, 2, 3])]);
    for _ in 0..8 {
        let r = c.consumer_heartbeat(beat("g", "a", 1, Some(all.clone()))).await;
        if r.error.is_some() {
            assert_eq!(r.error, Some(ResponseError::UnknownMemberId));
            let described = c.describe_consumer_groups(vec!["g".into()]).await.remove(0);
            assert_eq!(described.members.len(), 1);
            return;
        }
        c.consumer_heartbeat(beat("g", "b", 2, Some(Assignment::new()))).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    panic!("a was not removed within 35 s, past its 30 s rebalance timeout");
}

#[tokio::test(start_paused = true)]
async fn a_member_leaves_and_classic_and_consumer_groups_keep_to_their_own_members() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    c.consumer_heartbeat(join("g", "a", &["t"])).await;
    let r = c.join(join_request("g", "")).await;
    assert_eq!(r.error, Some(ResponseError::InconsistentGroupProtocol));

    let left = c.consumer_heartbeat(beat("g", "a", -1, None)).await;
    assert_eq!((left.error, left.member_epoch), (None, -1));
    assert_eq!(c.list(vec![]).await.unwrap()[0].state, "Empty");
    // Empty, it may turn classic again.
    let r = c.join(join_request("g", "")).await;
    assert_eq!(r.error, Some(ResponseError::MemberIdRequired));

    // A classic group with members refuses a consumer member.
    stable_group(c, "classic", 1).await;
    let r = c.consumer_heartbeat(join("classic", "x", &["t"])).await;
    assert_eq!(r.error, Some(ResponseError::GroupIdNotFound));
    let d = c.describe_consumer_groups(vec!["classic".into()]).await.remove(0);
    assert_eq!(d.error, Some(ResponseError::GroupIdNotFound));

    let mut bad = join("g2", "m", &["t"]);
    bad.server_assignor = Some("sticky".into());
    assert_eq!(
        c.consumer_heartbeat(bad).await.error,
        Some(ResponseError::UnsupportedAssignor)
    );
    let mut bad = join("g2", "m", &[]);
    bad.subscribed_topic_regex = Some("t(".into());
    assert_eq!(
        c.consumer_heartbeat(bad).await.error,
        Some(ResponseError::InvalidRegularExpression)
    );
    let mut bad = join("g2", "", &["t"]);
    bad.version = 1;
    assert_eq!(
        c.consumer_heartbeat(bad).await.error,
        Some(ResponseError::InvalidRequest)
    );
}

#[tokio::test(start_paused = true)]
async fn a_regular_expression_subscribes_to_the_topics_it_matches_whole() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let mut req = join("g", "a", &[]);
    req.subscribed_topic_names = None;
    req.subscribed_topic_regex = Some("metrics\\..*".into());
    req.topics = topics(&[("metrics.cpu", 2), ("metrics.mem", 1), ("xmetrics.cpu", 3)]);
    let r = c.consumer_heartbeat(req).await;
    assert_eq!(r.error, None, "{:?}", r.error_message);
    assert_eq!(
        r.assignment,
        Some(assignment(&[("metrics.cpu", &[0, 1]), ("metrics.mem", &[0])]))
    );

    // A new matching topic bumps the epoch and is assigned.
    let mut next = beat("g", "a", 1, r.assignment.clone());
    next.topics = topics(&[("metrics.cpu", 2), ("metrics.disk", 1), ("metrics.mem", 1)]);
    let r = c.consumer_heartbeat(next).await;
    assert_eq!(r.member_epoch, 2);
    assert!(r.assignment.unwrap().contains_key("metrics.disk"));
}

#[tokio::test(start_paused = true)]
async fn members_epochs_and_assignments_survive_a_restart() {
    let env = Env::start(config()).await;
    // The records name topics by id; the restarted coordinator finds them in the topic list.
    for (name, partitions) in [("t", 4), ("u", 2)] {
        env.topics.create(name, partitions, Default::default(), false).unwrap();
    }
    let real_ids: BTreeMap<String, uuid::Uuid> = ["t", "u"]
        .iter()
        .map(|n| (n.to_string(), env.topics.get(n).unwrap().id))
        .collect();
    let with_ids = |mut r: ConsumerHeartbeatRequest| {
        r.ids = real_ids.clone();
        r
    };
    let c = &env.coord;
    let a = c.consumer_heartbeat(with_ids(join("g", "a", &["t", "u"]))).await;
    let owned = a.assignment.clone().unwrap();
    let b = c.consumer_heartbeat(with_ids(join("g", "b", &["t", "u"]))).await;
    // a revokes what b is to get, then b takes it.
    let a1 = c.consumer_heartbeat(with_ids(beat("g", "a", 1, Some(owned)))).await;
    let kept = a1.assignment.unwrap();
    let a2 = c
        .consumer_heartbeat(with_ids(beat("g", "a", 1, Some(kept.clone()))))
        .await;
    let b1 = c
        .consumer_heartbeat(with_ids(beat("g", "b", b.member_epoch, Some(Assignment::new()))))
        .await;
    let taken = b1.assignment.unwrap();
    let before = c.describe_consumer_groups(vec!["g".into()]).await.remove(0);
    assert_eq!(before.state, "Stable");

    let env = env.restart().await;
    let c = &env.coord;
    let after = c.describe_consumer_groups(vec!["g".into()]).await.remove(0);
    assert_eq!(
        (after.epoch, after.assignment_epoch, after.state),
        (before.epoch, before.assignment_epoch, "Stable")
    );
    let epochs = |d: &DescribedConsumerGroup| {
        d.members
            .iter()
            .map(|m| {
                (
                    m.member_id.clone(),
                    m.member_epoch,
                    m.assignment.clone(),
                    m.target.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(epochs(&after), epochs(&before));

    // Both carry on at their epochs with what they hold: no rebalance.
    let a3 = c
        .consumer_heartbeat(with_ids(beat("g", "a", a2.member_epoch, Some(kept))))
        .await;
    let b2 = c
        .consumer_heartbeat(with_ids(beat("g", "b", b1.member_epoch, Some(taken))))
        .await;
    assert_eq!((a3.error, a3.member_epoch), (None, a2.member_epoch));
    assert_eq!((b2.error, b2.member_epoch), (None, b1.member_epoch));
    assert_eq!(
        c.describe_consumer_groups(vec!["g".into()]).await.remove(0).epoch,
        before.epoch
    );

    // Both leave; the empty group is deleted, and a restart does not bring it back.
    c.consumer_heartbeat(beat("g", "a", a3.member_epoch, None).with_epoch(-1))
        .await;
    c.consumer_heartbeat(beat("g", "b", b2.member_epoch, None).with_epoch(-1))
        .await;
    let deleted = c.delete_groups(vec!["g".into()]).await;
    assert_eq!(deleted.results, [("g".to_string(), None)]);
    deleted.durable.wait().await.unwrap();
    let env = env.restart().await;
    assert!(env.coord.list(vec![]).await.unwrap().is_empty());
}

impl ConsumerHeartbeatRequest {
    fn with_epoch(mut self, epoch: i32) -> Self {
        self.member_epoch = epoch;
        self
    }
}
