//! Consumer-group lag of any Kafka cluster (the bundled broker or another) as Prometheus metrics.
//!
//! # Layout
//!
//! - [`config`]: `config/lag-exporter.toml` — cluster, interval, listen address, filters.
//! - `cluster`: the librdkafka side — metadata, watermarks, the group list, and the timestamps
//!   of first unconsumed records.
//! - `groups`: each listed group described (state, members and their assignments, KIP-848
//!   groups included) and its committed offsets, through librdkafka's DescribeConsumerGroups
//!   and ListConsumerGroupOffsets admin calls (`kafka_client::native`, a few admin clients in
//!   parallel).
//! - [`view`]: pure arithmetic from what the cluster said to each group's lag per topic and
//!   partition, with its members ([`View`]); `sluice up`'s console shows it as it is.
//! - `loss`: records that left the log before a group consumed them, counted across
//!   collections.
//! - `lag`: a view's figures as the series served.
//! - [`metrics`]: every metric name, declared once; the cache a scrape reads.
//!
//! A collection runs on a blocking thread every `interval` (cluster → `view::view` →
//! `lag::figures` → `Cache::publish`, and the view to [`RunningExporter::view`]); `/metrics` (the `metrics-endpoint` crate) only reads the cache, so a
//! scrape never waits on the cluster. A failed collection keeps the last good figures, sets
//! `sluice_lag_exporter_up` to 0 and logs one warning.

mod cluster;
pub mod config;
mod groups;
mod lag;
mod loss;
pub mod metrics;
pub mod view;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cluster::ClusterError;
pub use config::{Config, ConfigError, Granularity};
pub use view::View;

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
}

/// A running exporter: its address and the count of finished collections.
pub struct RunningExporter {
    addr: SocketAddr,
    collections: watch::Receiver<u64>,
    view: watch::Receiver<Arc<View>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningExporter {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The lag of the last successful collection, updated after each one.
    pub fn view(&self) -> watch::Receiver<Arc<View>> {
        self.view.clone()
    }

    /// Waits until a collection that started after this call has finished (well or not).
    pub async fn next_collection(&mut self) {
        let seen = *self.collections.borrow_and_update();
        let _ = self.collections.wait_for(|n| *n >= seen + 2).await;
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Validates `config`, binds the listener and starts collecting.
pub async fn start(config: Config) -> Result<RunningExporter, Error> {
    config.validate()?;
    let addr: SocketAddr = config.listen.parse().map_err(|_| ConfigError::Invalid {
        path: None,
        key: "listen".into(),
        expected: "HOST:PORT".into(),
        got: config.listen.clone(),
    })?;
    let (registry, cache, health) = metrics::registry()?;
    let cluster = cluster::Cluster::new(&config)?;
    let (stop_tx, stop) = watch::channel(false);
    let (addr, server) = metrics_endpoint::bind(addr, registry, stop.clone())
        .await
        .map_err(|source| Error::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let (count_tx, collections) = watch::channel(0u64);
    let (view_tx, view) = watch::channel(Arc::new(View::default()));
    let collector = Collector {
        cluster: Arc::new(Mutex::new((cluster, loss::Losses::default()))),
        cache,
        health,
        config,
        collections: count_tx,
        view: view_tx,
    };
    let collector = tokio::spawn(collector.run(stop));
    tracing::info!(%addr, "lag exporter: serving /metrics");
    Ok(RunningExporter {
        addr,
        collections,
        view,
        stop: stop_tx,
        tasks: vec![server, collector],
    })
}

/// Runs until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let running = start(config).await?;
    shutdown.await;
    running.shutdown().await;
    Ok(())
}

struct Collector {
    /// Only the collector task touches the clients (and the losses counted so far); the mutex
    /// makes them movable to the blocking thread and back.
    cluster: Arc<Mutex<(cluster::Cluster, loss::Losses)>>,
    cache: metrics::Cache,
    health: metrics::Health,
    config: Config,
    collections: watch::Sender<u64>,
    view: watch::Sender<Arc<View>>,
}

impl Collector {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failing = false;
        loop {
            let started = Instant::now();
            let cluster = self.cluster.clone();
            let granularity = self.config.granularity;
            let result = tokio::task::spawn_blocking(move || {
                let mut state = cluster.lock().unwrap_or_else(|e| e.into_inner());
                let (cluster, losses) = &mut *state;
                collect(cluster, losses, granularity)
            })
            .await;
            let outcome = match result {
                Ok(Ok((sample, view))) => {
                    self.view.send_replace(Arc::new(view));
                    self.cache
                        .publish(&sample)
                        .map(|()| sample.len())
                        .map_err(|e| e.to_string())
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("collection aborted: {e}")),
            };
            self.health.collect_duration.set(started.elapsed().as_secs_f64());
            match outcome {
                Ok(series) => {
                    if failing {
                        tracing::info!("lag exporter: collection works again");
                    }
                    failing = false;
                    self.health.up.set(1);
                    self.health.series.set(series as i64);
                    self.health.last_success.set(unix_now_ms() as f64 / 1000.0);
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "lag exporter: collection failed; serving the last good figures");
                    } else {
                        tracing::debug!(error = %e, "lag exporter: collection failed again");
                    }
                    failing = true;
                    self.health.up.set(0);
                    self.health.collections_failed.inc();
                }
            }
            self.collections.send_modify(|n| *n += 1);
            tokio::select! {
                _ = tokio::time::sleep_until((started + self.config.interval).into()) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// One collection: cluster state, then the timestamps lag in seconds needs, then the figures.
fn collect(
    cluster: &mut cluster::Cluster,
    losses: &mut loss::Losses,
    granularity: Granularity,
) -> Result<(metrics::Sample, View), ClusterError> {
    let started = Instant::now();
    let snapshot = cluster.snapshot()?;
    let read = Instant::now();
    let timestamps = cluster.timestamps(&view::first_unconsumed(&snapshot));
    let dated = Instant::now();
    let view = view::view(&snapshot, &timestamps, losses.observe(&snapshot), unix_now_ms());
    let figures = lag::figures(&snapshot, &view, granularity);
    tracing::debug!(
        read_ms = (read - started).as_millis() as u64,
        timestamps_ms = (dated - read).as_millis() as u64,
        figures_ms = dated.elapsed().as_millis() as u64,
        "lag exporter: collection"
    );
    Ok((figures, view))
}

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
