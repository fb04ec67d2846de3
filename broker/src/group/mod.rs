//! The group coordinator: Kafka's classic consumer-group protocol and committed offsets, kept
//! durable in `__consumer_offsets` in Kafka's own record format.
//!
//! # Shape
//!
//! One task owns every group (an actor). Handlers talk to it through [`Coordinator`], which
//! sends a command with a oneshot for the answer. JoinGroup and SyncGroup answers are parked
//! inside their member until the rebalance step they wait for completes; timers (session
//! expiry, rebalance and sync timeouts, `group.initial.rebalance.delay.ms`) live in the same
//! task on `tokio::time`, so tests drive them with a paused clock. Nothing is locked, so no
//! lock can be held across an `.await`, and one group's trouble is only ever a Kafka error code
//! in that group's answers.
//!
//! # Path of a rebalance
//!
//! JoinGroup → `join` (new member: MEMBER_ID_REQUIRED, then park) → join phase completes
//! (`rebalance::complete_join`: generation + 1, protocol voted, leader gets the members) →
//! SyncGroup → `membership` (followers park until the leader's assignment arrives) → group
//! record appended to `__consumer_offsets` (`store`) → every parked sync answered, once that
//! record is fsynced (the handler waits on [`Durable`]) → Stable. Heartbeats keep sessions
//! alive and carry REBALANCE_IN_PROGRESS when the next rebalance starts.
//!
//! # Files
//!
//! - `classic`, `member`: a group and its members, and the rules that need nothing else;
//!   `group_record`: a group as its `__consumer_offsets` record.
//! - `join`, `membership`, `offsets`, `admin`: the APIs, as rules over a group; `rebalance`:
//!   the join phase they start and complete.
//! - `task`: the task's state, command dispatch and timer firing; `coordinator`: the handle
//!   and the task loop; `timers`: deadlines and a clock that follows tokio's.
//! - `messages`: what the handlers ask and what they are answered, in the coordinator's terms.
//! - `configs`: each group's own configs (KIP-848's group configs), kept beside the log.
//! - `records`: Kafka's key/value schemas; `batch`: the record batches they travel in;
//!   `store`: the topic, appends and snapshots (why snapshots: see there); `load`: replay on
//!   start.

mod admin;
pub(crate) mod batch;
mod classic;
pub mod configs;
mod consumer;
mod coordinator;
mod group_record;
mod join;
mod load;
mod member;
mod membership;
mod messages;
mod offsets;
mod rebalance;
pub mod records;
mod store;
mod task;
mod timers;
mod txn_offsets;

#[cfg(test)]
mod tests;

pub use classic::GroupState;
pub use consumer::Assignment;
pub use coordinator::{start, Coordinator};
pub use messages::*;
pub use store::Durable;
pub use store::{partition_for, StoreError, OFFSETS_TOPIC};
pub use txn_offsets::{Pending, PendingOffset};
