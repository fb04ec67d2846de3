//! DescribeGroups (v0–5).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};

use super::{code, str_bytes, Access};
use crate::auth::acl::{Operation, Resource};
use crate::state::Broker;

/// READ, DELETE and DESCRIBE (bits 3, 6, 8 of Kafka's `AclOperation`): what anyone may do to a
/// group on a broker without authorization. (With grants the bits are not narrowed per user.)
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// A group the user may not describe is answered with GROUP_AUTHORIZATION_FAILED alone.
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let (ids, denied): (Vec<String>, Vec<String>) = request
        .groups
        .iter()
        .map(|g| g.0.to_string())
        .partition(|g| access.allows(Operation::Describe, Resource::Group(g)));
    let mut response = DescribeGroupsResponse::default();
    for group_id in denied {
        let mut d = DescribedGroup::default();
        d.error_code = ResponseError::GroupAuthorizationFailed.code();
        d.group_id = GroupId(str_bytes(group_id));
        response.groups.push(d);
    }
    for g in broker.groups.describe(ids).await {
        let mut d = DescribedGroup::default();
        d.error_code = code(g.error);
        d.group_id = GroupId(str_bytes(g.group_id));
        d.group_state = str_bytes(g.state);
        d.protocol_type = str_bytes(g.protocol_type);
        d.protocol_data = str_bytes(g.protocol_data);
        if version >= 3 && request.include_authorized_operations {
            d.authorized_operations = GROUP_OPERATIONS;
        }
        d.members = g
            .members
            .into_iter()
            .map(|m| {
                let mut member = DescribedGroupMember::default();
                member.member_id = str_bytes(m.member_id);
                if version >= 4 {
                    member.group_instance_id = m.group_instance_id.map(str_bytes);
                }
                member.client_id = str_bytes(m.client_id);
                member.client_host = str_bytes(m.client_host);
                member.member_metadata = m.metadata;
                member.member_assignment = m.assignment;
                member
            })
            .collect();
        response.groups.push(d);
    }
    response
}
