//! DeleteGroups: only empty groups; their offsets go with them.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId};

use super::{code, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

/// Deleting groups is for users with `admin`; a refused group gets GROUP_AUTHORIZATION_FAILED
/// and is left as it is.
pub async fn handle(cx: &Cx<'_>, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let (ids, denied): (Vec<String>, Vec<String>) = request
        .groups_names
        .iter()
        .map(|g| g.0.to_string())
        .partition(|g| access.allows(Operation::Delete, Resource::Group(g)));
    let r = broker.groups.delete_groups(ids).await;
    let synced = r.durable.wait().await;
    if let Err(e) = &synced {
        tracing::error!(error = %e, "fsync of __consumer_offsets failed");
    }
    let mut response = DeleteGroupsResponse::default();
    for (group_id, error) in r.results {
        let mut result = DeletableGroupResult::default();
        result.group_id = GroupId(str_bytes(group_id));
        let error = match (&synced, error) {
            (Err(_), None) => Some(ResponseError::NotCoordinator),
            (_, error) => error,
        };
        result.error_code = code(error);
        response.results.push(result);
    }
    for group_id in denied {
        let mut result = DeletableGroupResult::default();
        result.group_id = GroupId(str_bytes(group_id));
        result.error_code = ResponseError::GroupAuthorizationFailed.code();
        response.results.push(result);
    }
    response
}
