//! DescribeAcls: the ACL bindings of broker.toml's grants and of CreateAcls, filtered as Kafka
//! filters them, for `kafka-acls --list`. The gate and the filter are shared with CreateAcls and
//! DeleteAcls.
//!
//! Without an authorizer the answer is SECURITY_DISABLED with Kafka's own message. Listing
//! needs DESCRIBE on the cluster, as in Kafka; changing needs ALTER.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{str_bytes, Cx};
use crate::auth::acl::{
    Binding, Filter, Operation, Resource, ANY, MATCH, OPERATIONS, PATTERN_TYPES, PERMISSIONS, RESOURCE_TYPES,
};

/// An ACL request refused as a whole: Kafka's error and message.
pub(super) type Refusal = (ResponseError, String);

/// Whether the ACL APIs may be used at all, and by this user for `operation` on the cluster.
pub(super) fn gate(cx: &Cx<'_>, operation: Operation) -> Result<(), Refusal> {
    if !cx.broker.config.acls.enabled {
        return Err((
            ResponseError::SecurityDisabled,
            "No Authorizer is configured on the broker".into(),
        ));
    }
    if !cx.access().allows(operation, Resource::Cluster) {
        let what = if operation == Operation::Describe {
            "describe"
        } else {
            "alter"
        };
        return Err((
            ResponseError::ClusterAuthorizationFailed,
            format!("not authorized to {what} the cluster's ACLs"),
        ));
    }
    Ok(())
}

/// The fields of an `AclBindingFilter` as DescribeAcls and each filter of DeleteAcls carry them,
/// under the same names: (resource type, name, pattern type), (principal, host, operation,
/// permission).
type FilterFields<'a> = (
    (i8, Option<&'a StrBytes>, i8),
    (Option<&'a StrBytes>, Option<&'a StrBytes>, i8, i8),
);

/// A message that carries an `AclBindingFilter`'s fields.
pub(super) trait HasFilter {
    fn fields(&self) -> FilterFields<'_>;
}

macro_rules! has_filter {
    ($($t:ty),*) => {
        $(impl HasFilter for $t {
            fn fields(&self) -> FilterFields<'_> {
                (
                    (self.resource_type_filter, self.resource_name_filter.as_ref(), self.pattern_type_filter),
                    (self.principal_filter.as_ref(), self.host_filter.as_ref(), self.operation, self.permission_type),
                )
            }
        })*
    };
}
has_filter!(
    DescribeAclsRequest,
    kafka_protocol::messages::delete_acls_request::DeleteAclsFilter
);

/// Kafka's `AclBindingFilter` from a request's fields. Like Kafka, a code it does not know is
/// refused.
pub(super) fn filter(wanted: &impl HasFilter) -> Result<Filter<'_>, Refusal> {
    let ((resource_type, name, pattern_type), (principal, host, operation, permission)) = wanted.fields();
    // ANY (1) in every field, MATCH (2) as a pattern type, or a code of the field's table.
    let known = |table: &[(i8, &str)], code: i8| code == ANY || table.iter().any(|(c, _)| *c == code);
    if !(known(RESOURCE_TYPES, resource_type)
        && (pattern_type == MATCH || known(PATTERN_TYPES, pattern_type))
        && known(OPERATIONS, operation)
        && known(PERMISSIONS, permission))
    {
        return Err((
            ResponseError::InvalidRequest,
            "The AclBindingFilter must not contain UNKNOWN elements.".into(),
        ));
    }
    Ok(Filter {
        resource_type,
        name: name.map(|n| n.as_str()),
        pattern_type,
        principal: principal.map(|p| p.as_str()),
        host: host.map(|h| h.as_str()),
        operation,
        permission,
    })
}

/// Every binding, broker.toml's first, then the created ones.
pub(super) fn all_bindings(cx: &Cx<'_>) -> Vec<Binding> {
    let mut all = cx.broker.config.acls.bindings.clone();
    cx.broker.acls.read(|created| all.extend_from_slice(created));
    all
}

pub async fn handle(cx: &Cx<'_>, request: DescribeAclsRequest) -> DescribeAclsResponse {
    let mut response = DescribeAclsResponse::default();
    let f = gate(cx, Operation::Describe).and_then(|()| filter(&request));
    let f = match f {
        Ok(f) => f,
        Err((code, message)) => {
            response.error_code = code.code();
            response.error_message = Some(str_bytes(message));
            return response;
        }
    };
    let mut resources: BTreeMap<(i8, String, i8), Vec<AclDescription>> = BTreeMap::new();
    for b in all_bindings(cx).into_iter().filter(|b| f.matches(b)) {
        let (name, pattern_type) = b.pattern.kafka();
        let mut acl = AclDescription::default();
        acl.principal = str_bytes(b.principal.clone());
        acl.host = str_bytes(b.host.clone());
        acl.operation = b.operation;
        acl.permission_type = b.permission;
        let entries = resources
            .entry((b.resource_type, name.to_string(), pattern_type))
            .or_default();
        if !entries.contains(&acl) {
            entries.push(acl);
        }
    }
    response.resources = resources
        .into_iter()
        .map(|((resource_type, name, pattern_type), acls)| {
            let mut r = DescribeAclsResource::default();
            r.resource_type = resource_type;
            r.resource_name = str_bytes(name);
            r.pattern_type = pattern_type;
            r.acls = acls;
            r
        })
        .collect();
    response
}
