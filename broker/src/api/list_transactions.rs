//! ListTransactions (`kafka-transactions list`, `find-hanging`): the transactional ids the user
//! may describe, filtered by state, producer id and (v1) how long their transaction has been open
//! (KIP-664, KIP-994).

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId};

use super::{now_ms, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::txn::TxnState;

/// Kafka's state names, which a filter may name.
const STATES: &[TxnState] = &[
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

/// Ids the user may not describe are left out, as Kafka does; filter states that Kafka does
/// not know come back in `unknown_state_filters`.
pub async fn handle(cx: &Cx<'_>, request: ListTransactionsRequest) -> ListTransactionsResponse {
    let access = cx.access();
    let now = now_ms();
    let mut response = ListTransactionsResponse::default();
    let (known, unknown): (Vec<_>, Vec<_>) = request
        .state_filters
        .into_iter()
        .partition(|f| STATES.iter().any(|s| s.name() == f.as_str()));
    response.unknown_state_filters = unknown;
    let mut ids = cx.broker.txns.all();
    ids.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, meta) in ids {
        let state_ok = known.is_empty() || known.iter().any(|f| f.as_str() == meta.state.name());
        let producer_ok = request.producer_id_filters.is_empty()
            || request.producer_id_filters.contains(&ProducerId(meta.producer_id));
        // -1: no filter; otherwise only transactions open at least that long.
        let duration_ok = request.duration_filter < 0
            || (meta.start_ms >= 0 && now.saturating_sub(meta.start_ms) >= request.duration_filter);
        let visible = access.can(Operation::Describe, Resource::TransactionalId(&id));
        if !(state_ok && producer_ok && duration_ok && visible) {
            continue;
        }
        let mut t = TransactionState::default();
        t.transactional_id = TransactionalId(str_bytes(id));
        t.producer_id = ProducerId(meta.producer_id);
        t.transaction_state = str_bytes(meta.state.name());
        response.transaction_states.push(t);
    }
    response
}
