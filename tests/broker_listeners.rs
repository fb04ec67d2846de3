//! A broker with two listeners, PLAINTEXT and SASL_PLAINTEXT, as `sluice up` runs when agents
//! come from other hosts: each client is told the address of the listener it came in on, so a
//! client of the SASL listener never drifts to the unauthenticated one, and each listener keeps
//! its own rules.

use std::time::Duration;

use broker::config::SecurityProtocol;
use broker::{BrokerConfig, Listener};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

fn client(bootstrap: &str, sasl: Option<(&str, &str)>) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("socket.connection.setup.timeout.ms", "5000");
    if let Some((user, password)) = sasl {
        c.set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanisms", "SCRAM-SHA-256")
            .set("sasl.username", user)
            .set("sasl.password", password);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_listener_advertises_itself_and_keeps_its_own_security() {
    let dir = tempfile::tempdir().unwrap();
    broker::auth::users::add(&dir.path().join(broker::auth::users::FILE_NAME), "agent", "agent-pw").unwrap();
    let mut config = BrokerConfig::ephemeral(dir.path());
    config.http_listen = None;
    config.listeners = vec![
        Listener::plaintext("127.0.0.1", 0),
        Listener {
            name: "SASL_PLAINTEXT".into(),
            protocol: SecurityProtocol::SaslPlaintext,
            host: "127.0.0.1".into(),
            port: 0,
        },
    ];
    let running = broker::start(config).await.unwrap();
    let listeners: Vec<(Listener, std::net::SocketAddr)> = running.listeners().map(|(l, a)| (l.clone(), a)).collect();
    assert_eq!(listeners.len(), 2);
    let plain = listeners[0].1.to_string();
    let secured = listeners[1].1.to_string();
    assert_ne!(plain, secured);
    assert_eq!(running.plaintext_bootstrap().as_deref(), Some(plain.as_str()));
    running.ensure_topic("metrics", 2).unwrap();

    // Metadata through each listener names that listener as the node, so the client stays on it.
    for (bootstrap, sasl) in [(&plain, None), (&secured, Some(("agent", "agent-pw")))] {
        let consumer: BaseConsumer = client(bootstrap, sasl).create().unwrap();
        let md =
            tokio::task::block_in_place(|| consumer.fetch_metadata(Some("metrics"), Duration::from_secs(10))).unwrap();
        let brokers = md.brokers();
        assert_eq!(brokers.len(), 1);
        assert_eq!(format!("{}:{}", brokers[0].host(), brokers[0].port()), *bootstrap);
        assert_eq!(md.topics()[0].partitions().len(), 2);
    }

    // Produce through the SASL listener works; without credentials it is refused there, while
    // the PLAINTEXT listener still serves a client without any.
    let producer: FutureProducer = client(&secured, Some(("agent", "agent-pw")))
        .set("message.timeout.ms", "10000")
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::<str, str>::to("metrics").payload("cpu usage_idle=1"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let anonymous: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &secured)
        .set("socket.connection.setup.timeout.ms", "3000")
        .create()
        .unwrap();
    let refused = tokio::task::block_in_place(|| anonymous.fetch_metadata(None, Duration::from_secs(3)));
    assert!(
        refused.is_err(),
        "a client without SASL got metadata from the SASL listener"
    );
    let open: BaseConsumer = client(&plain, None).create().unwrap();
    tokio::task::block_in_place(|| open.fetch_metadata(None, Duration::from_secs(10))).unwrap();
    running.shutdown().await;
}
