//! A group as its `__consumer_offsets` record: written at the end of each rebalance, read back
//! on start, and the consumer-protocol subscriptions inside it (for OffsetDelete).

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;

use super::classic::{Group, GroupState};
use super::member::{duration_ms, Member};
use super::records::{GroupValue, MemberValue};

impl Group {
    /// The group record of the current generation (Kafka writes it at the end of a rebalance).
    pub fn to_record(&self) -> GroupValue {
        let protocol = self.protocol_name.clone();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation_id,
            protocol: protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp.unwrap_or(-1),
            members: self
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: duration_ms(m.rebalance_timeout),
                    session_timeout: duration_ms(m.session_timeout),
                    subscription: m.metadata(protocol.as_deref().unwrap_or_default()),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores a group from its last record (start-up): Stable with its members, or Empty.
    pub fn restore(&mut self, v: GroupValue, stored: Bytes) {
        self.generation_id = v.generation;
        self.protocol_type = Some(v.protocol_type).filter(|t| !t.is_empty());
        self.protocol_name = v.protocol.clone();
        self.leader = v.leader;
        self.state_timestamp = (v.current_state_timestamp >= 0).then_some(v.current_state_timestamp);
        self.members.clear();
        self.static_members.clear();
        for m in v.members {
            let protocols = v.protocol.iter().map(|p| (p.clone(), m.subscription.clone())).collect();
            let member = Member {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout: Duration::from_millis(m.session_timeout.max(0) as u64),
                rebalance_timeout: Duration::from_millis(m.rebalance_timeout.max(0) as u64),
                protocols,
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
                session_timer: None,
            };
            if let Some(instance) = &member.group_instance_id {
                self.static_members.insert(instance.clone(), member.member_id.clone());
            }
            self.members.insert(member.member_id.clone(), member);
        }
        self.state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        self.previous_state = self.state;
        self.stored = Some(stored);
    }

    /// Topics the members subscribe to, from their consumer-protocol metadata; `None` when
    /// unknown (another protocol type, or metadata we cannot read), which counts as "all".
    pub fn subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for m in self.members.values() {
            topics.extend(subscription_topics(&m.metadata(protocol))?);
        }
        Some(topics)
    }
}

/// The topics of a ConsumerProtocolSubscription: `i16 version, i32 count, string topic*, ...`
/// (the prefix is the same in every version).
fn subscription_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut rest = metadata.get(2..)?;
    let count = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    rest = &rest[4..];
    let mut topics = Vec::new();
    for _ in 0..count.max(0) {
        let len = usize::try_from(i16::from_be_bytes(rest.get(..2)?.try_into().ok()?)).ok()?;
        topics.push(String::from_utf8(rest.get(2..2 + len)?.to_vec()).ok()?);
        rest = &rest[2 + len..];
    }
    Some(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_topics_are_read_from_consumer_metadata() {
        let mut md = vec![0, 1, 0, 0, 0, 2, 0, 1, b'a', 0, 2, b'b', b'c'];
        md.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]); // user data: null
        assert_eq!(subscription_topics(&md), Some(vec!["a".into(), "bc".into()]));
        assert_eq!(subscription_topics(&md[..9]), None);
    }

    #[test]
    fn a_group_record_restores_members_and_assignments() {
        let mut g = Group::new("g", 5);
        g.protocol_name = Some("range".into());
        let mut m = Member::for_test("a", &["range"]);
        m.assignment = Bytes::from_static(b"A");
        m.group_instance_id = Some("i".into());
        g.add(m, "consumer");
        g.generation_id = 3;
        let record = g.to_record();
        let mut restored = Group::new("g", 0);
        restored.restore(record.clone(), Bytes::new());
        assert_eq!(restored.state, GroupState::Stable);
        assert_eq!(restored.to_record(), record);
        assert_eq!(restored.static_members.get("i").map(String::as_str), Some("a"));
    }
}
