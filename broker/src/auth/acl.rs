//! Who may do what once authenticated: Kafka's ACL model and its authorizer's decision.
//!
//! A permission is a **binding**, as Kafka has it: a resource pattern (a type, a name, LITERAL
//! or PREFIXED) and an entry (a principal, a host, an operation, ALLOW or DENY). Bindings come
//! from two places: the grants of `[acls.<user>]` in broker.toml (below), and CreateAcls
//! (`kafka-acls --add`), which the broker keeps in its data directory (`cluster::acls`).
//!
//! The authorizer is on when broker.toml turns it on: `authorizer.class.name` set to Kafka's
//! StandardAuthorizer, any `[acls.<user>]` table, or `super.users`. Off, everything is allowed
//! and the ACL APIs answer SECURITY_DISABLED, as Kafka without an authorizer does. On, a request
//! is decided as Kafka's StandardAuthorizer decides it:
//! 1. a super user may do anything;
//! 2. among the bindings whose pattern covers the resource, a DENY that applies to the
//!    principal, host and operation refuses, whatever allows it;
//! 3. else an ALLOW that applies allows: an ALLOW of READ, WRITE, DELETE or ALTER also allows
//!    DESCRIBE, and one of ALTER_CONFIGS also DESCRIBE_CONFIGS; ALL is every operation;
//! 4. else, when no binding at all covers the resource, `allow.everyone.if.no.acl.found`
//!    decides (false unless set); otherwise the request is refused.
//!
//! Principals are `User:<name>` (`User:*` is everyone); clients of a listener without SASL are
//! `User:ANONYMOUS`, as in Kafka. Hosts are the client's IP address, or `*`.
//!
//! The grants of broker.toml (`produce = [...]` and the others) become ALLOW bindings: `grants`.
//!
//! A name pattern `p` is a glob: `metrics` and `*` (Kafka's wildcard) are LITERAL names,
//! `metrics-*` a PREFIXED one. Kafka has no pattern type for other globs (`a*b`, `metric?`):
//! they match as globs and are listed as literal names spelt as the glob.
//!
//! Codes and names: [ResourceType](https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/resource/ResourceType.java),
//! [PatternType](https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/resource/PatternType.java),
//! [AclOperation](https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/acl/AclOperation.java),
//! [AclPermissionType](https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/acl/AclPermissionType.java).

use glob::Pattern;

/// Kafka's wildcard codes in filters: ANY for every field, MATCH for pattern types (whatever
/// pattern would apply to the name).
pub const ANY: i8 = 1;
pub const MATCH: i8 = 2;

/// Kafka's `ResourceType` codes and names (UNKNOWN 0 and ANY 1 are not resources).
pub const TOPIC: i8 = 2;
pub const GROUP: i8 = 3;
pub const CLUSTER: i8 = 4;
pub const TRANSACTIONAL_ID: i8 = 5;
pub const RESOURCE_TYPES: &[(i8, &str)] = &[
    (TOPIC, "TOPIC"),
    (GROUP, "GROUP"),
    (CLUSTER, "CLUSTER"),
    (TRANSACTIONAL_ID, "TRANSACTIONAL_ID"),
    (6, "DELEGATION_TOKEN"),
    (7, "USER"),
];

/// Kafka's `PatternType` codes and names of a stored binding.
pub const LITERAL: i8 = 3;
pub const PREFIXED: i8 = 4;
pub const PATTERN_TYPES: &[(i8, &str)] = &[(LITERAL, "LITERAL"), (PREFIXED, "PREFIXED")];

/// Kafka's `AclOperation` codes and names (UNKNOWN 0 and ANY 1 are not operations).
pub const ALL: i8 = 2;
pub const OPERATIONS: &[(i8, &str)] = &[
    (ALL, "ALL"),
    (3, "READ"),
    (4, "WRITE"),
    (5, "CREATE"),
    (6, "DELETE"),
    (7, "ALTER"),
    (8, "DESCRIBE"),
    (9, "CLUSTER_ACTION"),
    (10, "DESCRIBE_CONFIGS"),
    (11, "ALTER_CONFIGS"),
    (12, "IDEMPOTENT_WRITE"),
    (13, "CREATE_TOKENS"),
    (14, "DESCRIBE_TOKENS"),
    (15, "TWO_PHASE_COMMIT"),
];

/// Kafka's `AclPermissionType` codes and names.
pub const DENY: i8 = 2;
pub const ALLOW: i8 = 3;
pub const PERMISSIONS: &[(i8, &str)] = &[(DENY, "DENY"), (ALLOW, "ALLOW")];

/// The cluster resource's one name in Kafka.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The name of `code` in `table`, or None for a code it does not hold.
pub fn name_of(table: &[(i8, &'static str)], code: i8) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The code of `name` in `table`.
pub fn code_of(table: &[(i8, &str)], name: &str) -> Option<i8> {
    table.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

/// What a request wants to do: Kafka's operations a request can ask for (its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
}

impl Operation {
    pub fn code(self) -> i8 {
        self as i8
    }

    /// The operation of `code`, for the operations a request can ask for.
    pub fn from_code(code: i8) -> Option<Operation> {
        use Operation::*;
        [
            Read,
            Write,
            Create,
            Delete,
            Alter,
            Describe,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
        ]
        .into_iter()
        .find(|o| o.code() == code)
    }
}

/// What a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    Topic(&'a str),
    Group(&'a str),
    Cluster,
    TransactionalId(&'a str),
}

impl Resource<'_> {
    pub fn resource_type(&self) -> i8 {
        match self {
            Resource::Topic(_) => TOPIC,
            Resource::Group(_) => GROUP,
            Resource::Cluster => CLUSTER,
            Resource::TransactionalId(_) => TRANSACTIONAL_ID,
        }
    }

    /// The operations Kafka reports as authorized for this type of resource (KIP-430).
    pub fn operations(&self) -> &'static [Operation] {
        use Operation::*;
        match self {
            Resource::Topic(_) => &[
                Read,
                Write,
                Create,
                Delete,
                Alter,
                Describe,
                DescribeConfigs,
                AlterConfigs,
            ],
            Resource::Group(_) => &[Read, Delete, Describe, DescribeConfigs, AlterConfigs],
            Resource::TransactionalId(_) => &[Write, Describe],
            Resource::Cluster => &[
                Create,
                Alter,
                Describe,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
            ],
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Resource::Topic(name) | Resource::Group(name) | Resource::TransactionalId(name) => name,
            Resource::Cluster => CLUSTER_NAME,
        }
    }
}

/// The names a binding covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NamePattern {
    /// The name itself; `*` is every name.
    Literal(String),
    /// Every name that starts with it.
    Prefixed(String),
    /// A glob of broker.toml that is neither (`a*b`), shown as a literal name.
    Glob(Pattern),
}

impl NamePattern {
    /// A pattern of broker.toml: LITERAL, PREFIXED (`name-*`) or a glob.
    pub fn from_glob(glob: &str) -> Option<NamePattern> {
        let special = |c: char| matches!(c, '*' | '?' | '[' | ']');
        if glob == "*" || !glob.contains(special) {
            return Some(NamePattern::Literal(glob.to_string()));
        }
        match glob.strip_suffix('*') {
            Some(prefix) if !prefix.is_empty() && !prefix.contains(special) => {
                Some(NamePattern::Prefixed(prefix.to_string()))
            }
            _ => Pattern::new(glob).ok().map(NamePattern::Glob),
        }
    }

    /// As Kafka describes it: (name, pattern type).
    pub fn kafka(&self) -> (&str, i8) {
        match self {
            NamePattern::Literal(name) => (name, LITERAL),
            NamePattern::Prefixed(prefix) => (prefix, PREFIXED),
            NamePattern::Glob(glob) => (glob.as_str(), LITERAL),
        }
    }

    pub fn covers(&self, name: &str) -> bool {
        match self {
            NamePattern::Literal(n) => n == name || n == "*",
            NamePattern::Prefixed(prefix) => name.starts_with(prefix.as_str()),
            NamePattern::Glob(glob) => glob.matches(name),
        }
    }
}

/// One ACL binding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Binding {
    pub resource_type: i8,
    pub pattern: NamePattern,
    /// `User:<name>`, or `User:*` for everyone.
    pub principal: String,
    /// An IP address, or `*` for any.
    pub host: String,
    pub operation: i8,
    pub permission: i8,
}

impl Binding {
    fn covers(&self, resource: &Resource<'_>) -> bool {
        self.resource_type == resource.resource_type() && self.pattern.covers(resource.name())
    }

    /// Whether the entry applies to `principal` (`User:<name>`) from `host` doing `operation`.
    fn applies(&self, principal: &str, host: &str, operation: Operation) -> bool {
        let asked = operation.code();
        let implied = self.permission == ALLOW
            && match operation {
                Operation::Describe => [3, 4, 6, 7].contains(&self.operation),
                Operation::DescribeConfigs => self.operation == 11,
                _ => false,
            };
        (self.principal == "User:*" || self.principal == principal)
            && (self.host == "*" || self.host == host)
            && (self.operation == ALL || self.operation == asked || implied)
    }
}

/// Kafka's `AclBindingFilter`: which bindings DescribeAcls lists and DeleteAcls removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<'a> {
    pub resource_type: i8,
    pub name: Option<&'a str>,
    pub pattern_type: i8,
    pub principal: Option<&'a str>,
    pub host: Option<&'a str>,
    pub operation: i8,
    pub permission: i8,
}

impl Filter<'_> {
    pub fn matches(&self, b: &Binding) -> bool {
        let (name, pattern_type) = b.pattern.kafka();
        let name_matches = match (self.name, self.pattern_type) {
            (None, _) => true,
            // What would apply to the name: the literal itself, the wildcard, a covering prefix.
            (Some(wanted), MATCH) => match &b.pattern {
                NamePattern::Literal(n) => n == wanted || n == "*",
                NamePattern::Prefixed(prefix) => wanted.starts_with(prefix.as_str()),
                NamePattern::Glob(glob) => glob.matches(wanted),
            },
            (Some(wanted), _) => name == wanted,
        };
        let pattern_matches = matches!(self.pattern_type, ANY | MATCH) || self.pattern_type == pattern_type;
        (self.resource_type == ANY || self.resource_type == b.resource_type)
            && name_matches
            && pattern_matches
            && self.principal.is_none_or(|p| p == b.principal)
            && self.host.is_none_or(|h| h == b.host)
            && (self.operation == ANY || self.operation == b.operation)
            && (self.permission == ANY || self.permission == b.permission)
    }
}

/// The authorizer's settings from broker.toml and the bindings of its grants.
#[derive(Debug, Clone, Default)]
pub struct Acls {
    /// Whether there is an authorizer at all; when false everything is allowed.
    pub enabled: bool,
    /// Kafka's `allow.everyone.if.no.acl.found`.
    pub allow_if_no_acl: bool,
    /// User names (without `User:`) that may do anything.
    pub super_users: Vec<String>,
    /// The grants of `[acls.<user>]` as bindings, sorted.
    pub bindings: Vec<Binding>,
}

impl Acls {
    /// Kafka's decision (module notes) for `user` from `host` over broker.toml's bindings and
    /// `created`, the ones CreateAcls added.
    pub fn allows(
        &self,
        created: &[Binding],
        user: &str,
        host: &str,
        operation: Operation,
        resource: Resource<'_>,
    ) -> bool {
        if !self.enabled || self.super_users.iter().any(|u| u == user) {
            return true;
        }
        let principal = format!("User:{user}");
        let mut covered = false;
        let mut allowed = false;
        for b in self.bindings.iter().chain(created).filter(|b| b.covers(&resource)) {
            covered = true;
            if b.applies(&principal, host, operation) {
                if b.permission == DENY {
                    return false;
                }
                allowed |= b.permission == ALLOW;
            }
        }
        allowed || (!covered && self.allow_if_no_acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::grants::grant;

    fn acls(grants: &[(&str, &str, toml::Value)]) -> Acls {
        let mut a = Acls {
            enabled: true,
            super_users: vec!["root".into()],
            ..Default::default()
        };
        for (user, permission, value) in grants {
            grant(&mut a.bindings, user, permission, value).unwrap();
        }
        a
    }

    fn pipeline() -> Acls {
        acls(&[
            ("agent", "produce", toml::Value::from(vec!["metrics"])),
            ("worker", "consume", toml::Value::from(vec!["metrics"])),
            ("worker", "groups", toml::Value::from(vec!["sluice-workers-*"])),
            ("worker", "produce", toml::Value::from(vec!["metrics-dead-letter"])),
            ("exporter", "describe", toml::Value::from(vec!["*"])),
            ("ops", "admin", toml::Value::from(true)),
        ])
    }

    fn deny_all_on(topic: &str) -> Binding {
        Binding {
            resource_type: TOPIC,
            pattern: NamePattern::Literal(topic.into()),
            principal: "User:*".into(),
            host: "*".into(),
            operation: ALL,
            permission: DENY,
        }
    }

    const HOST: &str = "127.0.0.1";

    #[test]
    fn each_grant_allows_its_operations_and_nothing_else() {
        use Operation::*;
        let a = pipeline();
        let can = |user: &str, op, resource| a.allows(&[], user, HOST, op, resource);
        let topic = Resource::Topic("metrics");
        let group = Resource::Group("sluice-workers-archive");
        assert!(can("agent", Write, topic) && can("agent", Create, topic));
        assert!(can("agent", Describe, topic) && can("agent", IdempotentWrite, Resource::Cluster));
        assert!(!can("agent", Read, topic) && !can("agent", Write, Resource::Topic("other")));
        assert!(!can("agent", Read, group) && !can("agent", Alter, Resource::Cluster));
        assert!(can("worker", Read, topic) && can("worker", Read, group));
        assert!(!can("worker", Read, Resource::Group("someone-else")));
        assert!(can("worker", Write, Resource::Topic("metrics-dead-letter")));
        assert!(!can("worker", Write, topic));
        assert!(can("exporter", Describe, topic) && can("exporter", Describe, group));
        assert!(!can("exporter", Read, topic) && !can("exporter", Read, group));
        for admin in ["ops", "root"] {
            assert!(can(admin, Alter, Resource::Cluster) && can(admin, Read, topic));
            assert!(can(admin, Delete, topic) && can(admin, AlterConfigs, Resource::Cluster));
        }
        assert!(!can("stranger", Describe, topic) && !can("ANONYMOUS", Describe, topic));
    }

    #[test]
    fn without_an_authorizer_everything_is_allowed() {
        let a = Acls::default();
        assert!(a.allows(
            &[deny_all_on("x")],
            "ANONYMOUS",
            HOST,
            Operation::Read,
            Resource::Topic("x")
        ));
    }

    #[test]
    fn deny_wins_and_allow_everyone_applies_only_where_no_binding_covers_the_resource() {
        let mut a = acls(&[
            ("agent", "produce", toml::Value::from(vec!["metrics"])),
            ("worker", "consume", toml::Value::from(vec!["metrics"])),
            ("ops", "admin", toml::Value::from(true)),
        ]);
        a.allow_if_no_acl = true;
        let created = [deny_all_on("secret")];
        let can = |user: &str, op, resource| a.allows(&created, user, HOST, op, resource);
        // ops' admin grant covers every topic and group (`*`): ANONYMOUS is refused there.
        assert!(!can("ANONYMOUS", Operation::Write, Resource::Topic("other")));
        a.bindings.retain(|b| !b.principal.ends_with(":ops"));
        let can = |user: &str, op, resource| a.allows(&created, user, HOST, op, resource);
        // Nothing covers `other` or a group: everyone may, as librdkafka's test clusters run.
        assert!(can("ANONYMOUS", Operation::Write, Resource::Topic("other")));
        assert!(can("ANONYMOUS", Operation::Read, Resource::Group("g")));
        // A DENY of ALL to everyone refuses even an ALLOW of ALL; super users are above ACLs.
        let mut allow_all = deny_all_on("*");
        allow_all.permission = ALLOW;
        allow_all.principal = "User:ops".into();
        assert!(a.allows(
            &[allow_all.clone()],
            "ops",
            HOST,
            Operation::Describe,
            Resource::Topic("x")
        ));
        assert!(!a.allows(
            &[allow_all, deny_all_on("x")],
            "ops",
            HOST,
            Operation::Describe,
            Resource::Topic("x")
        ));
        assert!(can("root", Operation::Read, Resource::Topic("secret")));
        // `metrics` is covered by grants, so a user without one is refused despite the setting.
        assert!(!can("ANONYMOUS", Operation::Read, Resource::Topic("metrics")));
        // DENY of one operation leaves the others to the ALLOWs.
        let mut read_denied = deny_all_on("metrics");
        read_denied.operation = Operation::Read.code();
        read_denied.principal = "User:worker".into();
        assert!(!a.allows(
            &[read_denied.clone()],
            "worker",
            HOST,
            Operation::Read,
            Resource::Topic("metrics")
        ));
        assert!(a.allows(
            &[read_denied],
            "worker",
            HOST,
            Operation::Describe,
            Resource::Topic("metrics")
        ));
    }

    #[test]
    fn allow_implies_describe_and_hosts_must_match() {
        let mut alter_configs = deny_all_on("t");
        alter_configs.permission = ALLOW;
        alter_configs.operation = 11;
        alter_configs.principal = "User:bob".into();
        alter_configs.host = "10.0.0.1".into();
        let a = Acls {
            enabled: true,
            ..Default::default()
        };
        let topic = Resource::Topic("t");
        let created = [alter_configs];
        assert!(a.allows(&created, "bob", "10.0.0.1", Operation::DescribeConfigs, topic));
        assert!(!a.allows(&created, "bob", "10.0.0.1", Operation::Describe, topic));
        assert!(!a.allows(&created, "bob", HOST, Operation::AlterConfigs, topic));
        assert!(!a.allows(&created, "alice", "10.0.0.1", Operation::AlterConfigs, topic));
    }

    #[test]
    fn globs_become_literal_prefixed_or_glob_patterns() {
        let p = |g: &str| NamePattern::from_glob(g).unwrap();
        assert_eq!(p("metrics").kafka(), ("metrics", LITERAL));
        assert_eq!(p("*").kafka(), ("*", LITERAL));
        assert_eq!(p("sluice-workers-*").kafka(), ("sluice-workers-", PREFIXED));
        assert_eq!(p("a*b").kafka(), ("a*b", LITERAL));
        assert!(p("a*b").covers("axxb") && !p("a*b").covers("axx"));
        assert!(p("m?-*").covers("mx-1") && !p("m?-*").covers("m-1"));
        assert!(NamePattern::from_glob("[unclosed").is_none());
    }

    #[test]
    fn filters_match_as_kafkas_do() {
        let a = pipeline();
        let filter = |resource_type, name, pattern_type| Filter {
            resource_type,
            name,
            pattern_type,
            principal: None,
            host: None,
            operation: ANY,
            permission: ANY,
        };
        let count = |f: &Filter| a.bindings.iter().filter(|b| f.matches(b)).count();
        assert_eq!(count(&filter(ANY, None, ANY)), a.bindings.len());
        // --topic metrics: that exact name, of any pattern type (agent's 3 and worker's 2).
        assert_eq!(count(&filter(TOPIC, Some("metrics"), ANY)), 5);
        // MATCH: whatever applies to the name, the `*` of exporter and ops included.
        assert_eq!(count(&filter(TOPIC, Some("metrics"), MATCH)), 7);
        assert_eq!(count(&filter(GROUP, Some("sluice-workers-x"), MATCH)), 4);
        assert_eq!(count(&filter(GROUP, Some("sluice-workers-"), PREFIXED)), 2);
        let mut writes = filter(ANY, None, ANY);
        writes.operation = 4;
        writes.principal = Some("User:agent");
        assert_eq!(count(&writes), 1);
        let mut denies = filter(ANY, None, ANY);
        denies.permission = DENY;
        assert_eq!(count(&denies), 0);
    }

    #[test]
    fn bad_grants_say_what_was_expected() {
        let mut b = Vec::new();
        assert!(grant(&mut b, "u", "write", &toml::Value::from(vec!["x"])).is_err());
        assert!(grant(&mut b, "u", "produce", &toml::Value::from("metrics")).is_err());
        assert!(grant(&mut b, "u", "produce", &toml::Value::from(vec!["[unclosed"])).is_err());
        assert!(grant(&mut b, "u", "admin", &toml::Value::from("yes")).is_err());
    }
}
