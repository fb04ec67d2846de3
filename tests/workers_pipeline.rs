//! The workers end to end, in-process: agent → bundled broker → worker → file sink.

mod support;
mod workers_support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::eventually;
use workers_support::*;

const AGENT_CONFIG: &str = r#"
[agent]
  interval = "1s"
  flush_interval = "1s"
[[outputs.kafka]]
  brokers = ["127.0.0.1:9092"]
  topic = "metrics"
[[inputs.cpu]]
  percpu = true
  totalcpu = true
  fielddrop = ["time_*"]
[[inputs.mem]]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_record_the_agent_sends_reaches_the_file_sink() {
    agent_to_file_sink("").await;
}

/// The same through a KIP-848 consumer group: the broker assigns the worker its partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_record_reaches_the_file_sink_through_a_consumer_protocol_group() {
    agent_to_file_sink("group_protocol = \"consumer\"\n").await;
}

/// `settings`: top-level workers.toml lines added to the test's own.
async fn agent_to_file_sink(settings: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,librdkafka=off")
        .try_init();
    let (b, dir) = broker().await;
    let path = dir.path().join("out/metrics.lp");
    let config = worker_config(
        &b.bootstrap(),
        &format!(
            "{settings}[[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n",
            path.display()
        ),
    );
    // The agent's `--once`: one gather, one batch, every record acknowledged by the broker.
    let mut agent_config = agent::Config::parse(AGENT_CONFIG).unwrap();
    agent_config.outputs.kafka[0].brokers = vec![b.bootstrap()];
    agent_config.agent.metrics_listen = String::new();
    let n = agent::once(agent_config).await.unwrap();
    let bootstrap = b.bootstrap();
    let sent =
        tokio::task::spawn_blocking(move || read_topic(&bootstrap, "metrics", PARTITIONS, n, Duration::from_secs(20)))
            .await
            .unwrap();
    let by_seq: BTreeMap<u64, String> = sent
        .iter()
        .map(|r| {
            (
                r.headers["sluice-seq"].parse().unwrap(),
                String::from_utf8(r.value.clone()).unwrap().trim_end().to_string(),
            )
        })
        .collect();
    assert_eq!(sent.len(), n, "the topic holds what the agent sent");
    assert_eq!(by_seq.len(), sent.len(), "no sequence number twice in the topic");
    assert_eq!(
        by_seq.keys().copied().collect::<Vec<_>>(),
        (0..sent.len() as u64).collect::<Vec<_>>(),
        "the agent's sequence has no gap"
    );
    let worker = workers::start(config).await.unwrap();
    let complete = eventually(Duration::from_secs(20), || {
        let lines: std::collections::HashSet<String> = lines_of(&path).into_iter().collect();
        by_seq.values().all(|v| lines.contains(v))
    })
    .await;
    let missing: Vec<u64> = {
        let lines: std::collections::HashSet<String> = lines_of(&path).into_iter().collect();
        by_seq
            .iter()
            .filter(|(_, v)| !lines.contains(*v))
            .map(|(s, _)| *s)
            .collect()
    };
    assert!(complete, "sequence numbers missing from the file sink: {missing:?}");

    let m = worker.metrics();
    assert_eq!(m.delivered.with_label_values(&["archive"]).get(), sent.len() as u64);
    let host = sent[0].headers["sluice-agent"].clone();
    assert_eq!(m.lost.with_label_values(&[host.as_str()]).get(), 0);
    assert_eq!(m.duplicate.with_label_values(&[host.as_str()]).get(), 0);
    assert_eq!(m.sample_age_of("archive").get_sample_count(), sent.len() as u64);

    let addr = worker.metrics_addr().unwrap();
    let text = http_get(addr, "/metrics").await;
    assert!(
        text.contains("sluice_worker_records_delivered_total{sink=\"archive\"}"),
        "{text}"
    );
    assert!(text.contains("sluice_worker_sample_age_seconds_bucket"), "{text}");
    // The group is of the protocol asked for, as Kafka's own tool lists it (ListGroups v5).
    let group_type = if settings.contains("consumer") {
        "Consumer"
    } else {
        "Classic"
    };
    let bootstrap = b.bootstrap();
    let out = tokio::task::spawn_blocking(move || {
        support::kafka::kafka_tool_ok(
            "kafka-consumer-groups",
            &["--bootstrap-server", &bootstrap, "--list", "--type"],
            None,
        )
    })
    .await
    .unwrap();
    let rows = support::table_rows(&out, "GROUP TYPE");
    assert!(
        rows.iter()
            .any(|r| r[0] == "sluice-workers-archive" && r[1] == group_type),
        "{out}"
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

/// A bare HTTP/1.0 GET, body only.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or(out)
}
