//! ListGroups: v4 filters by state, v5 by group type (KIP-848): "classic" (JoinGroup and
//! SyncGroup) or "consumer" (ConsumerGroupHeartbeat).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

/// Only the groups the user may describe are listed.
pub async fn handle(cx: &Cx<'_>, request: ListGroupsRequest) -> ListGroupsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let mut response = ListGroupsResponse::default();
    // Kafka reads the type names without regard to case.
    let types = &request.types_filter;
    let states = request.states_filter.iter().map(|s| s.to_string()).collect();
    match broker.groups.list(states).await {
        Ok(groups) => {
            for g in groups {
                if !access.can(Operation::Describe, Resource::Group(&g.group_id)) {
                    continue;
                }
                if !types.is_empty() && !types.iter().any(|t| t.eq_ignore_ascii_case(g.group_type)) {
                    continue;
                }
                let mut listed = ListedGroup::default();
                listed.group_id = GroupId(str_bytes(g.group_id));
                listed.protocol_type = str_bytes(g.protocol_type);
                if version >= 4 {
                    listed.group_state = str_bytes(g.state);
                }
                if version >= 5 {
                    listed.group_type = str_bytes(g.group_type);
                }
                response.groups.push(listed);
            }
        }
        Err(e) => response.error_code = e.code(),
    }
    response
}
