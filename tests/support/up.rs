//! `sluice up` (the binary) for tests: the shipped config files pointed at free loopback ports
//! and made quick, and the process started on them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{free_port, repo};

/// Where a test's `sluice up` listens, every port on 127.0.0.1.
pub struct Ports {
    pub broker: u16,
    pub broker_http: u16,
    pub agent: u16,
    pub workers: u16,
    pub exporter: u16,
    pub console: u16,
}

impl Ports {
    /// Every port free a moment ago.
    pub fn free() -> Ports {
        Ports {
            broker: free_port(),
            broker_http: free_port(),
            agent: free_port(),
            workers: free_port(),
            exporter: free_port(),
            console: free_port(),
        }
    }
}

/// The shipped config files, pointed at free ports and made quick (1 s intervals and console
/// refresh, no rebalance delay).
pub fn write_configs(dir: &Path, ports: &Ports) -> PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let shipped = |name: &str| std::fs::read_to_string(repo("config").join(name)).unwrap();
    let broker = shipped("broker.toml")
        .replace("127.0.0.1:9092", &format!("127.0.0.1:{}", ports.broker))
        .replace("127.0.0.1:9644", &format!("127.0.0.1:{}", ports.broker_http))
        .replace(
            "group.initial.rebalance.delay.ms = 3000",
            "group.initial.rebalance.delay.ms = 0",
        );
    let agent = shipped("agent.toml")
        .replace("127.0.0.1:9273", &format!("127.0.0.1:{}", ports.agent))
        .replace("interval = \"10s\"", "interval = \"1s\"");
    let workers = shipped("workers.toml").replace("127.0.0.1:9274", &format!("127.0.0.1:{}", ports.workers));
    let exporter = shipped("lag-exporter.toml")
        .replace("127.0.0.1:9308", &format!("127.0.0.1:{}", ports.exporter))
        .replace("interval = \"15s\"", "interval = \"1s\"");
    let console = shipped("console.toml")
        .replace("127.0.0.1:9645", &format!("127.0.0.1:{}", ports.console))
        .replace("refresh = \"5s\"", "refresh = \"1s\"");
    for (name, text) in [
        ("broker.toml", broker),
        ("agent.toml", agent),
        ("workers.toml", workers),
        ("lag-exporter.toml", exporter),
        ("console.toml", console),
    ] {
        std::fs::write(config.join(name), text).unwrap();
    }
    config
}

/// `sluice up` over the configs in `config` and the data dir `data`, logging at info into `log`,
/// its standard output (the banner) piped.
pub fn up(config: &Path, data: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("up")
        .arg("--config-dir")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "info,librdkafka=off,rdkafka=off")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("sluice binary runs")
}
