//! SyncGroup, Heartbeat and LeaveGroup, and what happens when a member goes quiet (Kafka's
//! `classicGroupSync`, `classicGroupHeartbeat`, `classicGroupLeave`, heartbeat and pending-sync
//! expiry; docs/kafka-protocol.md#classic-consumer-groups).

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::classic::{Group, GroupState};
use super::messages::{HeartbeatRequest, JoinResponse, LeaveRequest, LeaveResponse, SyncRequest, SyncResponse};
use super::rebalance::{
    complete_join, maybe_complete_join_phase, maybe_prepare_rebalance_or_complete_join, prepare_rebalance,
};
use super::store::Durable;
use super::task::{schedule_session, write_group_record, Core, Ctx};

impl Core {
    pub fn sync(&mut self, req: SyncRequest, reply: oneshot::Sender<SyncResponse>) {
        let Some(g) = self.groups.get_mut(&req.group_id) else {
            let _ = reply.send(SyncResponse::error(ResponseError::UnknownMemberId));
            return;
        };
        let ctx = &mut self.ctx;
        if let Err(e) = validate_sync(g, &req) {
            let _ = reply.send(SyncResponse::error(e));
            return;
        }
        match g.state {
            GroupState::Empty | GroupState::Dead => {
                let _ = reply.send(SyncResponse::error(ResponseError::UnknownMemberId));
            }
            GroupState::PreparingRebalance => {
                let _ = reply.send(SyncResponse::error(ResponseError::RebalanceInProgress));
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = g.members.get_mut(&req.member_id) {
                    m.awaiting_sync = Some(reply);
                }
                remove_pending_sync(g, ctx, &req.member_id);
                if g.is_leader(&req.member_id) {
                    store_assignment(g, ctx, req.assignments);
                }
            }
            GroupState::Stable => {
                remove_pending_sync(g, ctx, &req.member_id);
                let assignment = g.members.get(&req.member_id).map(|m| m.assignment.clone());
                let _ = reply.send(SyncResponse {
                    protocol_type: g.protocol_type.clone(),
                    protocol_name: g.protocol_name.clone(),
                    assignment: assignment.unwrap_or_default(),
                    ..Default::default()
                });
            }
        }
    }

    pub fn heartbeat(&mut self, req: HeartbeatRequest) -> Option<ResponseError> {
        let Some(g) = self.groups.get_mut(&req.group_id) else {
            return Some(ResponseError::UnknownMemberId);
        };
        if let Err(e) = g.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            return Some(e);
        }
        if req.generation_id != g.generation_id {
            return Some(ResponseError::IllegalGeneration);
        }
        match g.state {
            GroupState::Empty | GroupState::Dead => Some(ResponseError::UnknownMemberId),
            // Still alive, but it must rejoin: this is how members learn of a rebalance.
            GroupState::PreparingRebalance => {
                schedule_session(g, &mut self.ctx, &req.member_id, None);
                Some(ResponseError::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                schedule_session(g, &mut self.ctx, &req.member_id, None);
                None
            }
        }
    }

    pub fn leave(&mut self, req: LeaveRequest) -> LeaveResponse {
        let Some(g) = self.groups.get_mut(&req.group_id) else {
            return LeaveResponse {
                error: Some(ResponseError::UnknownMemberId),
                ..Default::default()
            };
        };
        let ctx = &mut self.ctx;
        let mut response = LeaveResponse::default();
        let mut left = false;
        for (member_id, instance) in req.members {
            let error = if member_id.is_empty() {
                // The admin form: remove a static member by its instance id alone.
                match instance.as_ref().and_then(|i| g.static_members.get(i)).cloned() {
                    Some(current) => {
                        remove_member(g, ctx, &current);
                        None
                    }
                    None => Some(ResponseError::UnknownMemberId),
                }
            } else if let Some(mut timer) = g.pending_members.remove(&member_id) {
                ctx.timers.cancel(&mut timer);
                None
            } else {
                match g.validate_member(&member_id, instance.as_deref()) {
                    Ok(()) => {
                        remove_member(g, ctx, &member_id);
                        None
                    }
                    Err(e) => Some(e),
                }
            };
            left |= error.is_none();
            response.members.push((member_id, instance, error));
        }
        if left {
            tracing::info!(group = %g.group_id, "members left");
            match g.state {
                GroupState::Stable | GroupState::CompletingRebalance => {
                    maybe_prepare_rebalance_or_complete_join(g, ctx)
                }
                GroupState::PreparingRebalance => maybe_complete_join_phase(g, ctx),
                _ => {}
            }
            // If that emptied the group, its record is waiting to be synced: answer after it.
            response.durable = durable_tail(g, ctx);
        }
        response
    }
}

/// Kafka's `validateSyncGroup`.
fn validate_sync(g: &Group, req: &SyncRequest) -> Result<(), ResponseError> {
    g.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
    if req.generation_id != g.generation_id {
        return Err(ResponseError::IllegalGeneration);
    }
    let inconsistent =
        |asked: &Option<String>, ours: &Option<String>| asked.is_some() && ours.is_some() && asked != ours;
    if inconsistent(&req.protocol_type, &g.protocol_type) || inconsistent(&req.protocol_name, &g.protocol_name) {
        return Err(ResponseError::InconsistentGroupProtocol);
    }
    Ok(())
}

/// The leader's assignment: store it with the group record, then answer every parked sync.
fn store_assignment(g: &mut Group, ctx: &mut Ctx, assignments: Vec<(String, Bytes)>) {
    let mut by_member: HashMap<String, Bytes> = assignments.into_iter().collect();
    for m in g.members.values_mut() {
        // Members the leader left out get an empty assignment, as in Kafka.
        m.assignment = by_member.remove(&m.member_id).unwrap_or_default();
    }
    match write_group_record(g, ctx) {
        Ok(durable) => {
            g.transition(GroupState::Stable, ctx.clock.now_ms());
            propagate(g, ctx, None, durable);
            tracing::info!(group = %g.group_id, generation = g.generation_id, "group is stable");
        }
        Err(e) => {
            tracing::warn!(group = %g.group_id, error = %e, "could not store the assignment; rebalancing");
            reset_and_propagate(g, ctx, ResponseError::NotCoordinator);
            maybe_prepare_rebalance_or_complete_join(g, ctx);
        }
    }
}

/// Clears every assignment and fails every parked sync with `error`.
pub fn reset_and_propagate(g: &mut Group, ctx: &mut Ctx, error: ResponseError) {
    for m in g.members.values_mut() {
        m.assignment = Bytes::new();
    }
    propagate(g, ctx, Some(error), Durable::default());
}

/// Answers every parked sync with its member's assignment (or `error`), and restarts those
/// members' session timers: they could not heartbeat while parked.
fn propagate(g: &mut Group, ctx: &mut Ctx, error: Option<ResponseError>, durable: Durable) {
    let (protocol_type, protocol_name) = match error {
        None => (g.protocol_type.clone(), g.protocol_name.clone()),
        Some(_) => (None, None),
    };
    let mut answered = Vec::new();
    for m in g.members.values_mut() {
        if let Some(reply) = m.awaiting_sync.take() {
            let _ = reply.send(SyncResponse {
                error,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                assignment: m.assignment.clone(),
                durable: durable.clone(),
            });
            answered.push(m.member_id.clone());
        }
    }
    for id in answered {
        schedule_session(g, ctx, &id, None);
    }
}

fn remove_pending_sync(g: &mut Group, ctx: &mut Ctx, member_id: &str) {
    g.pending_sync.remove(member_id);
    if g.pending_sync.is_empty() {
        ctx.timers.cancel(&mut g.sync_timer);
    }
}

/// Removes a member that left or was fenced; a parked join of it is told UNKNOWN_MEMBER_ID.
fn remove_member(g: &mut Group, ctx: &mut Ctx, member_id: &str) {
    if let Some(mut m) = g.remove(member_id) {
        ctx.timers.cancel(&mut m.session_timer);
        if let Some(reply) = m.awaiting_join.take() {
            let _ = reply.send(JoinResponse::error(ResponseError::UnknownMemberId, ""));
        }
        if let Some(reply) = m.awaiting_sync.take() {
            let _ = reply.send(SyncResponse::error(ResponseError::UnknownMemberId));
        }
    }
}

/// A member's session timer fired.
pub fn session_expired(g: &mut Group, ctx: &mut Ctx, member_id: &str) {
    let Some(m) = g.members.get(member_id) else { return };
    if m.has_satisfied_heartbeat() {
        return;
    }
    tracing::info!(group = %g.group_id, member = %member_id, "session expired; removing the member");
    remove_member(g, ctx, member_id);
    match g.state {
        GroupState::Stable | GroupState::CompletingRebalance => maybe_prepare_rebalance_or_complete_join(g, ctx),
        GroupState::PreparingRebalance if g.has_all_members_joined() => complete_join(g, ctx),
        _ => {}
    }
}

/// The sync timer fired: members that never sent SyncGroup for `generation` are removed.
pub fn sync_expired(g: &mut Group, ctx: &mut Ctx, generation: i32) {
    let in_sync_phase = matches!(g.state, GroupState::CompletingRebalance | GroupState::Stable);
    if generation != g.generation_id || !in_sync_phase || g.pending_sync.is_empty() {
        return;
    }
    let late: Vec<String> = g.pending_sync.iter().cloned().collect();
    tracing::info!(group = %g.group_id, members = ?late, "members sent no SyncGroup in time");
    for id in &late {
        remove_member(g, ctx, id);
    }
    prepare_rebalance(g, ctx);
}

/// Where the group's partition ends now, to wait on after a change that may have written.
fn durable_tail(g: &Group, ctx: &Ctx) -> Durable {
    let p = ctx.store.partition(ctx.store.partition_for(&g.group_id)).clone();
    let end = p.offsets().1;
    Durable(vec![(p, end)])
}
