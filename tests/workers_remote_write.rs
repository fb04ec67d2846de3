//! The remote_write sink end to end: the agent → bundled broker → worker → a real Prometheus
//! (Debian's, with `--web.enable-remote-write-receiver`), read back with PromQL, and what that
//! Prometheus makes of a redelivered batch; and against the tests' HTTP server, a 503 retried and
//! a 400 dead-lettered.

mod support;
mod workers_support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::{FieldValue, Metric};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::http_server::{http_server, ServerState};
use support::prometheus::{self, encode, get};
use support::{eventually, free_port, poll, KillOnDrop};
use workers::sinks::remote_write::wire::WriteRequest;
use workers_support::*;

/// `name{k="v",…}` (labels sorted) → every (ms, value) of the series, in time order.
type Series = BTreeMap<String, Vec<(i64, f64)>>;

fn series_key(name: &str, labels: &BTreeMap<String, String>) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// What a remote write receiver should hold for `metrics`, worked out here from the metrics
/// themselves: `<measurement>_<field>` with the tags as labels, at the sample time in ms.
fn expected(metrics: &[Metric]) -> Series {
    let mut out = Series::new();
    for m in metrics {
        for (field, value) in &m.fields {
            let value = match value {
                FieldValue::Float(f) => *f,
                FieldValue::Int(i) => *i as f64,
                FieldValue::UInt(u) => *u as f64,
                FieldValue::Bool(b) => f64::from(u8::from(*b)),
                FieldValue::String(_) => continue,
            };
            let key = series_key(&format!("{}_{field}", m.name), &m.tags);
            out.entry(key).or_default().push((m.timestamp / 1_000_000, value));
        }
    }
    for samples in out.values_mut() {
        samples.sort_by_key(|s| s.0);
    }
    out
}

/// Every series (and its raw samples) a PromQL range selector returns from Prometheus' API.
async fn promql_series(port: u16, selector: &str) -> Series {
    let body = get(port, &format!("/api/v1/query?query={}", encode(selector)))
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{body}");
    let mut out = Series::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let mut labels: BTreeMap<String, String> = serde_json::from_value(s["metric"].clone()).unwrap();
        let name = labels.remove("__name__").unwrap();
        let samples = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let ms = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                (ms, p[1].as_str().unwrap().parse::<f64>().unwrap())
            })
            .collect();
        out.insert(series_key(&name, &labels), samples);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_returns_the_agents_values_for_this_host_at_their_sample_times() {
    let prometheus_bin = prometheus::binary(&["prometheus"], "prometheus");
    let (b, dir) = broker().await;
    let bootstrap = b.bootstrap();

    // Prometheus scraping nothing, taking samples only through its remote write receiver.
    std::fs::write(dir.path().join("prometheus.yml"), "global:\n  scrape_interval: 1m\n").unwrap();
    let prom = free_port();
    let _prometheus = KillOnDrop(
        Command::new(&prometheus_bin)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let ready = async || get(prom, "/-/ready").await.is_some_and(|b| b.contains("Ready"));
    assert!(
        poll::until_async(Duration::from_secs(60), Duration::from_millis(200), ready).await,
        "Prometheus never ready: {}",
        std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
    );

    let ac = agent::Config::parse(&format!(
        "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n  metrics_listen = \"127.0.0.1:{}\"\n\
         [[outputs.kafka]]\n  brokers = [\"{bootstrap}\"]\n  topic = \"metrics\"\n[[inputs.cpu]]\n[[inputs.mem]]\n",
        free_port()
    ))
    .unwrap();
    ac.validate().unwrap();
    let host = agent::hostname(&ac.agent);
    let (agent_stop, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(agent::run(ac, async {
        let _ = agent_stopped.await;
    }));
    let worker = workers::start(worker_config(
        &bootstrap,
        &format!("[[sinks]]\ntype = \"remote_write\"\nname = \"rw\"\nurl = \"http://127.0.0.1:{prom}/api/v1/write\"\n"),
    ))
    .await
    .unwrap();
    let delivered = || worker.metrics().delivered.with_label_values(&["rw"]).get();

    // A few gathers' worth reach Prometheus, then the agent stops and the topic is complete.
    assert!(
        eventually(Duration::from_secs(60), || delivered() >= 12).await,
        "the sink delivered {} records",
        delivered()
    );
    let _ = agent_stop.send(());
    agent.await.unwrap().unwrap();
    let topic = {
        let bootstrap = bootstrap.clone();
        tokio::task::spawn_blocking(move || {
            read_topic(&bootstrap, "metrics", PARTITIONS, usize::MAX, Duration::from_secs(5))
        })
        .await
        .unwrap()
    };
    assert!(
        eventually(Duration::from_secs(30), || delivered() == topic.len() as u64).await,
        "delivered {} of {} records",
        delivered(),
        topic.len()
    );
    let metrics: Vec<Metric> = topic
        .iter()
        .flat_map(|r| model::line_protocol::parse(std::str::from_utf8(&r.value).unwrap()).unwrap())
        .filter(|m| m.tags.get("host") == Some(&host))
        .collect();
    let want = expected(&metrics);
    let idle = series_key(
        "cpu_usage_idle",
        &BTreeMap::from([("cpu".into(), "cpu-total".into()), ("host".into(), host.clone())]),
    );
    assert!(want[&idle].len() >= 2, "several gathers of {idle}: {want:?}");

    // Every sample of every series of this host, values and timestamps, as the agent produced them.
    let got = promql_series(prom, &format!("{{host={host:?}}}[1h]")).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (key, samples) in &want {
        assert_eq!(&got[key], samples, "{key}");
    }
    let samples: usize = got.values().map(Vec::len).sum();
    eprintln!(
        "{} records, {} series and {samples} samples of host {host} in Prometheus, equal to the topic's; \
         {idle} = {:?} (ms, value)",
        topic.len(),
        got.len(),
        got[&idle]
    );
    // PromQL's own view of the newest one: the value at its sample time.
    let (last_ms, last_value) = *want[&idle].last().unwrap();
    let at = get(
        prom,
        &format!("/api/v1/query?query={}&time={}", encode(&idle), last_ms as f64 / 1000.0),
    )
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&at).unwrap();
    assert_eq!(
        v["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        last_value,
        "{at}"
    );

    // Redelivery, as after a crash between a request and the offset commit (docs/workers.md):
    // Prometheus takes again the newest sample it holds of each series, and refuses a batch
    // with older ones as out of order, with a 400 the sink rejects.
    let mut sink = workers::Config::parse(&format!(
        "[[sinks]]\ntype = \"remote_write\"\nname = \"again\"\nurl = \"http://127.0.0.1:{prom}/api/v1/write\"\n"
    ))
    .unwrap()
    .sinks[0]
        .build();
    let newest = metrics.iter().map(|m| m.timestamp).max().unwrap();
    let last_gather: Vec<Metric> = metrics.iter().filter(|m| m.timestamp == newest).cloned().collect();
    sink.deliver(&last_gather).await.expect("the newest samples again");
    match sink.deliver(&metrics).await {
        Err(workers::sinks::SinkError::Rejected(reason)) => {
            assert!(reason.contains("400") && reason.contains("out of order"), "{reason}");
            eprintln!("the redelivered batch: {reason}");
        }
        other => panic!("a redelivered batch with older samples: {other:?}"),
    }
    assert_eq!(
        promql_series(prom, &format!("{{host={host:?}}}[1h]")).await,
        got,
        "nothing changed"
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried_and_delivered_once_and_a_400_is_dead_lettered_not_retried() {
    let (b, _dir) = broker().await;
    let state = Arc::new(Mutex::new(ServerState::default()));
    state.lock().unwrap().behaviour.fail_next = 1;
    let addr = http_server(state.clone()).await;
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", b.bootstrap())
        .set("linger.ms", "0")
        .create()
        .unwrap();
    let produce = async |line: &str| {
        p.send(
            FutureRecord::<(), str>::to("metrics").payload(line).partition(0),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    };
    let lines = [
        "cpu,cpu=cpu-total,host=h1 usage_idle=97.5,usage_user=1.5 1765000000123456789",
        "mem,host=h1 used_percent=42.25,total=8000000000i 1765000000500000000",
        "cpu,cpu=cpu-total,host=h1 usage_idle=96 1765000001123456789",
    ];
    for line in lines {
        produce(line).await;
    }
    let worker = workers::start(worker_config(
        &b.bootstrap(),
        &format!(
            "[[sinks]]\ntype = \"remote_write\"\nname = \"rw\"\nurl = \"http://{addr}/api/v1/write\"\n\
             bearer_token = \"t0ken\"\nheaders = {{ X-Scope-OrgID = \"tenant-1\" }}\n"
        ),
    ))
    .await
    .unwrap();
    let m = worker.metrics().clone();
    assert!(
        eventually(Duration::from_secs(30), || m.delivered.with_label_values(&["rw"]).get()
            == 3)
        .await
    );

    // The 503 was retried once, and every sample arrived once, at its own time in ms.
    let received = |s: &ServerState| {
        let mut got = Series::new();
        for r in &s.accepted {
            let request = WriteRequest::from_body(&r.bytes).expect("a snappy block of a WriteRequest");
            for ts in request.timeseries {
                let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
                assert!(names.is_sorted(), "labels sorted by name: {names:?}");
                let mut labels: BTreeMap<String, String> = ts.labels.into_iter().map(|l| (l.name, l.value)).collect();
                let name = labels.remove("__name__").expect("every series has a name");
                let samples = got.entry(series_key(&name, &labels)).or_default();
                samples.extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
                samples.sort_by_key(|s| s.0);
            }
        }
        got
    };
    {
        let s = state.lock().unwrap();
        let want = expected(&lines.map(|l| model::line_protocol::parse_line(l).unwrap()));
        assert_eq!(received(&s), want);
        assert_eq!(want.values().map(Vec::len).sum::<usize>(), 5);
        assert_eq!(s.refused, 1, "one 503");
        let header = |name: &str| s.accepted[0].headers[name].to_str().unwrap().to_string();
        assert_eq!(header("content-encoding"), "snappy");
        assert_eq!(header("content-type"), "application/x-protobuf");
        assert_eq!(header("x-prometheus-remote-write-version"), "0.1.0");
        assert!(header("user-agent").starts_with("sluice/"));
        assert_eq!(header("authorization"), "Bearer t0ken");
        assert_eq!(header("x-scope-orgid"), "tenant-1");
        assert_eq!(s.accepted[0].path, "/api/v1/write");
    }
    assert_eq!(m.retries.with_label_values(&["rw"]).get(), 1);

    // A 400 is the batch's fault: dead-lettered with the answer, and not sent again.
    let accepted = state.lock().unwrap().accepted.len();
    state.lock().unwrap().behaviour.reject_next = 1;
    let refused = "cpu,cpu=cpu-total,host=h1 usage_idle=95 1765000002123456789";
    produce(refused).await;
    let rejected = || m.dead_letter.with_label_values(&["rw", "rejected"]).get();
    assert!(eventually(Duration::from_secs(30), || rejected() == 1).await);
    let bootstrap = b.bootstrap();
    let dead = tokio::task::spawn_blocking(move || {
        read_topic(&bootstrap, "metrics-dead-letter", 1, 1, Duration::from_secs(20))
    })
    .await
    .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value, refused.as_bytes());
    let reason = &dead[0].headers["sluice-dlq-reason"];
    assert!(reason.starts_with("rejected: ") && reason.contains("400"), "{reason}");
    assert_eq!(dead[0].headers["sluice-dlq-sink"], "rw");
    assert_eq!(dead[0].headers["sluice-dlq-offset"], "3");
    let answered = {
        let s = state.lock().unwrap();
        (s.refused, s.accepted.len())
    };
    assert_eq!(answered, (2, accepted), "the 400 was not retried");
    assert_eq!(m.retries.with_label_values(&["rw"]).get(), 1);
    assert_eq!(m.delivered.with_label_values(&["rw"]).get(), 3);
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}
