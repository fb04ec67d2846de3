//! The grants of `[acls.<user>]` in broker.toml, read into Kafka ACL bindings (`acl`).
//!
//! The grants of broker.toml, each a set of ALLOW bindings from any host:
//!
//! | grant | lets the user | bindings |
//! |---|---|---|
//! | `produce = [p]` | write to the topics (and create them by producing), idempotently | TOPIC p: WRITE, CREATE, DESCRIBE; CLUSTER: IDEMPOTENT_WRITE |
//! | `consume = [p]` | fetch from the topics | TOPIC p: READ, DESCRIBE |
//! | `groups = [p]` | join, commit in and read the offsets of the groups | GROUP p: READ, DESCRIBE |
//! | `describe = [p]` | see topics and groups: metadata, offsets, members | TOPIC p: DESCRIBE; GROUP p: DESCRIBE |
//! | `admin = true` | everything, as a `super.users` entry does | TOPIC `*`, GROUP `*`, TRANSACTIONAL_ID `*`, CLUSTER: ALL |

use super::acl::{Binding, NamePattern, Operation, ALL, ALLOW, CLUSTER, CLUSTER_NAME, GROUP, TOPIC, TRANSACTIONAL_ID};

/// Reads one grant of `[acls.<user>]` into `user`'s bindings; Err is what was expected.
pub fn grant(
    bindings: &mut Vec<Binding>,
    user: &str,
    permission: &str,
    value: &toml::Value,
) -> Result<(), &'static str> {
    const LIST: &str = "a list of names or glob patterns such as [\"metrics\", \"metrics-*\"]";
    let mut add = |resource_type: i8, pattern: NamePattern, operation: i8| {
        let b = Binding {
            resource_type,
            pattern,
            principal: format!("User:{user}"),
            host: "*".to_string(),
            operation,
            permission: ALLOW,
        };
        if !bindings.contains(&b) {
            bindings.push(b);
        }
    };
    let cluster = || NamePattern::Literal(CLUSTER_NAME.to_string());
    let everything = || NamePattern::Literal("*".to_string());
    if permission == "admin" {
        if value.as_bool().ok_or("true or false")? {
            add(TOPIC, everything(), ALL);
            add(GROUP, everything(), ALL);
            add(CLUSTER, cluster(), ALL);
            add(TRANSACTIONAL_ID, everything(), ALL);
        }
        return Ok(());
    }
    let grants: &[(i8, i8)] = match permission {
        "produce" => &[(TOPIC, 4), (TOPIC, 5), (TOPIC, 8)],
        "consume" => &[(TOPIC, 3), (TOPIC, 8)],
        "groups" => &[(GROUP, 3), (GROUP, 8)],
        "describe" => &[(TOPIC, 8), (GROUP, 8)],
        _ => return Err("one of produce, consume, groups, describe or admin"),
    };
    let items = value.as_array().ok_or(LIST)?;
    for item in items {
        let pattern = item.as_str().and_then(NamePattern::from_glob).ok_or(LIST)?;
        for (resource_type, operation) in grants {
            add(*resource_type, pattern.clone(), *operation);
        }
    }
    if permission == "produce" && !items.is_empty() {
        add(CLUSTER, cluster(), Operation::IdempotentWrite.code());
    }
    Ok(())
}
