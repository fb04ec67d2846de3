//! Coordinator benchmark, ignored by default; BENCHMARKS.md has the figures. Run it with
//!
//! ```sh
//! cargo test --release -p broker --test group_bench -- --ignored --nocapture --test-threads=1
//! ```
//!
//! Members speak the wire protocol over their own connections (as real clients do), so the
//! figures include framing, the coordinator task, the `__consumer_offsets` append and the fsync
//! every acknowledged commit waits for.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::net::TcpStream;
use tokio::sync::Barrier;

struct Member {
    conn: TcpStream,
    group: String,
    member_id: String,
    generation: i32,
    leader: bool,
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn join_request_with(group: &str, member_id: &str, session_ms: i32) -> JoinGroupRequest {
    let mut r = join_request(group, member_id);
    r.session_timeout_ms = session_ms;
    r.rebalance_timeout_ms = session_ms;
    r
}

/// JoinGroup (v3, no member-id handshake) then SyncGroup; the leader assigns everyone nothing.
async fn join_and_sync(conn: &mut TcpStream, group: &str, member_id: &str, session_ms: i32) -> (String, i32, bool) {
    let joined: JoinGroupResponse = call(
        conn,
        ApiKey::JoinGroup,
        3,
        &join_request_with(group, member_id, session_ms),
    )
    .await;
    assert_eq!(joined.error_code, 0, "join");
    let me = joined.member_id.to_string();
    let mut sync = SyncGroupRequest::default();
    sync.group_id = GroupId(s(group));
    sync.generation_id = joined.generation_id;
    sync.member_id = s(&me);
    let leader = joined.leader == joined.member_id;
    if leader {
        sync.assignments = joined
            .members
            .iter()
            .map(|m| {
                let mut a = sync_group_request::SyncGroupRequestAssignment::default();
                a.member_id = m.member_id.clone();
                a.assignment = Bytes::new();
                a
            })
            .collect();
    }
    let synced: SyncGroupResponse = call(conn, ApiKey::SyncGroup, 3, &sync).await;
    assert_eq!(synced.error_code, 0, "sync");
    (me, joined.generation_id, leader)
}

/// `n` members join `group` together (inside the initial delay) and sync.
async fn form_group(addr: std::net::SocketAddr, group: String, n: usize, session_ms: i32) -> Vec<Member> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let group = group.to_string();
            tokio::spawn(async move {
                let mut conn = TcpStream::connect(addr).await.unwrap();
                let (member_id, generation, leader) = join_and_sync(&mut conn, &group, "", session_ms).await;
                Member {
                    conn,
                    group,
                    member_id,
                    generation,
                    leader,
                }
            })
        })
        .collect();
    let mut members = Vec::new();
    for t in tasks {
        members.push(t.await.unwrap());
    }
    members
}

fn commit(m: &Member, partition: i32, offset: i64) -> OffsetCommitRequest {
    let mut r = commit_request(&m.group, offset);
    r.generation_id_or_member_epoch = m.generation;
    r.member_id = s(&m.member_id);
    r.topics[0].name = topic_name("bench");
    r.topics[0].partitions[0].partition_index = partition;
    r
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Every member commits every `every` (or back to back when `None`) for `run`.
async fn commit_load(members: Vec<Member>, every: Option<Duration>, run: Duration) -> (usize, Duration, Vec<Duration>) {
    let start = Arc::new(Barrier::new(members.len()));
    let tasks: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let began = Instant::now();
                let mut tick = every.map(tokio::time::interval);
                let mut latencies = Vec::new();
                let mut offset = 0;
                while began.elapsed() < run {
                    if let Some(t) = tick.as_mut() {
                        t.tick().await;
                    }
                    offset += 1;
                    let request = commit(&m, (i % 10) as i32, offset);
                    let sent = Instant::now();
                    let r: OffsetCommitResponse = call(&mut m.conn, ApiKey::OffsetCommit, 8, &request).await;
                    assert_eq!(r.topics[0].partitions[0].error_code, 0);
                    latencies.push(sent.elapsed());
                }
                (latencies, began.elapsed())
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut elapsed = Duration::ZERO;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        elapsed = elapsed.max(e);
    }
    all.sort();
    (all.len(), elapsed, all)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn commits_per_second() {
    // Kafka's 3 s initial delay: every member of a group joins before its first generation.
    let (broker, _dir) = start_with(|c| c.groups.initial_rebalance_delay = Duration::from_secs(3)).await;
    broker.ensure_topic("bench", 10).unwrap();
    let (groups, per_group) = (50, 10);
    for (label, every, run) in [
        (
            "every 100 ms",
            Some(Duration::from_millis(100)),
            Duration::from_secs(10),
        ),
        ("back to back", None, Duration::from_secs(5)),
    ] {
        // Sessions outlast the run: these members commit but do not heartbeat.
        let forming: Vec<_> = (0..groups)
            .map(|g| {
                tokio::spawn(form_group(
                    broker.local_addr(),
                    format!("bench-{label}-{g}"),
                    per_group,
                    120_000,
                ))
            })
            .collect();
        let mut members = Vec::new();
        for f in forming {
            members.extend(f.await.unwrap());
        }
        assert!(
            members.iter().all(|m| m.generation == 1),
            "every group formed in one rebalance"
        );
        let n = members.len();
        let (count, elapsed, latencies) = commit_load(members, every, run).await;
        println!(
            "{n} members in {groups} groups committing {label}: {:.0} commits/s acknowledged (fsynced); \
             latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            count as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
    }
    broker.shutdown().await;
}

/// Heartbeats every `interval` until told to rejoin, then rejoins and syncs; returns when the
/// member holds the new generation.
async fn survive(mut m: Member, interval: Duration, session_ms: i32) -> (Instant, i32) {
    loop {
        let mut hb = HeartbeatRequest::default();
        hb.group_id = GroupId(s(&m.group));
        hb.generation_id = m.generation;
        hb.member_id = s(&m.member_id);
        let r: HeartbeatResponse = call(&mut m.conn, ApiKey::Heartbeat, 4, &hb).await;
        match r.error_code {
            0 => tokio::time::sleep(interval).await,
            27 => {
                let (_, generation, _) = join_and_sync(&mut m.conn, &m.group, &m.member_id.clone(), session_ms).await;
                return (Instant::now(), generation);
            }
            other => panic!("heartbeat answered {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn time_from_a_members_death_to_the_completed_rebalance() {
    let (broker, _dir) = start_with(|c| c.groups.initial_rebalance_delay = Duration::from_millis(500)).await;
    let session_ms = 6_000; // Kafka's group.min.session.timeout.ms
    let heartbeat = Duration::from_millis(1_000);
    for (label, leaves) in [("dies (session timeout)", false), ("leaves (LeaveGroup)", true)] {
        let group = format!("death-{leaves}");
        let mut members = form_group(broker.local_addr(), group.clone(), 3, session_ms).await;
        // The victim is a follower, so the survivors keep their leader.
        let victim = members.iter().position(|m| !m.leader).unwrap();
        let mut victim = members.remove(victim);
        let survivors: Vec<_> = members
            .into_iter()
            .map(|m| tokio::spawn(survive(m, heartbeat, session_ms)))
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A last heartbeat, then silence: the session runs from here.
        let mut hb = HeartbeatRequest::default();
        hb.group_id = GroupId(s(&group));
        hb.generation_id = victim.generation;
        hb.member_id = s(&victim.member_id);
        let _: HeartbeatResponse = call(&mut victim.conn, ApiKey::Heartbeat, 4, &hb).await;
        let died = Instant::now();
        if leaves {
            let mut r = LeaveGroupRequest::default();
            r.group_id = GroupId(s(&group));
            r.member_id = s(&victim.member_id);
            let _: LeaveGroupResponse = call(&mut victim.conn, ApiKey::LeaveGroup, 1, &r).await;
        }
        drop(victim);
        let mut done = died;
        for t in survivors {
            let (at, generation) = t.await.unwrap();
            assert_eq!(generation, 2);
            done = done.max(at);
        }
        let took = done - died;
        println!(
            "member {label}: rebalance complete for the survivors after {:.2} s \
             (session timeout {:.1} s, heartbeat interval {:.1} s)",
            took.as_secs_f64(),
            session_ms as f64 / 1e3,
            heartbeat.as_secs_f64()
        );
    }
    broker.shutdown().await;
}
