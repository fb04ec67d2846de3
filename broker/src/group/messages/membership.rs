//! Joining, syncing, heartbeating and leaving, as the coordinator takes and answers them.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use crate::group::Durable;

/// Who sent a request: Kafka keeps both per member and shows them in DescribeGroups.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub client_id: String,
    /// `"/" + ip`, as Kafka's `InetAddress.toString()` prints it.
    pub client_host: String,
}

#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client: Client,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new dynamic member must first fetch its id (KIP-394).
    pub require_known_member_id: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinResponse {
    pub error: Option<ResponseError>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Only the leader gets the members, with their metadata for the chosen protocol.
    pub members: Vec<JoinedMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

impl JoinResponse {
    pub fn error(error: ResponseError, member_id: &str) -> JoinResponse {
        JoinResponse {
            error: Some(error),
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

#[derive(Debug, Clone, Default)]
pub struct SyncResponse {
    pub error: Option<ResponseError>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
    /// The group record carrying this assignment; answer once it is on disk.
    pub durable: Durable,
}

impl SyncResponse {
    pub fn error(error: ResponseError) -> SyncResponse {
        SyncResponse {
            error: Some(error),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LeaveRequest {
    pub group_id: String,
    /// (member id, group instance id); an empty member id with an instance id removes that
    /// static member (the admin form).
    pub members: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Default)]
pub struct LeaveResponse {
    pub error: Option<ResponseError>,
    pub members: Vec<(String, Option<String>, Option<ResponseError>)>,
    pub durable: Durable,
}
