//! Kafka's command-line tools under their usual option names, for the bundled broker and any
//! Kafka cluster: `sluice topics` (kafka-topics.sh), `sluice groups` (kafka-consumer-groups.sh),
//! `sluice produce` / `sluice consume`
//! (the console producer and consumer). They are ordinary Kafka clients (librdkafka).

pub mod console;
pub mod groups;
pub mod topics;

use std::time::Duration;

use rdkafka::config::ClientConfig;

/// How long a tool waits for the cluster before saying it cannot be reached.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A client config for `bootstrap`, failing fast and quietly when the cluster is down.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("socket.connection.setup.timeout.ms", "10000")
        // librdkafka logs every failed connection attempt; the tool reports one clear error.
        .set("log_level", "0");
    c
}

/// One line a person can act on, for a cluster that did not answer in time.
pub fn unreachable(bootstrap: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot reach a Kafka broker at {bootstrap} within {}s (is it running? check --bootstrap-server)",
        TIMEOUT.as_secs()
    )
}
