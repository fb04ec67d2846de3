//! Join, sync, heartbeat and leave; the initial delay; timeouts; static membership.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::time::Instant;

use super::*;

#[tokio::test(start_paused = true)]
async fn a_member_joins_syncs_heartbeats_and_leaves() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let id = member_id(c, "g").await;
    let started = Instant::now();
    let joined = c.join(join_request("g", &id)).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "a new group waits the initial delay"
    );
    assert_eq!(joined.error, None);
    assert_eq!((joined.generation_id, joined.leader.as_str()), (1, id.as_str()));
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    assert_eq!(joined.protocol_type.as_deref(), Some("consumer"));
    // The leader gets every member's metadata for the chosen protocol, untouched.
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.members[0].metadata, Bytes::from("metadata-for-range"));
    assert_eq!(env.describe("g").await.state, "CompletingRebalance");

    let synced = c.sync(sync_request("g", 1, &id, &[(&id, "opaque-assignment")])).await;
    assert_eq!(synced.error, None);
    assert_eq!(synced.assignment, Bytes::from("opaque-assignment"));
    let described = env.describe("g").await;
    assert_eq!((described.state, described.protocol_data.as_str()), ("Stable", "range"));
    assert_eq!(described.members[0].assignment, Bytes::from("opaque-assignment"));
    assert_eq!(described.members[0].client_host, "/127.0.0.1");

    assert_eq!(heartbeat(c, "g", 1, &id).await, None);
    let left = c
        .leave(LeaveRequest {
            group_id: "g".into(),
            members: vec![(id.clone(), None)],
        })
        .await;
    assert_eq!(left.members[0].2, None);
    let described = env.describe("g").await;
    assert_eq!((described.state, described.members.len()), ("Empty", 0));
    assert_eq!(heartbeat(c, "g", 2, &id).await, Some(ResponseError::UnknownMemberId));
}

#[tokio::test(start_paused = true)]
async fn join_v3_skips_the_member_id_handshake() {
    let env = Env::start(config()).await;
    let mut req = join_request("g", "");
    req.require_known_member_id = false;
    let r = env.coord.join(req).await;
    assert_eq!(r.error, None);
    assert_eq!(r.generation_id, 1);
    assert_eq!(r.leader, r.member_id);
}

#[tokio::test(start_paused = true)]
async fn the_initial_delay_is_extended_while_members_keep_arriving() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let a = member_id(c, "g").await;
    let started = Instant::now();
    let ja = spawn_join(c, join_request("g", &a));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b = member_id(c, "g").await;
    let jb = spawn_join(c, join_request("g", &b));
    let (ra, rb) = (ja.await.unwrap(), jb.await.unwrap());
    // 3 s, then one more delay of 3 s because b arrived during the first.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    assert_eq!((ra.generation_id, rb.generation_id), (1, 1));
    assert_eq!(ra.leader, a);
    assert_eq!(
        (ra.members.len(), rb.members.len()),
        (2, 0),
        "only the leader gets the members"
    );
}

#[tokio::test(start_paused = true)]
async fn the_initial_delay_never_outlasts_the_rebalance_timeout() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let started = Instant::now();
    let mut joins = Vec::new();
    let mut req = join_request("g", &member_id(c, "g").await);
    req.rebalance_timeout_ms = 8_000;
    joins.push(spawn_join(c, req));
    // A new member every 2 s would extend forever; the rebalance timeout caps it.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if joins[0].is_finished() {
            break;
        }
        let mut req = join_request("g", &member_id(c, "g").await);
        req.rebalance_timeout_ms = 8_000;
        joins.push(spawn_join(c, req));
    }
    let first = joins.remove(0).await.unwrap();
    assert_eq!(first.generation_id, 1);
    assert!(started.elapsed() <= Duration::from_secs(11), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn members_that_do_not_rejoin_within_the_rebalance_timeout_are_removed() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 2).await;
    let (a, b) = (&ids[0], &ids[1]);
    // b stays alive (heartbeats) but never rejoins.
    let alive = keep_alive(c, "g", generation, b);
    let newcomer = member_id(c, "g").await;
    let started = Instant::now();
    let jn = spawn_join(c, join_request("g", &newcomer));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        heartbeat(c, "g", generation, a).await,
        Some(ResponseError::RebalanceInProgress)
    );
    let ja = spawn_join(c, join_request("g", a));
    let (rn, ra) = (jn.await.unwrap(), ja.await.unwrap());
    assert_eq!(started.elapsed(), Duration::from_millis(REBALANCE_MS as u64));
    assert_eq!((rn.generation_id, ra.generation_id), (generation + 1, generation + 1));
    let leader = if ra.members.is_empty() { &rn } else { &ra };
    let mut members: Vec<&str> = leader.members.iter().map(|m| m.member_id.as_str()).collect();
    members.sort();
    let mut want = vec![a.as_str(), newcomer.as_str()];
    want.sort();
    assert_eq!(members, want, "b was dropped");
    alive.await.unwrap();
    assert_eq!(
        heartbeat(c, "g", generation + 1, b).await,
        Some(ResponseError::UnknownMemberId)
    );
}

#[tokio::test(start_paused = true)]
async fn a_member_whose_session_expires_is_removed_and_the_rest_rebalance() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let (generation, ids, _) = stable_group(c, "g", 2).await;
    let (a, b) = (&ids[0], &ids[1]);
    let started = Instant::now();
    // a heartbeats; b has died.
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match heartbeat(c, "g", generation, a).await {
            None => continue,
            Some(e) => {
                assert_eq!(e, ResponseError::RebalanceInProgress);
                break;
            }
        }
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(SESSION_MS as u64) && waited <= Duration::from_millis(SESSION_MS as u64 + 1000)
    );
    let r = c.join(join_request("g", a)).await;
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(r.members.len(), 1, "only a is left, and it leads");
    assert_eq!(
        heartbeat(c, "g", generation, b).await,
        Some(ResponseError::UnknownMemberId)
    );
}

#[tokio::test(start_paused = true)]
async fn a_follower_that_never_syncs_is_removed_after_the_rebalance_timeout() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let a = member_id(c, "g").await;
    let b = member_id(c, "g").await;
    let (ja, jb) = (
        spawn_join(c, join_request("g", &a)),
        spawn_join(c, join_request("g", &b)),
    );
    let (ra, _) = (ja.await.unwrap(), jb.await.unwrap());
    assert_eq!(ra.leader, a);
    let synced = c.sync(sync_request("g", 1, &a, &[(&a, "x"), (&b, "y")])).await;
    assert_eq!(synced.error, None);
    // Both stay alive, but b never sends SyncGroup.
    let alive = [keep_alive(c, "g", 1, &a), keep_alive(c, "g", 1, &b)];
    tokio::time::sleep(Duration::from_millis(REBALANCE_MS as u64 + 1500)).await;
    assert_eq!(heartbeat(c, "g", 1, &b).await, Some(ResponseError::UnknownMemberId));
    assert_eq!(heartbeat(c, "g", 1, &a).await, Some(ResponseError::RebalanceInProgress));
    let r = c.join(join_request("g", &a)).await;
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    alive.iter().for_each(|t| t.abort());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_join_does_not_wedge_the_group() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let a = member_id(c, "g").await;
    // a's connection closes while its join is parked.
    let ja = spawn_join(c, join_request("g", &a));
    tokio::time::sleep(Duration::from_millis(10)).await;
    ja.abort();
    let b = member_id(c, "g").await;
    let rb = c.join(join_request("g", &b)).await;
    assert_eq!((rb.generation_id, rb.leader.as_str()), (1, a.as_str()));
    // b waits for a leader that will never sync; the sync timeout removes a.
    let sb = c.sync(sync_request("g", 1, &b, &[])).await;
    assert_eq!(sb.error, Some(ResponseError::RebalanceInProgress));
    let rb = c.join(join_request("g", &b)).await;
    assert_eq!((rb.generation_id, rb.leader.as_str()), (2, b.as_str()));
    let sb = c.sync(sync_request("g", 2, &b, &[(&b, "all")])).await;
    assert_eq!((sb.error, sb.assignment), (None, Bytes::from("all")));
}

fn static_join(group: &str, member_id: &str, instance: &str) -> JoinRequest {
    JoinRequest {
        group_instance_id: Some(instance.into()),
        ..join_request(group, member_id)
    }
}

#[tokio::test(start_paused = true)]
async fn a_static_member_rejoins_without_a_rebalance_and_keeps_its_assignment() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    // Static members skip the member-id handshake.
    let js = spawn_join(c, static_join("g", "", "host-a"));
    let b = member_id(c, "g").await;
    let jb = spawn_join(c, join_request("g", &b));
    let (rs, rb) = (js.await.unwrap(), jb.await.unwrap());
    let s = rs.member_id.clone();
    assert!(s.starts_with("host-a-"), "{s}");
    let leader = rs.leader.clone();
    let assignments = [(s.as_str(), "static-part"), (b.as_str(), "dynamic-part")];
    let (ss, sb) = if leader == s {
        (
            spawn_sync(c, sync_request("g", 1, &s, &assignments)),
            spawn_sync(c, sync_request("g", 1, &b, &[])),
        )
    } else {
        (
            spawn_sync(c, sync_request("g", 1, &s, &[])),
            spawn_sync(c, sync_request("g", 1, &b, &assignments)),
        )
    };
    assert_eq!(ss.await.unwrap().assignment, Bytes::from("static-part"));
    assert_eq!(sb.await.unwrap().error, None);
    assert_eq!(rb.generation_id, 1);

    // The static member restarts: it joins with no member id and the same instance id.
    let again = c.join(static_join("g", "", "host-a")).await;
    assert_eq!(again.error, None);
    assert_ne!(again.member_id, s);
    assert_eq!(again.generation_id, 1, "no rebalance");
    assert_eq!(env.describe("g").await.state, "Stable");
    let mut sync = sync_request("g", 1, &again.member_id, &[]);
    sync.group_instance_id = Some("host-a".into());
    assert_eq!(c.sync(sync).await.assignment, Bytes::from("static-part"));
    assert_eq!(
        heartbeat(c, "g", 1, &b).await,
        None,
        "the other member saw no rebalance"
    );
    // The old incarnation is fenced.
    let old = c
        .heartbeat(HeartbeatRequest {
            group_id: "g".into(),
            generation_id: 1,
            member_id: s.clone(),
            group_instance_id: Some("host-a".into()),
        })
        .await;
    assert_eq!(old, Some(ResponseError::FencedInstanceId));
    let fenced = c.join(static_join("g", &s, "host-a")).await;
    assert_eq!(fenced.error, Some(ResponseError::FencedInstanceId));
}

#[tokio::test(start_paused = true)]
async fn client_side_assignors_pass_through_untouched() {
    let env = Env::start(config()).await;
    let c = &env.coord;
    let metadata = Bytes::from_static(b"\x00\x03cooperative-sticky subscription with owned partitions");
    let mut req = join_request("g", "");
    req.require_known_member_id = false;
    req.protocols = vec![("cooperative-sticky".into(), metadata.clone())];
    let r = c.join(req).await;
    assert_eq!(r.protocol_name.as_deref(), Some("cooperative-sticky"));
    assert_eq!(r.members[0].metadata, metadata);
    let assignment = Bytes::from_static(b"\x00\x03\x00\x00\x00\x01 any bytes at all \xff");
    let s = c
        .sync(SyncRequest {
            assignments: vec![(r.member_id.clone(), assignment.clone())],
            ..sync_request("g", 1, &r.member_id, &[])
        })
        .await;
    assert_eq!(s.assignment, assignment);
    assert_eq!(env.describe("g").await.members[0].metadata, metadata);
}
