//! Who may do what once authenticated: per-user grants from `[acls.<user>]` in broker.toml.
//!
//! Authorization is off until the file grants something (any `[acls.*]` table or
//! `super.users`): then a user may do only what its table allows, and a user without a table
//! nothing. Clients of a listener without SASL act as `ANONYMOUS`, as in Kafka.
//!
//! | grant | lets the user |
//! |---|---|
//! | `produce = [topics]` | write to the topics (and create them by producing), idempotently |
//! | `consume = [topics]` | fetch from the topics |
//! | `groups = [groups]` | join, commit in and read the offsets of the groups |
//! | `describe = [names]` | see topics and groups of these names: metadata, offsets, members |
//! | `admin = true` | everything, as a `super.users` entry does |
//!
//! Names are glob patterns (`metrics`, `metrics-*`, `*`). A topic one may produce to or consume
//! from may also be described; a group one may use, too.

use std::collections::BTreeMap;

use glob::Pattern;

/// What a request wants to do, in Kafka's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Write,
    Read,
    Describe,
    /// Create a topic by producing to or asking metadata for it (auto-creation).
    Create,
    /// Create, delete or change topics and partitions, delete groups, read broker configs.
    Alter,
    /// InitProducerId for an idempotent producer.
    IdempotentWrite,
}

/// What a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    Topic(&'a str),
    Group(&'a str),
    Cluster,
}

/// One user's grants.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub produce: Vec<Pattern>,
    pub consume: Vec<Pattern>,
    pub groups: Vec<Pattern>,
    pub describe: Vec<Pattern>,
    pub admin: bool,
}

/// Every user's grants; `enabled` is false when the config grants nothing (all allowed).
#[derive(Debug, Clone, Default)]
pub struct Acls {
    pub enabled: bool,
    pub super_users: Vec<String>,
    pub users: BTreeMap<String, Grants>,
}

fn matches(patterns: &[Pattern], name: &str) -> bool {
    patterns.iter().any(|p| p.matches(name))
}

impl Acls {
    pub fn allows(&self, principal: &str, operation: Operation, resource: Resource<'_>) -> bool {
        if !self.enabled || self.super_users.iter().any(|u| u == principal) {
            return true;
        }
        let Some(g) = self.users.get(principal) else {
            return false;
        };
        if g.admin {
            return true;
        }
        match (operation, resource) {
            (Operation::Write | Operation::Create, Resource::Topic(t)) => matches(&g.produce, t),
            (Operation::Read, Resource::Topic(t)) => matches(&g.consume, t),
            (Operation::Describe, Resource::Topic(t)) => {
                matches(&g.produce, t) || matches(&g.consume, t) || matches(&g.describe, t)
            }
            (Operation::Read, Resource::Group(name)) => matches(&g.groups, name),
            (Operation::Describe, Resource::Group(name)) => matches(&g.groups, name) || matches(&g.describe, name),
            (Operation::IdempotentWrite, Resource::Cluster) => !g.produce.is_empty(),
            _ => false,
        }
    }
}

/// Parses one grant of `[acls.<user>]`; Err is what was expected.
pub fn grant(grants: &mut Grants, permission: &str, value: &toml::Value) -> Result<(), &'static str> {
    const LIST: &str = "a list of names or glob patterns such as [\"metrics\", \"metrics-*\"]";
    if permission == "admin" {
        grants.admin = value.as_bool().ok_or("true or false")?;
        return Ok(());
    }
    let target = match permission {
        "produce" => &mut grants.produce,
        "consume" => &mut grants.consume,
        "groups" => &mut grants.groups,
        "describe" => &mut grants.describe,
        _ => return Err("one of produce, consume, groups, describe or admin"),
    };
    for item in value.as_array().ok_or(LIST)? {
        let pattern = item.as_str().and_then(|s| Pattern::new(s).ok()).ok_or(LIST)?;
        target.push(pattern);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acls() -> Acls {
        let mut users = BTreeMap::new();
        let mut agent = Grants::default();
        grant(&mut agent, "produce", &toml::Value::from(vec!["metrics"])).unwrap();
        let mut worker = Grants::default();
        grant(&mut worker, "consume", &toml::Value::from(vec!["metrics"])).unwrap();
        grant(&mut worker, "groups", &toml::Value::from(vec!["sluice-workers-*"])).unwrap();
        grant(&mut worker, "produce", &toml::Value::from(vec!["metrics-dead-letter"])).unwrap();
        let mut exporter = Grants::default();
        grant(&mut exporter, "describe", &toml::Value::from(vec!["*"])).unwrap();
        let mut ops = Grants::default();
        grant(&mut ops, "admin", &toml::Value::from(true)).unwrap();
        users.insert("agent".to_string(), agent);
        users.insert("worker".to_string(), worker);
        users.insert("exporter".to_string(), exporter);
        users.insert("ops".to_string(), ops);
        Acls {
            enabled: true,
            super_users: vec!["root".into()],
            users,
        }
    }

    #[test]
    fn each_grant_allows_its_operations_and_nothing_else() {
        use Operation::*;
        let a = acls();
        let topic = Resource::Topic("metrics");
        let group = Resource::Group("sluice-workers-archive");
        assert!(a.allows("agent", Write, topic) && a.allows("agent", Create, topic));
        assert!(a.allows("agent", Describe, topic) && a.allows("agent", IdempotentWrite, Resource::Cluster));
        assert!(!a.allows("agent", Read, topic) && !a.allows("agent", Write, Resource::Topic("other")));
        assert!(!a.allows("agent", Read, group) && !a.allows("agent", Alter, Resource::Cluster));
        assert!(a.allows("worker", Read, topic) && a.allows("worker", Read, group));
        assert!(!a.allows("worker", Read, Resource::Group("someone-else")));
        assert!(a.allows("worker", Write, Resource::Topic("metrics-dead-letter")));
        assert!(!a.allows("worker", Write, topic));
        assert!(a.allows("exporter", Describe, topic) && a.allows("exporter", Describe, group));
        assert!(!a.allows("exporter", Read, topic) && !a.allows("exporter", Read, group));
        for admin in ["ops", "root"] {
            assert!(a.allows(admin, Alter, Resource::Cluster) && a.allows(admin, Read, topic));
        }
        assert!(!a.allows("stranger", Describe, topic) && !a.allows("ANONYMOUS", Describe, topic));
    }

    #[test]
    fn without_grants_everything_is_allowed() {
        let a = Acls::default();
        assert!(a.allows("ANONYMOUS", Operation::Alter, Resource::Cluster));
    }

    #[test]
    fn bad_grants_say_what_was_expected() {
        let mut g = Grants::default();
        assert!(grant(&mut g, "write", &toml::Value::from(vec!["x"])).is_err());
        assert!(grant(&mut g, "produce", &toml::Value::from("metrics")).is_err());
        assert!(grant(&mut g, "produce", &toml::Value::from(vec!["[unclosed"])).is_err());
        assert!(grant(&mut g, "admin", &toml::Value::from("yes")).is_err());
    }
}
