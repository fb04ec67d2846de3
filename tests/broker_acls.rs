//! Per-user permissions on a SASL listener, seen through librdkafka as the pipeline's own users
//! would meet them: the agent may only produce to `metrics`, a worker only consume it in its
//! groups (and write dead letters), the exporter only describe, `ops` everything. Each refusal
//! is Kafka's authorization error code and leaves nothing behind.

use std::time::Duration;

use broker::config::SecurityProtocol;
use broker::{BrokerConfig, Listener};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

mod support;

const USERS: [&str; 5] = ["agent", "worker", "exporter", "ops", "stranger"];

const ACLS: &str = r#"
super.users = ["ops"]
[acls.agent]
produce = ["metrics"]
[acls.worker]
consume = ["metrics"]
groups = ["sluice-workers-*"]
produce = ["metrics-dead-letter"]
[acls.exporter]
describe = ["*"]
"#;

fn client(bootstrap: &str, user: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanisms", "SCRAM-SHA-512")
        .set("sasl.username", user)
        .set("sasl.password", format!("{user}-pw"))
        .set("log_level", "3");
    c
}

async fn produce(bootstrap: &str, user: &str, topic: &str) -> Result<(), KafkaError> {
    produce_as(client(bootstrap, user).set("enable.idempotence", "true").clone(), topic).await
}

/// One record to `topic` by a producer of `config`.
async fn produce_as(mut config: ClientConfig, topic: &str) -> Result<(), KafkaError> {
    let producer: FutureProducer = config.set("message.timeout.ms", "10000").create().unwrap();
    producer
        .send(
            FutureRecord::<str, str>::to(topic).payload("cpu usage_idle=1"),
            Duration::from_secs(10),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
}

/// Polls `consumer` until a record or an error arrives.
fn first(consumer: &BaseConsumer) -> Result<String, KafkaError> {
    for _ in 0..100 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => return Ok(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned()),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    panic!("neither a record nor an error within 10 s");
}

fn code(e: &KafkaError) -> Option<RDKafkaErrorCode> {
    e.rdkafka_error_code()
}

/// A broker on one SASL_PLAINTEXT listener with the users of [`USERS`] and the grants of [`ACLS`].
async fn secured_broker(dir: &std::path::Path) -> broker::RunningBroker {
    secured_broker_with(dir, "").await
}

/// [`secured_broker`] with `settings` (top-level broker.toml lines) before the grants.
async fn secured_broker_with(dir: &std::path::Path, settings: &str) -> broker::RunningBroker {
    let users_file = dir.join(broker::auth::users::FILE_NAME);
    for user in USERS {
        broker::auth::users::add(&users_file, user, &format!("{user}-pw")).unwrap();
    }
    let config_file = dir.join("broker.toml");
    std::fs::write(&config_file, format!("{settings}\n{ACLS}")).unwrap();
    let (mut config, _) = BrokerConfig::load(&config_file).unwrap();
    config.data_dir = dir.to_path_buf();
    config.http_listen = None;
    config.listeners = vec![Listener {
        name: "SASL_PLAINTEXT".into(),
        protocol: SecurityProtocol::SaslPlaintext,
        host: "127.0.0.1".into(),
        port: 0,
    }];
    broker::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_may_do_what_its_grants_say_and_gets_kafkas_error_code_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let running = secured_broker(dir.path()).await;
    running.ensure_topic("metrics", 1).unwrap();
    running.ensure_topic("other", 1).unwrap();
    let b = running.bootstrap();

    // The agent writes to metrics (idempotently) and nowhere else.
    produce(&b, "agent", "metrics").await.unwrap();
    let refused = produce(&b, "agent", "other").await.unwrap_err();
    assert_eq!(
        code(&refused),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{refused}"
    );
    // Nor may it read: it has no group to read in; and a worker, which has one, may still
    // read only the topics it may consume.
    let agent_reader: BaseConsumer = client(&b, "agent")
        .set("group.id", "sluice-workers-x")
        .create()
        .unwrap();
    agent_reader.subscribe(&["metrics"]).unwrap();
    let refused = tokio::task::block_in_place(|| first(&agent_reader)).unwrap_err();
    assert_eq!(
        code(&refused),
        Some(RDKafkaErrorCode::GroupAuthorizationFailed),
        "{refused}"
    );
    let worker_elsewhere: BaseConsumer = client(&b, "worker")
        .set("group.id", "sluice-workers-x")
        .create()
        .unwrap();
    worker_elsewhere.subscribe(&["other"]).unwrap();
    let refused = tokio::task::block_in_place(|| first(&worker_elsewhere)).unwrap_err();
    assert_eq!(
        code(&refused),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{refused}"
    );
    let admin = |user: &str| -> AdminClient<DefaultClientContext> { client(&b, user).create().unwrap() };
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let created = admin("agent")
        .create_topics(&[NewTopic::new("sneaky", 1, TopicReplication::Fixed(1))], &opts)
        .await
        .unwrap();
    assert!(
        matches!(&created[0], Err((_, RDKafkaErrorCode::TopicAuthorizationFailed))),
        "{created:?}"
    );

    // The worker consumes metrics in its own group, and only there.
    let worker: BaseConsumer = client(&b, "worker")
        .set("group.id", "sluice-workers-archive")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    worker.subscribe(&["metrics"]).unwrap();
    assert_eq!(
        tokio::task::block_in_place(|| first(&worker)).unwrap(),
        "cpu usage_idle=1"
    );
    tokio::task::block_in_place(|| worker.commit_consumer_state(rdkafka::consumer::CommitMode::Sync)).unwrap();
    let intruder: BaseConsumer = client(&b, "worker")
        .set("group.id", "someone-else")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    intruder.subscribe(&["metrics"]).unwrap();
    let refused = tokio::task::block_in_place(|| first(&intruder)).unwrap_err();
    assert_eq!(
        code(&refused),
        Some(RDKafkaErrorCode::GroupAuthorizationFailed),
        "{refused}"
    );
    // Producing creates the dead-letter topic: a produce grant lets it be auto-created.
    produce(&b, "worker", "metrics-dead-letter").await.unwrap();

    // The exporter sees topics and groups but may not read records.
    let exporter: BaseConsumer = client(&b, "exporter").create().unwrap();
    let md = tokio::task::block_in_place(|| exporter.fetch_metadata(None, Duration::from_secs(10))).unwrap();
    let mut topics: Vec<&str> = md.topics().iter().map(|t| t.name()).collect();
    topics.sort();
    assert!(topics.contains(&"metrics") && topics.contains(&"other"), "{topics:?}");
    let groups = tokio::task::block_in_place(|| exporter.fetch_group_list(None, Duration::from_secs(10))).unwrap();
    assert!(groups.groups().iter().any(|g| g.name() == "sluice-workers-archive"));

    // A user without grants sees nothing; the agent sees only its topic.
    for (user, expected) in [("stranger", vec![]), ("agent", vec!["metrics"])] {
        let c: BaseConsumer = client(&b, user).create().unwrap();
        let md = tokio::task::block_in_place(|| c.fetch_metadata(None, Duration::from_secs(10))).unwrap();
        let seen: Vec<&str> = md.topics().iter().map(|t| t.name()).collect();
        assert_eq!(seen, expected, "{user}");
    }

    // ops, a super user, may do anything.
    let created = admin("ops")
        .create_topics(&[NewTopic::new("by-ops", 1, TopicReplication::Fixed(1))], &opts)
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    // Consumers leave their groups while the broker still answers.
    tokio::task::block_in_place(|| drop((worker, intruder, agent_reader, worker_elsewhere, exporter)));
    running.shutdown().await;
}

/// OAUTHBEARER, where enabled, names its principal by the token's `sub`: librdkafka's own
/// unsecured token for `agent` gets the agent's grants and nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauthbearer_token_acts_for_its_subject() {
    let dir = tempfile::tempdir().unwrap();
    let enabled = r#"sasl.enabled.mechanisms = ["SCRAM-SHA-512", "OAUTHBEARER"]"#;
    let running = secured_broker_with(dir.path(), enabled).await;
    running.ensure_topic("metrics", 1).unwrap();
    running.ensure_topic("other", 1).unwrap();
    let mut oauth = ClientConfig::new();
    oauth
        .set("bootstrap.servers", running.bootstrap())
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanisms", "OAUTHBEARER")
        .set("enable.sasl.oauthbearer.unsecure.jwt", "true")
        .set("sasl.oauthbearer.config", "principal=agent")
        .set("log_level", "3");
    produce_as(oauth.clone(), "metrics").await.unwrap();
    let refused = produce_as(oauth, "other").await.unwrap_err();
    assert_eq!(
        code(&refused),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{refused}"
    );
}

/// Kafka's own `kafka-acls --list` (DescribeAcls) shows the grants as Kafka's bindings to an
/// admin, and refuses everyone else as Kafka does without Describe on the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_acls_lists_the_grants_as_kafka_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let running = secured_broker(dir.path()).await;
    let b = running.bootstrap();
    let list = |user: &str| {
        let props = dir.path().join(format!("{user}.properties"));
        std::fs::write(
            &props,
            format!(
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
                 sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"{user}\" password=\"{user}-pw\";\n"
            ),
        )
        .unwrap();
        let args = [
            "--bootstrap-server",
            &b,
            "--command-config",
            props.to_str().unwrap(),
            "--list",
        ];
        tokio::task::block_in_place(|| support::kafka::kafka_tool("kafka-acls", &args, None))
    };
    let out = list("ops");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=metrics, patternType=LITERAL)`:",
        "(principal=User:agent, host=*, operation=WRITE, permissionType=ALLOW)",
        "(principal=User:worker, host=*, operation=READ, permissionType=ALLOW)",
        "Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=sluice-workers-, patternType=PREFIXED)`:",
        "Current ACLs for resource `ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL)`:",
        "(principal=User:agent, host=*, operation=IDEMPOTENT_WRITE, permissionType=ALLOW)",
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=*, patternType=LITERAL)`:",
        "(principal=User:exporter, host=*, operation=DESCRIBE, permissionType=ALLOW)",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    // super.users are not bindings, in Kafka either.
    assert!(!stdout.contains("User:ops"), "{stdout}");
    let refused = list("exporter");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(printed.contains("ClusterAuthorizationException"), "{printed}");
    running.shutdown().await;
}
