//! CreatePartitions: a topic's partition count may only grow.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::{is_internal, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::state::NODE_ID;

pub async fn handle(cx: &Cx<'_>, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = CreatePartitionsResponse::default();
    for wanted in request.topics {
        let mut r = CreatePartitionsTopicResult::default();
        let foreign = wanted
            .assignments
            .iter()
            .flatten()
            .any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != NODE_ID);
        let outcome = if !access.allows(Operation::Alter, Resource::Topic(&wanted.name)) {
            Err((
                ResponseError::TopicAuthorizationFailed,
                format!("not authorized to add partitions to {}", wanted.name.0),
            ))
        } else if is_internal(&wanted.name) {
            // Groups and transactional ids map onto its partitions by hash; more would move them.
            Err((
                ResponseError::InvalidTopicException,
                format!("{} is internal; its partition count is fixed", wanted.name.0),
            ))
        } else if foreign {
            Err((
                ResponseError::InvalidReplicaAssignment,
                format!("the only broker is node {NODE_ID}"),
            ))
        } else {
            broker
                .topics
                .add_partitions(&wanted.name, wanted.count, request.validate_only)
                .map_err(|e| (e.code, e.message))
        };
        match outcome {
            Ok(()) if !request.validate_only => {
                tracing::info!(topic = %wanted.name.0, partitions = wanted.count, "grew topic")
            }
            Ok(()) => {}
            Err((code, message)) => {
                r.error_code = code.code();
                r.error_message = Some(str_bytes(message));
            }
        }
        r.name = wanted.name;
        response.results.push(r);
    }
    response
}
