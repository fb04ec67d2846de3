//! ConsumerGroupHeartbeat and ConsumerGroupDescribe (KIP-848), as the coordinator takes and
//! answers them. Topics are named here; the handlers translate to and from topic ids.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use crate::group::consumer::Assignment;
use crate::group::Durable;

#[derive(Debug, Clone, Default)]
pub struct ConsumerHeartbeatRequest {
    /// v1 requires the member to name itself (KIP-1082); v0 leaves it to the broker.
    pub version: i16,
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1: unchanged.
    pub rebalance_timeout_ms: i32,
    /// `None`: unchanged.
    pub subscribed_topic_names: Option<Vec<String>>,
    /// `None`: unchanged; empty: cleared.
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// The partitions the member holds; `None` when it did not say. Ids of topics that no
    /// longer exist are left out by the handler.
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
    /// Every topic (internal ones too, as Kafka resolves expressions) and its partitions, as
    /// the broker saw them when the request arrived.
    pub topics: BTreeMap<String, i32>,
    /// The same topics' ids: the group's records name topics by id.
    pub ids: BTreeMap<String, uuid::Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct ConsumerHeartbeatResponse {
    pub error: Option<ResponseError>,
    pub error_message: Option<String>,
    pub member_id: Option<String>,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when the member joins, sends a full request, or its assignment changed.
    pub assignment: Option<Assignment>,
    /// The group's records this heartbeat wrote: answered once they are on disk.
    pub durable: Durable,
}

impl ConsumerHeartbeatResponse {
    pub fn error(error: ResponseError, message: impl Into<String>) -> ConsumerHeartbeatResponse {
        ConsumerHeartbeatResponse {
            error: Some(error),
            error_message: Some(message.into()),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DescribedConsumerGroup {
    pub group_id: String,
    pub error: Option<ResponseError>,
    pub error_message: Option<String>,
    pub state: &'static str,
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<DescribedConsumerMember>,
}

#[derive(Debug, Clone, Default)]
pub struct DescribedConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub assignment: Assignment,
    pub target: Assignment,
}
