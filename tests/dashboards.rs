//! `dashboards/`: the Grafana dashboard and the alert rules refer to metrics that exist, every
//! alert has a runbook, and a real Prometheus (Debian's package) with `prometheus.yml` scrapes a
//! running pipeline (broker, agent, workers with the prometheus sink, lag exporter) and gets
//! data for every expression.

mod support;
use support::prometheus::{self, query};
use support::{free_port, poll, repo, KillOnDrop};

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every `expr` of every panel of the Grafana dashboard.
fn dashboard_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(repo("dashboards/grafana/sluice.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("sluice.json is valid JSON");
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(target["expr"].as_str().expect("every target has an expr").to_string());
        }
    }
    out
}

/// (alert name, expr) of every rule in alerts.yml (block scalars `expr: |` included).
fn alert_rules() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("dashboards/prometheus/alerts.yml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut name = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if let Some(n) = t.strip_prefix("- alert: ") {
            name = Some(n.to_string());
        } else if let Some(e) = t.strip_prefix("expr: ") {
            let indent = line.len() - line.trim_start().len();
            let expr = if e == "|" {
                lines[i + 1..]
                    .iter()
                    .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                    .map(|l| l.trim())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                e.to_string()
            };
            out.push((name.clone().expect("expr after alert"), expr.trim().to_string()));
        }
    }
    out
}

/// Metric selectors (`name` or `name{…}`) in an expression.
fn selectors(expr: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\b((?:kafka|sluice|cpu|mem)_[a-z_]+|up)\b(\{[^}]*\})?").unwrap();
    re.captures_iter(expr)
        .filter(|c| !expr[c.get(0).unwrap().end()..].starts_with('('))
        .map(|c| c.get(0).unwrap().as_str().to_string())
        .collect()
}

fn known_metrics() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = lag_exporter::metrics::FAMILIES
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    for n in [
        lag_exporter::metrics::UP,
        lag_exporter::metrics::COLLECT_DURATION,
        lag_exporter::metrics::LAST_SUCCESS,
        lag_exporter::metrics::SERIES,
        lag_exporter::metrics::COLLECTIONS_FAILED,
        "up",
    ] {
        names.insert(n.to_string());
    }
    let agent = std::fs::read_to_string(repo("agent/src/self_metrics.rs")).unwrap();
    let re = regex::Regex::new(r#""(sluice_agent_[a-z_]+)""#).unwrap();
    names.extend(re.captures_iter(&agent).map(|c| c[1].to_string()));
    let workers = std::fs::read_to_string(repo("workers/src/metrics.rs")).unwrap();
    let re = regex::Regex::new(r#""(sluice_worker_[a-z_]+)""#).unwrap();
    for c in re.captures_iter(&workers) {
        // A histogram's series: its buckets, sum and count.
        for suffix in ["", "_bucket", "_sum", "_count"] {
            names.insert(format!("{}{suffix}", &c[1]));
        }
    }
    // Series of the workers' prometheus sink (host CPU and memory).
    for n in ["cpu_usage_idle", "mem_used_percent"] {
        names.insert(n.to_string());
    }
    names
}

fn name_of(selector: &str) -> &str {
    selector.split('{').next().unwrap()
}

#[test]
fn the_dashboard_and_the_alerts_use_only_metrics_that_exist() {
    let known = known_metrics();
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 14, "{exprs:?}");
    let rules = alert_rules();
    assert_eq!(rules.len(), 12, "{rules:?}");
    for expr in exprs.iter().chain(rules.iter().map(|(_, e)| e)) {
        let s = selectors(expr);
        assert!(!s.is_empty(), "no metric in {expr}");
        for sel in s {
            assert!(known.contains(name_of(&sel)), "unknown metric {sel} in {expr}");
        }
    }
}

#[test]
fn every_alert_has_a_runbook_in_the_repository() {
    let text = std::fs::read_to_string(repo("dashboards/prometheus/alerts.yml")).unwrap();
    let runbooks: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook_url: "))
        .collect();
    let rules = alert_rules();
    assert_eq!(runbooks.len(), rules.len());
    for ((name, _), url) in rules.iter().zip(&runbooks) {
        assert_eq!(*url, format!("docs/runbooks/{name}.md"));
        let book = std::fs::read_to_string(repo(url)).unwrap_or_else(|_| panic!("{url} missing"));
        for section in ["## Meaning", "## Impact", "## Diagnosis", "## Fix"] {
            assert!(book.contains(section), "{url}: {section}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_pipeline_and_every_expression_has_live_data() {
    let prometheus_bin = prometheus::binary(&["prometheus"], "prometheus");
    let dir = tempfile::tempdir().unwrap();

    let mut bc = broker::BrokerConfig::ephemeral(&dir.path().join("broker"));
    bc.groups.initial_rebalance_delay = Duration::ZERO;
    let broker = broker::start(bc).await.unwrap();
    broker.ensure_topic("metrics", 6).unwrap();
    let bootstrap = broker.bootstrap();

    let agent_port = free_port();
    let ac = agent::Config::parse(&format!(
        "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n  metrics_listen = \"127.0.0.1:{agent_port}\"\n\
         [[outputs.kafka]]\n  brokers = [\"{bootstrap}\"]\n  topic = \"metrics\"\n[[inputs.cpu]]\n[[inputs.mem]]\n"
    ))
    .unwrap();
    ac.validate().unwrap();
    let (agent_stop, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(agent::run(ac, async {
        let _ = agent_stopped.await;
    }));

    let exporter = lag_exporter::start(lag_exporter::Config {
        brokers: vec![bootstrap.clone()],
        interval: Duration::from_secs(1),
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    // The workers as shipped would run them: a file sink and the prometheus sink.
    let worker = workers::start(
        workers::Config::parse(&format!(
            "brokers = [\"{bootstrap}\"]\nmetrics_listen = \"127.0.0.1:0\"\n\
             [[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n\
             [[sinks]]\ntype = \"prometheus\"\nname = \"prometheus\"\n",
            dir.path().join("metrics.lp").display()
        ))
        .unwrap(),
    )
    .await
    .unwrap();

    // prometheus.yml as shipped, pointed at this test's ports and scraping every second.
    let config = std::fs::read_to_string(repo("dashboards/prometheus/prometheus.yml"))
        .unwrap()
        .replace("127.0.0.1:9273", &format!("127.0.0.1:{agent_port}"))
        .replace("127.0.0.1:9308", &exporter.local_addr().to_string())
        .replace("127.0.0.1:9274", &worker.metrics_addr().unwrap().to_string())
        .replace("127.0.0.1:9644", &broker.http_addr().unwrap().to_string())
        .replace("15s", "1s");
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    std::fs::copy(repo("dashboards/prometheus/alerts.yml"), dir.path().join("alerts.yml")).unwrap();
    let prom_port = free_port();
    let _prometheus = KillOnDrop(
        Command::new(prometheus_bin)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Every target of a running component is up.
    let deadline = Instant::now() + Duration::from_secs(60);
    for job in ["sluice-agent", "sluice-workers", "sluice-lag-exporter", "sluice-broker"] {
        let up = async || query(prom_port, &format!("up{{job=\"{job}\"}} == 1")).await == Some(1);
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            poll::until_async(left, Duration::from_millis(500), up).await,
            "target {job} never up"
        );
    }

    // Every expression of the dashboard, and every selector of the alert rules, returns data.
    let mut pending: Vec<String> = dashboard_exprs();
    for (_, expr) in alert_rules() {
        pending.extend(selectors(&expr).into_iter().map(|s| format!("count({s})")));
    }
    pending.sort();
    pending.dedup();
    let checked = pending.len();
    let left = (deadline + Duration::from_secs(30)).saturating_duration_since(Instant::now());
    let all_have_data = poll::until_async(left, Duration::from_millis(500), async || {
        let mut still = Vec::new();
        for q in std::mem::take(&mut pending) {
            if query(prom_port, &q).await.unwrap_or(0) == 0 {
                still.push(q);
            }
        }
        pending = still;
        pending.is_empty()
    })
    .await;
    assert!(all_have_data, "no data for {pending:#?}");
    eprintln!("{checked} expressions and selectors have live data");

    // With the worker stopped the agent's records pile up: the lag alert's expression holds
    // (its threshold lowered from 10000 records to any lag).
    let (_, lag_alert) = alert_rules()
        .into_iter()
        .find(|(n, _)| n == "KafkaConsumerGroupLagHigh")
        .unwrap();
    assert!(lag_alert.ends_with("> 10000"), "{lag_alert}");
    let lagging = lag_alert.replace("> 10000", "> 0");
    worker.shutdown().await.unwrap();
    let visible = async || {
        let lag_without_members = format!("{lagging} and on (group) kafka_consumergroup_members == 0");
        query(prom_port, &lag_without_members).await.unwrap_or(0) != 0
    };
    let seen = poll::until_async(Duration::from_secs(60), Duration::from_millis(500), visible).await;
    assert!(seen, "lag never became visible");

    let _ = agent_stop.send(());
    let _ = agent.await;
    exporter.shutdown().await;
    broker.shutdown().await;
}
