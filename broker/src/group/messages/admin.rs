//! Listing, describing and deleting groups, as the coordinator answers them.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use crate::group::Durable;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
    /// "classic" (JoinGroup and SyncGroup) or "consumer" (KIP-848), ListGroups v5's type.
    pub group_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribedGroup {
    pub group_id: String,
    pub error: Option<ResponseError>,
    /// Why there is no classic group of this name (none, or one of the other kind): Dead
    /// before DescribeGroups v6, GROUP_ID_NOT_FOUND with this message from v6 (KIP-1043).
    pub not_found: Option<String>,
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
