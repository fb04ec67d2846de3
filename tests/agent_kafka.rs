//! The agent against the bundled broker (in-process), read back with librdkafka.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// The Telegraf config from the project's notes (docs/agent.md), as a user would write it.
const NOTES_CONFIG: &str = r#"
[agent]
  interval = "10s"
[[outputs.kafka]]
  brokers = ["127.0.0.1:9092"]
  topic = "my-computer-metric"
[[inputs.cpu]]
  percpu = true
  totalcpu = true
  fielddrop = ["time_*"]
[[inputs.mem]]
"#;

struct Consumed {
    key: Option<String>,
    value: String,
    headers: HashMap<String, String>,
}

/// Reads at least `count` records of `topic` from the beginning (or whatever came in `wait`).
fn consume(bootstrap: &str, topic: &str, count: usize, wait: Duration) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "agent-test")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Consumed {
                key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                value: String::from_utf8(m.payload().unwrap_or_default().to_vec()).unwrap(),
                headers,
            });
        }
    }
    out
}

async fn broker() -> (broker::RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let running = broker::start(broker::BrokerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    (running, dir)
}

fn notes_config(bootstrap: &str) -> agent::Config {
    let mut c = agent::Config::parse(NOTES_CONFIG).unwrap();
    c.outputs.kafka[0].brokers = vec![bootstrap.to_string()];
    c.agent.metrics_listen = String::new();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notes_config_sends_telegraf_shaped_line_protocol() {
    let (b, _dir) = broker().await;
    b.ensure_topic("my-computer-metric", 1).unwrap();
    let sent = agent::once(notes_config(&b.bootstrap()))
        .await
        .expect("one batch acknowledged");
    let cpus = procfs_cpus();
    assert_eq!(sent, cpus + 2, "cpu-total, one per CPU, mem");

    let records = consume(&b.bootstrap(), "my-computer-metric", sent, Duration::from_secs(20));
    assert_eq!(records.len(), sent);
    let host = agent::hostname(&Default::default());
    let mut by_cpu = BTreeMap::new();
    let mut mem = None;
    for r in &records {
        assert_eq!(r.key.as_deref(), Some(host.as_str()), "keyed by the host tag");
        assert_eq!(r.headers["sluice-agent"], host);
        assert!(r.headers["sluice-seq"].parse::<u64>().is_ok());
        assert!(r.headers["sluice-time"].parse::<i64>().is_ok());
        let metrics = model::line_protocol::parse(&r.value).expect("line protocol parses");
        assert_eq!(metrics.len(), 1);
        let m = metrics.into_iter().next().unwrap();
        assert_eq!(m.tags["host"], host);
        assert_eq!(m.timestamp % 1_000_000_000, 0, "1s precision for a 10s interval");
        match m.name.as_str() {
            "cpu" => {
                assert!(m.fields.keys().all(|k| !k.starts_with("time_")), "fielddrop time_*");
                by_cpu.insert(m.tags["cpu"].clone(), m);
            }
            "mem" => mem = Some(m),
            other => panic!("unexpected measurement {other}"),
        }
    }
    assert!(by_cpu.contains_key("cpu-total") && by_cpu.contains_key("cpu0"));
    for m in by_cpu.values() {
        for f in [
            "usage_user",
            "usage_system",
            "usage_idle",
            "usage_nice",
            "usage_iowait",
            "usage_irq",
            "usage_softirq",
            "usage_steal",
            "usage_guest",
            "usage_guest_nice",
        ] {
            match m.fields.get(f) {
                Some(model::FieldValue::Float(v)) => assert!((0.0..=100.0).contains(v), "{f}={v}"),
                other => panic!("{f}: {other:?}"),
            }
        }
    }
    let mem = mem.expect("a mem record");
    for f in [
        "total",
        "available",
        "used",
        "free",
        "used_percent",
        "available_percent",
        "cached",
        "buffered",
    ] {
        assert!(mem.fields.contains_key(f), "mem {f}");
    }
    assert!(matches!(mem.fields["total"], model::FieldValue::Int(t) if t > 0));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_agent_numbers_records_without_gaps_and_serves_self_metrics() {
    let (b, _dir) = broker().await;
    b.ensure_topic("metrics", 1).unwrap();
    let mut config = notes_config(&b.bootstrap());
    config.outputs.kafka[0].topic = "metrics".into();
    config.outputs.kafka[0].data_format = agent::config::DataFormat::Json;
    config.agent.interval = agent::config::Duration::secs(1);
    config.agent.flush_interval = agent::config::Duration::secs(1);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.agent.metrics_listen = format!("127.0.0.1:{port}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(agent::run(config, async {
        let _ = stopped.await;
    }));
    let per_gather = procfs_cpus() + 2;
    let records = tokio::task::spawn_blocking({
        let bootstrap = b.bootstrap();
        move || consume(&bootstrap, "metrics", 3 * per_gather, Duration::from_secs(30))
    })
    .await
    .unwrap();
    let text = get_metrics(port).await;
    let _ = stop.send(());
    agent.await.unwrap().unwrap();

    assert!(records.len() >= 3 * per_gather, "{} records", records.len());
    let seqs: Vec<u64> = records
        .iter()
        .map(|r| r.headers["sluice-seq"].parse().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (0..seqs.len() as u64).collect::<Vec<_>>(),
        "in order, no gap, no duplicate"
    );
    for r in &records {
        let v: serde_json::Value = serde_json::from_str(&r.value).unwrap();
        assert!(v["name"] == "cpu" || v["name"] == "mem");
        assert!(v["timestamp"].as_i64().unwrap() > 1_600_000_000, "seconds");
    }
    assert!(text.contains("sluice_agent_records_sent_total"), "{text}");
    assert!(
        text.contains("sluice_agent_samples_gathered_total{input=\"cpu\"}"),
        "{text}"
    );
    b.shutdown().await;
}

/// GET /metrics with a plain TCP request (no HTTP client dependency needed for one GET).
async fn get_metrics(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}

fn procfs_cpus() -> usize {
    std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count()
}
