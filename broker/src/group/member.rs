//! A member of a classic group (Kafka's `ClassicGroupMember`).

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::messages::{JoinResponse, SyncResponse};
use super::timers::TimerId;

#[derive(Debug)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// (protocol name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// A parked JoinGroup, answered when the join phase completes.
    pub awaiting_join: Option<oneshot::Sender<JoinResponse>>,
    /// A parked SyncGroup, answered when the leader's assignment is stored.
    pub awaiting_sync: Option<oneshot::Sender<SyncResponse>>,
    /// Joined during the current rebalance: may time out even while its join is parked.
    pub is_new: bool,
    pub session_timer: Option<TimerId>,
}

impl Member {
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Same protocols with the same metadata, in the same order (Kafka's `matches`).
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// Whether a session timer that fired may be ignored: a member waiting on the coordinator
    /// cannot heartbeat (its connection is held), unless it is new and never completed a join.
    pub fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }
}

pub fn duration_ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
impl Member {
    /// A member with these protocols (metadata = the protocol name), nothing parked.
    pub fn for_test(id: &str, protocols: &[&str]) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::from(p.to_string())))
                .collect(),
            assignment: Bytes::new(),
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            session_timer: None,
        }
    }
}
