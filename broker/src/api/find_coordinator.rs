//! FindCoordinator: on one node the coordinator of every group and every transactional id is
//! this node.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::state::NODE_ID;

/// `key_type` 0 asks for a group coordinator; 1 for a transaction coordinator.
const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

/// `listener`: the one the request came in on, whose advertised address is the answer.
pub async fn handle(cx: &Cx<'_>, request: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let listener = cx.session.listener;
    let mut response = FindCoordinatorResponse::default();
    let refusal = match request.key_type {
        GROUP if !access.allows(Operation::Describe, Resource::Group(&request.key)) => Some((
            ResponseError::GroupAuthorizationFailed,
            "not authorized to use this group",
        )),
        GROUP => None,
        TRANSACTION if !access.allows(Operation::Describe, Resource::TransactionalId(&request.key)) => Some((
            ResponseError::TransactionalIdAuthorizationFailed,
            "not authorized to use this transactional id",
        )),
        TRANSACTION => None,
        _ => Some((ResponseError::InvalidRequest, "unknown coordinator key type")),
    };
    match refusal {
        None => {
            response.node_id = BrokerId(NODE_ID);
            response.host = str_bytes(broker.advertised[listener].host.clone());
            response.port = i32::from(broker.advertised[listener].port);
        }
        Some((code, message)) => {
            response.error_code = code.code();
            response.node_id = BrokerId(-1);
            response.port = -1;
            if version >= 1 {
                response.error_message = Some(str_bytes(message));
            }
        }
    }
    response
}
