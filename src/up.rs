//! `sluice up`: the whole pipeline in one process, from the files in `--config-dir`.
//!
//! ```text
//! start:  broker ─▶ topics ─▶ workers ─▶ lag exporter ─▶ console ─▶ agent   (consumers first)
//! stop:   agent (flushes) ─▶ workers (commit) ─▶ console ─▶ lag exporter ─▶ broker (syncs)
//! ```
//!
//! Every component is pointed at the bundled broker whatever its file says, and everything it
//! keeps on disk lives under `--data-dir`: the broker's log, the agent's spool (so sequence
//! numbers continue after a restart) and the file sinks' relative paths.
//!
//! `pipeline` reads and adjusts the components' files; `banner` is what is printed once all
//! listen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::{shutdown_signal, METRIC_PARTITIONS, METRIC_TOPIC};

mod banner;
mod pipeline;

use banner::Banner;
use pipeline::Pipeline;

/// How long an ordered stop may take before `sluice up` gives up waiting and says so.
const STOP_BUDGET: Duration = Duration::from_secs(10);

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
    let console = if pipeline.console.listen.is_empty() {
        None
    } else {
        let sources = console::Sources {
            bootstrap: bootstrap.clone(),
            metric_topic: METRIC_TOPIC.to_string(),
            topics: console_topics(&broker),
            lag: exporter.view(),
        };
        Some(
            console::start(pipeline.console, sources)
                .await
                .with_context(|| format!("starting the console ({})", pipeline.files.console.display()))?,
        )
    };
    let (stop_agent, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut agent = tokio::spawn(agent::run(pipeline.agent, async {
        let _ = agent_stopped.await;
    }));
    banner.print(
        broker.http_addr(),
        workers.metrics_addr(),
        exporter.local_addr(),
        console.as_ref().map(|c| c.local_addr()),
    );

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
        if let Some(console) = console {
            console.shutdown().await;
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

/// The broker's topics as the console shows them: offsets and size per partition, and the
/// records produced and fetched since the broker started.
fn console_topics(broker: &broker::RunningBroker) -> console::TopicSource {
    let list = broker.topic_lister();
    std::sync::Arc::new(move || {
        list()
            .iter()
            .map(|t| console::TopicSample {
                topic: t.name.clone(),
                produced_records: t.partitions.iter().map(|p| p.stats.produced_records()).sum(),
                fetched_records: t.partitions.iter().map(|p| p.stats.fetched_records()).sum(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let (log_start_offset, log_end_offset) = p.offsets();
                        console::PartitionOffsets {
                            partition: p.index,
                            log_start_offset,
                            log_end_offset,
                            size_bytes: p.size_bytes(),
                        }
                    })
                    .collect(),
            })
            .collect()
    })
}
