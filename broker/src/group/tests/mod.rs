//! The coordinator's rules under a paused clock: every test runs the real task against a real
//! `__consumer_offsets` in a temporary directory, and time jumps to the next deadline whenever
//! every task is waiting, so a 45 s session expiry takes no wall time.

mod consumer;
mod errors;
mod offsets;
mod persistence;
mod rebalance;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::*;
use crate::cluster::topics::Topics;
use crate::config::{BrokerConfig, GroupConfig};

pub const SESSION_MS: i32 = 10_000;
pub const REBALANCE_MS: i32 = 30_000;

pub fn config() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::from_secs(3),
        min_session_timeout: Duration::from_secs(1),
        offsets_topic_partitions: 5,
        ..GroupConfig::default()
    }
}

/// A running coordinator over a temporary data directory.
pub struct Env {
    pub coord: Coordinator,
    pub topics: Arc<Topics>,
    pub dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    config: GroupConfig,
}

impl Env {
    pub async fn start(config: GroupConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env::open(dir, config).await
    }

    async fn open(dir: tempfile::TempDir, config: GroupConfig) -> Env {
        let topics = Arc::new(Topics::open(dir.path(), BrokerConfig::default().log).unwrap().0);
        let (stop, stopped) = watch::channel(false);
        let configs = super::configs::GroupConfigs::open(dir.path()).unwrap();
        let (coord, task) = start(&topics, config.clone(), configs, 1_000_000, stopped).unwrap();
        Env {
            coord,
            topics,
            dir,
            stop,
            task,
            config,
        }
    }

    /// Stops the coordinator and starts a new one over the same files: a broker restart.
    pub async fn restart(self) -> Env {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
        for p in &self.topics.get(OFFSETS_TOPIC).unwrap().partitions {
            p.flush().unwrap();
        }
        drop(self.topics);
        Env::open(self.dir, self.config).await
    }

    pub fn offsets_partition(&self, group: &str) -> crate::cluster::partition::PartitionRef {
        let topic = self.topics.get(OFFSETS_TOPIC).unwrap();
        topic.partitions[partition_for(group, topic.partitions.len())].clone()
    }

    pub async fn describe(&self, group: &str) -> DescribedGroup {
        self.coord.describe(vec![group.into()]).await.remove(0)
    }
}

pub fn protocols(names: &[&str]) -> Vec<(String, Bytes)> {
    names
        .iter()
        .map(|n| (n.to_string(), Bytes::from(format!("metadata-for-{n}"))))
        .collect()
}

pub fn join_request(group: &str, member_id: &str) -> JoinRequest {
    JoinRequest {
        group_id: group.into(),
        member_id: member_id.into(),
        group_instance_id: None,
        client: Client {
            client_id: "test-client".into(),
            client_host: "/127.0.0.1".into(),
        },
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        protocol_type: "consumer".into(),
        protocols: protocols(&["range", "roundrobin"]),
        require_known_member_id: true,
    }
}

/// The KIP-394 handshake: the first join returns MEMBER_ID_REQUIRED with the id to use.
pub async fn member_id(coord: &Coordinator, group: &str) -> String {
    let r = coord.join(join_request(group, "")).await;
    assert_eq!(r.error, Some(ResponseError::MemberIdRequired));
    assert!(r.member_id.starts_with("test-client-"), "{}", r.member_id);
    r.member_id
}

/// A join that may be parked, running in its own task.
pub fn spawn_join(coord: &Coordinator, req: JoinRequest) -> JoinHandle<JoinResponse> {
    let coord = coord.clone();
    tokio::spawn(async move { coord.join(req).await })
}

pub fn spawn_sync(coord: &Coordinator, req: SyncRequest) -> JoinHandle<SyncResponse> {
    let coord = coord.clone();
    tokio::spawn(async move { coord.sync(req).await })
}

pub fn sync_request(group: &str, generation: i32, member_id: &str, assignments: &[(&str, &str)]) -> SyncRequest {
    SyncRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member_id.into(),
        assignments: assignments
            .iter()
            .map(|(m, a)| (m.to_string(), Bytes::from(a.to_string())))
            .collect(),
        ..Default::default()
    }
}

pub async fn heartbeat(coord: &Coordinator, group: &str, generation: i32, member_id: &str) -> Option<ResponseError> {
    coord
        .heartbeat(HeartbeatRequest {
            group_id: group.into(),
            generation_id: generation,
            member_id: member_id.into(),
            group_instance_id: None,
        })
        .await
}

/// Heartbeats every second until stopped (a live member that is not rejoining).
pub fn keep_alive(coord: &Coordinator, group: &str, generation: i32, member_id: &str) -> JoinHandle<()> {
    let (coord, group, member_id) = (coord.clone(), group.to_string(), member_id.to_string());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if heartbeat(&coord, &group, generation, &member_id).await == Some(ResponseError::UnknownMemberId) {
                return;
            }
        }
    })
}

/// Forms a stable group of `n` dynamic members; returns (generation, member ids, leader).
pub async fn stable_group(coord: &Coordinator, group: &str, n: usize) -> (i32, Vec<String>, String) {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(member_id(coord, group).await);
    }
    let joins: Vec<_> = ids
        .iter()
        .map(|id| spawn_join(coord, join_request(group, id)))
        .collect();
    let mut responses = Vec::new();
    for j in joins {
        responses.push(j.await.unwrap());
    }
    let generation = responses[0].generation_id;
    let leader = responses[0].leader.clone();
    let assignments: Vec<(String, String)> = ids.iter().map(|id| (id.clone(), format!("assigned-to-{id}"))).collect();
    let refs: Vec<(&str, &str)> = assignments.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let syncs: Vec<_> = ids
        .iter()
        .map(|id| {
            let a = if *id == leader { &refs[..] } else { &[][..] };
            spawn_sync(coord, sync_request(group, generation, id, a))
        })
        .collect();
    for s in syncs {
        assert_eq!(s.await.unwrap().error, None);
    }
    (generation, ids, leader)
}
