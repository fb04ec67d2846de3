//! The three ways to run the agent: [`run`] (until shutdown), [`test`] (`--test`: gather once,
//! print line protocol) and [`once`] (`--once`: gather once, send one batch, wait for its
//! acknowledgement).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use model::line_protocol;
use rdkafka::error::KafkaError;
use tokio::sync::watch;

use crate::config::{AgentConfig, Config, ConfigError};
use crate::flusher::{now_ns, Flusher};
use crate::inputs::{Input, InputError};
use crate::output::{KafkaOutput, Outcome};
use crate::queue::{Buffer, Queue, Spool, SpoolError};
use crate::record::{Encoder, Record};
use crate::scheduler::{Decoration, Scheduler};
use crate::self_metrics::SelfMetrics;
use crate::shared::Shared;

/// CPU usage is a difference: `--test` and `--once` read twice, this far apart.
const CPU_WINDOW: Duration = Duration::from_millis(500);
/// How long a stopping agent keeps trying to deliver what it holds.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// `--once` waits this long for the broker's acknowledgement.
const ONCE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("no [[outputs.kafka]] table: the agent needs somewhere to send samples (try --test to only print them)")]
    NoOutput,
    #[error("cannot serve self-metrics on {addr} (set [agent] metrics_listen, or \"\" to turn it off): {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("cannot create the Kafka producer: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{failed} of {total} records were not acknowledged within {timeout:?}: {error}")]
    NotDelivered {
        failed: usize,
        total: usize,
        timeout: Duration,
        error: String,
    },
}

/// The `host` tag and the `sluice-agent` header: `[agent] hostname`, or this machine's name.
pub fn hostname(agent: &AgentConfig) -> String {
    if !agent.hostname.is_empty() {
        return agent.hostname.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn decoration(config: &Config, host: &str) -> Decoration {
    Decoration {
        global_tags: config.global_tags.clone().into_iter().collect(),
        host: (!config.agent.omit_hostname).then(|| host.to_string()),
        precision_ns: config.agent.precision_ns(),
    }
}

/// Runs until `shutdown` completes, then stops: sampling ends, what is buffered gets
/// `SHUTDOWN_GRACE` to reach the broker (the spool keeps the rest for the next start).
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    config.validate()?;
    let kafka = config.kafka().ok_or(AgentError::NoOutput)?.clone();
    let agent = &config.agent;
    let host = hostname(agent);
    let metrics = SelfMetrics::new();
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut metrics_addr = None;
    if !agent.metrics_listen.is_empty() {
        // validate() checked that it parses.
        let addr: SocketAddr = agent
            .metrics_listen
            .parse()
            .map_err(|_| ConfigError::invalid("agent.metrics_listen", "HOST:PORT", &agent.metrics_listen))?;
        let (bound, task) = metrics_endpoint::bind(addr, metrics.registry.clone(), stopped.clone())
            .await
            .map_err(|source| AgentError::Listen { addr, source })?;
        metrics_addr = Some(bound);
        tasks.push(task);
    }
    let queue = match &agent.spool_dir {
        Some(dir) => {
            let (spool, recovered) = Spool::open(dir, agent.spool_max_bytes, agent.spool_max_age.0)?;
            if recovered.records > 0 || recovered.truncated_bytes > 0 {
                tracing::info!(dir = %dir.display(), records = recovered.records, truncated_bytes = recovered.truncated_bytes, "spool recovered; unsent samples go first");
            }
            Queue::Spool(spool)
        }
        None => Queue::Memory(Buffer::new(agent.metric_buffer_limit)),
    };
    let shared = Arc::new(Shared::new(queue, metrics, agent.metric_batch_size));
    shared.push(Vec::new(), now_ns())?;
    let mut inputs = Input::all(&config)?;
    for input in &mut inputs {
        if let Err(e) = input.prime() {
            tracing::warn!(error = %e, "first read failed");
        }
    }
    let output = KafkaOutput::new(&kafka, &host, None)?;
    tracing::info!(
        inputs = %describe_inputs(&config),
        interval = %humantime::format_duration(agent.interval.0),
        flush_interval = %humantime::format_duration(agent.flush_interval.0),
        brokers = %kafka.brokers.join(","),
        topic = %kafka.topic,
        data_format = ?kafka.data_format,
        host = %host,
        buffer = %agent.spool_dir.as_ref().map_or_else(
            || format!("memory, {} records", agent.metric_buffer_limit),
            |d| format!("spool {}", d.display())
        ),
        metrics = %metrics_addr.map_or_else(|| "off".to_string(), |a| format!("http://{a}/metrics")),
        "agent started"
    );
    let scheduler = Scheduler {
        inputs,
        decoration: decoration(&config, &host),
        encoder: Encoder::new(&kafka),
        shared: shared.clone(),
        interval: agent.interval.0,
        round_interval: agent.round_interval,
        collection_jitter: agent.collection_jitter.0,
    };
    let flusher = Flusher {
        shared,
        output,
        flush_interval: agent.flush_interval.0,
        flush_jitter: agent.flush_jitter.0,
        batch_size: agent.metric_batch_size,
        shutdown_grace: SHUTDOWN_GRACE,
    };
    tasks.push(tokio::spawn(scheduler.run(stopped.clone())));
    tasks.push(tokio::spawn(flusher.run(stopped)));
    shutdown.await;
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!("agent stopped");
    Ok(())
}

fn describe_inputs(config: &Config) -> String {
    let mut parts: Vec<String> = config
        .inputs
        .cpu
        .iter()
        .map(|c| {
            let mut what = vec![];
            if c.totalcpu {
                what.push("total");
            }
            if c.percpu {
                what.push("per-cpu");
            }
            format!("cpu ({})", what.join(", "))
        })
        .collect();
    parts.extend(config.inputs.mem.iter().map(|_| "mem".to_string()));
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Gathers every input once (CPU twice, `CPU_WINDOW` apart) and returns the tagged metrics.
async fn gather_once(config: &Config, host: &str) -> Result<Vec<model::Metric>, AgentError> {
    let mut inputs = Input::all(config)?;
    for input in &mut inputs {
        input.prime()?;
    }
    tokio::time::sleep(CPU_WINDOW).await;
    let d = decoration(config, host);
    let now = now_ns();
    let mut out = Vec::new();
    for input in &mut inputs {
        for mut m in input.gather(now)? {
            d.apply(&mut m);
            out.push(m);
        }
    }
    Ok(out)
}

/// `--test`: line protocol for one gather, as `telegraf --test` prints it. Needs no broker.
pub async fn test(config: Config) -> Result<String, AgentError> {
    let host = hostname(&config.agent);
    let mut out = String::new();
    for m in gather_once(&config, &host).await? {
        line_protocol::encode_into(&m, line_protocol::Options::default(), &mut out);
    }
    Ok(out)
}

/// `--once`: one gather sent as one batch; returns how many records the broker acknowledged.
pub async fn once(config: Config) -> Result<usize, AgentError> {
    config.validate()?;
    let kafka = config.kafka().ok_or(AgentError::NoOutput)?.clone();
    let host = hostname(&config.agent);
    let encoder = Encoder::new(&kafka);
    let records: Vec<Record> = gather_once(&config, &host)
        .await?
        .iter()
        .filter_map(|m| encoder.encode(m))
        .enumerate()
        .map(|(i, r)| Record { seq: i as u64, ..r })
        .collect();
    let output = KafkaOutput::new(&kafka, &host, Some(ONCE_TIMEOUT))?;
    let outcomes = output.send(&records).await;
    let total = outcomes.len();
    let failed: Vec<String> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Delivered => None,
            Outcome::Rejected(e) | Outcome::Failed(e) => Some(e.to_string()),
        })
        .collect();
    if let Some(error) = failed.first() {
        return Err(AgentError::NotDelivered {
            failed: failed.len(),
            total,
            timeout: ONCE_TIMEOUT,
            error: error.clone(),
        });
    }
    Ok(total)
}
