//! SyncGroup: the answer goes out once the group record holding the assignment is
//! fsynced.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group::SyncRequest;

pub async fn handle(cx: &Cx<'_>, request: SyncGroupRequest) -> SyncGroupResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    if let Some(code) = access.refusal(Operation::Read, Resource::Group(&request.group_id)) {
        return SyncGroupResponse::default().with_error_code(code);
    }
    let req = SyncRequest {
        group_id: request.group_id.0.to_string(),
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.map(|s| s.to_string()),
        protocol_type: request.protocol_type.map(|s| s.to_string()),
        protocol_name: request.protocol_name.map(|s| s.to_string()),
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    let mut r = broker.groups.sync(req).await;
    if let Err(e) = r.durable.wait().await {
        tracing::error!(error = %e, "fsync of __consumer_offsets failed");
        r.error = Some(ResponseError::NotCoordinator);
    }
    let mut response = SyncGroupResponse::default();
    response.error_code = code(r.error);
    if r.error.is_none() {
        response.assignment = r.assignment;
        if version >= 5 {
            response.protocol_type = r.protocol_type.map(str_bytes);
            response.protocol_name = r.protocol_name.map(str_bytes);
        }
    }
    response
}
