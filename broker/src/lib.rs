//! sluice's bundled broker: one node that speaks the Kafka wire protocol, so every Kafka client
//! (librdkafka, kcat, kafka-python, kafkajs, sarama, Java) produces to it and fetches from it
//! unchanged.
//!
//! # Layout
//!
//! One-way layers, top to bottom; a module uses only those below it (`tests/layers.rs` checks
//! every `crate::` path):
//!
//! - [`net`]: listeners and a connection's life — read frames, hand each to its handler, write
//!   the answers in order (an acks=all produce's once its fsync is done). Hostile frames close
//!   their own connection and nothing else.
//! - `api`: one file per Kafka API, each turning a request into its answer; the dispatch to
//!   them is generated from the table of APIs in `codec`.
//! - `state`: what every handler shares — config, cluster id, topics, the group and transaction
//!   coordinators, metrics, users, producer ids.
//! - [`txn`]: the transaction coordinator (KIP-98): each transactional id's state in
//!   `__transaction_state`, markers, fencing and timeouts.
//! - [`metrics`]: what `/metrics` shows (at `sluice.http.listen`, beside `/health`); the hot
//!   paths only bump atomics, everything per partition is read at scrape time.
//! - [`group`]: the group coordinator, one task owning every consumer group, with offsets and
//!   group metadata kept in `__consumer_offsets` in Kafka's record format.
//! - [`cluster`]: the topic registry and each partition: its log, its idempotent producers,
//!   its open and aborted transactions, its group-committed fsyncs and its counters.
//! - [`log`]: storage that knows bytes, offsets and files and nothing of the protocol.
//! - [`config`]: broker.toml, the command line and their defaults.
//! - [`auth`]: TLS for SSL/SASL_SSL listeners, SASL (PLAIN, SCRAM), the users file, the grants,
//!   and a connection's session.
//! - [`record`] and [`codec`], which use nothing else of the crate: the v2 record batch, and
//!   bytes ↔ Kafka messages with the one table of the APIs served (`codec::APIS`). Requests are
//!   decoded by our own bounded reader into kafka-protocol's structs (the crate's decoder
//!   aborts the process on hostile counts); responses are encoded by the crate.
//!
//! A produce travels: server → codec → api::produce (checks the batch) → partition (sequence
//! check, append) → log (stamps the offset, writes the segment) → for `acks=all`, one shared fsync
//! → the answer. A fetch travels: api::fetch → partition → log (whole batches from the
//! offset index), waiting on the append watch while fewer than `min_bytes` are ready. A group
//! request travels: api → group::Coordinator (a message to the coordinator task, which may
//! park a JoinGroup/SyncGroup answer until its rebalance step completes) → records appended to
//! `__consumer_offsets` → the handler waits for their fsync → the answer.

// Outside tests nothing unwraps, expects or panics: a failure is an error value. The few
// `expect`s left are on constants, each allowed where it stands, with its reason.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
pub mod auth;
pub mod cluster;
pub mod codec;
pub mod config;
pub mod group;
pub mod log;
pub mod metrics;
pub mod net;
pub mod record;
mod state;
pub mod txn;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use cluster::topics::{self, RegistryError, Topics};
pub use config::{BrokerConfig, ConfigError, Listener};
use net::server;
use state::Broker;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} (set `listeners` in broker.toml or pass --listen): {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot serve HTTP on {addr} (set `sluice.http.listen` in broker.toml; \"\" turns it off): {source}")]
    HttpBind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot set up TLS for the listener: {0}")]
    Tls(#[from] auth::tls::TlsError),
    #[error(transparent)]
    Storage(#[from] RegistryError),
    #[error("cannot load consumer groups: {0}")]
    Groups(#[from] group::StoreError),
    #[error("cannot load transactions: {0}")]
    Transactions(#[from] txn::TxnLogError),
}

/// A running broker. Dropping it does not stop it; call [`RunningBroker::shutdown`].
pub struct RunningBroker {
    /// Where each listener of `listeners` is bound, in the same order.
    addrs: Vec<SocketAddr>,
    http_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    broker: Arc<Broker>,
}

impl RunningBroker {
    /// The address the first Kafka listener is bound to (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every listener as clients are told to reach it, with the address it is bound to.
    pub fn listeners(&self) -> impl Iterator<Item = (&Listener, SocketAddr)> {
        self.broker.advertised.iter().zip(self.addrs.iter().copied())
    }

    /// `host:port` of the first PLAINTEXT listener: where a client without credentials in the
    /// same process (`sluice up`'s agent, workers and exporter) connects.
    pub fn plaintext_bootstrap(&self) -> Option<String> {
        self.broker
            .advertised
            .iter()
            .find(|l| l.protocol == config::SecurityProtocol::Plaintext)
            .map(Listener::addr)
    }

    /// The address `/metrics` and `/health` are served on (None when `sluice.http.listen = ""`).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// `host:port` clients should bootstrap from: the first listener's advertised address.
    pub fn bootstrap(&self) -> String {
        self.broker.advertised[0].addr()
    }

    /// What lists every topic as it is at the call, internal ones included: its partitions'
    /// offsets, sizes and counters (what `sluice up`'s console shows).
    pub fn topic_lister(&self) -> impl Fn() -> Vec<Arc<cluster::topics::Topic>> + Send + Sync + 'static {
        let broker = self.broker.clone();
        move || broker.topics.list()
    }

    /// Creates `topic` with `partitions` unless it exists (then it is left as it is).
    pub fn ensure_topic(&self, topic: &str, partitions: i32) -> Result<(), topics::TopicError> {
        match self.broker.topics.create(topic, partitions, Default::default(), false) {
            Err(e) if e.code != kafka_protocol::error::ResponseError::TopicAlreadyExists => Err(e),
            _ => Ok(()),
        }
    }

    /// For fuzzing only (`fuzz/`), not an API: serves `input` as the bytes a client sent on one
    /// connection (a SASL listener's when `sasl`) and then closed, and returns the broker's answers.
    #[doc(hidden)]
    pub async fn serve_bytes(&self, input: &[u8], sasl: bool) -> Vec<u8> {
        server::serve_bytes(self.broker.clone(), input, sasl).await
    }

    /// Stops accepting, closes connections and fsyncs every partition.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        for topic in self.broker.topics.list() {
            for p in &topic.partitions {
                if let Err(e) = p.close() {
                    tracing::error!(topic = %topic.name, partition = p.index, error = %e, "flush at shutdown failed");
                }
            }
        }
        tracing::info!("broker stopped");
    }
}

/// Opens the data directory (recovering every partition), binds every listener and starts serving.
pub async fn start(config: BrokerConfig) -> Result<RunningBroker, StartError> {
    // Dynamic broker configs lie over broker.toml's log defaults from the start.
    let (dynamic, effective) = cluster::broker_configs::BrokerConfigs::open(&config.data_dir, &config)?;
    let (topics, recovered) = Topics::open(&config.data_dir, effective.log)?;
    topics.set_max_partitions(config.max_partitions);
    for r in recovered {
        r.report.log(&r.topic, r.partition);
    }
    let mut bound = Vec::with_capacity(config.listeners.len());
    let mut advertised = Vec::with_capacity(config.listeners.len());
    for listener_cfg in &config.listeners {
        let bind_error = |source| StartError::Bind {
            addr: listener_cfg.addr(),
            source,
        };
        let listener = TcpListener::bind(listener_cfg.addr()).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        // Kafka matches an advertised listener to a bound one by name.
        advertised.push(
            config
                .advertised_listeners
                .iter()
                .flatten()
                .find(|a| a.name == listener_cfg.name)
                .cloned()
                .unwrap_or_else(|| Listener {
                    host: advertised_host(&listener_cfg.host),
                    port: addr.port(),
                    ..listener_cfg.clone()
                }),
        );
        let security = server::Security {
            tls: match listener_cfg.protocol.tls() {
                true => Some(auth::tls::acceptor(&config.tls)?),
                false => None,
            },
            sasl: listener_cfg.protocol.sasl(),
            listener: bound.len(),
        };
        if !addr.ip().is_loopback() && !security.sasl {
            tracing::warn!(
                listener = %addr, protocol = listener_cfg.protocol.name(),
                "listening beyond this machine without authentication: anyone who can reach {addr} can produce and consume; use a SASL_SSL listener"
            );
        }
        if security.sasl && config.sasl_mechanisms.iter().any(|m| m == auth::oauthbearer::NAME) {
            tracing::warn!(
                listener = %addr,
                "OAUTHBEARER takes unsecured tokens (alg none), as Kafka's default validator does: a client can name any principal; for development and tests only"
            );
        }
        bound.push((listener, addr, security));
    }
    let retention_interval = config.retention_check_interval;
    let (stop, stopped) = watch::channel(false);
    let group_configs = group::configs::GroupConfigs::open(&config.data_dir)?;
    let (groups, coordinator) = group::start(
        &topics,
        config.groups.clone(),
        group_configs,
        api::now_ms(),
        stopped.clone(),
    )?;
    let http_listen = config.http_listen;
    let txns = txn::Transactions::open(&topics)?;
    // One set of counts for every listener, as Kafka's max.connections is broker-wide.
    let limits = net::limits::ConnectionLimits::new(config.connection_limits.clone());
    let broker = Arc::new(Broker::new(config, advertised, topics, groups, txns, dynamic)?);
    let weak = Arc::downgrade(&broker);
    broker
        .metrics
        .watch_topics(move || weak.upgrade().map(|b| b.topics.list()).unwrap_or_default());
    let mut tasks = vec![coordinator];
    let http_addr = match http_listen {
        Some(http) => {
            let (bound, task) = serve_http(&broker, http, stopped.clone()).await?;
            tasks.push(task);
            tasks.push(tokio::spawn(group_states_loop(broker.clone(), stopped.clone())));
            Some(bound)
        }
        None => None,
    };
    let mut addrs = Vec::with_capacity(bound.len());
    for (listener, addr, security) in bound {
        let l = &broker.advertised[security.listener];
        tracing::info!(listener = %addr, name = %l.name, protocol = l.protocol.name(), advertised = %l.addr(), "listening");
        tasks.push(tokio::spawn(server::serve(
            listener,
            broker.clone(),
            security,
            limits.clone(),
            stopped.clone(),
        )));
        addrs.push(addr);
    }
    // Healthy from here: the listeners are bound, so the kernel queues connections until each
    // task accepts them. Set before `start` returns, not when a task first runs, so a `/health`
    // right after start (the HTTP endpoint already serves) never sees the broker as down.
    broker.metrics.set_accepting(true);
    tasks.push(tokio::spawn(txn_loop(broker.clone(), stopped.clone())));
    if broker.config.cleaner.enable {
        tasks.push(tokio::spawn(cleaner_loop(broker.clone(), stopped.clone())));
    }
    tasks.push(tokio::spawn(retention_loop(
        broker.clone(),
        retention_interval,
        stopped,
    )));
    tracing::info!(listeners = addrs.len(), http = ?http_addr, data_dir = %broker.config.data_dir.display(), "broker started");
    Ok(RunningBroker {
        addrs,
        http_addr,
        stop,
        tasks,
        broker,
    })
}

/// Serves `/metrics` and `/health` on `addr`; healthy while the Kafka listener accepts.
async fn serve_http(
    broker: &Arc<Broker>,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<()>), StartError> {
    // Weak: the endpoint must not keep a shut-down broker's state alive.
    let weak = Arc::downgrade(broker);
    let health = Arc::new(move || weak.upgrade().is_some_and(|b| b.metrics.accepting()));
    metrics_endpoint::bind_with_health(addr, broker.metrics.registry.clone(), stop, health)
        .await
        .map_err(|source| StartError::HttpBind { addr, source })
}

/// Keeps `sluice_broker_consumer_groups` current: the coordinator owns group state and answers
/// only by message, which a scrape (synchronous) cannot wait for.
async fn group_states_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(metrics::GROUP_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Ok(groups) = broker.groups.list(Vec::new()).await {
            broker.metrics.set_group_states(groups.iter().map(|g| g.state));
        }
    }
}

/// Runs until `shutdown` completes, then stops cleanly.
pub async fn run(config: BrokerConfig, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let running = start(config).await?;
    shutdown.await;
    running.shutdown().await;
    Ok(())
}

/// With no `advertised.listeners`, advertise the bound host, or this machine's name for a
/// wildcard bind (clients cannot connect to 0.0.0.0).
fn advertised_host(bound: &str) -> String {
    if bound == "0.0.0.0" || bound == "::" {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into())
    } else {
        bound.to_string()
    }
}

/// Completes transactions a stop left between their decision and their markers, at once, then
/// aborts those open past their timeout, every `txn::TIMEOUT_CHECK`.
async fn txn_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(txn::TIMEOUT_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        broker.txns.tick(broker.as_ref(), api::now_ms()).await;
    }
}

/// Compacts the partitions of `cleanup.policy=compact` topics that need it, one at a time, every
/// `log.cleaner.backoff.ms` (Kafka's one cleaner thread). A cleaning runs on a blocking thread
/// and is awaited even when the broker stops, so its files are never left half-installed.
async fn cleaner_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let cleaner = broker.config.cleaner.clone();
    let mut tick = tokio::time::interval(cleaner.backoff.max(std::time::Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        for topic in broker.topics.list() {
            for p in &topic.partitions {
                if *stop.borrow() {
                    return;
                }
                let Some(job) = p.clean_job(api::now_ms(), cleaner.dedupe_buffer_bytes) else {
                    continue;
                };
                let reason = job.reason.clone();
                let started = std::time::Instant::now();
                let result = match tokio::task::spawn_blocking(move || job.run()).await {
                    Ok(run) => run.and_then(|cleaned| p.install_cleaned(cleaned)),
                    Err(e) => {
                        tracing::error!(topic = %topic.name, partition = p.index, error = %e, "log cleaner task failed");
                        continue;
                    }
                };
                match result {
                    Ok(s) if s.abandoned => {
                        tracing::info!(topic = %topic.name, partition = p.index, "cleaning dropped: retention or DeleteRecords removed its segments meanwhile")
                    }
                    Ok(s) => {
                        broker.metrics.cleaned(&s);
                        tracing::info!(
                        topic = %topic.name, partition = p.index, %reason, first_dirty = s.first_dirty, cleaned_to = s.cleaned_to,
                        keys = s.keys, records_read = s.records_read, records_removed = s.records_removed,
                        bytes_read = s.bytes_read, bytes_written = s.bytes_written, segments_read = s.segments_read,
                        segments_written = s.segments_written, ms = started.elapsed().as_millis() as u64,
                        "cleaned log"
                        )
                    }
                    Err(e) => {
                        tracing::warn!(topic = %topic.name, partition = p.index, error = %e, "log cleaning failed")
                    }
                }
            }
        }
    }
}

async fn retention_loop(broker: Arc<Broker>, every: std::time::Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = api::now_ms();
        for topic in broker.topics.list() {
            for p in &topic.partitions {
                match p.apply_retention(now) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(topic = %topic.name, partition = p.index, segments = n, log_start_offset = p.offsets().0, "retention deleted segments")
                    }
                    Err(e) => {
                        tracing::warn!(topic = %topic.name, partition = p.index, error = %e, "retention check failed")
                    }
                }
            }
        }
    }
}
