//! The coordinator's state, owned by its one task: every group, the timers, the log. Commands
//! and timers are applied one at a time, so a group's rules read as plain sequential code and
//! no lock exists to be held across an `.await` — the task never awaits while a group is
//! half-updated (its only awaits are for the next command or the next deadline).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::classic::{Group, GroupState};
use super::configs::GroupConfigs;
use super::messages::*;
use super::records::{encode_group_value, encode_key, RecordKey};
use super::store::Durable;
use super::store::{KeyValue, OffsetsTopic, StoreError};
use super::timers::{Clock, Timer, TimerId, Timers};
use super::txn_offsets::Pending;
use crate::config::GroupConfig;

/// How long a new member's parked JoinGroup may wait for the join phase to end before the
/// member is dropped (Kafka's `group.coordinator.new.member.join.timeout.ms`, fixed at 5 min):
/// its socket is held, so a client that gave up and retried would otherwise linger.
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// One request to the coordinator and where its answer goes.
#[derive(Debug)]
pub enum Command {
    Join(JoinRequest, oneshot::Sender<JoinResponse>),
    Sync(SyncRequest, oneshot::Sender<SyncResponse>),
    Heartbeat(HeartbeatRequest, oneshot::Sender<Option<ResponseError>>),
    ConsumerHeartbeat(ConsumerHeartbeatRequest, oneshot::Sender<ConsumerHeartbeatResponse>),
    ConsumerDescribe {
        groups: Vec<String>,
        reply: oneshot::Sender<Vec<DescribedConsumerGroup>>,
    },
    Leave(LeaveRequest, oneshot::Sender<LeaveResponse>),
    Commit(CommitRequest, oneshot::Sender<CommitResponse>),
    TxnCommit(TxnCommitRequest, oneshot::Sender<CommitResponse>),
    /// The producer's transaction ended (its markers are on disk): its pending offsets take
    /// effect or are dropped.
    TxnEnded {
        producer_id: i64,
        commit: bool,
        reply: oneshot::Sender<()>,
    },
    FetchOffsets {
        group_id: String,
        /// `None`: every committed offset of the group.
        topics: Option<Vec<(String, Vec<i32>)>>,
        /// OffsetFetch v9's member id and epoch, when the request gave them.
        member: Option<(String, i32)>,
        reply: oneshot::Sender<Result<Vec<FetchedOffset>, ResponseError>>,
    },
    DeleteOffsets {
        group_id: String,
        partitions: Vec<(String, i32)>,
        reply: oneshot::Sender<OffsetDeleteResponse>,
    },
    List {
        states: Vec<String>,
        reply: oneshot::Sender<Vec<ListedGroup>>,
    },
    Describe {
        groups: Vec<String>,
        reply: oneshot::Sender<Vec<DescribedGroup>>,
    },
    DeleteGroups {
        groups: Vec<String>,
        reply: oneshot::Sender<DeleteGroupsResponse>,
    },
}

/// Everything a group's rules use besides the group itself.
pub struct Ctx {
    pub timers: Timers,
    pub store: OffsetsTopic,
    pub config: GroupConfig,
    /// Each group's own configs over `config` (`kafka-configs --entity-type groups`).
    pub configs: Arc<GroupConfigs>,
    pub clock: Clock,
}

pub struct Core {
    pub groups: HashMap<String, Group>,
    /// Offsets committed inside transactions still open, by producer id (`txn_offsets`).
    pub pending: Pending,
    pub ctx: Ctx,
}

impl Core {
    /// Takes over groups loaded from the log; their members get a session to come back in.
    pub fn new(
        mut groups: HashMap<String, Group>,
        pending: Pending,
        store: OffsetsTopic,
        config: GroupConfig,
        configs: Arc<GroupConfigs>,
        clock: Clock,
    ) -> Core {
        let mut ctx = Ctx {
            timers: Timers::default(),
            store,
            config,
            configs,
            clock,
        };
        for g in groups.values_mut() {
            let ids: Vec<String> = g.members.keys().cloned().collect();
            for id in ids {
                schedule_session(g, &mut ctx, &id, None);
            }
            if let Some(cg) = &mut g.consumer {
                super::consumer::start_sessions(&g.group_id, cg, &mut ctx);
            }
        }
        Core { groups, pending, ctx }
    }

    pub fn handle(&mut self, command: Command) {
        match command {
            Command::Join(req, reply) => self.join(req, reply),
            Command::Sync(req, reply) => self.sync(req, reply),
            Command::Heartbeat(req, reply) => {
                let _ = reply.send(self.heartbeat(req));
            }
            Command::ConsumerHeartbeat(req, reply) => {
                let _ = reply.send(self.consumer_heartbeat(req));
            }
            Command::ConsumerDescribe { groups, reply } => {
                let _ = reply.send(self.describe_consumer_groups(&groups));
            }
            Command::Leave(req, reply) => {
                let _ = reply.send(self.leave(req));
            }
            Command::Commit(req, reply) => {
                let _ = reply.send(self.commit(req, None));
            }
            Command::TxnCommit(req, reply) => {
                let txn = Some((req.producer_id, req.producer_epoch));
                let _ = reply.send(self.commit(req.commit, txn));
            }
            Command::TxnEnded {
                producer_id,
                commit,
                reply,
            } => {
                self.txn_ended(producer_id, commit);
                let _ = reply.send(());
            }
            Command::FetchOffsets {
                group_id,
                topics,
                member,
                reply,
            } => {
                let answer = self
                    .validate_fetch(&group_id, member)
                    .map(|()| self.fetch_offsets(&group_id, topics));
                let _ = reply.send(answer);
            }
            Command::DeleteOffsets {
                group_id,
                partitions,
                reply,
            } => {
                let _ = reply.send(self.delete_offsets(&group_id, partitions));
            }
            Command::List { states, reply } => {
                let _ = reply.send(self.list(&states));
            }
            Command::Describe { groups, reply } => {
                let _ = reply.send(self.describe(&groups));
            }
            Command::DeleteGroups { groups, reply } => {
                let _ = reply.send(self.delete_groups(&groups));
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.ctx.timers.next_deadline()
    }

    /// Applies every timer that is due.
    pub fn fire_due_timers(&mut self) {
        while let Some((id, timer)) = self.ctx.timers.pop_due(Instant::now()) {
            self.fire(id, timer);
        }
    }

    /// Applies one timer if its owner still holds it: a timer is cancelled when replaced, so
    /// this only guards against an owner that was removed and recreated under the same name.
    fn fire(&mut self, id: TimerId, timer: Timer) {
        if matches!(timer, Timer::ConsumerSession { .. } | Timer::ConsumerRebalance { .. }) {
            return self.consumer_timer(timer, id);
        }
        let group_id = match &timer {
            Timer::Session { group, .. }
            | Timer::PendingMember { group, .. }
            | Timer::Join { group }
            | Timer::InitialJoin { group, .. }
            | Timer::Sync { group, .. }
            | Timer::ConsumerSession { group, .. }
            | Timer::ConsumerRebalance { group, .. } => group.clone(),
        };
        let Some(g) = self.groups.get_mut(&group_id) else {
            return;
        };
        let ctx = &mut self.ctx;
        let mine = |held: &mut Option<TimerId>| {
            let yes = *held == Some(id);
            if yes {
                *held = None;
            }
            yes
        };
        match timer {
            Timer::Session { member_id, .. } => {
                if g.members
                    .get_mut(&member_id)
                    .is_some_and(|m| mine(&mut m.session_timer))
                {
                    super::membership::session_expired(g, ctx, &member_id);
                }
            }
            Timer::PendingMember { member_id, .. } => {
                if g.pending_members.get_mut(&member_id).is_some_and(mine) {
                    g.pending_members.remove(&member_id);
                    tracing::info!(group = %g.group_id, member = %member_id, "pending member did not join in time");
                    if g.state == GroupState::PreparingRebalance && g.has_all_members_joined() {
                        super::rebalance::complete_join(g, ctx);
                    }
                }
            }
            Timer::Join { .. } if mine(&mut g.join_timer) => super::rebalance::complete_join(g, ctx),
            Timer::InitialJoin { delay, remaining, .. } if mine(&mut g.join_timer) => {
                super::rebalance::initial_delay_passed(g, ctx, delay, remaining);
            }
            Timer::Sync { generation, .. } if mine(&mut g.sync_timer) => {
                super::membership::sync_expired(g, ctx, generation);
            }
            Timer::Join { .. }
            | Timer::InitialJoin { .. }
            | Timer::Sync { .. }
            | Timer::ConsumerSession { .. }
            | Timer::ConsumerRebalance { .. } => {}
        }
    }

    /// Snapshots every `__consumer_offsets` partition that has grown enough (see `store`).
    pub fn snapshot_if_due(&mut self) {
        for partition in self.ctx.store.take_due() {
            let live = self.live_records(partition);
            let now = self.ctx.clock.now_ms();
            if let Err(e) = self.ctx.store.snapshot(partition, &live, now) {
                tracing::warn!(error = %e, "snapshot failed; the old records stay until the next try");
            }
        }
    }

    /// The latest record per key of one partition: each group's last group record and each
    /// committed offset. Superseded records and tombstones are not needed.
    pub fn live_records(&self, partition: usize) -> Vec<KeyValue> {
        let mut out = Vec::new();
        let mut groups: Vec<&Group> = self
            .groups
            .values()
            .filter(|g| self.ctx.store.partition_for(&g.group_id) == partition)
            .collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        for g in groups {
            if let Some(stored) = &g.stored {
                let key = RecordKey::Group {
                    group: g.group_id.clone(),
                };
                out.push((encode_key(&key), Some(stored.clone())));
            }
            if let Some(cg) = &g.consumer {
                out.extend(cg.stored.iter().map(|(k, v)| (k.clone(), Some(v.clone()))));
            }
            out.extend(
                g.offsets.iter().map(|((topic, partition), v)| {
                    super::offsets::offset_record(&g.group_id, topic, *partition, Some(v))
                }),
            );
        }
        out
    }
}

/// Writes the group record of the current generation.
pub fn write_group_record(g: &mut Group, ctx: &mut Ctx) -> Result<Durable, StoreError> {
    let value = encode_group_value(&g.to_record());
    let key = encode_key(&RecordKey::Group {
        group: g.group_id.clone(),
    });
    let durable = ctx
        .store
        .append(&g.group_id, &[(key, Some(value.clone()))], None, ctx.clock.now_ms())?;
    g.stored = Some(value);
    Ok(durable)
}

/// (Re)arms a member's session timer: its session timeout, or `timeout` if given.
pub fn schedule_session(g: &mut Group, ctx: &mut Ctx, member_id: &str, timeout: Option<Duration>) {
    let Some(m) = g.members.get_mut(member_id) else { return };
    let timer = Timer::Session {
        group: g.group_id.clone(),
        member_id: member_id.to_string(),
    };
    ctx.timers
        .replace(&mut m.session_timer, timeout.unwrap_or(m.session_timeout), timer);
}
