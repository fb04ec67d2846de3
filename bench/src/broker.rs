//! The brokers of a run as processes: `sluice broker` and Tansu started as children of this
//! process (Kafka nodes in kafka.rs, the SASL_SSL sluice in secure.rs), how long each took to
//! start, a client config for each (and a topic created on it), and what `/proc` says of its
//! CPU time and memory.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

use crate::kafka;

pub struct Broker {
    pub name: &'static str,
    pub process: Process,
    pub bootstrap: String,
    /// librdkafka settings every client of this broker needs (security).
    pub settings: Vec<(&'static str, String)>,
    pub started: Started,
    pub _dir: Option<TempDir>,
}

/// How a broker runs: a child of this process, or a Kafka node that kafka.sh launched.
pub enum Process {
    Child(Child),
    Kafka(kafka::Node),
}

/// How long a broker took to start, from its process's start.
pub struct Started {
    /// Until its Kafka port accepted a TCP connection.
    pub accepting: Duration,
    /// Until it said it was ready, and what it said (for brokers that log it).
    pub ready: Option<(Duration, &'static str)>,
}

/// A directory removed when dropped (no tempfile crate needed in a benchmark binary).
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Broker {
    pub fn start_sluice(bin: &PathBuf) -> anyhow::Result<Broker> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("sluice-bench-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let spawned = Instant::now();
        let child = Command::new(bin)
            .args([
                "broker",
                "--config",
                "/dev/null",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--http-listen",
                "",
                "--data-dir",
            ])
            .arg(&dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Broker::ready("sluice", child, spawned, port, Some(TempDir(dir)))
    }

    pub fn start_tansu(bin: &PathBuf) -> anyhow::Result<Broker> {
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let spawned = Instant::now();
        let child = Command::new(bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Broker::ready("tansu", child, spawned, port, None)
    }

    /// Waits for a broker spawned at `spawned` to accept connections on `port` (polled every
    /// 5 ms, which is its start time's resolution).
    pub fn ready(
        name: &'static str,
        mut child: Child,
        spawned: Instant,
        port: u16,
        dir: Option<TempDir>,
    ) -> anyhow::Result<Broker> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait()? {
                bail!("{name} exited at start: {status}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{name} did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Broker {
            name,
            process: Process::Child(child),
            bootstrap: format!("127.0.0.1:{port}"),
            settings: Vec::new(),
            started: Started {
                accepting: spawned.elapsed(),
                ready: None,
            },
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        match &self.process {
            Process::Child(c) => c.id(),
            Process::Kafka(node) => node.pid,
        }
    }

    /// A client config for this broker: its address and security settings.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in &self.settings {
            c.set(*k, v);
        }
        c
    }

    /// User + system CPU seconds the broker process has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(ticks as f64 / clock_ticks_per_second())
    }

    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // A Kafka node is stopped by its own Drop (kafka.sh stop).
        if let Process::Child(child) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn clock_ticks_per_second() -> f64 {
    // CLK_TCK is 100 on every Linux this runs on; `getconf` confirms it when available.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn create_topic(broker: &Broker, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = broker.client().create()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = rt.block_on(admin.create_topics(&[topic], &AdminOptions::new()))?;
    for r in results {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok(())
}
