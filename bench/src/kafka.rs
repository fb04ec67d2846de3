//! Apache Kafka as the peer: single KRaft nodes (broker and controller in one JVM) started through
//! `tests/kafka/kafka.sh`, in two configurations, and Kafka's own perf tools
//! (`kafka-producer-perf-test`, `kafka-consumer-perf-test`) as workloads against every broker of
//! the run. Also the floors against Kafka, checked from the run's table.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::broker::{create_topic, Broker, Process, Started, TempDir};
use crate::report::ratio;
use crate::workloads::consume::fill;
use crate::workloads::{Figures, ACKS_ALL, LATENCY, PERF_PRODUCE_100, PERF_PRODUCE_1K};

/// A Kafka configuration: its name in the table and its broker settings (`kafka.sh --set`).
pub struct Setup {
    pub name: &'static str,
    pub settings: &'static [&'static str],
}

/// Kafka as it ships (the OS writes the log back when it likes), and Kafka fsyncing every append
/// (one produce request's batch for one partition), which is what sluice does before it answers
/// acks=all.
pub const SETUPS: [Setup; 2] = [
    Setup {
        name: "Kafka",
        settings: &[],
    },
    Setup {
        name: "Kafka flush.messages=1",
        settings: &["log.flush.interval.messages=1"],
    },
];

/// A node that `kafka.sh start DIR` launched; `kafka.sh stop DIR` (SIGTERM, SIGKILL after 20 s)
/// when dropped, which does nothing if no node was launched.
pub struct Node {
    script: PathBuf,
    dir: PathBuf,
    pub pid: u32,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .status();
    }
}

/// `kafka.sh start` itself, killed if it is still running when the start fails.
struct Starter(Child);

impl Drop for Starter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts one node with `heap` as KAFKA_HEAP_OPTS. Start times count from the moment the JVM's
/// pid file appears (kafka.sh writes it as it launches the JVM, after formatting the storage,
/// which is not counted) to the port accepting a connection and to the log's
/// "Kafka Server started"; both are polled every 5 ms.
pub fn start(script: &Path, heap: &str, setup: &Setup, index: usize) -> anyhow::Result<Broker> {
    let dir = std::env::temp_dir().join(format!("sluice-bench-kafka-{}-{index}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let guard = TempDir(dir.clone());
    let mut node = Node {
        script: script.into(),
        dir: dir.clone(),
        pid: 0,
    };
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg("start").arg(&dir).env("KAFKA_HEAP_OPTS", heap);
    for s in setup.settings {
        cmd.args(["--set", s]);
    }
    let mut starter = Starter(
        cmd.stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?,
    );
    let name = setup.name;
    let deadline = Instant::now() + Duration::from_secs(180);
    let check = |starter: &mut Starter| -> anyhow::Result<()> {
        if let Some(status) = starter.0.try_wait()? {
            bail!("{name}: kafka.sh start exited before the node started: {status}");
        }
        if Instant::now() > deadline {
            bail!("{name} did not start within 180 s (see {})", dir.display());
        }
        std::thread::sleep(Duration::from_millis(5));
        Ok(())
    };
    let pid_file = dir.join("node-0.pid");
    let (pid, spawned) = loop {
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        if let Some(pid) = pid {
            break (pid, Instant::now());
        }
        check(&mut starter)?;
    };
    node.pid = pid;
    let port = listener_port(&dir.join("node-0.properties"))?;
    let log = dir.join("node-0.log");
    let (mut accepting, mut ready) = (None, None);
    while accepting.is_none() || ready.is_none() {
        if accepting.is_none() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            accepting = Some(spawned.elapsed());
        }
        if ready.is_none() && std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Kafka Server started")) {
            ready = Some(spawned.elapsed());
        }
        if accepting.is_none() || ready.is_none() {
            check(&mut starter)?;
        }
    }
    // kafka.sh returns once it has seen the same line.
    let status = starter.0.wait()?;
    if !status.success() {
        bail!("{name}: kafka.sh start failed: {status}");
    }
    Ok(Broker {
        name,
        process: Process::Kafka(node),
        bootstrap: format!("127.0.0.1:{port}"),
        settings: Vec::new(),
        started: Started {
            accepting: accepting.unwrap_or_default(),
            ready: ready.map(|d| (d, "\"Kafka Server started\" logged")),
        },
        _dir: Some(guard),
    })
}

/// The PLAINTEXT port from the node's `advertised.listeners` line.
fn listener_port(properties: &Path) -> anyhow::Result<u16> {
    let text = std::fs::read_to_string(properties)?;
    text.lines()
        .find_map(|l| l.strip_prefix("advertised.listeners=PLAINTEXT://127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .with_context(|| format!("no PLAINTEXT listener in {}", properties.display()))
}

/// Runs a Kafka tool through `kafka.sh run` (its own JVM, -Xmx512m), killed after 5 minutes;
/// returns its standard output.
fn tool(script: &Path, name: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = tempfile::NamedTempFile::new()?;
    let err = tempfile::NamedTempFile::new()?;
    let mut child = Command::new("bash")
        .arg(script)
        .args(["run", name])
        .args(args)
        .stdout(out.reopen()?)
        .stderr(err.reopen()?)
        .spawn()
        .with_context(|| format!("running {name}"))?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{name} did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(out.path())?;
    if !status.success() {
        let stderr = std::fs::read_to_string(err.path())?;
        bail!("{name} failed ({status}): {}", stderr.trim());
    }
    Ok(stdout)
}

fn plaintext_only(broker: &Broker) -> anyhow::Result<()> {
    if !broker.settings.is_empty() {
        bail!("Kafka's perf tools run over PLAINTEXT only here");
    }
    Ok(())
}

/// kafka-producer-perf-test: `count` records of `size` bytes to a new one-partition topic,
/// unthrottled, acks=all and otherwise the Java client's defaults (linger.ms=5,
/// batch.size=16384 in Kafka 4.x). The rate is the tool's own figure.
pub fn producer_perf(script: &Path, broker: &Broker, topic: &str, count: u64, size: usize) -> anyhow::Result<Figures> {
    plaintext_only(broker)?;
    create_topic(broker, topic, 1)?;
    let cpu_before = broker.cpu_seconds()?;
    let (n, bytes) = (count.to_string(), size.to_string());
    let out = tool(
        script,
        "kafka-producer-perf-test",
        &[
            "--bootstrap-server",
            &broker.bootstrap,
            "--topic",
            topic,
            "--num-records",
            &n,
            "--record-size",
            &bytes,
            "--throughput",
            "-1",
            "--command-property",
            "acks=all",
        ],
    )?;
    let cpu = broker.cpu_seconds()? - cpu_before;
    // "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, ..."
    let summary = out
        .lines()
        .rev()
        .find(|l| l.contains(" records sent, "))
        .with_context(|| format!("no summary from kafka-producer-perf-test: {out}"))?;
    eprintln!("  {summary}");
    let (sent, rest) = summary.split_once(" records sent, ").context("summary")?;
    let rate: f64 = rest.split_once(" records/sec").context("summary")?.0.parse()?;
    if sent.trim().parse::<u64>()? != count {
        bail!("{}: {sent} of {count} records acknowledged", broker.name);
    }
    Ok(Figures {
        records_per_sec: rate,
        mb_per_sec: rate * size as f64 / 1e6,
        broker_cpu_us_per_record: cpu * 1e6 / count as f64,
        latency: None,
    })
}

/// kafka-consumer-perf-test: fills a one-partition topic with `count` records of `size` bytes
/// (sluice-bench's librdkafka producer, acks=1, untimed), then reads them from the beginning with
/// the tool's defaults (a new group). The rate is the tool's `fetch.nMsg.sec`, which leaves out
/// the group's join (reported on stderr).
pub fn consumer_perf(script: &Path, broker: &Broker, topic: &str, count: u64, size: usize) -> anyhow::Result<Figures> {
    plaintext_only(broker)?;
    fill(broker, topic, count, size)?;
    let cpu_before = broker.cpu_seconds()?;
    let n = count.to_string();
    let out = tool(
        script,
        "kafka-consumer-perf-test",
        &[
            "--bootstrap-server",
            &broker.bootstrap,
            "--topic",
            topic,
            "--num-records",
            &n,
            "--timeout",
            "30000",
        ],
    )?;
    let cpu = broker.cpu_seconds()? - cpu_before;
    let mut lines = out.lines().skip_while(|l| !l.starts_with("start.time"));
    let (header, values) = (lines.next(), lines.next());
    let (Some(header), Some(values)) = (header, values) else {
        bail!("no figures from kafka-consumer-perf-test: {out}");
    };
    let field = |name: &str| -> anyhow::Result<f64> {
        let i = header
            .split(',')
            .position(|h| h.trim() == name)
            .with_context(|| format!("no {name} in {header}"))?;
        let v = values
            .split(',')
            .nth(i)
            .with_context(|| format!("no {name} in {values}"))?;
        Ok(v.trim().parse()?)
    };
    let consumed = field("data.consumed.in.nMsg")?;
    eprintln!(
        "  consumed {consumed} records, group join {} ms, fetch {} ms",
        field("rebalance.time.ms")?,
        field("fetch.time.ms")?
    );
    if consumed as u64 != count {
        bail!("{}: consumed {consumed} of {count} records", broker.name);
    }
    let rate = field("fetch.nMsg.sec")?;
    Ok(Figures {
        records_per_sec: rate,
        mb_per_sec: rate * size as f64 / 1e6,
        broker_cpu_us_per_record: cpu * 1e6 / count as f64,
        latency: None,
    })
}

/// One of the floors: sluice ÷ `peer` on each of `workloads` (the table's ratio) is at
/// least, or at most, `bound`.
struct Floor {
    what: &'static str,
    peer: &'static str,
    workloads: &'static [&'static str],
    at_least: bool,
    bound: f64,
}

const THROUGHPUT: &[&str] = &[ACKS_ALL, PERF_PRODUCE_100, PERF_PRODUCE_1K];

const FLOORS: [Floor; 4] = [
    Floor {
        what: "acks=all, both fsync",
        peer: SETUPS[1].name,
        workloads: THROUGHPUT,
        at_least: true,
        bound: 1.5,
    },
    Floor {
        what: "acks=all, Kafka without fsync",
        peer: SETUPS[0].name,
        workloads: THROUGHPUT,
        at_least: true,
        bound: 1.0,
    },
    Floor {
        what: "produce→consume p99",
        peer: SETUPS[0].name,
        workloads: &[LATENCY],
        at_least: false,
        bound: 1.0,
    },
    Floor {
        what: "produce→consume p99 (Kafka fsyncing)",
        peer: SETUPS[1].name,
        workloads: &[LATENCY],
        at_least: false,
        bound: 1.0,
    },
];

/// Prints every floor whose peer ran, with the ratio of each of its workloads that ran, and the
/// memory floor (sluice's peak RSS at most a tenth of Kafka's).
pub fn print_floors(brokers: &[Broker], results: &[(&str, Vec<Result<Figures, String>>)]) {
    let Some(sluice) = brokers.first() else { return };
    let verdict = |ok: bool| if ok { "holds" } else { "does not hold" };
    let mut printed = false;
    for floor in &FLOORS {
        let Some(peer) = brokers.iter().position(|b| b.name == floor.peer) else {
            continue;
        };
        for (name, row) in results.iter().filter(|(n, _)| floor.workloads.contains(n)) {
            if !printed {
                println!();
                println!("Floors against Kafka (sluice ÷ peer, from the table):  ");
                printed = true;
            }
            let sign = if floor.at_least { "≥" } else { "≤" };
            let line = match (&row[0], &row[peer]) {
                (Ok(s), Ok(p)) => {
                    let r = ratio(s, p);
                    let ok = if floor.at_least {
                        r >= floor.bound
                    } else {
                        r <= floor.bound
                    };
                    format!("{r:.2}×, {}", verdict(ok))
                }
                _ => "not measured (a round failed)".into(),
            };
            println!(
                "- {}: {name}, ÷ {} {sign} {:.1}×: {line}  ",
                floor.what, floor.peer, floor.bound
            );
        }
    }
    for peer in brokers.iter().filter(|b| SETUPS.iter().any(|s| s.name == b.name)) {
        if let (Some(s), Some(p)) = (sluice.peak_rss_mib(), peer.peak_rss_mib()) {
            let r = s / p;
            println!(
                "- peak resident memory, ÷ {} ≤ 0.10×: {s:.0} / {p:.0} MiB = {r:.3}×, {}  ",
                peer.name,
                verdict(r <= 0.1)
            );
        }
    }
}
