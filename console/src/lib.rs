//! `sluice up`'s console: one page of hosts, topics and consumer groups, refreshing live, for
//! someone who runs the pipeline on a laptop and has no Grafana.
//!
//! # Layout
//!
//! - [`config`]: `config/console.toml`, where it listens and when a group counts as lagging.
//! - `hosts`: a thread reads the metric topic back (the last `window`, then as it grows) into
//!   each host's CPU and memory series; the topic itself is the store.
//! - `snapshot`: every `refresh`, hosts, the broker's topics (with rates from two samples) and
//!   the lag exporter's latest [`lag_exporter::View`] become one [`Snapshot`], with a history of
//!   each group's `records-lag-max`.
//! - `page` and `chart`: the snapshot as HTML, charts drawn as SVG on the server (plotters).
//! - the server (`metrics_endpoint::serve_pages`): `/` the page, `/fragment` what the page
//!   re-fetches, `/api/console` the snapshot as JSON, `/health`.
//!
//! It knows no broker: `sluice up` hands it the bootstrap address, a function that lists the
//! topics, and the exporter's view, so lag on the page is the lag on `/metrics`.

mod chart;
pub mod config;
mod hosts;
mod page;
mod snapshot;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use lag_exporter::View;
use metrics_endpoint::{page as answer, Pages, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, ConfigError, Lagging};
pub use snapshot::{PartitionOffsets, Snapshot, TopicSample, TopicSource};

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
}

/// What the console shows, from the process that runs it.
pub struct Sources {
    /// Where the metric topic is read from.
    pub bootstrap: String,
    pub metric_topic: String,
    pub topics: TopicSource,
    /// The lag exporter's latest collection.
    pub lag: watch::Receiver<Arc<View>>,
}

/// A running console.
pub struct RunningConsole {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    reader_stop: Arc<AtomicBool>,
    reader: std::thread::JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningConsole {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.reader_stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        let reader = self.reader;
        let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    }
}

/// Binds `config.listen` and starts reading and serving. `config.listen` must not be empty.
pub async fn start(config: Config, sources: Sources) -> Result<RunningConsole, Error> {
    config.validate()?;
    let addr: SocketAddr = config
        .listen
        .parse()
        .map_err(|_| ConfigError::invalid("listen", "IP:PORT", format!("{:?}", config.listen)))?;
    let listener = TcpListener::bind(addr).await.map_err(|source| Error::Listen {
        addr: config.listen.clone(),
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: config.listen.clone(),
        source,
    })?;
    let hosts = Arc::new(Mutex::new(hosts::Hosts::default()));
    let reader_stop = Arc::new(AtomicBool::new(false));
    let reader = hosts::Reader {
        bootstrap: sources.bootstrap.clone(),
        topic: sources.metric_topic.clone(),
        window: config.window,
        hosts: hosts.clone(),
        stop: reader_stop.clone(),
    };
    let reader = std::thread::Builder::new()
        .name("sluice-console".into())
        .spawn(move || reader.run())
        .map_err(|source| Error::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let latest = Arc::new(RwLock::new(Arc::new(Snapshot::default())));
    let (stop_tx, stop) = watch::channel(false);
    let sampler = tokio::spawn(sample(config.clone(), sources, hosts, latest.clone(), stop.clone()));
    let server = tokio::spawn(metrics_endpoint::serve_pages(
        listener,
        stop,
        pages(latest, config.lagging),
    ));
    tracing::info!(%addr, "console: serving the page");
    Ok(RunningConsole {
        addr,
        stop: stop_tx,
        reader_stop,
        reader,
        tasks: vec![sampler, server],
    })
}

/// Takes a snapshot every `refresh` until `stop`.
async fn sample(
    config: Config,
    sources: Sources,
    hosts: Arc<Mutex<hosts::Hosts>>,
    latest: Arc<RwLock<Arc<Snapshot>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut history = snapshot::History::default();
    let window_ms = config.window.as_millis() as i64;
    loop {
        let now_ms = unix_now_ms();
        let (host_list, undecodable_records) = {
            let mut hosts = hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts.prune(now_ms - window_ms);
            (hosts.list(), hosts.undecodable)
        };
        let view = sources.lag.borrow().clone();
        let snapshot = history.snapshot(snapshot::Inputs {
            now_ms,
            window_ms,
            refresh_seconds: config.refresh.as_secs_f64(),
            lagging: &config.lagging,
            hosts: host_list,
            undecodable_records,
            topics: (sources.topics)(),
            view: &view,
        });
        *latest.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
        tokio::select! {
            _ = tokio::time::sleep(config.refresh) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The console's pages, each rendered from the latest snapshot when asked for.
fn pages(latest: Arc<RwLock<Arc<Snapshot>>>, lagging: Lagging) -> Pages {
    Arc::new(move |path: &str| {
        let snapshot = latest.read().unwrap_or_else(|e| e.into_inner()).clone();
        match path {
            "/" => Some(answer("text/html; charset=utf-8", page::document(&snapshot, &lagging))),
            "/fragment" => Some(answer("text/html; charset=utf-8", page::fragment(&snapshot, &lagging))),
            "/api/console" => Some(match serde_json::to_vec(&*snapshot) {
                Ok(json) => answer("application/json", json),
                Err(_) => metrics_endpoint::status(StatusCode::INTERNAL_SERVER_ERROR),
            }),
            "/health" | "/healthz" => Some(answer("text/plain; charset=utf-8", "ok\n")),
            _ => None,
        }
    })
}

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
