//! EndTxn: commit or abort the producer's transaction; the answer comes once every partition
//! it wrote to holds the marker on disk (`crate::txn`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

use super::{fenced_before, now_ms, Cx};
use crate::auth::acl::{Operation, Resource};

pub async fn handle(cx: &Cx<'_>, request: EndTxnRequest) -> EndTxnResponse {
    let broker = cx.broker;
    let id = request.transactional_id.0.as_str();
    let outcome = if !cx.access().allows(Operation::Write, Resource::TransactionalId(id)) {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else {
        broker
            .txns
            .end(
                broker,
                id,
                request.producer_id.0,
                request.producer_epoch,
                request.committed,
                now_ms(),
            )
            .await
            .map_err(|e| fenced_before(cx.version, 2, e))
    };
    let mut response = EndTxnResponse::default();
    response.error_code = outcome.err().map_or(0, |e| e.code());
    response
}
