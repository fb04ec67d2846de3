//! Committing, fetching and deleting offsets, as the coordinator takes and answers them.

use kafka_protocol::error::ResponseError;

use crate::group::Durable;

#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// OffsetCommit v2–4; -1 = the broker's retention.
    pub retention_time_ms: i64,
    pub offsets: Vec<CommitOffset>,
    /// The OffsetCommit version: members of a consumer group (KIP-848) must use v9 or later,
    /// whose generation field carries their member epoch.
    pub api_version: i16,
}

/// TxnOffsetCommit: a commit that takes effect when the producer's transaction commits.
#[derive(Debug, Clone, Default)]
pub struct TxnCommitRequest {
    pub commit: CommitRequest,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

#[derive(Debug, Clone, Default)]
pub struct CommitOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The leader epoch of the record at `offset - 1` as the client saw it (-1 unknown).
    pub leader_epoch: i32,
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
    /// What the commit said of the leader epoch (-1 when it said nothing or there is none).
    pub leader_epoch: i32,
    pub metadata: String,
    /// An open transaction holds a newer offset for the partition (TxnOffsetCommit).
    pub unstable: bool,
}

#[derive(Debug, Clone, Default)]
pub struct OffsetDeleteResponse {
    pub error: Option<ResponseError>,
    pub partitions: Vec<(String, i32, Option<ResponseError>)>,
    pub durable: Durable,
}
