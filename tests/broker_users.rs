//! Users managed with Kafka's own tool: `kafka-configs --entity-type users` adds, describes and
//! removes SCRAM credentials on the bundled broker (AlterUserScramCredentials and
//! DescribeUserScramCredentials), and the credential it adds is the one a client then logs in
//! with, through librdkafka, without a restart. The password never reaches the broker: the tool
//! salts and hashes it.

use std::time::Duration;

use broker::config::SecurityProtocol;
use broker::{BrokerConfig, Listener};
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

mod support;

use support::kafka::kafka_tool_ok;

/// Whether `user` with `password` gets through SCRAM-SHA-256 and a metadata request.
fn logs_in(bootstrap: &str, user: &str, password: &str) -> bool {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanisms", "SCRAM-SHA-256")
        .set("sasl.username", user)
        .set("sasl.password", password)
        .set("log_level", "0")
        .create()
        .unwrap();
    admin.inner().fetch_metadata(None, Duration::from_secs(5)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_configs_manages_scram_users_that_clients_then_log_in_as() {
    let dir = tempfile::tempdir().unwrap();
    broker::auth::users::add(&dir.path().join(broker::auth::users::FILE_NAME), "admin", "admin-pw").unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    config.http_listen = None;
    config.listeners = vec![Listener {
        name: "SASL_PLAINTEXT".into(),
        protocol: SecurityProtocol::SaslPlaintext,
        host: "127.0.0.1".into(),
        port: 0,
    }];
    let running = broker::start(config).await.unwrap();
    let b = running.bootstrap();
    let admin = dir.path().join("admin.properties");
    std::fs::write(
        &admin,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"admin\" password=\"admin-pw\";\n",
    )
    .unwrap();
    let configs = |args: &[&str]| {
        let mut full = vec!["--bootstrap-server", &b, "--command-config", admin.to_str().unwrap()];
        full.extend_from_slice(args);
        kafka_tool_ok("kafka-configs", &full, None)
    };
    let b2 = b.clone();
    let login = move |user: &'static str, password: &'static str| {
        let b = b2.clone();
        tokio::task::spawn_blocking(move || logs_in(&b, user, password))
    };

    assert!(!login("alice", "alice-secret").await.unwrap(), "no alice yet");
    let added = configs(&[
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        "alice",
        "--add-config",
        "SCRAM-SHA-256=[iterations=8192,password=alice-secret]",
    ]);
    assert!(added.contains("Completed updating config for user alice."), "{added}");
    assert!(login("alice", "alice-secret").await.unwrap(), "alice logs in at once");
    assert!(!login("alice", "wrong").await.unwrap());
    let text = std::fs::read_to_string(dir.path().join(broker::auth::users::FILE_NAME)).unwrap();
    assert!(!text.contains("alice-secret"), "no password is stored");

    let described = configs(&["--describe", "--entity-type", "users", "--entity-name", "alice"]);
    assert!(
        described.contains("SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192"),
        "{described}"
    );

    let deleted = configs(&[
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        "alice",
        "--delete-config",
        "SCRAM-SHA-256",
    ]);
    assert!(
        deleted.contains("Completed updating config for user alice."),
        "{deleted}"
    );
    assert!(!login("alice", "alice-secret").await.unwrap(), "alice is gone");
    running.shutdown().await;
}
