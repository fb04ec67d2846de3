//! Every component's configuration for `sluice up`, read from `--config-dir` and adjusted for one
//! process on this machine (paths under `--data-dir`, clients pointed at the bundled broker), and
//! the check that every address it will listen on is free.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::broker_config;

/// Every component's configuration, adjusted for one process on this machine.
pub(super) struct Pipeline {
    pub(super) broker: broker::BrokerConfig,
    pub(super) agent: agent::Config,
    pub(super) workers: workers::Config,
    pub(super) exporter: lag_exporter::Config,
    pub(super) console: console::Config,
    pub(super) files: Files,
}

/// The file each component's settings came from, for messages that name them.
pub(super) struct Files {
    pub(super) broker: PathBuf,
    pub(super) agent: PathBuf,
    pub(super) workers: PathBuf,
    pub(super) exporter: PathBuf,
    pub(super) console: PathBuf,
}

impl Pipeline {
    pub(super) fn load(config_dir: &Path, data_dir: &Path) -> anyhow::Result<Pipeline> {
        let files = Files {
            broker: config_dir.join("broker.toml"),
            agent: config_dir.join("agent.toml"),
            workers: config_dir.join("workers.toml"),
            exporter: config_dir.join("lag-exporter.toml"),
            console: config_dir.join("console.toml"),
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
        let console = if files.console.exists() {
            console::Config::load(&files.console)?
        } else {
            console::Config::default()
        };
        Ok(Pipeline {
            broker,
            agent,
            workers,
            exporter,
            console,
            files,
        })
    }

    /// Points every client at the bundled broker.
    pub(super) fn connect_to(&mut self, bootstrap: &str) {
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
            (&self.console.listen, "listen", self.files.console.as_path()),
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
    pub(super) fn check_ports(&self) -> anyhow::Result<()> {
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
