//! DeleteTopics (by name; the advertised versions predate deletion by topic id).

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};

use crate::state::Broker;

pub fn handle(broker: &Broker, request: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let mut response = DeleteTopicsResponse::default();
    for name in request.topic_names {
        let mut r = DeletableTopicResult::default();
        match broker.topics.delete(&name) {
            Ok(()) => tracing::info!(topic = %name.0, "deleted topic"),
            Err(e) => r.error_code = e.code.code(),
        }
        r.name = Some(name);
        response.responses.push(r);
    }
    response
}
