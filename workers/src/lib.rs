//! Consumer-group workers that fan the metric topic out to sinks: at least once, and exactly
//! once into a sink that keeps its offsets with its data (postgres).
//!
//! # Layout
//!
//! - [`config`]: `workers.toml` (brokers, topic, group prefix, dead-letter topic, `[[sinks]]`).
//! - `consumer`: one Kafka consumer per sink and instance; each sink consumes as its own group
//!   `<group>-<sink name>`, so a slow or failing sink lags on its own (visible as that group's
//!   consumer lag) while the others keep delivering.
//! - [`sinks`]: one sink per file behind the [`sinks::Sink`] trait.
//! - `sequence`, `dead_letter`, `context`, `lag`: loss and duplicate accounting from the
//!   agent's headers (records are decoded by `model::record`), the dead-letter topic, librdkafka's
//!   rebalance callback, and `records-lag-max` from the consumer's position and cached high
//!   watermarks.
//! - [`metrics`]: every metric the workers publish, served at `metrics_listen` `/metrics`.
//!
//! A record's path: librdkafka fetch → batch → decode (undecodable → dead-letter topic) → sink
//! `deliver_from` (transient errors retried with capped backoff; rejection → dead-letter topic) →
//! offsets stored and committed. A sink with [`sinks::StoredOffsets`] writes each partition's
//! next offset in its own transaction, and its consumers start assigned partitions there. Nothing here knows how the agent gathers or the broker stores.

pub mod config;
mod consumer;
mod context;
pub mod dead_letter;
mod lag;
pub mod metrics;
mod sequence;
pub mod sinks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::{Config, ConfigError};
pub use metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("metrics endpoint {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("sink {sink}: {message}")]
    Sink { sink: String, message: String },
}

/// Workers running in this process.
pub struct RunningWorkers {
    metrics: Metrics,
    metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<Result<(), rdkafka::error::KafkaError>>,
}

/// Starts every sink's consumers and the metrics endpoint.
pub async fn start(config: Config) -> Result<RunningWorkers, WorkerError> {
    config.validate()?;
    let metrics = Metrics::new();
    let (stop, stopped) = watch::channel(false);
    let metrics_addr = if config.metrics_listen.is_empty() {
        None
    } else {
        let listen_err = |source| WorkerError::Listen {
            addr: config.metrics_listen.clone(),
            source,
        };
        let addr: SocketAddr = config
            .metrics_listen
            .parse()
            .map_err(|e| listen_err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        let (bound, _task) = metrics_endpoint::bind(addr, metrics.registry.clone(), stopped.clone())
            .await
            .map_err(listen_err)?;
        Some(bound)
    };
    let shared = Arc::new(consumer::Shared {
        dead_letters: dead_letter::DeadLetters::new(&config)?,
        metrics: metrics.clone(),
        sequences: Mutex::new(Default::default()),
        config,
    });
    let mut tasks = JoinSet::new();
    for (i, sink) in shared.config.sinks.iter().enumerate() {
        let factory = sink.open(&metrics.registry).map_err(|e| WorkerError::Sink {
            sink: sink.name().to_string(),
            message: e.to_string(),
        })?;
        let lags: Arc<[AtomicI64]> = (0..shared.config.instances).map(|_| AtomicI64::new(0)).collect();
        for index in 0..shared.config.instances {
            let me = consumer::Instance {
                sink: sink.name().to_string(),
                factory: factory.clone(),
                stored: sink.stored_offsets(),
                index,
                lags: lags.clone(),
                tracks_sequence: i == 0,
            };
            tasks.spawn(consumer::run(shared.clone(), me, stopped.clone()));
        }
    }
    tracing::info!(
        sinks = shared.config.sinks.len(),
        instances = shared.config.instances,
        topic = %shared.config.topic,
        "workers started"
    );
    Ok(RunningWorkers {
        metrics,
        metrics_addr,
        stop,
        tasks,
    })
}

impl RunningWorkers {
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Lets every consumer finish its batch and commit, then returns the first error.
    pub async fn shutdown(mut self) -> Result<(), WorkerError> {
        let _ = self.stop.send(true);
        let mut result = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(Err(e)) if result.is_ok() => result = Err(WorkerError::Kafka(e)),
                Err(e) => tracing::error!(error = %e, "a consumer task panicked"),
                _ => {}
            }
        }
        result
    }
}

/// Runs until `shutdown` resolves (or a consumer fails), then stops cleanly.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
    let mut running = start(config).await?;
    tokio::select! {
        _ = shutdown => {}
        Some(joined) = running.tasks.join_next() => {
            if let Ok(Err(e)) = joined {
                tracing::error!(error = %e, "a consumer failed; stopping");
                running.shutdown().await?;
                return Err(WorkerError::Kafka(e));
            }
        }
    }
    running.shutdown().await
}
