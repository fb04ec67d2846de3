//! DeleteAcls: `kafka-acls --remove`. Each filter removes the created bindings it matches
//! (`cluster::acls`) and lists them. A binding of broker.toml's grants that a filter matches is
//! listed with an error of its own instead: it is removed from broker.toml, not over the wire.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{DeleteAclsFilterResult, DeleteAclsMatchingAcl};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};

use super::describe_acls::{filter, gate};
use super::{str_bytes, Cx};
use crate::auth::acl::{Binding, Operation};

fn matching(b: &Binding) -> DeleteAclsMatchingAcl {
    let (name, pattern_type) = b.pattern.kafka();
    let mut m = DeleteAclsMatchingAcl::default();
    m.resource_type = b.resource_type;
    m.resource_name = str_bytes(name.to_string());
    m.pattern_type = pattern_type;
    m.principal = str_bytes(b.principal.clone());
    m.host = str_bytes(b.host.clone());
    m.operation = b.operation;
    m.permission_type = b.permission;
    m
}

pub async fn handle(cx: &Cx<'_>, request: DeleteAclsRequest) -> DeleteAclsResponse {
    let gate = gate(cx, Operation::Alter);
    let mut response = DeleteAclsResponse::default();
    for wanted in &request.filters {
        let mut result = DeleteAclsFilterResult::default();
        let f = gate.clone().and_then(|()| filter(wanted));
        let f = match f {
            Ok(f) => f,
            Err((code, message)) => {
                result.error_code = code.code();
                result.error_message = Some(str_bytes(message));
                response.filter_results.push(result);
                continue;
            }
        };
        for b in cx.broker.config.acls.bindings.iter().filter(|b| f.matches(b)) {
            let mut m = matching(b);
            m.error_code = ResponseError::InvalidRequest.code();
            m.error_message = Some(str_bytes(
                "a grant of broker.toml; remove it there and restart the broker",
            ));
            result.matching_acls.push(m);
        }
        match cx.broker.acls.delete(|b| f.matches(b)) {
            Ok(gone) => result.matching_acls.extend(gone.iter().map(matching)),
            Err(e) => {
                tracing::error!("DeleteAcls: {e}");
                result.error_code = ResponseError::KafkaStorageError.code();
                result.error_message = Some(str_bytes(format!("the ACLs could not be stored: {e}")));
            }
        }
        response.filter_results.push(result);
    }
    response
}
