//! The grants of `[acls.<user>]` as Kafka's ACL bindings, for DescribeAcls (`kafka-acls --list`).
//!
//! Kafka describes permissions as bindings: a resource pattern (type, name, literal or prefixed)
//! and an entry (principal, host, operation, allow or deny). Each sluice grant is the set of
//! bindings below, the same operations [`Acls::allows`] lets it do:
//!
//! | grant | bindings, each ALLOW from any host |
//! |---|---|
//! | `produce = [p]` | TOPIC p: WRITE, CREATE, DESCRIBE; CLUSTER: IDEMPOTENT_WRITE |
//! | `consume = [p]` | TOPIC p: READ, DESCRIBE |
//! | `groups = [p]` | GROUP p: READ, DESCRIBE |
//! | `describe = [p]` | TOPIC p: DESCRIBE; GROUP p: DESCRIBE |
//! | `admin = true` | TOPIC `*`, GROUP `*`, CLUSTER: ALL |
//!
//! A name pattern becomes a LITERAL name (`metrics`, and `*`, Kafka's wildcard) or a PREFIXED one
//! (`metrics-*`). Kafka has no pattern type for any other glob (`a*b`, `metric?`); such a pattern
//! is listed as a literal name spelt as the glob. `super.users` are not bindings in Kafka either
//! (its `super.users` setting), so they are not listed.

use std::collections::BTreeSet;

use super::acl::{Acls, Grants};

/// Kafka's `ResourceType` codes.
pub const TOPIC: i8 = 2;
pub const GROUP: i8 = 3;
pub const CLUSTER: i8 = 4;
/// Kafka's `PatternType` codes.
pub const LITERAL: i8 = 3;
pub const PREFIXED: i8 = 4;
/// Kafka's `AclOperation` codes.
pub const ALL: i8 = 2;
pub const READ: i8 = 3;
pub const WRITE: i8 = 4;
pub const CREATE: i8 = 5;
pub const DESCRIBE: i8 = 8;
pub const IDEMPOTENT_WRITE: i8 = 12;

/// The cluster resource's one name in Kafka.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// One binding: `(resource type, resource name, pattern type)` and `(principal, operation)`;
/// the host is always `*` and the permission always ALLOW.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Binding {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub principal: String,
    pub operation: i8,
}

impl Acls {
    /// Every grant as Kafka bindings, sorted by resource, then principal and operation.
    pub fn bindings(&self) -> Vec<Binding> {
        let mut out = BTreeSet::new();
        for (user, grants) in &self.users {
            user_bindings(&format!("User:{user}"), grants, &mut out);
        }
        out.into_iter().collect()
    }
}

fn user_bindings(principal: &str, g: &Grants, out: &mut BTreeSet<Binding>) {
    let mut add = |resource_type: i8, (name, pattern_type): (String, i8), operation: i8| {
        out.insert(Binding {
            resource_type,
            resource_name: name,
            pattern_type,
            principal: principal.to_string(),
            operation,
        });
    };
    if g.admin {
        for resource_type in [TOPIC, GROUP] {
            add(resource_type, ("*".to_string(), LITERAL), ALL);
        }
        add(CLUSTER, (CLUSTER_NAME.to_string(), LITERAL), ALL);
        return;
    }
    for p in &g.produce {
        for op in [WRITE, CREATE, DESCRIBE] {
            add(TOPIC, kafka_pattern(p.as_str()), op);
        }
    }
    if !g.produce.is_empty() {
        add(CLUSTER, (CLUSTER_NAME.to_string(), LITERAL), IDEMPOTENT_WRITE);
    }
    for p in &g.consume {
        for op in [READ, DESCRIBE] {
            add(TOPIC, kafka_pattern(p.as_str()), op);
        }
    }
    for p in &g.groups {
        for op in [READ, DESCRIBE] {
            add(GROUP, kafka_pattern(p.as_str()), op);
        }
    }
    for p in &g.describe {
        for resource_type in [TOPIC, GROUP] {
            add(resource_type, kafka_pattern(p.as_str()), DESCRIBE);
        }
    }
}

/// A glob as Kafka's (name, pattern type).
fn kafka_pattern(glob: &str) -> (String, i8) {
    let special = |c: char| matches!(c, '*' | '?' | '[' | ']');
    match glob.strip_suffix('*') {
        Some(prefix) if !prefix.is_empty() && !prefix.contains(special) => (prefix.to_string(), PREFIXED),
        _ => (glob.to_string(), LITERAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::acl::{grant, Operation, Resource};

    fn acls(grants: &[(&str, &str, toml::Value)]) -> Acls {
        let mut a = Acls {
            enabled: true,
            ..Default::default()
        };
        for (user, permission, value) in grants {
            grant(a.users.entry(user.to_string()).or_default(), permission, value).unwrap();
        }
        a
    }

    #[test]
    fn globs_become_literal_or_prefixed_names() {
        assert_eq!(kafka_pattern("metrics"), ("metrics".into(), LITERAL));
        assert_eq!(kafka_pattern("*"), ("*".into(), LITERAL));
        assert_eq!(kafka_pattern("sluice-workers-*"), ("sluice-workers-".into(), PREFIXED));
        assert_eq!(kafka_pattern("a*b"), ("a*b".into(), LITERAL));
        assert_eq!(kafka_pattern("m?-*"), ("m?-*".into(), LITERAL));
    }

    #[test]
    fn each_binding_is_something_the_grant_allows() {
        let a = acls(&[
            ("agent", "produce", toml::Value::from(vec!["metrics"])),
            ("worker", "consume", toml::Value::from(vec!["metrics"])),
            ("worker", "groups", toml::Value::from(vec!["sluice-workers-*"])),
            ("exporter", "describe", toml::Value::from(vec!["*"])),
            ("ops", "admin", toml::Value::from(true)),
        ]);
        let bindings = a.bindings();
        assert_eq!(bindings.len(), 4 + 2 + 2 + 2 + 3);
        for b in &bindings {
            let user = b.principal.strip_prefix("User:").unwrap();
            // A name the pattern covers: the literal itself, or the prefix and more.
            let name = match b.pattern_type {
                PREFIXED => format!("{}x", b.resource_name),
                _ if b.resource_name == "*" => "anything".to_string(),
                _ => b.resource_name.clone(),
            };
            let resource = match b.resource_type {
                TOPIC => Resource::Topic(&name),
                GROUP => Resource::Group(&name),
                _ => Resource::Cluster,
            };
            let operation = match b.operation {
                READ => Operation::Read,
                WRITE => Operation::Write,
                CREATE => Operation::Create,
                DESCRIBE => Operation::Describe,
                IDEMPOTENT_WRITE => Operation::IdempotentWrite,
                _ => Operation::Alter,
            };
            assert!(a.allows(user, operation, resource), "{b:?} is not allowed");
        }
        assert!(bindings.contains(&Binding {
            resource_type: GROUP,
            resource_name: "sluice-workers-".into(),
            pattern_type: PREFIXED,
            principal: "User:worker".into(),
            operation: READ,
        }));
    }
}
