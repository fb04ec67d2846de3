//! One classic consumer group: its state, members and committed offsets, and the rules that
//! need nothing but the group itself (Kafka's `ClassicGroup`). What involves timers, replies or
//! the log is in `join`, `rebalance`, `membership`, `offsets`; its record form in
//! `group_record`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use super::consumer::ConsumerGroup;
pub use super::member::Member;
use super::messages::JoinedMember;
use super::records::OffsetValue;
use super::timers::TimerId;

/// Kafka's classic group states (`ClassicGroupState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    /// Named for DescribeGroups of a group that does not exist; a deleted group is simply gone.
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

#[derive(Debug)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub previous_state: GroupState,
    /// When the group entered its current state (wall ms); offsets of an Empty group expire
    /// `offsets.retention.minutes` after it.
    pub state_timestamp: Option<i64>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// group.instance.id → its current member id.
    pub static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet used to join, and their timers.
    pub pending_members: HashMap<String, Option<TimerId>>,
    /// Members of this generation that have not sent SyncGroup yet.
    pub pending_sync: BTreeSet<String>,
    /// A member joined during the initial delay, so the delay may be extended.
    pub new_member_added: bool,
    pub join_timer: Option<TimerId>,
    pub sync_timer: Option<TimerId>,
    pub offsets: BTreeMap<(String, i32), OffsetValue>,
    /// The group record last written, rewritten as-is by snapshots.
    pub stored: Option<Bytes>,
    /// Set when the group is a KIP-848 consumer group: its membership lives there and the
    /// classic fields above stay empty.
    pub consumer: Option<ConsumerGroup>,
}

impl Group {
    pub fn new(group_id: &str, now_ms: i64) -> Group {
        Group {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_timestamp: Some(now_ms),
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            pending_sync: BTreeSet::new(),
            new_member_added: false,
            join_timer: None,
            sync_timer: None,
            offsets: BTreeMap::new(),
            stored: None,
            consumer: None,
        }
    }

    /// No member of either protocol, and none about to join.
    pub fn is_empty(&self) -> bool {
        self.state == GroupState::Empty
            && self.pending_members.is_empty()
            && self.consumer.as_ref().is_none_or(|c| c.members.is_empty())
    }

    /// Tombstones for every record of the group itself (not its offsets): the classic group
    /// record, or a consumer group's records.
    pub fn tombstones(&self) -> Vec<(Bytes, Option<Bytes>)> {
        let mut out = vec![(
            super::records::encode_key(&super::records::RecordKey::Group {
                group: self.group_id.clone(),
            }),
            None,
        )];
        if let Some(cg) = &self.consumer {
            out.extend(cg.stored.keys().map(|k| (k.clone(), None)));
        }
        out
    }

    /// The state ListGroups and DescribeGroups name: a consumer group's own, else classic.
    pub fn state_name(&self) -> &'static str {
        match &self.consumer {
            Some(c) => c.state_name(),
            None => self.state.name(),
        }
    }

    pub fn transition(&mut self, to: GroupState, now_ms: i64) {
        self.previous_state = self.state;
        self.state = to;
        self.state_timestamp = Some(now_ms);
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// The largest rebalance timeout among members (Kafka's `rebalanceTimeoutMs`).
    pub fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    pub fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    pub fn awaiting_join_count(&self) -> usize {
        self.members.values().filter(|m| m.awaiting_join.is_some()).count()
    }

    /// Protocols every member supports.
    fn candidates(&self) -> BTreeSet<&str> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return BTreeSet::new();
        };
        let mut set: BTreeSet<&str> = first.protocols.iter().map(|(n, _)| n.as_str()).collect();
        for m in members {
            set.retain(|p| m.protocols.iter().any(|(n, _)| n == p));
        }
        set
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty offer; otherwise the
    /// type must match and one of the offered protocols must be supported by every member.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        let candidates = self.candidates();
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(n, _)| candidates.contains(n.as_str()))
    }

    /// Each member votes for its most preferred protocol that all support; most votes wins,
    /// ties by name so the choice is deterministic.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidates();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n.as_str())) {
                *votes.entry(name).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        votes.into_iter().find(|&(_, v)| v == best).map(|(n, _)| n.to_string())
    }

    /// Kafka's `validateMember`: a static member must present the instance's current member id.
    pub fn validate_member(&self, member_id: &str, group_instance_id: Option<&str>) -> Result<(), ResponseError> {
        match group_instance_id {
            Some(instance) => match self.static_members.get(instance) {
                None => Err(ResponseError::UnknownMemberId),
                Some(current) if current != member_id => Err(ResponseError::FencedInstanceId),
                Some(_) => Ok(()),
            },
            None if self.members.contains_key(member_id) => Ok(()),
            None => Err(ResponseError::UnknownMemberId),
        }
    }

    /// Adds a member; the first member of an empty group sets its protocol type.
    pub fn add(&mut self, member: Member, protocol_type: &str) {
        if self.members.is_empty() {
            self.protocol_type = Some(protocol_type.to_string());
        }
        if self.leader.is_none() {
            self.leader = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members.insert(instance.clone(), member.member_id.clone());
        }
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member; the leader passes to another member if it was the leader.
    pub fn remove(&mut self, member_id: &str) -> Option<Member> {
        let member = self.members.remove(member_id)?;
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.pending_sync.remove(member_id);
        Some(member)
    }

    /// Keeps the current leader if it rejoined, else picks a member that did.
    pub fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = &self.leader else { return false };
        if self.members.get(leader).is_some_and(|m| m.awaiting_join.is_some()) {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(m) => {
                self.leader = Some(m.member_id.clone());
                true
            }
            None => false,
        }
    }

    /// The members list the leader gets: metadata for the chosen protocol.
    pub fn joined_members(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_is_voted_among_those_every_member_supports() {
        let mut g = Group::new("g", 0);
        g.add(Member::for_test("a", &["roundrobin", "range"]), "consumer");
        g.add(Member::for_test("b", &["range", "roundrobin"]), "consumer");
        g.add(Member::for_test("c", &["range", "sticky"]), "consumer");
        assert_eq!(g.select_protocol().as_deref(), Some("range"));
        let offer = |p: &str| vec![(p.to_string(), Bytes::new())];
        assert!(g.supports_protocols("consumer", &offer("range")));
        assert!(!g.supports_protocols("consumer", &offer("sticky")), "a and b lack it");
        assert!(!g.supports_protocols("connect", &offer("range")));
        assert!(!Group::new("e", 0).supports_protocols("", &offer("range")));
    }

    #[test]
    fn the_leader_passes_on_when_it_leaves() {
        let mut g = Group::new("g", 0);
        g.add(Member::for_test("a", &["range"]), "consumer");
        g.add(Member::for_test("b", &["range"]), "consumer");
        assert!(g.is_leader("a"));
        g.remove("a");
        assert!(g.is_leader("b"));
        g.remove("b");
        assert_eq!(g.leader, None);
    }

    #[test]
    fn static_members_must_present_their_current_member_id() {
        let mut g = Group::new("g", 0);
        let mut m = Member::for_test("m-1", &["range"]);
        m.group_instance_id = Some("host-a".into());
        g.add(m, "consumer");
        assert_eq!(g.validate_member("m-1", Some("host-a")), Ok(()));
        assert_eq!(
            g.validate_member("m-0", Some("host-a")),
            Err(ResponseError::FencedInstanceId)
        );
        assert_eq!(
            g.validate_member("m-1", Some("host-b")),
            Err(ResponseError::UnknownMemberId)
        );
        assert_eq!(g.validate_member("x", None), Err(ResponseError::UnknownMemberId));
    }
}
