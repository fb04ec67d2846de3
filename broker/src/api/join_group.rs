//! JoinGroup: translated to the coordinator's terms and back, per version.

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group::JoinRequest;

/// Joining needs the `groups` grant for the group, else GROUP_AUTHORIZATION_FAILED.
pub async fn handle(cx: &Cx<'_>, request: JoinGroupRequest) -> JoinGroupResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let client = cx.client();
    if let Some(code) = access.refusal(Operation::Read, Resource::Group(&request.group_id)) {
        // The protocol name is non-nullable before v7 (librdkafka rejects a null one).
        return JoinGroupResponse::default()
            .with_error_code(code)
            .with_protocol_name(Some(str_bytes(String::new())));
    }
    let req = JoinRequest {
        group_id: request.group_id.0.to_string(),
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.map(|s| s.to_string()),
        client,
        session_timeout_ms: request.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 { request.rebalance_timeout_ms } else { -1 },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let r = broker.groups.join(req).await;
    let mut response = JoinGroupResponse::default();
    response.error_code = code(r.error);
    response.generation_id = r.generation_id;
    if version >= 7 {
        response.protocol_type = r.protocol_type.map(str_bytes);
        response.protocol_name = r.protocol_name.map(str_bytes);
    } else {
        // Non-nullable before v7: Kafka sends "" (librdkafka rejects a null name).
        response.protocol_name = Some(str_bytes(r.protocol_name.unwrap_or_default()));
    }
    response.leader = str_bytes(r.leader);
    response.member_id = str_bytes(r.member_id);
    response.members = r
        .members
        .into_iter()
        .map(|m| {
            let mut member = JoinGroupResponseMember::default();
            member.member_id = str_bytes(m.member_id);
            if version >= 5 {
                member.group_instance_id = m.group_instance_id.map(str_bytes);
            }
            member.metadata = m.metadata;
            member
        })
        .collect();
    response
}
