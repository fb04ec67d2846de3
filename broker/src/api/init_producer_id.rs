//! InitProducerId: a fresh producer id with epoch 0 for every idempotent producer; for a
//! transactional id, the id's producer id with its epoch bumped (`crate::txn`).
//!
//! Without a transactional id Kafka ignores any id/epoch the client offers and hands out a new
//! id.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{fenced_before, now_ms, Cx};
use crate::auth::acl::{Operation, Resource};

/// An idempotent producer needs to be allowed to produce to some topic (Kafka's rule since
/// KIP-679), else CLUSTER_AUTHORIZATION_FAILED.
pub async fn handle(cx: &Cx<'_>, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = InitProducerIdResponse::default();
    response.producer_id = ProducerId(-1);
    response.producer_epoch = -1;
    // Kafka: an empty transactional id is an invalid request.
    if request.transactional_id.as_ref().is_some_and(|id| id.is_empty()) {
        response.error_code = ResponseError::InvalidRequest.code();
        return response;
    }
    if (request.producer_id.0 == -1) != (request.producer_epoch == -1) {
        response.error_code = ResponseError::InvalidRequest.code();
        return response;
    }
    if let Some(id) = &request.transactional_id {
        if !access.allows(Operation::Write, Resource::TransactionalId(id)) {
            response.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
            return response;
        }
        let given = (request.producer_id.0 != -1).then_some((request.producer_id.0, request.producer_epoch));
        let timeout = request.transaction_timeout_ms;
        match broker.txns.init_producer_id(broker, id, timeout, given, now_ms()).await {
            Ok((producer_id, epoch)) => {
                response.producer_id = ProducerId(producer_id);
                response.producer_epoch = epoch;
            }
            Err(e) => response.error_code = fenced_before(cx.version, 4, e).code(),
        }
        return response;
    }
    if let Some(code) = access.refusal(Operation::IdempotentWrite, Resource::Cluster) {
        response.error_code = code;
        return response;
    }
    match broker.next_producer_id() {
        Ok(id) => {
            response.producer_id = ProducerId(id);
            response.producer_epoch = 0;
        }
        Err(e) => {
            tracing::error!(error = %e, "could not persist the producer id block");
            response.error_code = ResponseError::KafkaStorageError.code();
        }
    }
    response
}
