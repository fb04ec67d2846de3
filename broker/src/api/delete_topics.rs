//! DeleteTopics (by name; the advertised versions predate deletion by topic id).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};

use super::{is_internal, Cx};
use crate::auth::acl::{Operation, Resource};

pub async fn handle(cx: &Cx<'_>, request: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = DeleteTopicsResponse::default();
    for name in request.topic_names {
        let mut r = DeletableTopicResult::default();
        let outcome = if !access.allows(Operation::Delete, Resource::Topic(&name)) {
            Err(ResponseError::TopicAuthorizationFailed)
        } else if is_internal(&name) {
            // A coordinator holds it open; deleting it would lose every group or transaction.
            Err(ResponseError::InvalidTopicException)
        } else {
            broker.topics.delete(&name).map_err(|e| e.code)
        };
        match outcome {
            Ok(()) => tracing::info!(topic = %name.0, "deleted topic"),
            Err(code) => r.error_code = code.code(),
        }
        r.name = Some(name);
        response.responses.push(r);
    }
    response
}
