//! broker.toml as users write it: every rule of the reader, with the message a mistake gets.

use super::*;

fn parse(text: &str) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
    BrokerConfig::parse(text, Path::new("broker.toml"))
}

#[test]
fn dotted_kafka_names_are_read_unquoted_and_quoted() {
    let (c, _) = parse("log.retention.hours = 1\n\"log.segment.bytes\" = 1024\n").unwrap();
    assert_eq!(c.log.retention_ms, Some(3_600_000));
    assert_eq!(c.log.segment_bytes, 1024);
}

#[test]
fn retention_ms_wins_over_hours_and_negative_means_forever() {
    let (c, _) = parse("log.retention.hours = 5\nlog.retention.ms = 1000\n").unwrap();
    assert_eq!(c.log.retention_ms, Some(1000));
    let (c, _) = parse("log.retention.ms = -1\n").unwrap();
    assert_eq!(c.log.retention_ms, None);
}

#[test]
fn durations_accept_human_strings() {
    let (c, _) = parse("log.retention.check.interval.ms = \"5s\"\n").unwrap();
    assert_eq!(c.retention_check_interval, Duration::from_secs(5));
}

#[test]
fn unknown_key_names_file_and_key() {
    let err = parse("log.segmnt.bytes = 10\n").unwrap_err().to_string();
    assert!(err.contains("broker.toml") && err.contains("log.segmnt.bytes"), "{err}");
}

#[test]
fn bad_value_says_what_was_expected() {
    let err = parse("num.partitions = \"many\"\n").unwrap_err().to_string();
    assert!(
        err.contains("num.partitions") && err.contains("an integer from 1"),
        "{err}"
    );
    let err = parse("auto.create.topics.enable = 3\n").unwrap_err().to_string();
    assert!(err.contains("true or false"), "{err}");
}

#[test]
fn zookeeper_settings_are_accepted_with_a_reason() {
    let (_, warnings) = parse("zookeeper.connect = \"localhost:2181\"\nbroker.id = 0\n").unwrap();
    assert_eq!(warnings.len(), 2);
    assert!(warnings
        .iter()
        .any(|w| w.contains("zookeeper.connect") && w.contains("ZooKeeper")));
    let (_, warnings) = parse(
        "default.replication.factor = 3
offsets.topic.replication.factor = 3
         transaction.state.log.replication.factor = 3
",
    )
    .unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("replication factor is always 1 on one node")),
        "{warnings:?}"
    );
}

#[test]
fn listeners_parse_kafka_urls_and_reject_unsupported_protocols() {
    let (c, _) = parse("listeners = [\"PLAINTEXT://0.0.0.0:19092\"]\n").unwrap();
    assert_eq!(c.listeners, vec![Listener::plaintext("0.0.0.0", 19092)]);
    let (c, _) = parse("listeners = \"PLAINTEXT://:9093\"\n").unwrap();
    assert_eq!(c.listeners[0].host, "0.0.0.0");
    let err = parse("listeners = [\"CLIENT://127.0.0.1:9093\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CLIENT") && err.contains("listener.security.protocol.map"),
        "{err}"
    );
    let (c, _) = parse(
        "listeners = [\"CLIENT://127.0.0.1:9093\"]\n\
         listener.security.protocol.map = \"CLIENT:SASL_PLAINTEXT\"\n",
    )
    .unwrap();
    assert_eq!(
        (c.listeners[0].name.as_str(), c.listeners[0].protocol),
        ("CLIENT", SecurityProtocol::SaslPlaintext)
    );
}

#[test]
fn acls_tables_super_users_and_an_authorizer_turn_authorization_on() {
    use crate::auth::acl::{Operation, Resource};
    let can = |c: &BrokerConfig, user: &str, op: Operation, topic: &str| {
        c.acls.allows(&[], user, "127.0.0.1", op, Resource::Topic(topic))
    };
    let (c, _) = parse("").unwrap();
    assert!(!c.acls.enabled);
    let (c, _) = parse(
        "super.users = \"User:ops;User:root\"\n\
         [acls.agent]\nproduce = [\"metrics\"]\n\
         [acls.\"john.doe\"]\nconsume = [\"metrics-*\"]\ngroups = [\"sluice-workers-*\"]\n",
    )
    .unwrap();
    assert!(c.acls.enabled);
    assert_eq!(c.acls.super_users, ["ops", "root"]);
    assert!(can(&c, "agent", Operation::Write, "metrics"));
    assert!(can(&c, "john.doe", Operation::Read, "metrics-dlq"));
    assert!(!can(&c, "john.doe", Operation::Read, "metrics"));
    let (c, _) = parse("super.users = [\"admin\"]\n").unwrap();
    assert!(c.acls.enabled && !can(&c, "agent", Operation::Describe, "metrics"));
    // Kafka's own settings: an authorizer with no bindings, open where nothing is bound.
    let (c, _) = parse(
        "authorizer.class.name = \"org.apache.kafka.metadata.authorizer.StandardAuthorizer\"\n\
         allow.everyone.if.no.acl.found = true\n",
    )
    .unwrap();
    assert!(c.acls.enabled && c.acls.allow_if_no_acl && c.acls.bindings.is_empty());
    assert!(can(&c, "ANONYMOUS", Operation::Write, "metrics"));
    let (c, _) = parse("authorizer.class.name = \"\"\n").unwrap();
    assert!(!c.acls.enabled);
    let err = parse("authorizer.class.name = \"kafka.security.authorizer.AclAuthorizer\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("authorizer.class.name") && err.contains("StandardAuthorizer"),
        "{err}"
    );
    let err = parse("allow.everyone.if.no.acl.found = \"yes\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("allow.everyone.if.no.acl.found") && err.contains("true or false"),
        "{err}"
    );
    let err = parse("[acls.agent]\nwrite = [\"metrics\"]\n").unwrap_err().to_string();
    assert!(
        err.contains("acls.agent.write") && err.contains("one of produce, consume"),
        "{err}"
    );
    let err = parse("[acls.agent]\nproduce = \"metrics\"\n").unwrap_err().to_string();
    assert!(err.contains("a list of names or glob patterns"), "{err}");
    let err = parse("super.users = 3\n").unwrap_err().to_string();
    assert!(err.contains("super.users"), "{err}");
}

#[test]
fn several_listeners_need_distinct_names_and_ports_and_advertised_names_must_exist() {
    let (c, _) = parse(
        "listeners = [\"PLAINTEXT://127.0.0.1:9092\", \"SASL_PLAINTEXT://0.0.0.0:9093\"]\n\
         advertised.listeners = [\"SASL_PLAINTEXT://broker.example:9093\"]\n",
    )
    .unwrap();
    assert_eq!(c.listeners.len(), 2);
    assert_eq!(c.advertised_listeners.unwrap()[0].host, "broker.example");
    let err = parse("listeners = [\"PLAINTEXT://127.0.0.1:9092\", \"PLAINTEXT://0.0.0.0:9093\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("the name PLAINTEXT twice"), "{err}");
    let err = parse(
        "listener.security.protocol.map = \"A:PLAINTEXT,B:SASL_PLAINTEXT\"\n\
         listeners = [\"A://127.0.0.1:9092\", \"B://0.0.0.0:9092\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("port 9092 twice"), "{err}");
    let err = parse("listeners = [\"PLAINTEXT://127.0.0.1:9092\"]\nadvertised.listeners = [\"SASL_SSL://b:9093\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`advertised.listeners` expects names that appear in `listeners`"),
        "{err}"
    );
}

#[test]
fn tls_listeners_need_a_pem_certificate_and_sasl_mechanisms_are_checked() {
    let err = parse("listeners = [\"SASL_SSL://127.0.0.1:9093\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ssl.keystore.location") && err.contains("SASL_SSL"),
        "{err}"
    );
    let (c, _) = parse(
        "listeners = [\"SASL_SSL://127.0.0.1:9093\"]\nssl.keystore.location = \"/etc/sluice/broker.pem\"\n\
         sasl.enabled.mechanisms = \"SCRAM-SHA-512\"\nssl.client.auth = \"none\"\n",
    )
    .unwrap();
    assert_eq!(c.tls.keystore, Some(PathBuf::from("/etc/sluice/broker.pem")));
    assert_eq!(c.sasl_mechanisms, ["SCRAM-SHA-512"]);
    let err = parse("sasl.enabled.mechanisms = [\"GSSAPI\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("GSSAPI") && err.contains("SCRAM-SHA-256"), "{err}");
    let err = parse("ssl.keystore.type = \"JKS\"\n").unwrap_err().to_string();
    assert!(err.contains("ssl.keystore.type") && err.contains("PEM"), "{err}");
    let err = parse("ssl.key.password = \"hunter2\"\n").unwrap_err().to_string();
    assert!(err.contains("ssl.key.password") && !err.contains("hunter2"), "{err}");
    let err = parse("ssl.client.auth = \"required\"\n").unwrap_err().to_string();
    assert!(err.contains("ssl.truststore.location"), "{err}");
}

#[test]
fn the_shipped_example_parses_and_matches_kafkas_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/broker.toml");
    let (c, warnings) = BrokerConfig::load(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let d = BrokerConfig::default();
    assert_eq!((c.listeners, c.data_dir, c.log), (d.listeners, d.data_dir, d.log));
    assert_eq!(c.retention_check_interval, d.retention_check_interval);
    assert_eq!(c.groups, d.groups);
    assert_eq!(c.http_listen, Some(DEFAULT_HTTP_LISTEN));
}

#[test]
fn http_listen_takes_an_address_or_empty_for_off() {
    let (c, _) = parse("sluice.http.listen = \"0.0.0.0:19644\"\n").unwrap();
    assert_eq!(c.http_listen, Some("0.0.0.0:19644".parse().unwrap()));
    let (c, _) = parse("[sluice.http]\nlisten = \"\"\n").unwrap();
    assert_eq!(c.http_listen, None);
    let (c, _) = parse("").unwrap();
    assert_eq!(c.http_listen, Some(DEFAULT_HTTP_LISTEN));
    assert_eq!(
        BrokerConfig::ephemeral(Path::new("d")).http_listen.map(|a| a.port()),
        Some(0)
    );
}

#[test]
fn a_bad_http_listen_names_file_key_and_expectation() {
    for bad in [
        "sluice.http.listen = \"localhost\"",
        "sluice.http.listen = \"127.0.0.1:99999\"",
        "sluice.http.listen = 9644",
    ] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(
            err.starts_with("broker.toml: `sluice.http.listen` expects") && err.contains("127.0.0.1:9644"),
            "{err}"
        );
    }
    let err = parse("sluice.http.listn = \"127.0.0.1:1\"").unwrap_err().to_string();
    assert!(err.contains("unknown setting `sluice.http.listn`"), "{err}");
}

#[test]
fn group_settings_use_kafkas_names() {
    let text = "group.min.session.timeout.ms = 1000\ngroup.initial.rebalance.delay.ms = \"100ms\"\n\
                offsets.retention.minutes = 1\noffsets.topic.num.partitions = 3\ngroup.max.size = 2\n";
    let (c, _) = parse(text).unwrap();
    assert_eq!(c.groups.min_session_timeout, Duration::from_secs(1));
    assert_eq!(c.groups.initial_rebalance_delay, Duration::from_millis(100));
    assert_eq!(c.groups.offsets_retention, Duration::from_secs(60));
    assert_eq!((c.groups.offsets_topic_partitions, c.groups.max_size), (3, 2));
    let err = parse("group.min.session.timeout.ms = 9000\ngroup.max.session.timeout.ms = 8000\n").unwrap_err();
    assert!(err.to_string().contains("group.max.session.timeout.ms"), "{err}");
}

#[test]
fn syntax_errors_name_the_file() {
    let err = parse("listeners = [").unwrap_err().to_string();
    assert!(err.starts_with("broker.toml: not valid TOML"), "{err}");
}

#[test]
fn listeners_are_described_by_their_own_names() {
    let config = BrokerConfig {
        listeners: vec![
            Listener::plaintext("127.0.0.1", 9092),
            Listener {
                name: "SASL_SSL".into(),
                protocol: SecurityProtocol::SaslSsl,
                host: "0.0.0.0".into(),
                port: 9094,
            },
        ],
        ..BrokerConfig::default()
    };
    let listeners = describe(&config).into_iter().find(|e| e.name == "listeners").unwrap();
    assert_eq!(listeners.value, "PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9094");
}
