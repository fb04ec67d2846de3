//! The join phase of a rebalance (Kafka's `prepareRebalance`, `completeClassicGroupJoin`,
//! `tryCompleteInitialRebalanceElseSchedule`).
//!
//! A rebalance starts in PreparingRebalance and completes when every member has rejoined, or
//! the rebalance timeout fires, or — for a group that was Empty — the initial delay passes with
//! no new members. Then the generation advances, members that did not rejoin are dropped
//! (static ones wait for their session to expire), and every parked join is answered, the
//! leader's with the member list; the group waits in CompletingRebalance for SyncGroup.

use std::time::Duration;

use kafka_protocol::error::ResponseError;

use super::classic::{Group, GroupState};
use super::join::current_generation;
use super::task::{schedule_session, write_group_record, Ctx};
use super::timers::Timer;

pub fn maybe_prepare_rebalance_or_complete_join(g: &mut Group, ctx: &mut Ctx) {
    match g.state {
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty => prepare_rebalance(g, ctx),
        _ => maybe_complete_join_phase(g, ctx),
    }
}

/// Completes the join phase if everyone is in, except during a new group's initial delay.
pub fn maybe_complete_join_phase(g: &mut Group, ctx: &mut Ctx) {
    if g.state == GroupState::PreparingRebalance && g.previous_state != GroupState::Empty && g.has_all_members_joined()
    {
        complete_join(g, ctx);
    }
}

pub fn prepare_rebalance(g: &mut Group, ctx: &mut Ctx) {
    if g.state == GroupState::CompletingRebalance {
        super::membership::reset_and_propagate(g, ctx, ResponseError::RebalanceInProgress);
    }
    g.pending_sync.clear();
    ctx.timers.cancel(&mut g.sync_timer);
    let initial = g.state == GroupState::Empty;
    g.transition(GroupState::PreparingRebalance, ctx.clock.now_ms());
    tracing::info!(group = %g.group_id, generation = g.generation_id, "preparing to rebalance");
    if initial {
        let delay = ctx.config.initial_rebalance_delay;
        let remaining = g.rebalance_timeout().saturating_sub(delay);
        let timer = Timer::InitialJoin {
            group: g.group_id.clone(),
            delay,
            remaining,
        };
        ctx.timers.replace(&mut g.join_timer, delay, timer);
    } else if g.has_all_members_joined() {
        complete_join(g, ctx);
    } else {
        let timer = Timer::Join {
            group: g.group_id.clone(),
        };
        let timeout = g.rebalance_timeout();
        ctx.timers.replace(&mut g.join_timer, timeout, timer);
    }
}

/// Kafka's `tryCompleteInitialRebalanceElseSchedule`: wait another delay (within the
/// rebalance timeout) while new members keep arriving.
pub fn initial_delay_passed(g: &mut Group, ctx: &mut Ctx, delay: Duration, remaining: Duration) {
    if g.new_member_added && !remaining.is_zero() {
        g.new_member_added = false;
        let next = ctx.config.initial_rebalance_delay.min(remaining);
        let timer = Timer::InitialJoin {
            group: g.group_id.clone(),
            delay: next,
            remaining: remaining.saturating_sub(delay),
        };
        ctx.timers.replace(&mut g.join_timer, next, timer);
    } else {
        complete_join(g, ctx);
    }
}

/// Ends the join phase: drops dynamic members that did not rejoin, advances the generation and
/// answers every parked join; or, with no members left, makes the group Empty.
pub fn complete_join(g: &mut Group, ctx: &mut Ctx) {
    if g.state != GroupState::PreparingRebalance {
        return;
    }
    ctx.timers.cancel(&mut g.join_timer);
    let gone: Vec<String> = g
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
        .map(|m| m.member_id.clone())
        .collect();
    for id in &gone {
        if let Some(mut m) = g.remove(id) {
            ctx.timers.cancel(&mut m.session_timer);
        }
    }
    if !gone.is_empty() {
        tracing::info!(group = %g.group_id, members = ?gone, "removed members that did not rejoin");
    }
    if !g.maybe_elect_new_joined_leader() && !g.members.is_empty() {
        // Only static members that have not rejoined are left: wait for them or their sessions.
        let timer = Timer::Join {
            group: g.group_id.clone(),
        };
        let timeout = g.rebalance_timeout();
        ctx.timers.replace(&mut g.join_timer, timeout, timer);
        return;
    }
    g.generation_id = g.generation_id.wrapping_add(1);
    let now = ctx.clock.now_ms();
    if g.members.is_empty() {
        g.protocol_name = None;
        g.leader = None;
        g.transition(GroupState::Empty, now);
        tracing::info!(group = %g.group_id, generation = g.generation_id, "group is empty");
        if let Err(e) = write_group_record(g, ctx) {
            tracing::warn!(group = %g.group_id, error = %e, "could not store the empty generation");
        }
        return;
    }
    g.protocol_name = g.select_protocol();
    g.transition(GroupState::CompletingRebalance, now);
    tracing::info!(group = %g.group_id, generation = g.generation_id, members = g.members.len(), "join phase complete");
    let ids: Vec<String> = g.members.keys().cloned().collect();
    for id in ids {
        let response = current_generation(g, &id, g.is_leader(&id));
        if let Some(m) = g.members.get_mut(&id) {
            if let Some(reply) = m.awaiting_join.take() {
                // A member whose connection closed meanwhile just misses it; its session timer
                // will remove it.
                let _ = reply.send(response);
            }
            m.is_new = false;
        }
        schedule_session(g, ctx, &id, None);
        g.pending_sync.insert(id);
    }
    let timer = Timer::Sync {
        group: g.group_id.clone(),
        generation: g.generation_id,
    };
    let timeout = g.rebalance_timeout();
    ctx.timers.replace(&mut g.sync_timer, timeout, timer);
}
