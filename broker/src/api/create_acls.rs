//! CreateAcls: `kafka-acls --add`. Each creation is checked as Kafka checks it, and the valid
//! ones are stored together in the data directory (`cluster::acls`) before the answer; a binding
//! that already exists is a success, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};

use super::describe_acls::{gate, Refusal};
use super::{str_bytes, Cx};
use crate::auth::acl::{
    Binding, NamePattern, Operation, CLUSTER, CLUSTER_NAME, LITERAL, OPERATIONS, PATTERN_TYPES, PERMISSIONS, PREFIXED,
    RESOURCE_TYPES,
};

/// The binding a creation asks for, or Kafka's INVALID_REQUEST and why.
fn binding(c: &AclCreation) -> Result<Binding, Refusal> {
    let invalid = |message: String| Err((ResponseError::InvalidRequest, message));
    let known = |table: &[(i8, &str)], code: i8| table.iter().any(|(c, _)| *c == code);
    let name = c.resource_name.to_string();
    if !known(RESOURCE_TYPES, c.resource_type) {
        return invalid(format!("Invalid resourceType {}", c.resource_type));
    }
    if !known(PATTERN_TYPES, c.resource_pattern_type) {
        return invalid(format!("Invalid patternType {}", c.resource_pattern_type));
    }
    if !known(OPERATIONS, c.operation) {
        return invalid(format!("Invalid operation {}", c.operation));
    }
    if !known(PERMISSIONS, c.permission_type) {
        return invalid(format!("Invalid permissionType {}", c.permission_type));
    }
    if !c.principal.contains(':') {
        return invalid(format!(
            "Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)",
            c.principal
        ));
    }
    if name.is_empty() {
        return invalid("Invalid empty resource name".into());
    }
    if c.resource_type == CLUSTER && name != CLUSTER_NAME {
        return invalid(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        ));
    }
    let pattern = match c.resource_pattern_type {
        PREFIXED => NamePattern::Prefixed(name),
        LITERAL => NamePattern::Literal(name),
        _ => return invalid(format!("Invalid patternType {}", c.resource_pattern_type)),
    };
    Ok(Binding {
        resource_type: c.resource_type,
        pattern,
        principal: c.principal.to_string(),
        host: c.host.to_string(),
        operation: c.operation,
        permission: c.permission_type,
    })
}

pub async fn handle(cx: &Cx<'_>, request: CreateAclsRequest) -> CreateAclsResponse {
    let gate = gate(cx, Operation::Alter);
    let outcomes: Vec<Result<Binding, Refusal>> = request
        .creations
        .iter()
        .map(|c| gate.clone().and_then(|()| binding(c)))
        .collect();
    let valid: Vec<Binding> = outcomes.iter().filter_map(|o| o.as_ref().ok().cloned()).collect();
    let stored = if valid.is_empty() {
        Ok(())
    } else {
        cx.broker.acls.create(&valid).map_err(|e| {
            tracing::error!("CreateAcls: {e}");
            (
                ResponseError::KafkaStorageError,
                format!("the ACLs could not be stored: {e}"),
            )
        })
    };
    let mut response = CreateAclsResponse::default();
    response.results = outcomes
        .into_iter()
        .map(|outcome| {
            let mut r = AclCreationResult::default();
            if let Err((code, message)) = outcome.and_then(|_| stored.clone()) {
                r.error_code = code.code();
                r.error_message = Some(str_bytes(message));
            }
            r
        })
        .collect();
    response
}
