//! The http and prometheus sinks end to end (bundled broker → worker → sink), and a sink that
//! fails for 30 s while another keeps delivering.

mod support;
mod workers_support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::eventually;
use support::http_server::{http_server, ServerState};
use workers_support::*;

async fn produce(producer: &FutureProducer, line: &str) {
    producer
        .send(
            FutureRecord::<(), str>::to("metrics").payload(line).partition(0),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()
        .unwrap()
}

/// The `seq` field of every line in `text` (line protocol `… seq=<n>i <ts>`).
fn seqs_in(text: &str) -> BTreeSet<u64> {
    text.lines()
        .filter_map(|l| l.split("seq=").nth(1))
        .filter_map(|rest| rest.split('i').next()?.parse().ok())
        .collect()
}

fn line(seq: u64) -> String {
    format!("app,host=h1 seq={seq}i {}", 1_700_000_000_000_000_000u64 + seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_sink_posts_batches_retries_5xx_and_dead_letters_4xx() {
    let (b, _dir) = broker().await;
    let state = Arc::new(Mutex::new(ServerState::default()));
    state.lock().unwrap().behaviour.fail_next = 2;
    let addr = http_server(state.clone()).await;
    let config = worker_config(
        &b.bootstrap(),
        &format!(
            "[[sinks]]\ntype = \"http\"\nname = \"influx\"\n\
             url = \"http://{addr}/api/v2/write?org=o&bucket=b&precision=ns\"\n\
             headers = {{ Authorization = \"Token s3cret\" }}\n\
             [[sinks]]\ntype = \"http\"\nname = \"hook\"\nformat = \"json\"\nurl = \"http://{addr}/hook\"\n"
        ),
    );
    let p = producer(&b.bootstrap());
    for seq in 0..20 {
        produce(&p, &line(seq)).await;
    }
    let worker = workers::start(config).await.unwrap();
    let influx_seqs = || {
        let s = state.lock().unwrap();
        s.accepted
            .iter()
            .filter(|r| r.path.starts_with("/api/v2/write"))
            .flat_map(|r| seqs_in(&r.body))
            .collect::<BTreeSet<u64>>()
    };
    assert!(
        eventually(Duration::from_secs(30), || influx_seqs().len() == 20).await,
        "after two 503s, every record reaches the write API: {:?}",
        influx_seqs()
    );
    let json_seqs = || {
        let s = state.lock().unwrap();
        let mut seqs = BTreeSet::new();
        for r in s.accepted.iter().filter(|r| r.path == "/hook") {
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("the JSON sink posts JSON");
            for m in v["metrics"]
                .as_array()
                .expect("Telegraf's batch format: {\"metrics\":[…]}")
            {
                assert_eq!(m["name"], "app");
                assert_eq!(m["tags"]["host"], "h1");
                seqs.insert(m["fields"]["seq"].as_u64().unwrap());
            }
        }
        seqs
    };
    assert!(eventually(Duration::from_secs(30), || json_seqs().len() == 20).await);
    {
        let s = state.lock().unwrap();
        assert!(s.refused >= 2, "the two 503s were answered");
        let write = s.accepted.iter().find(|r| r.path.starts_with("/api/v2/write")).unwrap();
        assert_eq!(write.authorization.as_deref(), Some("Token s3cret"));
        assert_eq!(write.content_type.as_deref(), Some("text/plain; charset=utf-8"));
        let hook = s.accepted.iter().find(|r| r.path == "/hook").unwrap();
        assert_eq!(hook.content_type.as_deref(), Some("application/json"));
        assert_eq!(hook.authorization, None, "headers are per sink");
    }
    let retries = |sink: &str| worker.metrics().retries.with_label_values(&[sink]).get();
    assert!(retries("influx") + retries("hook") >= 2, "each 503 was retried");

    // A batch the server refuses with a 4xx is not retried: it goes to the dead-letter topic.
    state.lock().unwrap().behaviour.reject_containing = Some("bad".into());
    produce(&p, "bad,host=h1 seq=99i 1700000000000000099").await;
    assert!(
        eventually(Duration::from_secs(30), || {
            worker
                .metrics()
                .dead_letter
                .with_label_values(&["influx", "rejected"])
                .get()
                == 1
                && worker
                    .metrics()
                    .dead_letter
                    .with_label_values(&["hook", "rejected"])
                    .get()
                    == 1
        })
        .await
    );
    let bootstrap = b.bootstrap();
    let dead = tokio::task::spawn_blocking(move || {
        read_topic(&bootstrap, "metrics-dead-letter", 1, 2, Duration::from_secs(20))
    })
    .await
    .unwrap();
    assert_eq!(dead.len(), 2);
    for d in &dead {
        assert_eq!(d.value, b"bad,host=h1 seq=99i 1700000000000000099");
        let reason = &d.headers["sluice-dlq-reason"];
        assert!(reason.contains("400") && reason.contains("unable to parse"), "{reason}");
        assert_eq!(d.headers["sluice-dlq-offset"], "20");
    }
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_failing_for_30s_holds_back_nothing_else_and_then_catches_up() {
    const FAILURE: Duration = Duration::from_secs(30);
    let (b, dir) = broker().await;
    let state = Arc::new(Mutex::new(ServerState::default()));
    let addr = http_server(state.clone()).await;
    let path = dir.path().join("out.lp");
    let config = worker_config(
        &b.bootstrap(),
        &format!(
            "[[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n\
             [[sinks]]\ntype = \"http\"\nname = \"api\"\nurl = \"http://{addr}/write\"\ntimeout = \"2s\"\n",
            path.display()
        ),
    );
    let worker = workers::start(config).await.unwrap();
    state.lock().unwrap().behaviour.fail_until = Some(Instant::now() + FAILURE);
    let started = Instant::now();
    let p = producer(&b.bootstrap());
    let mut seq = 0u64;
    let mut max_lag_while_failing = 0;
    let lag = |w: &workers::RunningWorkers| w.metrics().records_lag_max.with_label_values(&["api"]).get();
    // One record every 100 ms while the API fails; the file sink must keep up all along.
    while started.elapsed() < FAILURE - Duration::from_secs(2) {
        produce(&p, &line(seq)).await;
        seq += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
        max_lag_while_failing = max_lag_while_failing.max(lag(&worker));
    }
    let produced: BTreeSet<u64> = (0..seq).collect();
    let file_seqs = || seqs_in(&lines_of(&path).join("\n"));
    assert!(
        eventually(Duration::from_secs(5), || file_seqs() == produced).await,
        "the file sink delivered everything while the http sink failed: missing {:?}",
        produced.difference(&file_seqs()).collect::<Vec<_>>()
    );
    assert!(
        state.lock().unwrap().accepted.is_empty(),
        "nothing was accepted while failing"
    );
    assert!(state.lock().unwrap().refused > 0, "the http sink kept retrying");
    assert!(
        max_lag_while_failing > 10,
        "the failing sink's backlog shows as its consumer lag: max {max_lag_while_failing}"
    );
    assert_eq!(
        worker.metrics().records_lag_max.with_label_values(&["archive"]).get(),
        0,
        "the healthy sink has no lag"
    );

    // Recovery: everything the API missed arrives, and its lag falls back to 0.
    let api_seqs = || {
        let s = state.lock().unwrap();
        s.accepted
            .iter()
            .flat_map(|r| seqs_in(&r.body))
            .collect::<BTreeSet<u64>>()
    };
    assert!(
        eventually(FAILURE + Duration::from_secs(30), || api_seqs() == produced).await,
        "after recovery the http sink received everything: missing {:?}",
        produced.difference(&api_seqs()).collect::<Vec<_>>()
    );
    assert!(
        eventually(Duration::from_secs(10), || lag(&worker) == 0).await,
        "lag fell back to 0, is {}",
        lag(&worker)
    );
    let m = worker.metrics();
    assert_eq!(m.delivered.with_label_values(&["archive"]).get(), seq);
    assert!(m.retries.with_label_values(&["api"]).get() > 0);
    eprintln!(
        "http sink failed for {FAILURE:?}: {seq} records, file sink kept up, api lag peaked at {max_lag_while_failing}, \
         {} retries, {} refused requests",
        m.retries.with_label_values(&["api"]).get(),
        state.lock().unwrap().refused
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prometheus_sink_serves_the_latest_value_of_every_series_and_expires_silent_ones() {
    let (b, _dir) = broker().await;
    let config = worker_config(
        &b.bootstrap(),
        "[[sinks]]\ntype = \"prometheus\"\nname = \"prom\"\nexpiration_interval = \"3s\"\n",
    );
    let worker = workers::start(config).await.unwrap();
    let addr = worker.metrics_addr().unwrap();
    let p = producer(&b.bootstrap());
    let now = 1_700_000_000_000_000_000u64;
    produce(
        &p,
        &format!("cpu,cpu=cpu-total,host=a usage_idle=97.5,usage_user=1.5 {now}"),
    )
    .await;
    produce(&p, &format!("cpu,cpu=cpu-total,host=b usage_idle=50 {now}")).await;
    produce(
        &p,
        &format!("mem,host=a available_percent=42.25,total=8000000000i {now}"),
    )
    .await;
    produce(&p, &format!("cpu,cpu=cpu-total,host=a usage_idle=96 {}", now + 1)).await;
    let scrape = || http_get(addr);
    assert!(
        eventually(Duration::from_secs(20), || scrape()
            .contains("mem_total{host=\"a\"} 8000000000"))
        .await,
        "{}",
        scrape()
    );
    let text = scrape();
    assert!(text.contains("# TYPE cpu_usage_idle gauge"), "{text}");
    assert!(
        text.contains("cpu_usage_idle{cpu=\"cpu-total\",host=\"a\"} 96\n"),
        "the latest value: {text}"
    );
    assert!(
        text.contains("cpu_usage_idle{cpu=\"cpu-total\",host=\"b\"} 50\n"),
        "{text}"
    );
    assert!(
        text.contains("cpu_usage_user{cpu=\"cpu-total\",host=\"a\"} 1.5\n"),
        "{text}"
    );
    assert!(text.contains("mem_available_percent{host=\"a\"} 42.25\n"), "{text}");
    assert!(
        text.contains("sluice_worker_records_delivered_total{sink=\"prom\"} 4"),
        "the worker's own metrics too: {text}"
    );

    // Host a keeps reporting, host b went silent: after the expiration interval b is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut t = now + 2;
    while Instant::now() < deadline {
        produce(&p, &format!("cpu,cpu=cpu-total,host=a usage_idle=95 {t}")).await;
        t += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let text = scrape();
    assert!(
        text.contains("cpu_usage_idle{cpu=\"cpu-total\",host=\"a\"} 95\n"),
        "{text}"
    );
    assert!(!text.contains("host=\"b\""), "host b expired: {text}");
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

/// A bare HTTP/1.0 GET from the test's own thread, body only.
fn http_get(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or(out)
}
