//! DescribeGroups: classic groups. A name with no classic group (none at all, or a KIP-848
//! consumer group) is described as Dead before v6 and answered GROUP_ID_NOT_FOUND with a
//! message from v6 (KIP-1043), as Kafka 4 does.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

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
        if let Some(message) = g.not_found.filter(|_| version >= 6) {
            d.error_code = ResponseError::GroupIdNotFound.code();
            d.error_message = Some(str_bytes(message));
        }
        if version >= 3 && request.include_authorized_operations {
            d.authorized_operations = access.authorized_operations(Resource::Group(&g.group_id));
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
