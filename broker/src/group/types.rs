//! What the handlers ask the coordinator and what it answers, in the coordinator's own terms.
//! The handlers translate from and to each API version's wire structs; the coordinator never
//! sees a version. Errors are Kafka's codes (`None` = no error).

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use crate::cluster::partition::PartitionRef;

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

#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// OffsetCommit v2–4; -1 = the broker's retention.
    pub retention_time_ms: i64,
    pub offsets: Vec<CommitOffset>,
}

#[derive(Debug, Clone, Default)]
pub struct CommitOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CommitResponse {
    /// One per requested offset, in order.
    pub errors: Vec<Option<ResponseError>>,
    pub durable: Durable,
}

/// A committed offset as OffsetFetch reports it; `offset = -1` when nothing was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: String,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetDeleteResponse {
    pub error: Option<ResponseError>,
    pub partitions: Vec<(String, i32, Option<ResponseError>)>,
    pub durable: Durable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribedGroup {
    pub group_id: String,
    pub error: Option<ResponseError>,
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol_data: String,
    pub members: Vec<DescribedMember>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteGroupsResponse {
    pub results: Vec<(String, Option<ResponseError>)>,
    pub durable: Durable,
}

/// Where the records behind an answer were appended: the answer goes out once every listed
/// partition is fsynced up to its offset (`acks=all` for the coordinator's own writes).
#[derive(Debug, Clone, Default)]
pub struct Durable(pub Vec<(PartitionRef, i64)>);

impl Durable {
    pub fn add(&mut self, other: Durable) {
        self.0.extend(other.0);
    }

    /// Waits for the fsyncs; concurrent callers share them (`Partition::sync_to`).
    pub async fn wait(&self) -> Result<(), crate::log::LogError> {
        for (partition, end) in &self.0 {
            partition.sync_to(*end).await?;
        }
        Ok(())
    }
}
