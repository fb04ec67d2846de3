//! JoinGroup (Kafka's `GroupMetadataManager.classicGroupJoin` and the methods it calls;
//! docs/kafka-protocol.md#joingroup): validation, the member-id handshake, new, returning and
//! static members. A join that needs a rebalance is parked in its member; `rebalance` completes it.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::classic::{Group, GroupState, Member};
use super::messages::{JoinRequest, JoinResponse, SyncResponse};
use super::rebalance::{maybe_complete_join_phase, maybe_prepare_rebalance_or_complete_join, prepare_rebalance};
use super::task::{schedule_session, write_group_record, Core, Ctx, NEW_MEMBER_JOIN_TIMEOUT};
use super::timers::Timer;

type Reply = oneshot::Sender<JoinResponse>;

impl Core {
    pub fn join(&mut self, req: JoinRequest, reply: Reply) {
        let fail = |reply: Reply, e: ResponseError, id: &str| {
            let _ = reply.send(JoinResponse::error(e, id));
        };
        if req.group_id.is_empty() {
            return fail(reply, ResponseError::InvalidGroupId, &req.member_id);
        }
        let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        let c = &self.ctx.config;
        if req.session_timeout_ms < 0 || session < c.min_session_timeout || session > c.max_session_timeout {
            return fail(reply, ResponseError::InvalidSessionTimeout, &req.member_id);
        }
        let unknown = req.member_id.is_empty();
        if !self.groups.contains_key(&req.group_id) {
            if !unknown {
                return fail(reply, ResponseError::UnknownMemberId, &req.member_id);
            }
            let g = Group::new(&req.group_id, self.ctx.clock.now_ms());
            self.groups.insert(req.group_id.clone(), g);
        }
        let Some(g) = self.groups.get_mut(&req.group_id) else {
            return;
        };
        // A consumer group (KIP-848) with members takes no classic member; an empty one turns
        // back into a classic group, keeping its offsets.
        match &g.consumer {
            Some(c) if !c.members.is_empty() => {
                return fail(reply, ResponseError::InconsistentGroupProtocol, &req.member_id);
            }
            Some(cg) => {
                let records: Vec<_> = cg.stored.keys().map(|k| (k.clone(), None)).collect();
                if !records.is_empty() {
                    if let Err(e) = self
                        .ctx
                        .store
                        .append(&g.group_id, &records, None, self.ctx.clock.now_ms())
                    {
                        tracing::warn!(group = %g.group_id, error = %e, "could not remove the consumer group's records");
                        return fail(reply, ResponseError::NotCoordinator, &req.member_id);
                    }
                }
                g.consumer = None;
                g.protocol_type = None;
            }
            None => {}
        }
        let ctx = &mut self.ctx;
        if !accepts_joining_member(g, &req.member_id, ctx.config.max_size) {
            return fail(reply, ResponseError::GroupMaxSizeReached, "");
        }
        if !g.supports_protocols(&req.protocol_type, &req.protocols) {
            return fail(reply, ResponseError::InconsistentGroupProtocol, &req.member_id);
        }
        if unknown {
            join_new_member(g, ctx, req, reply);
        } else if g.pending_members.contains_key(&req.member_id) {
            let mut timer = g.pending_members.remove(&req.member_id).flatten();
            ctx.timers.cancel(&mut timer);
            let id = req.member_id.clone();
            add_member_and_rebalance(g, ctx, req, id, reply);
        } else {
            join_existing_member(g, ctx, req, reply);
        }
    }
}

/// Kafka's `acceptJoiningMember`: `group.max.size` counts members that are (re)joining.
fn accepts_joining_member(g: &Group, member_id: &str, max: usize) -> bool {
    match g.state {
        GroupState::Empty | GroupState::Dead => true,
        GroupState::PreparingRebalance => {
            g.members.get(member_id).is_some_and(|m| m.awaiting_join.is_some()) || g.awaiting_join_count() < max
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            g.members.contains_key(member_id) || g.members.len() < max
        }
    }
}

fn join_new_member(g: &mut Group, ctx: &mut Ctx, req: JoinRequest, reply: Reply) {
    let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client.client_id);
    let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
    match req.group_instance_id.clone() {
        Some(instance) => match g.static_members.get(&instance).cloned() {
            Some(old_id) => replace_static_member(g, ctx, req, &old_id, new_id, reply),
            None => add_member_and_rebalance(g, ctx, req, new_id, reply),
        },
        None if req.require_known_member_id => {
            // KIP-394: hand out the id and make the client come back with it, so a client that
            // times out and retries does not leave a stray member behind.
            let timer = ctx.timers.schedule(
                Duration::from_millis(req.session_timeout_ms.max(0) as u64),
                Timer::PendingMember {
                    group: g.group_id.clone(),
                    member_id: new_id.clone(),
                },
            );
            g.pending_members.insert(new_id.clone(), Some(timer));
            let _ = reply.send(JoinResponse::error(ResponseError::MemberIdRequired, &new_id));
        }
        None => add_member_and_rebalance(g, ctx, req, new_id, reply),
    }
}

fn join_existing_member(g: &mut Group, ctx: &mut Ctx, req: JoinRequest, reply: Reply) {
    if let Err(e) = g.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
        let _ = reply.send(JoinResponse::error(e, &req.member_id));
        return;
    }
    let member_id = req.member_id.clone();
    let unchanged = g.members.get(&member_id).is_some_and(|m| m.matches(&req.protocols));
    match g.state {
        GroupState::PreparingRebalance => update_member_and_rebalance(g, ctx, req, reply),
        // Same metadata: the member lost the JoinGroup answer; give it again.
        GroupState::CompletingRebalance if unchanged => {
            let _ = reply.send(current_generation(g, &member_id, g.is_leader(&member_id)));
        }
        GroupState::Stable if unchanged && !g.is_leader(&member_id) => {
            let _ = reply.send(current_generation(g, &member_id, false));
        }
        // The leader rejoining asks for a rebalance (e.g. topic metadata changed), as does
        // anyone with new metadata.
        GroupState::CompletingRebalance | GroupState::Stable => update_member_and_rebalance(g, ctx, req, reply),
        GroupState::Empty | GroupState::Dead => {
            let _ = reply.send(JoinResponse::error(ResponseError::UnknownMemberId, &member_id));
        }
    }
}

/// The answer for the current generation, with the member list if `with_members`.
pub fn current_generation(g: &Group, member_id: &str, with_members: bool) -> JoinResponse {
    JoinResponse {
        error: None,
        generation_id: g.generation_id,
        protocol_type: g.protocol_type.clone(),
        protocol_name: g.protocol_name.clone(),
        leader: g.leader.clone().unwrap_or_default(),
        member_id: member_id.to_string(),
        members: if with_members { g.joined_members() } else { Vec::new() },
    }
}

fn add_member_and_rebalance(g: &mut Group, ctx: &mut Ctx, req: JoinRequest, member_id: String, reply: Reply) {
    let member = Member {
        member_id: member_id.clone(),
        group_instance_id: req.group_instance_id,
        client_id: req.client.client_id,
        client_host: req.client.client_host,
        session_timeout: Duration::from_millis(req.session_timeout_ms.max(0) as u64),
        rebalance_timeout: rebalance_timeout(req.rebalance_timeout_ms, req.session_timeout_ms),
        protocols: req.protocols,
        assignment: Default::default(),
        awaiting_join: Some(reply),
        awaiting_sync: None,
        is_new: true,
        session_timer: None,
    };
    if g.state == GroupState::PreparingRebalance && g.previous_state == GroupState::Empty {
        g.new_member_added = true;
    }
    g.add(member, &req.protocol_type);
    schedule_session(g, ctx, &member_id, Some(NEW_MEMBER_JOIN_TIMEOUT));
    maybe_prepare_rebalance_or_complete_join(g, ctx);
}

/// JoinGroup v0 has no rebalance timeout; the session timeout stands in, as in Kafka.
fn rebalance_timeout(rebalance_ms: i32, session_ms: i32) -> Duration {
    let ms = if rebalance_ms < 0 { session_ms } else { rebalance_ms };
    Duration::from_millis(ms.max(0) as u64)
}

fn update_member(g: &mut Group, req: JoinRequest, reply: Reply) {
    if let Some(m) = g.members.get_mut(&req.member_id) {
        m.protocols = req.protocols;
        m.session_timeout = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        m.rebalance_timeout = rebalance_timeout(req.rebalance_timeout_ms, req.session_timeout_ms);
        // A retried join replaces the parked one; the earlier sender is dropped, as Kafka
        // drops the earlier future.
        m.awaiting_join = Some(reply);
    }
}

fn update_member_and_rebalance(g: &mut Group, ctx: &mut Ctx, req: JoinRequest, reply: Reply) {
    update_member(g, req, reply);
    maybe_prepare_rebalance_or_complete_join(g, ctx);
}

/// A known `group.instance.id` joined with no member id: the new member takes the old one's
/// place and assignment. In Stable with an unchanged protocol there is no rebalance (KIP-345).
fn replace_static_member(
    g: &mut Group,
    ctx: &mut Ctx,
    mut req: JoinRequest,
    old_id: &str,
    new_id: String,
    reply: Reply,
) {
    let current_leader = g.leader.clone().unwrap_or_default();
    let Some(mut member) = g.members.remove(old_id) else {
        return;
    };
    ctx.timers.cancel(&mut member.session_timer);
    if let Some(old) = member.awaiting_join.take() {
        let _ = old.send(JoinResponse::error(ResponseError::FencedInstanceId, old_id));
    }
    if let Some(old) = member.awaiting_sync.take() {
        let _ = old.send(SyncResponse::error(ResponseError::FencedInstanceId));
    }
    member.member_id = new_id.clone();
    if g.leader.as_deref() == Some(old_id) {
        g.leader = Some(new_id.clone());
    }
    if g.pending_sync.remove(old_id) {
        g.pending_sync.insert(new_id.clone());
    }
    if let Some(instance) = &member.group_instance_id {
        g.static_members.insert(instance.clone(), new_id.clone());
    }
    g.members.insert(new_id.clone(), member);
    schedule_session(g, ctx, &new_id, None);
    req.member_id = new_id.clone();
    update_member(g, req, reply);
    match g.state {
        GroupState::Stable if g.protocol_name == g.select_protocol() => {
            let durable = write_group_record(g, ctx);
            let Some(m) = g.members.get_mut(&new_id) else { return };
            let Some(reply) = m.awaiting_join.take() else { return };
            let response = match durable {
                Ok(_) => JoinResponse {
                    leader: current_leader,
                    ..current_generation(g, &new_id, false)
                },
                Err(e) => {
                    tracing::warn!(group = %g.group_id, error = %e, "could not store a static member's new id");
                    JoinResponse::error(ResponseError::NotCoordinator, "")
                }
            };
            let _ = reply.send(response);
        }
        GroupState::Stable => maybe_prepare_rebalance_or_complete_join(g, ctx),
        // The leader may already hold the old member id in its assignment: start over.
        GroupState::CompletingRebalance => prepare_rebalance(g, ctx),
        _ => maybe_complete_join_phase(g, ctx),
    }
}
