//! What `sluice up` prints once everything listens: the addresses, which of them other hosts
//! can reach, and commands to try.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::pipeline::Pipeline;
use crate::{METRIC_PARTITIONS, METRIC_TOPIC};

/// What `sluice up` prints once everything listens.
pub(super) struct Banner {
    bootstrap: String,
    data_dir: PathBuf,
    agent: String,
    agent_metrics: String,
    agent_metrics_listen: String,
    /// The broker's listeners other than the one the pipeline uses, as `PROTOCOL://ip:port`.
    pub(super) other_listeners: Vec<String>,
    sinks: Vec<String>,
    first_group: String,
}

impl Banner {
    pub(super) fn new(p: &Pipeline, bootstrap: &str, data_dir: &Path) -> Banner {
        let a = &p.agent.agent;
        let inputs: Vec<&str> = [
            (!p.agent.inputs.cpu.is_empty()).then_some("cpu"),
            (!p.agent.inputs.mem.is_empty()).then_some("mem"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let sinks = p
            .workers
            .sinks
            .iter()
            .map(|s| match s {
                workers::sinks::SinkConfig::File(f) => format!("{} → {}", s.name(), f.path.display()),
                _ => s.name().to_string(),
            })
            .collect();
        Banner {
            bootstrap: bootstrap.to_string(),
            data_dir: data_dir.to_path_buf(),
            agent: format!(
                "{} every {}",
                inputs.join(" and "),
                humantime::format_duration(a.interval.0)
            ),
            agent_metrics: endpoint(&a.metrics_listen),
            agent_metrics_listen: a.metrics_listen.clone(),
            other_listeners: Vec::new(),
            sinks,
            first_group: p
                .workers
                .sinks
                .first()
                .map(|s| p.workers.group_of(s.name()))
                .unwrap_or_default(),
        }
    }

    pub(super) fn print(
        &self,
        broker_http: Option<SocketAddr>,
        workers_metrics: Option<SocketAddr>,
        exporter: SocketAddr,
        console: Option<SocketAddr>,
    ) {
        let addresses = [
            Some(self.bootstrap.clone()),
            broker_http.map(|a| a.to_string()),
            workers_metrics.map(|a| a.to_string()),
            Some(exporter.to_string()),
            console.map(|a| a.to_string()),
            (!self.agent_metrics_listen.is_empty()).then(|| self.agent_metrics_listen.clone()),
        ];
        let others = self
            .other_listeners
            .iter()
            .filter_map(|l| l.split_once("://"))
            .map(|(_, a)| a.to_string());
        let exposed: Vec<String> = addresses
            .into_iter()
            .flatten()
            .chain(others)
            .filter(|a| !loopback(a))
            .collect();
        let reach = if exposed.is_empty() {
            "Everything above listens on this machine only (loopback): no other host can reach it. To take\n\
             agents from other hosts, add a SASL_SSL listener to config/broker.toml (docs/security.md).\n"
                .to_string()
        } else {
            format!(
                "Reachable from other hosts: {}; only a SASL listener checks who connects (docs/security.md).\n",
                exposed.join(", ")
            )
        };
        let broker_http = broker_http.map_or_else(|| "HTTP off".to_string(), |a| format!("http://{a}/metrics"));
        let workers_metrics = workers_metrics.map_or_else(|| "off".to_string(), |a| format!("http://{a}/metrics"));
        let sink_file = self
            .sinks
            .iter()
            .find_map(|s| s.split_once(" → ").map(|(_, path)| path.to_string()));
        let b = &self.bootstrap;
        let mut text = format!(
            "\nsluice is up: broker, agent, workers, lag exporter and console in one process.\n\n\
             \x20 broker        {b} (Kafka protocol)   {broker_http}   data in {data}\n\
             {also}\
             \x20 metric topic  {METRIC_TOPIC} ({METRIC_PARTITIONS} partitions)\n\
             \x20 agent         {agent} → {METRIC_TOPIC}   {agent_metrics}\n\
             \x20 workers       {sinks}   {workers_metrics} (worker metrics and host CPU/memory gauges)\n\
             \x20 lag exporter  http://{exporter}/metrics\n\
             {console}\n\
             {reach}\n\
             Try (the binary is target/release/sluice):\n",
            data = self.data_dir.display(),
            also = if self.other_listeners.is_empty() {
                String::new()
            } else {
                format!("  also          {}\n", self.other_listeners.join(", "))
            },
            agent = self.agent,
            agent_metrics = self.agent_metrics,
            console = console.map_or_else(String::new, |a| format!("  console       http://{a}/\n")),
            sinks = self.sinks.join(", "),
        );
        if let Some(file) = sink_file {
            text.push_str(&format!("  tail -f {file}\n"));
        }
        text.push_str(&format!(
            "  sluice consume --bootstrap-server {b} --topic {METRIC_TOPIC} --from-beginning --max-messages 5\n\
             \x20 sluice groups --bootstrap-server {b} --describe --group {group}\n\
             \x20 curl -s http://{exporter}/metrics | grep records_lag_max\n\n\
             Ctrl-C or SIGTERM stops it in order: the agent flushes, the workers commit, the broker syncs.\n",
            group = self.first_group,
        ));
        println!("{text}");
    }
}

/// Whether HOST:PORT only accepts connections from this machine.
fn loopback(address: &str) -> bool {
    match address.parse::<SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => address.rsplit_once(':').is_some_and(|(host, _)| host == "localhost"),
    }
}

fn endpoint(listen: &str) -> String {
    if listen.is_empty() {
        "metrics off".into()
    } else {
        format!("http://{listen}/metrics")
    }
}
