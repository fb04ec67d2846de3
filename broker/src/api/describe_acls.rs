//! DescribeAcls: the grants of broker.toml as Kafka's ACL bindings (`auth::acl_bindings`),
//! filtered as Kafka filters them, for `kafka-acls --list`.
//!
//! A broker that grants nothing has authorization off, which Kafka calls having no authorizer:
//! the answer is SECURITY_DISABLED with Kafka's own message. Listing needs Describe on the
//! cluster, as in Kafka (only `admin` users and `super.users` have it).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::auth::acl_bindings::{Binding, LITERAL, PREFIXED};

/// Kafka's filter wildcards: ANY for resource types, pattern types, operations and permissions;
/// MATCH for a pattern type that also matches wildcard and prefixed patterns covering the name.
const ANY: i8 = 1;
const MATCH: i8 = 2;
const ALLOW: i8 = 3;

pub async fn handle(cx: &Cx<'_>, request: DescribeAclsRequest) -> DescribeAclsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = DescribeAclsResponse::default();
    let acls = &broker.config.acls;
    if !acls.enabled {
        response.error_code = ResponseError::SecurityDisabled.code();
        response.error_message = Some(str_bytes("No Authorizer is configured on the broker"));
        return response;
    }
    if !access.allows(Operation::Describe, Resource::Cluster) {
        response.error_code = ResponseError::ClusterAuthorizationFailed.code();
        response.error_message = Some(str_bytes("not authorized to describe the cluster's ACLs"));
        return response;
    }
    let mut resources: BTreeMap<(i8, String, i8), Vec<AclDescription>> = BTreeMap::new();
    for b in acls.bindings().into_iter().filter(|b| matches(&request, b)) {
        let mut acl = AclDescription::default();
        acl.principal = str_bytes(b.principal);
        acl.host = str_bytes("*");
        acl.operation = b.operation;
        acl.permission_type = ALLOW;
        resources
            .entry((b.resource_type, b.resource_name, b.pattern_type))
            .or_default()
            .push(acl);
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

/// Kafka's `AclBindingFilter.matches` for the bindings sluice has (every one ALLOW, host `*`).
fn matches(f: &DescribeAclsRequest, b: &Binding) -> bool {
    let name_matches = match (f.resource_name_filter.as_deref(), f.pattern_type_filter) {
        (None, _) => true,
        (Some(name), MATCH) => match b.pattern_type {
            LITERAL => b.resource_name == name || b.resource_name == "*",
            PREFIXED => name.starts_with(b.resource_name.as_str()),
            _ => false,
        },
        (Some(name), _) => b.resource_name == name,
    };
    let pattern_matches = matches!(f.pattern_type_filter, ANY | MATCH) || f.pattern_type_filter == b.pattern_type;
    (f.resource_type_filter == ANY || f.resource_type_filter == b.resource_type)
        && name_matches
        && pattern_matches
        && f.principal_filter.as_deref().is_none_or(|p| p == b.principal)
        && f.host_filter.as_deref().is_none_or(|h| h == "*")
        && (f.operation == ANY || f.operation == b.operation)
        && (f.permission_type == ANY || f.permission_type == ALLOW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::acl_bindings::{GROUP, READ, TOPIC, WRITE};
    use kafka_protocol::protocol::StrBytes;

    fn binding(resource_type: i8, name: &str, pattern_type: i8, operation: i8) -> Binding {
        Binding {
            resource_type,
            resource_name: name.into(),
            pattern_type,
            principal: "User:worker".into(),
            operation,
        }
    }

    fn filter(resource_type: i8, name: Option<&str>, pattern_type: i8) -> DescribeAclsRequest {
        let mut f = DescribeAclsRequest::default();
        f.resource_type_filter = resource_type;
        f.resource_name_filter = name.map(|n| StrBytes::from_string(n.into()));
        f.pattern_type_filter = pattern_type;
        f.principal_filter = None;
        f.host_filter = None;
        f.operation = ANY;
        f.permission_type = ANY;
        f
    }

    #[test]
    fn filters_match_as_kafkas_do() {
        let prefixed = binding(GROUP, "sluice-workers-", PREFIXED, READ);
        let literal = binding(TOPIC, "metrics", LITERAL, READ);
        let wildcard = binding(TOPIC, "*", LITERAL, READ);
        // kafka-acls --list: everything.
        let all = filter(ANY, None, ANY);
        assert!([&prefixed, &literal, &wildcard].iter().all(|b| matches(&all, b)));
        // --topic metrics: that exact name, of any pattern type.
        let exact = filter(TOPIC, Some("metrics"), ANY);
        assert!(matches(&exact, &literal) && !matches(&exact, &wildcard) && !matches(&exact, &prefixed));
        // MATCH: whatever would apply to the name.
        let applies = filter(ANY, Some("sluice-workers-archive"), MATCH);
        assert!(matches(&applies, &prefixed) && !matches(&applies, &literal));
        let applies = filter(TOPIC, Some("metrics"), MATCH);
        assert!(matches(&applies, &literal) && matches(&applies, &wildcard));
        // Operation and principal filters.
        let mut writes = filter(ANY, None, ANY);
        writes.operation = WRITE;
        assert!(!matches(&writes, &literal));
        let mut someone = filter(ANY, None, ANY);
        someone.principal_filter = Some(StrBytes::from_static_str("User:agent"));
        assert!(!matches(&someone, &literal));
    }
}
