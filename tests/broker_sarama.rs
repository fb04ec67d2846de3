//! sarama, the Go client Burrow 1.x and other monitors are built on, configured for Kafka 0.10.0
//! as Burrow's default config is: its ListOffsets requests are version 0, which Kafka 4 dropped
//! (KIP-896) and answers by closing the connection. The bundled broker answers them, so such a
//! monitor sees each partition's head and tail. The client is built by .ci/install
//! (`tests/interop/sarama`).

mod support;

use std::process::Command;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::kafka::Kafka;

/// `sarama-offsets BOOTSTRAP TOPIC 0`: (exit success, stdout + stderr).
fn sarama_offsets(bootstrap: &str, topic: &str) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/sarama/sarama.sh");
    let out = Command::new("bash")
        .args([script, "offsets", bootstrap, topic, "0"])
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("is not built"), "{text}");
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sarama_monitor_asking_with_list_offsets_v0_sees_each_partitions_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker::start(broker::BrokerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    broker.ensure_topic("lagging", 1).unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    for i in 0..5 {
        let value = format!("cpu usage_idle={i}");
        producer
            .send(
                FutureRecord::<str, str>::to("lagging").partition(0).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let bootstrap = broker.bootstrap();
    let (ok, text) = tokio::task::spawn_blocking(move || sarama_offsets(&bootstrap, "lagging"))
        .await
        .unwrap();
    assert!(ok, "{text}");
    assert_eq!(text.trim(), "oldest=0 newest=5");

    // Apache Kafka 4 no longer serves the version: the same client gets its connection closed.
    let kafka = tokio::task::spawn_blocking(|| Kafka::start(1, &[])).await.unwrap();
    let bootstrap = kafka.bootstrap.clone();
    let (ok, text) = tokio::task::spawn_blocking(move || {
        support::kafka::kafka_tool_ok(
            "kafka-topics",
            &["--bootstrap-server", &bootstrap, "--create", "--topic", "lagging"],
            None,
        );
        sarama_offsets(&bootstrap, "lagging")
    })
    .await
    .unwrap();
    assert!(!ok && text.contains("EOF"), "Kafka answered: {text}");
}
