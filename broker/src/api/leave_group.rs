//! LeaveGroup: one member before v3, a batch of members (KIP-345) from v3.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group::LeaveRequest;

pub async fn handle(cx: &Cx<'_>, request: LeaveGroupRequest) -> LeaveGroupResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    if let Some(code) = access.refusal(Operation::Read, Resource::Group(&request.group_id)) {
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let members = if version <= 2 {
        vec![(request.member_id.to_string(), None)]
    } else {
        request
            .members
            .into_iter()
            .map(|m| (m.member_id.to_string(), m.group_instance_id.map(|s| s.to_string())))
            .collect()
    };
    let req = LeaveRequest {
        group_id: request.group_id.0.to_string(),
        members,
    };
    let mut r = broker.groups.leave(req).await;
    if let Err(e) = r.durable.wait().await {
        tracing::error!(error = %e, "fsync of __consumer_offsets failed");
        r.error = Some(ResponseError::NotCoordinator);
    }
    let mut response = LeaveGroupResponse::default();
    if version <= 2 {
        // One member: its error is the request's.
        let member_error = r.members.first().and_then(|(_, _, e)| *e);
        response.error_code = code(r.error.or(member_error));
    } else {
        response.error_code = code(r.error);
        response.members = r
            .members
            .into_iter()
            .map(|(member_id, instance, error)| {
                let mut m = MemberResponse::default();
                m.member_id = str_bytes(member_id);
                m.group_instance_id = instance.map(str_bytes);
                m.error_code = code(error);
                m
            })
            .collect();
    }
    response
}
