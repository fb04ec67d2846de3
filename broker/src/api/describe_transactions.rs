//! DescribeTransactions (`kafka-transactions describe`): each transactional id's state as the
//! coordinator holds it (KIP-664).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

/// DESCRIBE on each id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for it; an id the
/// coordinator does not know gets TRANSACTIONAL_ID_NOT_FOUND.
pub async fn handle(cx: &Cx<'_>, request: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
    let access = cx.access();
    let mut response = DescribeTransactionsResponse::default();
    for id in request.transactional_ids {
        let mut state = TransactionState::default();
        state.producer_id = ProducerId(-1);
        state.producer_epoch = -1;
        state.transaction_start_time_ms = -1;
        if !access.allows(Operation::Describe, Resource::TransactionalId(&id)) {
            state.error_code = ResponseError::TransactionalIdAuthorizationFailed.code();
        } else {
            match cx.broker.txns.get(&id) {
                None => state.error_code = ResponseError::TransactionalIdNotFound.code(),
                Some(meta) => {
                    state.transaction_state = str_bytes(meta.state.name());
                    state.transaction_timeout_ms = meta.timeout_ms;
                    state.transaction_start_time_ms = meta.start_ms;
                    state.producer_id = ProducerId(meta.producer_id);
                    state.producer_epoch = meta.epoch;
                    for (topic, partition) in meta.partitions {
                        match state.topics.last_mut() {
                            Some(t) if t.topic.0.as_str() == topic => t.partitions.push(partition),
                            _ => {
                                let mut t = TopicData::default();
                                t.topic = TopicName(str_bytes(topic));
                                t.partitions = vec![partition];
                                state.topics.push(t);
                            }
                        }
                    }
                }
            }
        }
        state.transactional_id = id;
        response.transaction_states.push(state);
    }
    response
}
