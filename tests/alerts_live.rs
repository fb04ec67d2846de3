//! The alert path, live, as README.md "Alerts: Prometheus and Alertmanager" runs it: `sluice up`
//! (the binary), Debian's Prometheus with the shipped `prometheus.yml` and `alerts.yml`, Debian's
//! Alertmanager with the shipped `alertmanager.yml`, and a webhook receiver in this test, every
//! server on 127.0.0.1 with free ports. The test rewrites addresses, the scrape and evaluation
//! interval (15 s → 1.5 s, as the agent's and the exporter's intervals are a tenth of theirs),
//! each rule's `for:` (a minute becomes a second) and Alertmanager's waits, and checks that no
//! other line of the three files changed: every expression, label, annotation, route and
//! inhibition is as shipped.
//!
//! 1. Two minutes of a healthy pipeline (the http sink answers 2xx): no alert firing in
//!    Prometheus, none in Alertmanager, nothing at the webhook, every rule evaluated cleanly.
//! 2. The http sink's server answers 503 and a burst past `KafkaConsumerGroupLagHigh`'s 10,000
//!    records goes into the agent's partition with `sluice produce`: the alert reaches the
//!    warning receiver, firing, with the group, topic and runbook.
//! 3. The server answers 2xx again and a second host's agent is stopped: the lag alert arrives
//!    resolved once the group has caught up, and `SluiceAgentNotReporting` reaches the critical
//!    receiver for that agent only.
//! 4. The inhibition: while `SluiceLagExporterDown` is active, Alertmanager holds back a lag alert.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http_server::{http_server, ServerState};
use support::prometheus::{self, encode, get, post_json};
use support::up::{up, write_configs, Ports};
use support::{free_port, poll, repo, terminate, wait_for, KillOnDrop};

/// How long the healthy pipeline must raise nothing.
const HEALTHY: Duration = Duration::from_secs(120);
/// Records produced while the http sink fails: above `KafkaConsumerGroupLagHigh`'s 10000.
const BURST: usize = 12_000;
/// The http sink's name; its consumer group is `sluice-workers-` and this.
const SINK: &str = "alerting";
const GROUP: &str = "sluice-workers-alerting";

/// The shipped `dashboards/prometheus/<name>` with `rewrite` applied to every line, written
/// into `dir`. Fails the test if a line it changed does not start (after a list's `- `) with
/// one of `keys`.
fn shipped_with(dir: &Path, name: &str, keys: &[&str], rewrite: impl Fn(&str) -> String) {
    let shipped = std::fs::read_to_string(repo("dashboards/prometheus").join(name)).unwrap();
    let mut out = String::new();
    for line in shipped.lines() {
        let new = rewrite(line);
        if new != line {
            let key = line.trim_start().trim_start_matches("- ");
            assert!(
                keys.iter().any(|k| key.starts_with(k)),
                "{name}: the test may rewrite only {keys:?}, not `{line}`"
            );
        }
        out += &new;
        out.push('\n');
    }
    std::fs::write(dir.join(name), out).unwrap();
}

/// `for: 10m` → `for: 10s`: the alert rules' durations, a minute made a second.
fn minutes_as_seconds(line: &str) -> String {
    match line.split_once("for: ") {
        Some((indent, d)) if indent.trim().is_empty() => {
            let minutes = d.strip_suffix('m').unwrap_or_else(|| panic!("for: in minutes: {line}"));
            format!("{indent}for: {minutes}s")
        }
        _ => line.to_string(),
    }
}

/// Alert name → `for:` in seconds once scaled (0 for a rule without one), from the shipped
/// alerts.yml.
fn scaled_durations() -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(repo("dashboards/prometheus/alerts.yml")).unwrap();
    let mut out = BTreeMap::new();
    let mut name = None;
    for line in text.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("- alert: ") {
            out.insert(n.to_string(), 0.0);
            name = Some(n.to_string());
        } else if let Some(m) = line.strip_prefix("for: ").and_then(|d| d.strip_suffix('m')) {
            out.insert(name.take().expect("for: after alert:"), m.parse().unwrap());
        }
    }
    out
}

/// GET on Prometheus' or Alertmanager's API, as JSON (`Null` while it does not answer).
async fn api(port: u16, path: &str) -> Value {
    let body = get(port, path).await.unwrap_or_default();
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// One alert of a webhook notification, with the receiver's URL path.
#[derive(Debug)]
struct Notified {
    path: String,
    status: String,
    labels: Value,
    annotations: Value,
}

/// Every alert in every notification the webhook received, in order.
fn notified(webhook: &Mutex<ServerState>) -> Vec<Notified> {
    let s = webhook.lock().unwrap();
    let mut out = Vec::new();
    for r in &s.accepted {
        let doc: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
        for a in doc["alerts"].as_array().into_iter().flatten() {
            out.push(Notified {
                path: r.path.clone(),
                status: a["status"].as_str().unwrap_or_default().to_string(),
                labels: a["labels"].clone(),
                annotations: a["annotations"].clone(),
            });
        }
    }
    out
}

/// The first alert named `alertname` with `status` and the labels `with` that reached `path`.
fn find(
    webhook: &Mutex<ServerState>,
    path: &str,
    alertname: &str,
    status: &str,
    with: &[(&str, &str)],
) -> Option<Notified> {
    notified(webhook).into_iter().find(|n| {
        n.path == path
            && n.status == status
            && n.labels["alertname"] == alertname
            && with.iter().all(|(k, v)| n.labels[*k] == *v)
    })
}

/// What Prometheus and Alertmanager hold and the webhook got, for a failure message.
async fn alert_state(prom: u16, am: u16, webhook: &Mutex<ServerState>) -> String {
    format!(
        "Prometheus alerts: {}\nAlertmanager alerts: {}\nwebhook: {:#?}",
        api(prom, "/api/v1/alerts").await["data"]["alerts"],
        api(am, "/api/v2/alerts").await,
        notified(webhook)
    )
}

/// The value of the one series `q` returns, if exactly one.
async fn scalar(prom: u16, q: &str) -> Option<f64> {
    let v = api(prom, &format!("/api/v1/query?query={}", encode(q))).await;
    match v["data"]["result"].as_array().map(Vec::as_slice) {
        Some([one]) => one["value"][1].as_str()?.parse().ok(),
        _ => None,
    }
}

/// The `host` tag of the first `cpu` line in the file sink.
fn agent_host(sink: &Path) -> Option<String> {
    let text = std::fs::read_to_string(sink).ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu,"))?;
    let tags = line.split(' ').next()?;
    tags.split(',')
        .find_map(|t| t.strip_prefix("host="))
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_and_silent_agent_alerts_reach_the_webhook_and_a_healthy_pipeline_raises_none() {
    let prometheus_bin = prometheus::binary(&["prometheus"], "prometheus");
    let alertmanager_bin = prometheus::binary(&["alertmanager", "prometheus-alertmanager"], "prometheus-alertmanager");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();

    // The http sink's server (healthy until told otherwise) and the webhook receiver.
    let sink_server = Arc::new(Mutex::new(ServerState::default()));
    let sink_addr = http_server(sink_server.clone()).await;
    let webhook = Arc::new(Mutex::new(ServerState::default()));
    let webhook_addr = http_server(webhook.clone()).await;

    // sluice up with the shipped configs, plus an http sink.
    let ports = Ports::free();
    let config = write_configs(dir.path(), &ports);
    let workers = std::fs::read_to_string(config.join("workers.toml")).unwrap();
    assert!(workers.contains("batch_timeout = \"200ms\""), "{workers}");
    let workers = workers.replace("batch_timeout = \"200ms\"", "batch_timeout = \"20ms\"")
        + &format!("\n[[sinks]]\ntype = \"http\"\nname = \"{SINK}\"\nurl = \"http://{sink_addr}/write\"\n");
    std::fs::write(config.join("workers.toml"), workers).unwrap();
    // Times a tenth of the shipped ones throughout: the agent's 10 s are 1 s (write_configs),
    // the exporter's and Prometheus' 15 s are 1.5 s, the workers' batch timeout 20 ms. An
    // exporter collection that falls between the agent's flush and the workers' commit sees a
    // lag of a few records; at the shipped times that is a moment in a 15 s interval, and so it
    // must stay here (and equal intervals would keep catching that moment every time).
    let exporter_config = std::fs::read_to_string(config.join("lag-exporter.toml")).unwrap();
    assert!(exporter_config.contains("interval = \"1s\""), "{exporter_config}");
    std::fs::write(
        config.join("lag-exporter.toml"),
        exporter_config.replace("interval = \"1s\"", "interval = \"1500ms\""),
    )
    .unwrap();
    let up_log = dir.path().join("up.log");
    let data = dir.path().join("data");
    let mut sluice = KillOnDrop(up(&config, &data, &up_log));
    let sink = data.join("sink/metrics.lp");
    wait_for(
        "host samples in the file sink",
        Duration::from_secs(30),
        std::slice::from_ref(&up_log),
        || agent_host(&sink).is_some(),
    );
    let host = agent_host(&sink).unwrap();

    // A second host's agent, listed under the same Prometheus job: the one that will go silent.
    let second_agent_port = free_port();
    let agent_config = std::fs::read_to_string(config.join("agent.toml"))
        .unwrap()
        .replace("hostname = \"\"", "hostname = \"second-host\"");
    std::fs::write(dir.path().join("second-agent.toml"), agent_config).unwrap();
    let second_agent_log = dir.path().join("second-agent.log");
    let mut second_agent = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("agent")
            .arg("--config")
            .arg(dir.path().join("second-agent.toml"))
            .args(["--brokers", &format!("127.0.0.1:{}", ports.broker)])
            .args(["--metrics-listen", &format!("127.0.0.1:{second_agent_port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&second_agent_log).unwrap())
            .spawn()
            .unwrap(),
    );

    // Prometheus and Alertmanager with the shipped files, rewritten where the test must.
    let (prom, am) = (free_port(), free_port());
    let first_agent = format!("127.0.0.1:{}", ports.agent);
    let second_agent_addr = format!("127.0.0.1:{second_agent_port}");
    shipped_with(
        dir.path(),
        "prometheus.yml",
        &["targets:", "scrape_interval:", "evaluation_interval:"],
        |line| {
            line.replace(
                "\"127.0.0.1:9273\"",
                &format!("\"{first_agent}\", \"{second_agent_addr}\""),
            )
            .replace("127.0.0.1:9274", &format!("127.0.0.1:{}", ports.workers))
            .replace("127.0.0.1:9308", &format!("127.0.0.1:{}", ports.exporter))
            .replace("127.0.0.1:9644", &format!("127.0.0.1:{}", ports.broker_http))
            .replace("127.0.0.1:9093", &format!("127.0.0.1:{am}"))
            .replace(": 15s", ": 1500ms")
        },
    );
    shipped_with(dir.path(), "alerts.yml", &["for:"], minutes_as_seconds);
    shipped_with(
        dir.path(),
        "alertmanager.yml",
        &["url:", "group_wait:", "group_interval:", "repeat_interval:"],
        |line| {
            let (indent, rest) = line.split_at(line.len() - line.trim_start().len());
            if rest.starts_with("- url: http://127.0.0.1:5001/") {
                line.replace("127.0.0.1:5001", &webhook_addr.to_string())
            } else if rest.starts_with("group_wait:") || rest.starts_with("group_interval:") {
                format!("{indent}{} 1s", rest.split(' ').next().unwrap())
            } else if rest.starts_with("repeat_interval:") {
                format!("{indent}repeat_interval: 1h")
            } else {
                line.to_string()
            }
        },
    );
    let _alertmanager = KillOnDrop(
        Command::new(&alertmanager_bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.path().join("alertmanager").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("alertmanager.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let _prometheus = KillOnDrop(
        Command::new(&prometheus_bin)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .unwrap(),
    );

    // Ready: every target up, Alertmanager known to Prometheus, every rule loaded with its scaled
    // `for:` and evaluated, the http sink delivering and its group's lag exported.
    let expected = scaled_durations();
    assert_eq!(expected.len(), 12, "{expected:?}");
    let am_url = format!("http://127.0.0.1:{am}/api/v2/alerts");
    let ready = poll::until_async(Duration::from_secs(60), Duration::from_millis(500), async || {
        let targets_up = scalar(prom, "count(up == 1)").await == Some(5.0);
        let am_known = api(prom, "/api/v1/alertmanagers").await["data"]["activeAlertmanagers"]
            .as_array()
            .is_some_and(|a| a.iter().any(|m| m["url"] == am_url.as_str()));
        let rules = api(prom, "/api/v1/rules").await;
        let loaded: BTreeMap<String, f64> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .filter(|r| r["health"] == "ok")
            .filter_map(|r| Some((r["name"].as_str()?.to_string(), r["duration"].as_f64()?)))
            .collect();
        let delivering = !sink_server.lock().unwrap().accepted.is_empty();
        let lag_exported = scalar(
            prom,
            &format!("kafka_consumergroup_records_lag_max{{group=\"{GROUP}\"}}"),
        )
        .await
        .is_some();
        targets_up && am_known && loaded == expected && delivering && lag_exported
    })
    .await;
    assert!(
        ready,
        "not ready within 60 s: targets {}, alertmanagers {}, rules {}\n{}",
        api(prom, "/api/v1/targets").await["data"]["activeTargets"],
        api(prom, "/api/v1/alertmanagers").await,
        api(prom, "/api/v1/rules").await,
        alert_state(prom, am, &webhook).await
    );
    let ready_after = started.elapsed();

    // 1. Healthy: for two minutes, checked every second, no alert fires in Prometheus, none is
    // in Alertmanager, nothing reaches the webhook. An alert may be pending a moment (a
    // collection that catches the agent's last records not yet committed is lag, growing); its
    // `for:` is there to let that pass, and the check is that it does.
    let healthy_from = Instant::now();
    let (mut checks, mut pending) = (0, BTreeMap::<String, usize>::new());
    while healthy_from.elapsed() < HEALTHY {
        let in_prometheus = api(prom, "/api/v1/alerts").await["data"]["alerts"].clone();
        let in_alertmanager = api(am, "/api/v2/alerts").await;
        let sent = webhook.lock().unwrap().accepted.len();
        let alerts = in_prometheus.as_array().expect("Prometheus answers /api/v1/alerts");
        let firing = alerts.iter().any(|a| a["state"] != "pending");
        assert!(
            !firing && in_alertmanager.as_array().is_some_and(Vec::is_empty) && sent == 0,
            "an alert after {:?} of a healthy pipeline:\n{}",
            healthy_from.elapsed(),
            alert_state(prom, am, &webhook).await
        );
        for a in alerts {
            *pending
                .entry(a["labels"]["alertname"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        checks += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Every rule was evaluated throughout, without error, and still is.
    let rules = api(prom, "/api/v1/rules").await;
    for rule in rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
    {
        assert_eq!(rule["health"], "ok", "{rule}");
        assert_ne!(rule["state"], "firing", "{rule}");
    }
    let delivered_healthy = sink_server.lock().unwrap().accepted.len();
    eprintln!(
        "ready after {ready_after:?}; healthy for {HEALTHY:?}: {checks} checks, none firing (pending, in checks: \
         {pending:?}); the http sink took {delivered_healthy} batches"
    );

    // 2. The http sink fails; a burst into the agent's partition (keyed by its host, as the
    // agent keys its records) makes its group lag past the threshold.
    sink_server.lock().unwrap().behaviour.fail_until = Some(Instant::now() + Duration::from_secs(3600));
    let broke_at = Instant::now();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let burst: String = (0..BURST)
        .map(|i| format!("{host}\tburst,host={host} n={i}i {ts}\n"))
        .collect();
    let mut producer = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["produce", "--bootstrap-server", &format!("127.0.0.1:{}", ports.broker)])
        .args(["--topic", "metrics", "--property", "parse.key=true"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    producer.stdin.take().unwrap().write_all(burst.as_bytes()).unwrap();
    assert!(producer.wait().unwrap().success(), "sluice produce failed");
    let produced_in = broke_at.elapsed();

    let lag_high = [("group", GROUP), ("topic", "metrics"), ("severity", "warning")];
    let fired = poll::until_async(Duration::from_secs(90), Duration::from_millis(250), async || {
        find(
            &webhook,
            "/sluice/warning",
            "KafkaConsumerGroupLagHigh",
            "firing",
            &lag_high,
        )
        .is_some()
    })
    .await;
    let lag_now = scalar(
        prom,
        &format!("kafka_consumergroup_records_lag_max{{group=\"{GROUP}\"}}"),
    )
    .await;
    assert!(
        fired,
        "KafkaConsumerGroupLagHigh never reached the webhook (records_lag_max {lag_now:?})\n{}",
        alert_state(prom, am, &webhook).await
    );
    let fired_after = broke_at.elapsed();
    let alert = find(
        &webhook,
        "/sluice/warning",
        "KafkaConsumerGroupLagHigh",
        "firing",
        &lag_high,
    )
    .unwrap();
    assert_eq!(
        alert.annotations["runbook_url"], "docs/runbooks/KafkaConsumerGroupLagHigh.md",
        "{alert:?}"
    );
    assert!(
        alert.annotations["description"]
            .as_str()
            .unwrap_or_default()
            .contains(GROUP),
        "{alert:?}"
    );
    assert!(sink_server.lock().unwrap().refused > 0, "the http sink was refused");

    // 3. The sink recovers and the second host's agent stops.
    sink_server.lock().unwrap().behaviour.fail_until = None;
    let recovered_at = Instant::now();
    terminate(&mut second_agent.0, "the second agent");
    let agent_stopped_at = Instant::now();
    let silent = [("instance", second_agent_addr.as_str()), ("severity", "critical")];
    let (mut resolved_after, mut silent_after, mut caught_up_after) = (None, None, None);
    let all_seen = poll::until_async(Duration::from_secs(90), Duration::from_millis(250), async || {
        if resolved_after.is_none()
            && find(
                &webhook,
                "/sluice/warning",
                "KafkaConsumerGroupLagHigh",
                "resolved",
                &lag_high,
            )
            .is_some()
        {
            resolved_after = Some(recovered_at.elapsed());
        }
        if silent_after.is_none()
            && find(
                &webhook,
                "/sluice/critical",
                "SluiceAgentNotReporting",
                "firing",
                &silent,
            )
            .is_some()
        {
            silent_after = Some(agent_stopped_at.elapsed());
        }
        if caught_up_after.is_none()
            && scalar(
                prom,
                &format!("kafka_consumergroup_records_lag_max{{group=\"{GROUP}\"}}"),
            )
            .await
                == Some(0.0)
        {
            caught_up_after = Some(recovered_at.elapsed());
        }
        resolved_after.is_some() && silent_after.is_some() && caught_up_after.is_some()
    })
    .await;
    assert!(
        all_seen,
        "after recovery: resolved {resolved_after:?}, agent alert {silent_after:?}, caught up {caught_up_after:?}\n{}",
        alert_state(prom, am, &webhook).await
    );
    // Every burst record reached the recovered sink (at least once).
    let burst_delivered: usize = {
        let s = sink_server.lock().unwrap();
        s.accepted
            .iter()
            .map(|r| r.body.lines().filter(|l| l.starts_with("burst,")).count())
            .sum()
    };
    assert!(
        burst_delivered >= BURST,
        "{burst_delivered} of {BURST} burst records delivered"
    );
    // Only the stopped agent went silent; sluice up's own kept reporting.
    let wrongly_silent = notified(&webhook)
        .into_iter()
        .filter(|n| {
            n.labels["alertname"] == "SluiceAgentNotReporting" && n.labels["instance"] != second_agent_addr.as_str()
        })
        .collect::<Vec<_>>();
    assert!(wrongly_silent.is_empty(), "{wrongly_silent:#?}");

    // 4. While the exporter is reported down, a lag alert is held back. Both alerts are made up
    // and posted to Alertmanager's API: the live exporter runs inside sluice up.
    let made_up = r#"[
        {"labels": {"alertname": "SluiceLagExporterDown", "severity": "critical", "instance": "made-up:9308"}},
        {"labels": {"alertname": "KafkaConsumerGroupLagHigh", "severity": "warning", "group": "made-up", "topic": "metrics"}}
    ]"#;
    let (status, body) = post_json(am, "/api/v2/alerts", made_up)
        .await
        .expect("Alertmanager answers");
    assert!(status.contains(" 200 "), "{status} {body}");
    let inhibited = poll::until_async(Duration::from_secs(10), Duration::from_millis(200), async || {
        let alerts = api(am, "/api/v2/alerts").await;
        let state = |group: &str, name: &str| {
            alerts.as_array().into_iter().flatten().find_map(|a| {
                (a["labels"]["alertname"] == name && (group.is_empty() || a["labels"]["group"] == group))
                    .then(|| a["status"].clone())
            })
        };
        let lag = state("made-up", "KafkaConsumerGroupLagHigh");
        let down = state("", "SluiceLagExporterDown");
        lag.is_some_and(|s| s["state"] == "suppressed" && !s["inhibitedBy"].as_array().unwrap().is_empty())
            && down.is_some_and(|s| s["state"] == "active")
    })
    .await;
    assert!(inhibited, "{}", alert_state(prom, am, &webhook).await);
    // The exporter's alert is sent; the lag alert it inhibits is not.
    let sent = poll::until_async(Duration::from_secs(10), Duration::from_millis(200), async || {
        find(&webhook, "/sluice/critical", "SluiceLagExporterDown", "firing", &[]).is_some()
    })
    .await;
    assert!(sent, "{}", alert_state(prom, am, &webhook).await);
    assert!(
        find(
            &webhook,
            "/sluice/warning",
            "KafkaConsumerGroupLagHigh",
            "firing",
            &[("group", "made-up")]
        )
        .is_none(),
        "an inhibited alert was sent"
    );

    let received: Vec<String> = notified(&webhook)
        .iter()
        .map(|n| {
            format!(
                "{} {} {}",
                n.path,
                n.labels["alertname"].as_str().unwrap_or("?"),
                n.status
            )
        })
        .collect();
    eprintln!(
        "sink failing: {BURST} records produced in {produced_in:?}, KafkaConsumerGroupLagHigh at the webhook \
         {fired_after:?} after the failure; sink recovered: lag 0 after {:?}, resolved at the webhook after {:?}; \
         second agent stopped: SluiceAgentNotReporting at the webhook after {:?}; the webhook received: {received:?}; \
         whole test {:?}",
        caught_up_after.unwrap(),
        resolved_after.unwrap(),
        silent_after.unwrap(),
        started.elapsed()
    );
    terminate(&mut sluice.0, "sluice up");
}
