//! DescribeClientQuotas (KIP-546): the broker enforces no client quotas, so every filter
//! matches no entries, as on a Kafka cluster where none were set. `kafka-configs --describe
//! --entity-type users` asks it beside the users' SCRAM credentials. A match type other than
//! Kafka's three (0 exact name, 1 default, 2 any) is INVALID_REQUEST; it takes the right to
//! describe the cluster's configs (the admin grant).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};

pub async fn handle(cx: &Cx<'_>, request: DescribeClientQuotasRequest) -> DescribeClientQuotasResponse {
    let access = &cx.access();
    let mut response = DescribeClientQuotasResponse::default();
    let refusal = if !access.allows(Operation::DescribeConfigs, Resource::Cluster) {
        Some((
            ResponseError::ClusterAuthorizationFailed,
            "not authorized to describe client quotas".to_string(),
        ))
    } else {
        request
            .components
            .iter()
            .find(|c| !(0..=2).contains(&c.match_type))
            .map(|c| {
                (
                    ResponseError::InvalidRequest,
                    format!("unknown match type {}", c.match_type),
                )
            })
    };
    match refusal {
        Some((code, message)) => {
            response.error_code = code.code();
            response.error_message = Some(str_bytes(message));
        }
        None => response.entries = Some(Vec::new()),
    }
    response
}
