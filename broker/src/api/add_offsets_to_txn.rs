//! AddOffsetsToTxn: a transactional producer that will commit a group's offsets with its
//! transaction (`sendOffsetsToTransaction`) registers the group's `__consumer_offsets`
//! partition with it, as Kafka does.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::{fenced_before, now_ms, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::group::{partition_for, OFFSETS_TOPIC};

pub async fn handle(cx: &Cx<'_>, request: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let broker = cx.broker;
    let access = cx.access();
    let id = request.transactional_id.0.as_str();
    let group = request.group_id.0.as_str();
    let outcome = if !access.allows(Operation::Write, Resource::TransactionalId(id)) {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !access.allows(Operation::Read, Resource::Group(group)) {
        Err(ResponseError::GroupAuthorizationFailed)
    } else {
        let partitions = broker.topics.get(OFFSETS_TOPIC).map_or(1, |t| t.partitions.len());
        let partition = partition_for(group, partitions) as i32;
        broker
            .txns
            .add_partitions(
                broker,
                id,
                request.producer_id.0,
                request.producer_epoch,
                [(OFFSETS_TOPIC.to_string(), partition)],
                now_ms(),
            )
            .await
            .map_err(|e| fenced_before(cx.version, 2, e))
    };
    let mut response = AddOffsetsToTxnResponse::default();
    response.error_code = outcome.err().map_or(0, |e| e.code());
    response
}
