//! FindCoordinator (v0–3): on one node the coordinator of every group is this node.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use super::{str_bytes, Access};
use crate::auth::acl::{Operation, Resource};
use crate::state::{Broker, NODE_ID};

/// `key_type` 0 asks for a group coordinator; 1 for a transaction coordinator.
const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

/// `listener`: the one the request came in on, whose advertised address is the answer.
pub fn handle(
    broker: &Broker,
    access: &Access<'_>,
    listener: usize,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let mut response = FindCoordinatorResponse::default();
    let refusal = match request.key_type {
        GROUP if !access.allows(Operation::Describe, Resource::Group(&request.key)) => Some((
            ResponseError::GroupAuthorizationFailed,
            "not authorized to use this group",
        )),
        GROUP => None,
        // Transactions are not implemented: say so in a way clients retry and report.
        TRANSACTION => Some((ResponseError::CoordinatorNotAvailable, "transactions are not supported")),
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
