//! Heartbeat.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{code, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group;

pub async fn handle(cx: &Cx<'_>, request: HeartbeatRequest) -> HeartbeatResponse {
    let broker = cx.broker;
    let access = &cx.access();
    if let Some(code) = access.refusal(Operation::Read, Resource::Group(&request.group_id)) {
        return HeartbeatResponse::default().with_error_code(code);
    }
    let req = group::HeartbeatRequest {
        group_id: request.group_id.0.to_string(),
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.map(|s| s.to_string()),
    };
    let mut response = HeartbeatResponse::default();
    response.error_code = code(broker.groups.heartbeat(req).await);
    response
}
