//! DescribeGroups.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};

use super::{code, str_bytes, Access, Cx};
use crate::auth::acl::{Operation, Resource};

/// The group operations Kafka reports in `authorized_operations`, as bits of its
/// `AclOperation` (READ 3, DELETE 6, DESCRIBE 8), and what each takes here: READ is joining and
/// committing, DELETE is DeleteGroups and OffsetDelete.
const GROUP_OPERATIONS: [(i32, Operation); 3] = [(3, Operation::Read), (6, Operation::Alter), (8, Operation::Describe)];

/// The bit set of what the user may do to `group` (all three without authorization).
fn authorized_operations(access: &Access<'_>, group: &str) -> i32 {
    GROUP_OPERATIONS
        .iter()
        .filter(|(_, op)| access.can(*op, Resource::Group(group)))
        .fold(0, |bits, (bit, _)| bits | 1 << bit)
}

/// A group the user may not describe is answered with GROUP_AUTHORIZATION_FAILED alone.
pub async fn handle(cx: &Cx<'_>, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
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
        if version >= 3 && request.include_authorized_operations {
            d.authorized_operations = authorized_operations(access, &g.group_id);
        }
        d.group_id = GroupId(str_bytes(g.group_id));
        d.group_state = str_bytes(g.state);
        d.protocol_type = str_bytes(g.protocol_type);
        d.protocol_data = str_bytes(g.protocol_data);
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
