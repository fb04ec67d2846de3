//! AddPartitionsToTxn: a transactional producer registers each partition with its transaction
//! before writing there (Kafka's first transaction protocol; `crate::txn`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::{fenced_before, is_internal, now_ms, Cx};
use crate::auth::acl::{Operation, Resource};

/// Every partition gets the same answer, except that when some are refused (unknown, not
/// writable) those get their error and the rest OPERATION_NOT_ATTEMPTED, as Kafka answers.
pub async fn handle(cx: &Cx<'_>, request: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
    let broker = cx.broker;
    let access = cx.access();
    let id = request.v3_and_below_transactional_id.0.as_str();
    let mut refused = Vec::new();
    let mut wanted = Vec::new();
    for topic in &request.v3_and_below_topics {
        let name = topic.name.0.as_str();
        let known = broker.topics.get(name);
        for &p in &topic.partitions {
            let error = if !access.allows(Operation::Write, Resource::Topic(name)) {
                Some(ResponseError::TopicAuthorizationFailed)
            } else if is_internal(name) || known.as_ref().and_then(|t| t.partition(p)).is_none() {
                Some(ResponseError::UnknownTopicOrPartition)
            } else {
                None
            };
            match error {
                Some(e) => refused.push((name.to_string(), p, e)),
                None => wanted.push((name.to_string(), p)),
            }
        }
    }
    let outcome = if !access.allows(Operation::Write, Resource::TransactionalId(id)) {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !refused.is_empty() {
        Err(ResponseError::OperationNotAttempted)
    } else {
        let producer_id = request.v3_and_below_producer_id.0;
        let epoch = request.v3_and_below_producer_epoch;
        broker
            .txns
            .add_partitions(broker, id, producer_id, epoch, wanted.iter().cloned(), now_ms())
            .await
            .map_err(|e| fenced_before(cx.version, 2, e))
    };
    let code_of = |topic: &str, p: i32| match refused.iter().find(|(t, q, _)| t == topic && *q == p) {
        Some((_, _, e)) => e.code(),
        None => outcome.err().map_or(0, |e| e.code()),
    };
    let mut response = AddPartitionsToTxnResponse::default();
    for topic in &request.v3_and_below_topics {
        let mut result = AddPartitionsToTxnTopicResult::default();
        result.name = topic.name.clone();
        for &p in &topic.partitions {
            let mut r = AddPartitionsToTxnPartitionResult::default();
            r.partition_index = p;
            r.partition_error_code = code_of(topic.name.0.as_str(), p);
            result.results_by_partition.push(r);
        }
        response.results_by_topic_v3_and_below.push(result);
    }
    response
}
