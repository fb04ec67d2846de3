//! `sluice up`: the whole pipeline in one process, from the files in `--config-dir`.
//!
//! ```text
//! start:  broker ─▶ topics ─▶ workers ─▶ lag exporter ─▶ agent      (consumers ready first)
//! stop:   agent (flushes) ─▶ workers (commit) ─▶ lag exporter ─▶ broker (syncs)
//! ```
//!
//! Every component is pointed at the bundled broker whatever its file says, and everything it
//! keeps on disk lives under `--data-dir`: the broker's log, the agent's spool (so sequence
//! numbers continue after a restart) and the file sinks' relative paths.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::{broker_config, shutdown_signal, METRIC_PARTITIONS, METRIC_TOPIC};

/// How long an ordered stop may take before `sluice up` gives up waiting and says so.
const STOP_BUDGET: Duration = Duration::from_secs(10);

/// Every component's configuration, adjusted for one process on this machine.
struct Pipeline {
    broker: broker::BrokerConfig,
    agent: agent::Config,
    workers: workers::Config,
    exporter: lag_exporter::Config,
    files: Files,
}

/// The file each component's settings came from, for messages that name them.
struct Files {
    broker: PathBuf,
    agent: PathBuf,
    workers: PathBuf,
    exporter: PathBuf,
}

impl Pipeline {
    fn load(config_dir: &Path, data_dir: &Path) -> anyhow::Result<Pipeline> {
        let files = Files {
            broker: config_dir.join("broker.toml"),
            agent: config_dir.join("agent.toml"),
            workers: config_dir.join("workers.toml"),
            exporter: config_dir.join("lag-exporter.toml"),
        };
        let broker = broker_config(&files.broker, None, Some(data_dir.to_path_buf()), true)?;
        let mut agent = agent::Config::load(&files.agent)?;
        // A spool under the data dir: unsent samples and the sequence survive a restart.
        agent.agent.spool_dir = Some(match agent.agent.spool_dir.take() {
            Some(dir) if dir.is_absolute() => dir,
            Some(dir) => data_dir.join(dir),
            None => data_dir.join("agent-spool"),
        });
        let mut workers = workers::Config::load(&files.workers)?;
        for sink in &mut workers.sinks {
            if let workers::sinks::SinkConfig::File(f) = sink {
                if f.path.is_relative() {
                    f.path = data_dir.join(&f.path);
                }
            }
        }
        let exporter = if files.exporter.exists() {
            lag_exporter::Config::load(&files.exporter)?
        } else {
            lag_exporter::Config::default()
        };
        Ok(Pipeline {
            broker,
            agent,
            workers,
            exporter,
            files,
        })
    }

    /// Points every client at the bundled broker.
    fn connect_to(&mut self, bootstrap: &str) {
        for kafka in &mut self.agent.outputs.kafka {
            kafka.brokers = vec![bootstrap.to_string()];
        }
        self.workers.brokers = vec![bootstrap.to_string()];
        self.exporter.brokers = vec![bootstrap.to_string()];
    }

    /// Every address this process will listen on, with the setting that chooses it.
    fn listeners(&self) -> Vec<(String, String, &Path)> {
        let mut out: Vec<(String, String, &Path)> = self
            .broker
            .listeners
            .iter()
            .map(|l| {
                (
                    format!("{}:{}", l.host, l.port),
                    "listeners".into(),
                    self.files.broker.as_path(),
                )
            })
            .collect();
        let optional = [
            (
                &self.agent.agent.metrics_listen,
                "[agent] metrics_listen",
                self.files.agent.as_path(),
            ),
            (
                &self.workers.metrics_listen,
                "metrics_listen",
                self.files.workers.as_path(),
            ),
            (&self.exporter.listen, "listen", self.files.exporter.as_path()),
        ];
        for (addr, setting, file) in optional {
            if !addr.is_empty() {
                out.push((addr.clone(), setting.to_string(), file));
            }
        }
        if let Some(http) = self.broker.http_listen {
            out.push((
                http.to_string(),
                "sluice.http.listen".into(),
                self.files.broker.as_path(),
            ));
        }
        out
    }

    /// Fails before anything starts when an address is taken, naming the setting to change.
    fn check_ports(&self) -> anyhow::Result<()> {
        for (addr, setting, file) in self.listeners() {
            let Ok(parsed) = addr.parse::<SocketAddr>() else {
                continue; // a host name: the component reports its own error
            };
            if parsed.port() == 0 {
                continue;
            }
            if let Err(e) = std::net::TcpListener::bind(parsed) {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    bail!(
                        "{addr} is already in use (another sluice, Kafka or exporter?). Stop what holds it, or \
                         change `{setting}` in {}",
                        file.display()
                    );
                }
                bail!("cannot listen on {addr} (`{setting}` in {}): {e}", file.display());
            }
        }
        Ok(())
    }
}

/// The broker's runtime. Dropped in async code, so it shuts down in the background (a plain
/// drop there would panic); by then the broker has stopped and synced.
struct BrokerThreads(Option<tokio::runtime::Runtime>);

impl BrokerThreads {
    fn start() -> anyhow::Result<BrokerThreads> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("sluice-broker")
            .enable_all()
            // Idle blocking threads stay, so none of the broker's CPU time leaves with an
            // exited thread before it is read per thread.
            .thread_keep_alive(Duration::from_secs(3600))
            .build()
            .context("starting the broker's threads")?;
        Ok(BrokerThreads(Some(runtime)))
    }

    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.0 {
            Some(runtime) => runtime.spawn(task),
            None => unreachable!("the runtime is only taken on drop"),
        }
    }
}

impl Drop for BrokerThreads {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pub async fn run(config_dir: &Path, data_dir: PathBuf) -> anyhow::Result<()> {
    let mut pipeline = Pipeline::load(config_dir, &data_dir)?;
    pipeline.check_ports()?;
    // The broker runs on threads of its own, named "sluice-broker": a busy sink cannot delay an
    // acknowledgement, and the broker's CPU can be read apart (sluice-fleet does).
    let broker_threads = BrokerThreads::start()?;
    let config = pipeline.broker.clone();
    let broker = broker_threads
        .spawn(async move { broker::start(config).await })
        .await
        .context("the broker panicked while starting")?
        .with_context(|| format!("starting the broker ({})", pipeline.files.broker.display()))?;
    broker
        .ensure_topic(METRIC_TOPIC, METRIC_PARTITIONS)
        .with_context(|| format!("creating the metric topic '{METRIC_TOPIC}'"))?;
    broker
        .ensure_topic(&pipeline.workers.dead_letter_topic, 1)
        .with_context(|| {
            format!(
                "creating the dead-letter topic '{}'",
                pipeline.workers.dead_letter_topic
            )
        })?;
    // The components in this process have no credentials: they use a PLAINTEXT listener.
    let bootstrap = broker.plaintext_bootstrap().with_context(|| {
        format!(
            "sluice up runs its agent, workers and lag exporter over a PLAINTEXT listener, and {} has none; \
             add \"PLAINTEXT://127.0.0.1:9092\" to `listeners` beside the secured one",
            pipeline.files.broker.display()
        )
    })?;
    pipeline.connect_to(&bootstrap);

    let mut banner = Banner::new(&pipeline, &bootstrap, &data_dir);
    banner.other_listeners = broker
        .listeners()
        .filter(|(l, _)| l.addr() != bootstrap)
        .map(|(l, bound)| format!("{}://{bound}", l.protocol.name()))
        .collect();
    let workers = workers::start(pipeline.workers)
        .await
        .with_context(|| format!("starting the workers ({})", pipeline.files.workers.display()))?;
    let exporter = lag_exporter::start(pipeline.exporter)
        .await
        .with_context(|| format!("starting the lag exporter ({})", pipeline.files.exporter.display()))?;
    let (stop_agent, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut agent = tokio::spawn(agent::run(pipeline.agent, async {
        let _ = agent_stopped.await;
    }));
    banner.print(broker.http_addr(), workers.metrics_addr(), exporter.local_addr());

    let mut failed = None;
    tokio::select! {
        _ = shutdown_signal() => {}
        ended = &mut agent => {
            failed = Some(match ended {
                Ok(Ok(())) => anyhow::anyhow!("the agent stopped on its own"),
                Ok(Err(e)) => anyhow::Error::new(e).context("the agent failed"),
                Err(e) => anyhow::anyhow!("the agent panicked: {e}"),
            });
        }
    }

    let started = Instant::now();
    let stop = async {
        let _ = stop_agent.send(());
        if failed.is_none() {
            match agent.await {
                Ok(Ok(())) => tracing::info!("agent stopped (buffered samples flushed)"),
                Ok(Err(e)) => tracing::error!(error = %e, "agent stopped with an error"),
                Err(e) => tracing::error!(error = %e, "agent panicked"),
            }
        }
        if let Err(e) = workers.shutdown().await {
            tracing::error!(error = %e, "workers stopped with an error");
        } else {
            tracing::info!("workers stopped (delivered offsets committed)");
        }
        exporter.shutdown().await;
        broker.shutdown().await;
    };
    if tokio::time::timeout(STOP_BUDGET, stop).await.is_err() {
        bail!("the pipeline did not stop within {STOP_BUDGET:?}; exiting anyway");
    }
    tracing::info!(took = ?started.elapsed(), "sluice stopped");
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What `sluice up` prints once everything listens.
struct Banner {
    bootstrap: String,
    data_dir: PathBuf,
    agent: String,
    agent_metrics: String,
    agent_metrics_listen: String,
    /// The broker's listeners other than the one the pipeline uses, as `PROTOCOL://ip:port`.
    other_listeners: Vec<String>,
    sinks: Vec<String>,
    first_group: String,
}

impl Banner {
    fn new(p: &Pipeline, bootstrap: &str, data_dir: &Path) -> Banner {
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

    fn print(&self, broker_http: Option<SocketAddr>, workers_metrics: Option<SocketAddr>, exporter: SocketAddr) {
        let addresses = [
            Some(self.bootstrap.clone()),
            broker_http.map(|a| a.to_string()),
            workers_metrics.map(|a| a.to_string()),
            Some(exporter.to_string()),
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
            "\nsluice is up: broker, agent, workers and lag exporter in one process.\n\n\
             \x20 broker        {b} (Kafka protocol)   {broker_http}   data in {data}\n\
             {also}\
             \x20 metric topic  {METRIC_TOPIC} ({METRIC_PARTITIONS} partitions)\n\
             \x20 agent         {agent} → {METRIC_TOPIC}   {agent_metrics}\n\
             \x20 workers       {sinks}   {workers_metrics} (worker metrics and host CPU/memory gauges)\n\
             \x20 lag exporter  http://{exporter}/metrics\n\n\
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
