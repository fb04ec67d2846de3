//! ConsumerGroupHeartbeat as rules over a group (Kafka's `consumerGroupHeartbeat`), and the
//! timers it sets: a member's session, and how long it may take to give up partitions.
//!
//! One heartbeat: validate → find or create the group and member (or leave) → update the
//! member's subscription → bump the group epoch if anything the assignment depends on changed
//! → recompute the target if the epoch moved → take the member one step towards its target
//! (`reconcile`) → answer with its epoch, and its assignment when it changed or was asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::error::ResponseError;

use super::{assignor, full_match, reconcile, records, Assignment, ConsumerGroup, ConsumerMember, MemberState};
use crate::config::GroupConfig;
use crate::group::classic::{Group, GroupState};
use crate::group::messages::{ConsumerHeartbeatRequest, ConsumerHeartbeatResponse};
use crate::group::records::{encode_key, RecordKey};
use crate::group::store::{Durable, KeyValue, StoreError};
use crate::group::task::{Core, Ctx};
use crate::group::timers::Timer;

/// A member epoch of -1 leaves the group.
pub const HEARTBEAT_LEAVE: i32 = -1;
/// A static member's epoch of -2 leaves for now: it keeps its partitions for its session.
pub const HEARTBEAT_LEAVE_STATIC: i32 = -2;

type Refusal = (ResponseError, String);

impl Core {
    pub fn consumer_heartbeat(&mut self, req: ConsumerHeartbeatRequest) -> ConsumerHeartbeatResponse {
        let (group, member, epoch) = (req.group_id.clone(), req.member_id.clone(), req.member_epoch);
        match self.try_consumer_heartbeat(req) {
            Ok(response) => response,
            Err((error, message)) => {
                tracing::debug!(%group, %member, epoch, ?error, %message, "consumer group heartbeat refused");
                ConsumerHeartbeatResponse::error(error, message)
            }
        }
    }

    fn try_consumer_heartbeat(
        &mut self,
        mut req: ConsumerHeartbeatRequest,
    ) -> Result<ConsumerHeartbeatResponse, Refusal> {
        validate(&req, &self.ctx.config)?;
        if req.member_id.is_empty() {
            req.member_id = uuid::Uuid::new_v4().to_string();
        }
        let now = self.ctx.clock.now_ms();
        let Core { groups, ctx, .. } = self;
        if !groups.contains_key(&req.group_id) {
            if req.member_epoch != 0 {
                return Err(unknown_member(&req));
            }
            groups.insert(req.group_id.clone(), Group::new(&req.group_id, now));
        }
        let Some(g) = groups.get_mut(&req.group_id) else {
            return Err(unknown_member(&req));
        };
        let mut replaced = Vec::new();
        if g.consumer.is_none() {
            if g.state != GroupState::Empty || !g.pending_members.is_empty() {
                let message = format!("Group {} is not a consumer group.", req.group_id);
                return Err((ResponseError::GroupIdNotFound, message));
            }
            // An empty classic group becomes a consumer group; its offsets stay, its classic
            // record goes.
            g.consumer = Some(ConsumerGroup::default());
            g.protocol_type = Some("consumer".into());
            if g.stored.take().is_some() {
                let key = RecordKey::Group {
                    group: g.group_id.clone(),
                };
                replaced.push((encode_key(&key), None));
            }
        }
        let group_id = g.group_id.clone();
        let Some(cg) = g.consumer.as_mut() else {
            return Err(unknown_member(&req));
        };
        cg.ids.clone_from(&req.ids);
        let mut response = match req.member_epoch {
            HEARTBEAT_LEAVE => leave(cg, ctx, &group_id, &req),
            HEARTBEAT_LEAVE_STATIC => leave_for_now(cg, ctx, &group_id, &req),
            _ => heartbeat(cg, ctx, &group_id, &req),
        }?;
        match persist(&group_id, cg, ctx, replaced) {
            Ok(durable) => response.durable = durable,
            Err(e) => {
                tracing::warn!(group = %group_id, error = %e, "could not store the consumer group");
                return Err((
                    ResponseError::NotCoordinator,
                    format!("The group could not be stored: {e}"),
                ));
            }
        }
        Ok(response)
    }

    /// A member's session or rebalance timer fired: it is removed, and the others move.
    pub fn consumer_timer(&mut self, timer: Timer, id: super::super::timers::TimerId) {
        let (group, member_id) = match &timer {
            Timer::ConsumerSession { group, member_id } | Timer::ConsumerRebalance { group, member_id, .. } => {
                (group, member_id)
            }
            _ => return,
        };
        let Some(cg) = self.groups.get_mut(group).and_then(|g| g.consumer.as_mut()) else {
            return;
        };
        let Some(m) = cg.members.get_mut(member_id) else { return };
        let mine = match &timer {
            Timer::ConsumerRebalance { epoch, .. } => {
                m.rebalance_timer == Some(id) && m.epoch == *epoch && m.state == MemberState::UnrevokedPartitions
            }
            _ => m.session_timer == Some(id),
        };
        if !mine {
            return;
        }
        let why = match timer {
            Timer::ConsumerRebalance { .. } => "did not revoke its partitions within its rebalance timeout",
            _ => "sent no heartbeat within its session timeout",
        };
        tracing::info!(group = %group, member = %member_id, "consumer group member removed: {why}");
        remove(cg, &mut self.ctx, member_id);
        if let Err(e) = persist(group, cg, &mut self.ctx, Vec::new()) {
            tracing::warn!(group = %group, error = %e, "could not store the consumer group; the next change writes it");
        }
    }
}

fn unknown_member(req: &ConsumerHeartbeatRequest) -> Refusal {
    let message = format!("Member {} is not a member of group {}.", req.member_id, req.group_id);
    (ResponseError::UnknownMemberId, message)
}

fn invalid(message: &str) -> Refusal {
    (ResponseError::InvalidRequest, message.to_string())
}

/// Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`.
fn validate(req: &ConsumerHeartbeatRequest, config: &GroupConfig) -> Result<(), Refusal> {
    if req.group_id.is_empty() {
        return Err(invalid("GroupId can't be empty."));
    }
    if req.instance_id.as_deref() == Some("") {
        return Err(invalid("InstanceId can't be empty."));
    }
    if req.rack_id.as_deref() == Some("") {
        return Err(invalid("RackId can't be empty."));
    }
    let needs_id = req.version >= 1 || req.member_epoch != 0;
    if needs_id && req.member_id.is_empty() {
        return Err(invalid("MemberId can't be empty."));
    }
    match req.member_epoch {
        0 => {
            if req.rebalance_timeout_ms == -1 {
                return Err(invalid("RebalanceTimeoutMs must be provided in first request."));
            }
            if !req.owned.as_ref().is_some_and(BTreeMap::is_empty) {
                return Err(invalid("TopicPartitions must be empty when (re-)joining."));
            }
            let names = req.subscribed_topic_names.as_ref().is_some_and(|n| !n.is_empty());
            let regex = req.subscribed_topic_regex.as_ref().is_some_and(|r| !r.is_empty());
            if !names && !regex {
                return Err(invalid(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                ));
            }
        }
        HEARTBEAT_LEAVE_STATIC if req.instance_id.is_none() => return Err(invalid("InstanceId can't be null.")),
        e if e > 0 || e == HEARTBEAT_LEAVE || e == HEARTBEAT_LEAVE_STATIC => {}
        _ => return Err(invalid("MemberEpoch is invalid.")),
    }
    if let Some(name) = &req.server_assignor {
        if !config.consumer_assignors.contains(name) || !assignor::KNOWN.contains(&name.as_str()) {
            let message = format!(
                "ServerAssignor {name} is not supported. Supported assignors: {}.",
                config.consumer_assignors.join(", ")
            );
            return Err((ResponseError::UnsupportedAssignor, message));
        }
    }
    if let Some(regex) = req.subscribed_topic_regex.as_deref().filter(|r| !r.is_empty()) {
        if let Err(e) = full_match(regex) {
            return Err((
                ResponseError::InvalidRegularExpression,
                format!("SubscribedTopicRegex {regex}: {e}"),
            ));
        }
    }
    Ok(())
}

fn heartbeat(
    cg: &mut ConsumerGroup,
    ctx: &mut Ctx,
    group_id: &str,
    req: &ConsumerHeartbeatRequest,
) -> Result<ConsumerHeartbeatResponse, Refusal> {
    let joining = req.member_epoch == 0;
    if joining {
        take_over_instance(cg, ctx, req)?;
    }
    let (before, is_new) = match cg.members.get(&req.member_id) {
        Some(m) if joining => (m.clone(), false),
        Some(m) => {
            check_epoch(m, req)?;
            (m.clone(), false)
        }
        None if joining => (ConsumerMember::new(&req.member_id), true),
        None => return Err(unknown_member(req)),
    };
    if is_new && cg.members.len() >= ctx.config.consumer_max_size {
        let message = format!(
            "The consumer group has reached its maximum capacity of {} members.",
            ctx.config.consumer_max_size
        );
        return Err((ResponseError::GroupMaxSizeReached, message));
    }
    let mut member = before.clone();
    update(&mut member, req);
    let mut bump = is_new
        || member.subscribed_names != before.subscribed_names
        || member.subscribed_regex != before.subscribed_regex;
    cg.put(member);
    let subscribed = cg.subscriptions(&req.topics);
    if cg.subscriptions_unknown {
        // Loaded from the log: what the target was computed from is taken as it is now.
        cg.subscriptions_unknown = false;
        cg.subscribed = subscribed.clone();
    }
    if subscribed != cg.subscribed {
        cg.subscribed = subscribed;
        bump = true;
    }
    if bump {
        cg.epoch += 1;
        tracing::debug!(group = %group_id, epoch = cg.epoch, "consumer group epoch bumped");
    }
    if cg.epoch > cg.assignment_epoch {
        compute_target(cg, &ctx.config);
    }
    let current = cg.members.get(&req.member_id).cloned().unwrap_or(before.clone());
    let target = cg.target.get(&req.member_id).cloned().unwrap_or_default();
    let mut next = reconcile::next(cg, &current, cg.assignment_epoch, &target, req.owned.as_ref());
    let timer = |epoch| Timer::ConsumerRebalance {
        group: group_id.to_string(),
        member_id: req.member_id.clone(),
        epoch,
    };
    if next.state == MemberState::UnrevokedPartitions {
        if current.state != MemberState::UnrevokedPartitions || current.epoch != next.epoch {
            ctx.timers
                .replace(&mut next.rebalance_timer, next.rebalance_timeout, timer(next.epoch));
        }
    } else {
        ctx.timers.cancel(&mut next.rebalance_timer);
    }
    arm_session(group_id, &mut next, ctx);
    let full =
        joining || (req.rebalance_timeout_ms != -1 && req.subscribed_topic_names.is_some() && req.owned.is_some());
    let changed = next.assigned != before.assigned || is_new;
    tracing::debug!(
        group = %group_id, member = %next.member_id, sent_epoch = req.member_epoch, epoch = next.epoch,
        group_epoch = cg.epoch, state = ?next.state, assigned = ?next.assigned, revoking = ?next.pending_revocation,
        owned = ?req.owned, target = ?target, "consumer group heartbeat"
    );
    let response = ConsumerHeartbeatResponse {
        member_id: Some(next.member_id.clone()),
        member_epoch: next.epoch,
        heartbeat_interval_ms: millis(ctx.configs.effective(group_id, &ctx.config).heartbeat_interval),
        assignment: (full || changed).then(|| next.assigned.clone()),
        ..Default::default()
    };
    cg.put(next);
    Ok(response)
}

/// Kafka's `throwIfConsumerGroupMemberEpochIsInvalid`: a member one epoch behind is let in if
/// it holds no more than it is assigned (the answer that moved it on may have been lost).
fn check_epoch(m: &ConsumerMember, req: &ConsumerHeartbeatRequest) -> Result<(), Refusal> {
    let received = req.member_epoch;
    let subset = || {
        req.owned.as_ref().is_some_and(|owned| {
            owned
                .iter()
                .all(|(t, ps)| m.assigned.get(t).is_some_and(|a| ps.is_subset(a)) || ps.is_empty())
        })
    };
    if received > m.epoch || (received < m.epoch && (received != m.previous_epoch || !subset())) {
        let message = format!(
            "The consumer group member has a {} member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
            if received > m.epoch { "greater" } else { "smaller" },
            m.epoch
        );
        return Err((ResponseError::FencedMemberEpoch, message));
    }
    Ok(())
}

/// A static member (re)joining under another member id takes the place of the one that left
/// with epoch -2, with its target, so nothing else moves; while that one is still in the
/// group, the instance id is refused.
fn take_over_instance(cg: &mut ConsumerGroup, ctx: &mut Ctx, req: &ConsumerHeartbeatRequest) -> Result<(), Refusal> {
    let Some(instance) = &req.instance_id else {
        return Ok(());
    };
    let Some(old_id) = cg.static_members.get(instance).cloned() else {
        return Ok(());
    };
    if old_id == req.member_id {
        return Ok(());
    }
    if cg
        .members
        .get(&old_id)
        .is_some_and(|m| m.epoch != HEARTBEAT_LEAVE_STATIC)
    {
        let message = format!("Static member {old_id} with instance id {instance} is still in the group.");
        return Err((ResponseError::UnreleasedInstanceId, message));
    }
    let target = cg.target.remove(&old_id);
    if let Some(mut old) = cg.remove(&old_id) {
        ctx.timers.cancel(&mut old.session_timer);
        ctx.timers.cancel(&mut old.rebalance_timer);
        let mut member = ConsumerMember::new(&req.member_id);
        member.instance_id = old.instance_id;
        member.subscribed_names = old.subscribed_names;
        member.set_regex(old.subscribed_regex);
        member.server_assignor = old.server_assignor;
        cg.put(member);
    }
    if let Some(target) = target {
        cg.target.insert(req.member_id.clone(), target);
    }
    Ok(())
}

/// The request's fields, each only when sent.
fn update(m: &mut ConsumerMember, req: &ConsumerHeartbeatRequest) {
    if req.instance_id.is_some() {
        m.instance_id = req.instance_id.clone();
    }
    if req.rack_id.is_some() {
        m.rack_id = req.rack_id.clone();
    }
    if let Ok(ms) = u64::try_from(req.rebalance_timeout_ms) {
        m.rebalance_timeout = Duration::from_millis(ms);
    }
    if req.server_assignor.is_some() {
        m.server_assignor = req.server_assignor.clone();
    }
    if let Some(names) = &req.subscribed_topic_names {
        let set: BTreeSet<&String> = names.iter().collect();
        m.subscribed_names = set.into_iter().cloned().collect();
    }
    if let Some(regex) = &req.subscribed_topic_regex {
        m.set_regex(Some(regex.clone()));
    }
    m.client_id = req.client_id.clone();
    m.client_host = req.client_host.clone();
}

fn leave(
    cg: &mut ConsumerGroup,
    ctx: &mut Ctx,
    group_id: &str,
    req: &ConsumerHeartbeatRequest,
) -> Result<ConsumerHeartbeatResponse, Refusal> {
    if !cg.members.contains_key(&req.member_id) {
        return Err(unknown_member(req));
    }
    tracing::info!(group = %group_id, member = %req.member_id, "consumer group member left");
    remove(cg, ctx, &req.member_id);
    Ok(ConsumerHeartbeatResponse {
        member_id: Some(req.member_id.clone()),
        member_epoch: HEARTBEAT_LEAVE,
        ..Default::default()
    })
}

/// A static member leaves for now: it keeps its partitions, and its place, until its
/// session ends or it comes back under its instance id.
fn leave_for_now(
    cg: &mut ConsumerGroup,
    ctx: &mut Ctx,
    group_id: &str,
    req: &ConsumerHeartbeatRequest,
) -> Result<ConsumerHeartbeatResponse, Refusal> {
    let Some(m) = cg.members.get(&req.member_id) else {
        return Err(unknown_member(req));
    };
    let mut m = m.clone();
    m.epoch = HEARTBEAT_LEAVE_STATIC;
    m.pending_revocation = Assignment::new();
    ctx.timers.cancel(&mut m.rebalance_timer);
    arm_session(group_id, &mut m, ctx);
    cg.put(m);
    Ok(ConsumerHeartbeatResponse {
        member_id: Some(req.member_id.clone()),
        member_epoch: HEARTBEAT_LEAVE_STATIC,
        ..Default::default()
    })
}

/// Writes what changed in the group's records since they were last written, and tombstones
/// for those gone (`records`), after `extra`.
pub fn persist(
    group_id: &str,
    cg: &mut ConsumerGroup,
    ctx: &mut Ctx,
    extra: Vec<KeyValue>,
) -> Result<Durable, StoreError> {
    let now = records::encode(group_id, cg);
    let mut out = extra;
    for (k, v) in &now {
        if cg.stored.get(k) != Some(v) {
            out.push((k.clone(), Some(v.clone())));
        }
    }
    out.extend(
        cg.stored
            .keys()
            .filter(|k| !now.contains_key(*k))
            .map(|k| (k.clone(), None)),
    );
    if out.is_empty() {
        return Ok(Durable::default());
    }
    let durable = ctx.store.append(group_id, &out, None, ctx.clock.now_ms())?;
    cg.stored = now;
    Ok(durable)
}

/// (Re)starts a member's session: removed if nothing is heard from it for the session timeout.
fn arm_session(group_id: &str, m: &mut ConsumerMember, ctx: &mut Ctx) {
    let session = Timer::ConsumerSession {
        group: group_id.to_string(),
        member_id: m.member_id.clone(),
    };
    let timeout = ctx.configs.effective(group_id, &ctx.config).session_timeout;
    ctx.timers.replace(&mut m.session_timer, timeout, session);
}

/// Gives every member of a group loaded from the log a session to come back in.
pub fn start_sessions(group_id: &str, cg: &mut ConsumerGroup, ctx: &mut Ctx) {
    for m in cg.members.values_mut() {
        arm_session(group_id, m, ctx);
    }
}

/// Removes a member and bumps the epoch; the target is recomputed at the next heartbeat.
fn remove(cg: &mut ConsumerGroup, ctx: &mut Ctx, member_id: &str) {
    if let Some(mut m) = cg.remove(member_id) {
        ctx.timers.cancel(&mut m.session_timer);
        ctx.timers.cancel(&mut m.rebalance_timer);
        cg.epoch += 1;
    }
}

/// The target for the group epoch, by the assignor most members ask for (the configured
/// default when none asks).
fn compute_target(cg: &mut ConsumerGroup, config: &GroupConfig) {
    let members: BTreeMap<String, BTreeSet<String>> = cg
        .members
        .values()
        .map(|m| {
            let topics = cg.subscribed.keys().filter(|t| m.subscribes_to(t)).cloned().collect();
            (m.member_id.clone(), topics)
        })
        .collect();
    let name = chosen_assignor(cg, config);
    let input = assignor::Input {
        members: &members,
        topics: &cg.subscribed,
        previous: &cg.target,
    };
    let target = assignor::assign(&name, &input).unwrap_or_default();
    cg.target = target;
    cg.assignor = name;
    cg.assignment_epoch = cg.epoch;
}

fn chosen_assignor(cg: &ConsumerGroup, config: &GroupConfig) -> String {
    let default = config
        .consumer_assignors
        .first()
        .cloned()
        .unwrap_or_else(|| assignor::UNIFORM.into());
    let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
    for name in cg.members.values().filter_map(|m| m.server_assignor.as_deref()) {
        *votes.entry(name).or_default() += 1;
    }
    let best = votes.values().copied().max().unwrap_or(0);
    config
        .consumer_assignors
        .iter()
        .find(|a| best > 0 && votes.get(a.as_str()) == Some(&best))
        .cloned()
        .filter(|a| assignor::KNOWN.contains(&a.as_str()))
        .unwrap_or(default)
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
