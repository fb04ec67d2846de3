//! The coordinator's handle and its task. Handlers hold a cloneable [`Coordinator`]; each call
//! sends one [`Command`] with a oneshot for the answer and awaits it. The task applies commands
//! and timers one at a time (see `core`). JoinGroup and SyncGroup answers may be parked inside
//! a member until a rebalance step completes; if the asking connection closes meanwhile, the
//! receiver is gone and the answer is simply dropped — the member's session timer cleans up.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::configs::GroupConfigs;
use super::load::replay;
use super::messages::*;
use super::store::{OffsetsTopic, StoreError};
use super::task::{Command, Core};
use super::timers::Clock;
use crate::cluster::topics::Topics;
use crate::config::GroupConfig;

/// Commands waiting for the task; senders wait when it is full (back-pressure, not memory).
const QUEUE: usize = 1024;

/// Talks to the coordinator task. `None` from a call means the task has stopped (shutdown):
/// handlers answer COORDINATOR_NOT_AVAILABLE.
#[derive(Clone, Debug)]
pub struct Coordinator {
    tx: mpsc::Sender<Command>,
    /// Each group's own configs, shared with the task, which reads them on every heartbeat.
    pub configs: Arc<GroupConfigs>,
}

/// Opens `__consumer_offsets` (creating it if missing), rebuilds every group from it and starts
/// the coordinator task, which stops when `stop` changes.
pub fn start(
    topics: &Topics,
    config: GroupConfig,
    configs: GroupConfigs,
    wall_ms_now: i64,
    stop: watch::Receiver<bool>,
) -> Result<(Coordinator, JoinHandle<()>), StoreError> {
    let store = OffsetsTopic::open(topics, &config)?;
    let clock = Clock::new(wall_ms_now);
    let name = |id| topics.by_id(id).map(|t| t.name.clone());
    let (groups, pending) = replay(store.read_all()?, clock.now_ms(), name);
    let offsets: usize = groups.values().map(|g| g.offsets.len()).sum();
    let in_transactions: usize = pending.values().map(Vec::len).sum();
    tracing::info!(
        groups = groups.len(),
        offsets,
        in_transactions,
        "loaded consumer groups"
    );
    let configs = Arc::new(configs);
    let core = Core::new(groups, pending, store, config, configs.clone(), clock);
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(run(core, rx, stop));
    Ok((Coordinator { tx, configs }, task))
}

async fn run(mut core: Core, mut rx: mpsc::Receiver<Command>, mut stop: watch::Receiver<bool>) {
    let every = core.ctx.config.offsets_retention_check_interval;
    let mut expiry = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = core.next_deadline();
        tokio::select! {
            command = rx.recv() => match command {
                Some(command) => core.handle(command),
                None => break,
            },
            _ = sleep_until(deadline) => core.fire_due_timers(),
            _ = expiry.tick() => core.expire_offsets(),
            _ = stop.changed() => break,
        }
        core.snapshot_if_due();
    }
    tracing::debug!("group coordinator stopped");
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Coordinator {
    async fn call<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(command(reply)).await.ok()?;
        answer.await.ok()
    }

    pub async fn join(&self, req: JoinRequest) -> JoinResponse {
        let member_id = req.member_id.clone();
        self.call(|r| Command::Join(req, r))
            .await
            .unwrap_or_else(|| JoinResponse::error(ResponseError::CoordinatorNotAvailable, &member_id))
    }

    pub async fn sync(&self, req: SyncRequest) -> SyncResponse {
        self.call(|r| Command::Sync(req, r))
            .await
            .unwrap_or_else(|| SyncResponse::error(ResponseError::CoordinatorNotAvailable))
    }

    pub async fn heartbeat(&self, req: HeartbeatRequest) -> Option<ResponseError> {
        self.call(|r| Command::Heartbeat(req, r))
            .await
            .unwrap_or(Some(ResponseError::CoordinatorNotAvailable))
    }

    /// ConsumerGroupHeartbeat (KIP-848).
    pub async fn consumer_heartbeat(&self, req: ConsumerHeartbeatRequest) -> ConsumerHeartbeatResponse {
        self.call(|r| Command::ConsumerHeartbeat(req, r))
            .await
            .unwrap_or_else(|| {
                ConsumerHeartbeatResponse::error(
                    ResponseError::CoordinatorNotAvailable,
                    "The coordinator is shutting down.",
                )
            })
    }

    /// ConsumerGroupDescribe (KIP-848).
    pub async fn describe_consumer_groups(&self, groups: Vec<String>) -> Vec<DescribedConsumerGroup> {
        let ids = groups.clone();
        self.call(|reply| Command::ConsumerDescribe { groups, reply })
            .await
            .unwrap_or_else(|| {
                ids.into_iter()
                    .map(|group_id| DescribedConsumerGroup {
                        group_id,
                        error: Some(ResponseError::CoordinatorNotAvailable),
                        state: "Dead",
                        ..Default::default()
                    })
                    .collect()
            })
    }

    pub async fn leave(&self, req: LeaveRequest) -> LeaveResponse {
        self.call(|r| Command::Leave(req, r))
            .await
            .unwrap_or_else(|| LeaveResponse {
                error: Some(ResponseError::CoordinatorNotAvailable),
                ..Default::default()
            })
    }

    pub async fn commit(&self, req: CommitRequest) -> CommitResponse {
        let n = req.offsets.len();
        self.call(|r| Command::Commit(req, r))
            .await
            .unwrap_or_else(|| CommitResponse {
                errors: vec![Some(ResponseError::CoordinatorNotAvailable); n],
                ..Default::default()
            })
    }

    /// TxnOffsetCommit: the offsets wait for the producer's transaction to end.
    pub async fn txn_commit(&self, req: TxnCommitRequest) -> CommitResponse {
        let n = req.commit.offsets.len();
        self.call(|r| Command::TxnCommit(req, r))
            .await
            .unwrap_or_else(|| CommitResponse {
                errors: vec![Some(ResponseError::CoordinatorNotAvailable); n],
                ..Default::default()
            })
    }

    /// The producer's transaction ended and its markers are on disk.
    pub async fn txn_ended(&self, producer_id: i64, commit: bool) {
        self.call(|reply| Command::TxnEnded {
            producer_id,
            commit,
            reply,
        })
        .await;
    }

    pub async fn fetch_offsets(
        &self,
        group_id: String,
        topics: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<FetchedOffset>, ResponseError> {
        self.fetch_member_offsets(group_id, topics, None).await
    }

    /// OffsetFetch v9: with `member` (member id, epoch), a consumer group's member must be
    /// known and at that epoch.
    pub async fn fetch_member_offsets(
        &self,
        group_id: String,
        topics: Option<Vec<(String, Vec<i32>)>>,
        member: Option<(String, i32)>,
    ) -> Result<Vec<FetchedOffset>, ResponseError> {
        self.call(|reply| Command::FetchOffsets {
            group_id,
            topics,
            member,
            reply,
        })
        .await
        .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))
    }

    pub async fn delete_offsets(&self, group_id: String, partitions: Vec<(String, i32)>) -> OffsetDeleteResponse {
        self.call(|reply| Command::DeleteOffsets {
            group_id,
            partitions,
            reply,
        })
        .await
        .unwrap_or_else(|| OffsetDeleteResponse {
            error: Some(ResponseError::CoordinatorNotAvailable),
            ..Default::default()
        })
    }

    pub async fn list(&self, states: Vec<String>) -> Result<Vec<ListedGroup>, ResponseError> {
        self.call(|reply| Command::List { states, reply })
            .await
            .ok_or(ResponseError::CoordinatorNotAvailable)
    }

    pub async fn describe(&self, groups: Vec<String>) -> Vec<DescribedGroup> {
        let ids = groups.clone();
        self.call(|reply| Command::Describe { groups, reply })
            .await
            .unwrap_or_else(|| {
                ids.into_iter()
                    .map(|group_id| DescribedGroup {
                        group_id,
                        error: Some(ResponseError::CoordinatorNotAvailable),
                        state: "Dead",
                        ..Default::default()
                    })
                    .collect()
            })
    }

    pub async fn delete_groups(&self, groups: Vec<String>) -> DeleteGroupsResponse {
        let ids = groups.clone();
        self.call(|reply| Command::DeleteGroups { groups, reply })
            .await
            .unwrap_or_else(|| DeleteGroupsResponse {
                results: ids
                    .into_iter()
                    .map(|g| (g, Some(ResponseError::CoordinatorNotAvailable)))
                    .collect(),
                ..Default::default()
            })
    }
}
