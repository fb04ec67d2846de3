//! Consumer groups of the KIP-848 protocol (ConsumerGroupHeartbeat): the broker computes the
//! assignment and moves each member towards it one heartbeat at a time, so no member ever
//! stops for the others. Kafka's `ConsumerGroup` and `ConsumerGroupMember`; the protocol is
//! described in KIP-848 (<https://cwiki.apache.org/confluence/x/HhD1D>) and
//! docs/kafka-protocol.md#the-next-generation-protocol-kip-848.
//!
//! # Epochs
//!
//! - The **group epoch** goes up whenever what the assignment depends on changes: a member
//!   joins or leaves, a subscription changes, a subscribed topic gains partitions.
//! - The **assignment epoch** is the group epoch the target assignment was computed for
//!   (`assignor`): computed at once, so it catches up in the same heartbeat.
//! - Each **member epoch** says which target the member has reached (`reconcile`). A partition
//!   moves only once its previous owner has said it let go of it, so no partition has two
//!   owners at any epoch.
//!
//! # Files
//!
//! `assignor`: the `uniform` and `range` assignors; `reconcile`: one member's next step;
//! `heartbeat`: the API as rules over a group, with the session and rebalance timers;
//! `records`: the group in `__consumer_offsets`, in Kafka's record types.

pub mod assignor;
mod heartbeat;
pub mod reconcile;
pub mod records;

pub use heartbeat::start_sessions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use super::timers::TimerId;

/// Partitions by topic name. Topics travel by id on the wire; the handlers translate.
pub type Assignment = BTreeMap<String, BTreeSet<i32>>;

/// Where a member stands against the target assignment (Kafka's `MemberState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Holds its whole target at the assignment epoch.
    Stable,
    /// Was asked to give up partitions and has not yet said it did.
    UnrevokedPartitions,
    /// Waits for partitions of its target that another member still holds.
    UnreleasedPartitions,
}

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: Duration,
    /// Sorted and deduplicated.
    pub subscribed_names: Vec<String>,
    /// The expression as the member sent it; set with [`ConsumerMember::set_regex`], which
    /// keeps `matcher` compiled from it.
    pub subscribed_regex: Option<String>,
    matcher: Option<regex::Regex>,
    pub server_assignor: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    pub session_timer: Option<TimerId>,
    pub rebalance_timer: Option<TimerId>,
}

impl ConsumerMember {
    pub fn new(member_id: &str) -> ConsumerMember {
        ConsumerMember {
            member_id: member_id.to_string(),
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout: Duration::ZERO,
            subscribed_names: Vec::new(),
            subscribed_regex: None,
            matcher: None,
            server_assignor: None,
            epoch: 0,
            previous_epoch: -1,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_timer: None,
            rebalance_timer: None,
        }
    }

    /// Whether the member subscribes to `topic`, by name or by its expression.
    pub fn subscribes_to(&self, topic: &str) -> bool {
        self.subscribed_names
            .binary_search_by(|n| n.as_str().cmp(topic))
            .is_ok()
            || self.matcher.as_ref().is_some_and(|r| r.is_match(topic))
    }

    /// Sets the subscription's expression (`None` or empty clears it) and compiles it once;
    /// heartbeats refuse an expression that does not compile before it gets here.
    pub fn set_regex(&mut self, expression: Option<String>) {
        self.subscribed_regex = expression.filter(|r| !r.is_empty());
        self.matcher = self.subscribed_regex.as_deref().and_then(|r| full_match(r).ok());
    }
}

/// A KIP-848 group's membership; its committed offsets live in the enclosing [`Group`].
///
/// [`Group`]: super::classic::Group
#[derive(Debug, Default)]
pub struct ConsumerGroup {
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// group.instance.id → its current member id.
    pub static_members: HashMap<String, String>,
    /// Member id → the partitions the assignor gave it at `assignment_epoch`.
    pub target: BTreeMap<String, Assignment>,
    /// The subscribed topics and their partition counts the target was computed from.
    pub subscribed: BTreeMap<String, i32>,
    /// The assignor that computed the target.
    pub assignor: String,
    /// (topic, partition) → the epoch of the member holding it (assigned or being revoked).
    owners: HashMap<(String, i32), i32>,
    /// Topic ids by name, as the last heartbeat saw them: records name topics by id.
    pub ids: BTreeMap<String, uuid::Uuid>,
    /// The records last written for the group, key → value (`records`).
    pub stored: BTreeMap<bytes::Bytes, bytes::Bytes>,
    /// Loaded from the log: `subscribed` is not known until the first heartbeat, which then
    /// takes it without counting it as a change.
    pub subscriptions_unknown: bool,
}

impl ConsumerGroup {
    /// Kafka's consumer group states, as ListGroups and ConsumerGroupDescribe name them.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.epoch > self.assignment_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// The epoch of the member that holds the partition, or `None` when it is free.
    pub fn owner_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.owners.get(&(topic.to_string(), partition)).copied()
    }

    /// Replaces a member (inserting it if new) and keeps the ownership map in step.
    pub fn put(&mut self, member: ConsumerMember) {
        if let Some(old) = self.members.get(&member.member_id) {
            for (t, p) in held(old) {
                self.owners.remove(&(t.clone(), p));
            }
        }
        for (t, p) in held(&member) {
            self.owners.insert((t.clone(), p), member.epoch);
        }
        if let Some(instance) = &member.instance_id {
            self.static_members.insert(instance.clone(), member.member_id.clone());
        }
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member, frees its partitions and drops its target.
    pub fn remove(&mut self, member_id: &str) -> Option<ConsumerMember> {
        let member = self.members.remove(member_id)?;
        for (t, p) in held(&member) {
            self.owners.remove(&(t.clone(), p));
        }
        if let Some(instance) = &member.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        Some(member)
    }

    /// Every topic some member subscribes to that exists in `topics`, with its partitions.
    pub fn subscriptions(&self, topics: &BTreeMap<String, i32>) -> BTreeMap<String, i32> {
        topics
            .iter()
            .filter(|(t, _)| self.members.values().any(|m| m.subscribes_to(t)))
            .map(|(t, n)| (t.clone(), *n))
            .collect()
    }
}

/// An expression that must match a whole topic name, as Kafka's RE2/J `matches` does.
pub fn full_match(expression: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{expression})$"))
}

/// Every partition a member holds: assigned, or assigned earlier and not yet revoked.
fn held(m: &ConsumerMember) -> impl Iterator<Item = (&String, i32)> {
    m.assigned
        .iter()
        .chain(&m.pending_revocation)
        .flat_map(|(t, ps)| ps.iter().map(move |p| (t, *p)))
}

/// How many partitions an assignment holds.
#[cfg(test)]
pub fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}
