//! The README's promise for a user who outgrows one machine: the same agent, workers and lag
//! exporter, pointed at a real Kafka cluster, and nothing else changes. One scenario, run against
//! a three-node Apache Kafka KRaft cluster (replication factor 3, min.insync.replicas 2), a
//! single Kafka node and the bundled broker, each through the SIGKILL of a broker node and its
//! restart:
//!
//! - the topics are made with Kafka's own `kafka-topics`; three agents (the notes' telegraf.conf
//!   with a 1 s interval, one hostname each), one worker process with a file sink and a postgres
//!   sink, and the lag exporter run as the `sluice` binary, configured only with the brokers;
//! - mid-run one node is SIGKILLed (on three nodes: a leader of partitions the agents write to,
//!   preferably one that also coordinates a workers' group or leads the KRaft quorum) and
//!   restarted; on three nodes the samples taken while it is down must reach both sinks, and
//!   the exporter must collect again, before it comes back;
//! - on the bundled broker, the node also hangs instead (SIGSTOP for 30 s, then SIGCONT): a
//!   broker that stops answering without closing anything, after which the exporter must have
//!   reported `up 0`;
//! - every sequence number each agent numbered reaches both sinks, redelivery stays within one
//!   batch per partition, the exporter answers every scrape throughout, and its lag figures
//!   equal `kafka-consumer-groups --describe` at the same offsets, caught up and lagging.

mod postgres_server;
mod support;
mod workers_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use postgres_server::Postgres;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use support::kafka::{kafka_tool_ok, Kafka};
use support::{free_port, samples, scrape, spawn_broker_logging, table_rows, terminate, wait_for, KillOnDrop};
use workers_support::{lines_of, read_topic};

const TOPIC: &str = "metrics";
const DEAD_LETTER: &str = "metrics-dead-letter";
const PARTITIONS: i32 = 6;
/// One agent per simulated host; the hostname is the record key, so each host's samples stay in
/// one partition. These names land in partitions 1, 2 and 0 (librdkafka's partitioner: CRC-32
/// of the key modulo the partition count), and Kafka spreads the leaders of consecutive
/// partitions over its nodes: on three nodes each node leads a partition the agents write to,
/// so the node to kill can also be a group coordinator.
const HOSTS: [&str; 3] = ["host-a", "host-d", "host-e"];
/// The workers' `batch_size`: the most records one sink batch (and so one uncommitted batch of a
/// partition) holds. Small against what a partition carries in a run (hundreds of records), so
/// the redelivery bound below means something.
const BATCH: usize = 20;
const FILE_GROUP: &str = "sluice-workers-archive";
const PG_GROUP: &str = "sluice-workers-warehouse";
const DESCRIBE_HEADER: &str = "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID";

/// The scenarios share two cores with three JVMs at most: one at a time, whatever the test
/// harness's thread count.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, Debug)]
enum Target {
    Kafka { nodes: usize },
    Bundled,
}

/// How the node fails: SIGKILLed and restarted, or hung (SIGSTOP) and resumed (SIGCONT), a
/// broker that stops answering without dying or closing a connection.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Failure {
    Kill,
    Hang,
}

/// The cluster under test and how it fails.
enum Cluster {
    Kafka(Kafka),
    Bundled {
        port: u16,
        data: PathBuf,
        log: PathBuf,
        process: KillOnDrop,
    },
}

impl Cluster {
    fn start(target: Target, dir: &Path) -> Cluster {
        match target {
            Target::Kafka { nodes } => Cluster::Kafka(Kafka::start(nodes, &[])),
            Target::Bundled => {
                let port = free_port();
                let data = dir.join("broker");
                let log = dir.join("broker.log");
                let process = bundled_broker(port, &data, &log);
                Cluster::Bundled {
                    port,
                    data,
                    log,
                    process,
                }
            }
        }
    }

    fn bootstrap(&self) -> String {
        match self {
            Cluster::Kafka(k) => k.bootstrap.clone(),
            Cluster::Bundled { port, .. } => format!("127.0.0.1:{port}"),
        }
    }

    fn nodes(&self) -> usize {
        match self {
            Cluster::Kafka(k) => k.bootstrap.split(',').count(),
            Cluster::Bundled { .. } => 1,
        }
    }

    /// SIGKILLs the node whose id is `n` (Kafka's `node.id`, from 0; the bundled broker is node 0)
    /// and waits until it is gone.
    fn kill(&mut self, n: usize) {
        match self {
            Cluster::Kafka(k) => k.kill_node(n),
            Cluster::Bundled { process, .. } => {
                process.0.kill().unwrap();
                process.0.wait().unwrap();
            }
        }
    }

    /// Sends `signal` to node `n` (SIGSTOP, SIGCONT); the bundled broker only.
    fn signal(&mut self, n: usize, signal: i32) {
        match self {
            Cluster::Kafka(_) => unimplemented!("node {n}: hanging a Kafka node is not part of these scenarios"),
            // SAFETY: kill(2) on our own child, which has not been reaped.
            Cluster::Bundled { process, .. } => assert_eq!(unsafe { libc::kill(process.0.id() as i32, signal) }, 0),
        }
    }

    /// Starts node `n` again on its port and data; returns once it serves.
    fn restart(&mut self, n: usize) {
        match self {
            Cluster::Kafka(k) => k.restart_node(n),
            Cluster::Bundled {
                port,
                data,
                log,
                process,
            } => *process = bundled_broker(*port, data, log),
        }
    }

    fn logs(&self) -> Vec<PathBuf> {
        match self {
            Cluster::Kafka(_) => Vec::new(),
            Cluster::Bundled { log, .. } => vec![log.clone()],
        }
    }
}

/// The broker binary with Kafka's defaults (`/dev/null` config), its log appended to `log`.
fn bundled_broker(port: u16, data: &Path, log: &Path) -> KillOnDrop {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    spawn_broker_logging(port, data, Path::new("/dev/null"), "info", Stdio::from(file))
}

/// `["h1:p1", "h2:p2"]` for a TOML file.
fn toml_list(bootstrap: &str) -> String {
    let items: Vec<String> = bootstrap.split(',').map(|b| format!("\"{b}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// The notes' telegraf.conf with a 1 s interval (the test's time scale), this host's name, its
/// self-metrics port and the cluster's brokers.
fn agent_config(host: &str, metrics_port: u16, bootstrap: &str) -> String {
    format!(
        r#"[agent]
  interval = "1s"
  flush_interval = "1s"
  hostname = "{host}"
  metrics_listen = "127.0.0.1:{metrics_port}"
[[outputs.kafka]]
  brokers = {brokers}
  topic = "{TOPIC}"
[[inputs.cpu]]
  percpu = true
  totalcpu = true
  fielddrop = ["time_*"]
[[inputs.mem]]
"#,
        brokers = toml_list(bootstrap)
    )
}

fn workers_config(bootstrap: &str, metrics_port: u16, sink: &Path, pg: &Postgres) -> String {
    format!(
        r#"brokers = {brokers}
topic = "{TOPIC}"
dead_letter_topic = "{DEAD_LETTER}"
metrics_listen = "127.0.0.1:{metrics_port}"
batch_size = {BATCH}
[[sinks]]
type = "file"
name = "archive"
path = "{sink}"
[[sinks]]
type = "postgres"
name = "warehouse"
url = "{url}"
"#,
        brokers = toml_list(bootstrap),
        sink = sink.display(),
        url = pg.url()
    )
}

/// Collections every second, per-partition figures (to compare partition by partition with
/// Kafka's tool), and a timeout shorter than the default so a collection stuck on a dead node
/// gives up quickly.
fn exporter_config(bootstrap: &str, port: u16) -> String {
    format!(
        "brokers = {}\ninterval = \"1s\"\ntimeout = \"5s\"\nlisten = \"127.0.0.1:{port}\"\ngranularity = \"partition\"\n",
        toml_list(bootstrap)
    )
}

/// `sluice <component> --config <config>`, its stderr in `log`.
fn spawn_component(component: &str, config: &Path, log: &Path) -> KillOnDrop {
    let file = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg(component)
        .arg("--config")
        .arg(config)
        // librdkafka's warnings and errors are at DEBUG in sluice's clients: kept, to tell what
        // a client saw of the failure.
        .env("RUST_LOG", "info,librdkafka=debug")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("sluice binary runs");
    KillOnDrop(child)
}

fn unix_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// Newest sample time (ns) of each host in the file sink.
fn newest_in_file(path: &Path) -> BTreeMap<String, i64> {
    let mut newest = BTreeMap::new();
    // A batch being written may show a partial last line; it is whole on the next look.
    for m in lines_of(path)
        .iter()
        .filter_map(|l| model::line_protocol::parse_line(l).ok())
    {
        let host = m.tags.get("host").cloned().unwrap_or_default();
        let t = newest.entry(host).or_insert(i64::MIN);
        *t = (*t).max(m.timestamp);
    }
    newest
}

/// Newest sample time (ns, to the microsecond) of each host in the postgres sink's `cpu` table.
fn newest_in_postgres(pg: &Postgres) -> BTreeMap<String, i64> {
    let text = pg
        .psql("SELECT host, (extract(epoch FROM max(time)) * 1000000)::bigint FROM cpu GROUP BY host")
        .unwrap_or_default(); // no table yet
    text.lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(h, us)| (h.to_string(), us.parse::<i64>().unwrap() * 1000))
        .collect()
}

/// True when both sinks hold a sample taken after `after_ns` from every host.
fn every_host_past(sink: &Path, pg: &Postgres, after_ns: i64) -> bool {
    let (file, table) = (newest_in_file(sink), newest_in_postgres(pg));
    HOSTS
        .iter()
        .all(|h| file.get(*h).is_some_and(|t| *t > after_ns) && table.get(*h).is_some_and(|t| *t > after_ns))
}

fn high_watermarks(bootstrap: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    (0..partitions)
        .map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(30)).unwrap().1)
        .collect()
}

/// Leader node of each partition of `topic`, from `kafka-topics --describe`.
fn leaders(bootstrap: &str) -> BTreeMap<i32, usize> {
    let out = kafka_tool_ok(
        "kafka-topics",
        &["--bootstrap-server", bootstrap, "--describe", "--topic", TOPIC],
        None,
    );
    let re = regex::Regex::new(r"Partition: (\d+)\s+Leader: (-?\d+)").unwrap();
    re.captures_iter(&out)
        .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap()))
        .collect()
}

/// The node leading the KRaft controller quorum, from `kafka-metadata-quorum describe --status`.
fn controller_leader(bootstrap: &str) -> usize {
    let out = kafka_tool_ok(
        "kafka-metadata-quorum",
        &["--bootstrap-server", bootstrap, "describe", "--status"],
        None,
    );
    let re = regex::Regex::new(r"LeaderId:\s+(\d+)").unwrap();
    re.captures(&out).unwrap_or_else(|| panic!("{out}"))[1].parse().unwrap()
}

/// The node coordinating `group`, from `kafka-consumer-groups --describe --state`.
fn coordinator(bootstrap: &str, group: &str) -> usize {
    let out = kafka_tool_ok(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--group",
            group,
            "--state",
        ],
        None,
    );
    let rows = table_rows(&out, "GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS");
    let row = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some(group))
        .unwrap_or_else(|| panic!("{out}"));
    row[2].trim_matches(|c| c == '(' || c == ')').parse().unwrap()
}

/// One partition as `kafka-consumer-groups --describe` shows it; `None` for its "-". A group
/// with members gets a row for every assigned partition; an empty group only for those it
/// committed on.
#[derive(Debug, PartialEq)]
struct Described {
    partition: i32,
    current: Option<i64>,
    log_end: i64,
    lag: Option<i64>,
}

fn describe_group(bootstrap: &str, group: &str) -> Vec<Described> {
    let out = kafka_tool_ok(
        "kafka-consumer-groups",
        &["--bootstrap-server", bootstrap, "--describe", "--group", group],
        None,
    );
    let number = |s: &str| (s != "-").then(|| s.parse::<i64>().unwrap());
    let mut rows: Vec<Described> = table_rows(&out, DESCRIBE_HEADER)
        .into_iter()
        .filter(|r| r.first().map(String::as_str) == Some(group) && r.get(1).map(String::as_str) == Some(TOPIC))
        .map(|r| Described {
            partition: r[2].parse().unwrap(),
            current: number(&r[3]),
            log_end: r[4].parse().unwrap(),
            lag: number(&r[5]),
        })
        .collect();
    rows.sort_by_key(|r| r.partition);
    assert!(!rows.is_empty(), "{out}");
    rows
}

/// The value of `family` with exactly `labels`, whatever order the exposition lists them in.
fn series(samples: &BTreeMap<String, f64>, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeSet<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    samples.iter().find_map(|(key, value)| {
        let (name, rest) = key.split_once('{')?;
        let got: BTreeSet<String> = rest.trim_end_matches('}').split(',').map(str::to_string).collect();
        (name == family && got == want).then_some(*value)
    })
}

/// The exporter's `/metrics` from a collection that started after this call: two successful
/// collections must end after it (the first may have started before).
fn fresh_exporter_samples(port: u16, logs: &[PathBuf]) -> BTreeMap<String, f64> {
    let last_success = || {
        samples(&scrape(port))
            .get("sluice_lag_exporter_last_success_timestamp_seconds")
            .copied()
            .unwrap_or(0.0)
    };
    let now = unix_ns() as f64 / 1e9;
    wait_for("a successful collection", Duration::from_secs(30), logs, || {
        last_success() > now
    });
    let first = last_success();
    wait_for("a second successful collection", Duration::from_secs(30), logs, || {
        last_success() > first
    });
    samples(&scrape(port))
}

/// Compares the exporter with `kafka-consumer-groups --describe` for `group` at the same
/// offsets (the caller guarantees nothing commits or produces meanwhile); returns the max lag.
fn exporter_agrees_with_kafka_tool(bootstrap: &str, port: u16, group: &str, logs: &[PathBuf]) -> i64 {
    let rows = describe_group(bootstrap, group);
    let s = fresh_exporter_samples(port, logs);
    // Per partition: (committed offset, lag), from each side.
    let from_tool: BTreeMap<i32, (i64, i64)> = rows
        .iter()
        .filter_map(|r| Some((r.partition, (r.current?, r.lag?))))
        .collect();
    let from_exporter: BTreeMap<i32, (i64, i64)> = (0..PARTITIONS)
        .filter_map(|p| {
            let p_label = p.to_string();
            let labels = [("group", group), ("topic", TOPIC), ("partition", p_label.as_str())];
            let committed = series(&s, "kafka_consumergroup_committed_offset", &labels)?;
            let lag = series(&s, "kafka_consumergroup_lag", &labels)?;
            Some((p, (committed as i64, lag as i64)))
        })
        .collect();
    assert_eq!(
        from_exporter, from_tool,
        "{group}: (committed offset, lag) by partition, the exporter's vs kafka-consumer-groups' {rows:?}"
    );
    let tool_max = from_tool.values().map(|(_, lag)| *lag).max();
    let gt = [("group", group), ("topic", TOPIC)];
    let exported_max = series(&s, "kafka_consumergroup_records_lag_max", &gt).map(|v| v as i64);
    assert_eq!(
        exported_max, tool_max,
        "{group}: records_lag_max vs the max LAG of kafka-consumer-groups {rows:?}"
    );
    // Only a partition holding records counts as uncommitted; nothing is deleted here, so that
    // is one whose high watermark is above 0. An empty group's table has no row for a
    // partition it never committed on, so the watermarks come from the cluster.
    let uncommitted_with_records = high_watermarks(bootstrap, TOPIC, PARTITIONS)
        .iter()
        .enumerate()
        .filter(|(p, hw)| **hw > 0 && !from_tool.contains_key(&(*p as i32)))
        .count();
    assert_eq!(
        series(&s, "kafka_consumergroup_partitions_uncommitted", &gt),
        Some(uncommitted_with_records as f64),
        "{group}: partitions holding records without a committed offset {rows:?}"
    );
    tool_max.unwrap()
}

/// Scrapes the exporter every 250 ms on its own thread, from its start until `finish`.
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Scrape>>,
}

struct Scrape {
    at: Instant,
    /// `sluice_lag_exporter_up`, or `None` when nothing answered.
    up: Option<f64>,
    /// `sluice_lag_exporter_last_success_timestamp_seconds`, in ns.
    last_success_ns: i64,
}

impl Scraper {
    fn start(port: u16) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                let at = Instant::now();
                let s = samples(&scrape(port));
                out.push(Scrape {
                    at,
                    up: s.get("sluice_lag_exporter_up").copied(),
                    last_success_ns: s
                        .get("sluice_lag_exporter_last_success_timestamp_seconds")
                        .map_or(0, |t| (t * 1e9) as i64),
                });
                std::thread::sleep(Duration::from_millis(250).saturating_sub(at.elapsed()));
            }
            out
        });
        Scraper { stop, thread }
    }

    fn finish(self) -> Vec<Scrape> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Multiset of keys → count.
fn count<K: Ord>(keys: impl IntoIterator<Item = K>) -> BTreeMap<K, i64> {
    let mut out = BTreeMap::new();
    for k in keys {
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

/// Records a sink holds beyond what the topic holds, per partition; fails on any record missing
/// from the sink and on any the topic never held. `partition_of` maps a key to its partition.
fn redelivered<K: Ord + std::fmt::Debug>(
    sink: &str,
    in_topic: &BTreeMap<K, i64>,
    in_sink: &BTreeMap<K, i64>,
    partition_of: &BTreeMap<K, i32>,
) -> BTreeMap<i32, i64> {
    let missing: Vec<&K> = in_topic
        .iter()
        .filter(|(k, n)| in_sink.get(*k).copied().unwrap_or(0) < **n)
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty(),
        "{} records missing from the {sink} sink, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let strangers: Vec<&K> = in_sink.keys().filter(|k| !in_topic.contains_key(*k)).collect();
    assert!(
        strangers.is_empty(),
        "{sink} holds records the topic never held: {strangers:?}"
    );
    let mut out: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    for (k, n) in in_sink {
        *out.get_mut(&partition_of[k]).unwrap() += n - in_topic[k];
    }
    out
}

/// The postgres sink's key of a metric: (measurement, host, cpu tag or "", time in µs).
type PgKey = (String, String, String, i64);

fn pg_key(m: &model::Metric) -> PgKey {
    (
        m.name.clone(),
        m.tags.get("host").cloned().unwrap_or_default(),
        m.tags.get("cpu").cloned().unwrap_or_default(),
        m.timestamp.div_euclid(1000),
    )
}

fn postgres_keys(pg: &Postgres) -> Vec<PgKey> {
    let text = pg.query(
        "SELECT 'cpu', host, cpu, (extract(epoch FROM time) * 1000000)::bigint FROM cpu \
         UNION ALL SELECT 'mem', host, '', (extract(epoch FROM time) * 1000000)::bigint FROM mem",
    );
    text.lines()
        .map(|l| {
            let c: Vec<&str> = l.split('|').collect();
            (
                c[0].to_string(),
                c[1].to_string(),
                c[2].to_string(),
                c[3].parse().unwrap(),
            )
        })
        .collect()
}

/// The scenario against `target` through `failure`; its figures go to stderr as one `RESULT`
/// line.
fn pipeline_survives(target: Target, failure: Failure) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let pg = Postgres::start();
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut cluster = Cluster::start(target, d);
    let cluster_started = began.elapsed();
    let bootstrap = cluster.bootstrap();
    let rf = cluster.nodes().to_string();
    for (topic, partitions) in [(TOPIC, PARTITIONS.to_string()), (DEAD_LETTER, "1".to_string())] {
        kafka_tool_ok(
            "kafka-topics",
            &[
                "--bootstrap-server",
                &bootstrap,
                "--create",
                "--topic",
                topic,
                "--partitions",
                &partitions,
                "--replication-factor",
                &rf,
            ],
            None,
        );
    }

    // The components, each configured with nothing but the cluster's brokers (and the test's
    // ports and time scale).
    let sink = d.join("sink/metrics.lp");
    let exporter_port = free_port();
    let workers_port = free_port();
    let mut logs = cluster.logs();
    let config = |name: &str, text: String| {
        let path = d.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    logs.push(d.join("lag-exporter.log"));
    let mut exporter = spawn_component(
        "lag-exporter",
        &config("lag-exporter.toml", exporter_config(&bootstrap, exporter_port)),
        &logs[logs.len() - 1],
    );
    logs.push(d.join("workers.log"));
    let mut workers = spawn_component(
        "worker",
        &config("workers.toml", workers_config(&bootstrap, workers_port, &sink, &pg)),
        &logs[logs.len() - 1],
    );
    let mut agents = Vec::new();
    for host in HOSTS {
        let port = free_port();
        let log = d.join(format!("agent-{host}.log"));
        logs.push(log.clone());
        let conf = config(&format!("agent-{host}.toml"), agent_config(host, port, &bootstrap));
        agents.push((host, port, log.clone(), spawn_component("agent", &conf, &log)));
    }
    wait_for("the exporter to serve /metrics", Duration::from_secs(30), &logs, || {
        scrape(exporter_port).contains("sluice_lag_exporter_up")
    });
    let scraper = Scraper::start(exporter_port);
    let t = unix_ns();
    wait_for(
        "samples of every host in both sinks",
        Duration::from_secs(90),
        &logs,
        || every_host_past(&sink, &pg, t),
    );
    let flowing = began.elapsed();

    // Which node to kill: on three nodes, the one whose loss hurts most.
    let hw = high_watermarks(&bootstrap, TOPIC, PARTITIONS);
    let written: BTreeSet<i32> = (0..PARTITIONS).filter(|p| hw[*p as usize] > 0).collect();
    let (victim, roles) = if cluster.nodes() == 1 {
        (0, "the only node".to_string())
    } else {
        let leaders = leaders(&bootstrap);
        let file_coordinator = coordinator(&bootstrap, FILE_GROUP);
        let pg_coordinator = coordinator(&bootstrap, PG_GROUP);
        let leads = |n: usize| written.iter().filter(|p| leaders[p] == n).copied().collect::<Vec<_>>();
        let controller = controller_leader(&bootstrap);
        let coordinates = |n: usize| [file_coordinator, pg_coordinator].iter().filter(|c| **c == n).count();
        // The node whose loss hurts most: one that leads a partition the agents write to, then
        // the one coordinating more of the groups, then the active controller (its loss moves
        // the metadata quorum too), then the one leading more such partitions.
        let victim = (0..cluster.nodes())
            .max_by_key(|n| {
                (
                    !leads(*n).is_empty(),
                    coordinates(*n),
                    *n == controller,
                    leads(*n).len(),
                )
            })
            .unwrap();
        let mut roles = format!(
            "node {victim}: leader of the agents' partitions {:?} (of {written:?})",
            leads(victim)
        );
        for (group, c) in [(FILE_GROUP, file_coordinator), (PG_GROUP, pg_coordinator)] {
            if c == victim {
                roles += &format!(", coordinator of {group}");
            }
        }
        if controller == victim {
            roles += ", the active KRaft controller";
        }
        (victim, roles)
    };

    let killed_ns = unix_ns();
    let killed = Instant::now();
    match failure {
        Failure::Kill => cluster.kill(victim),
        Failure::Hang => cluster.signal(victim, libc::SIGSTOP),
    }
    let mut during_outage = String::new();
    if cluster.nodes() > 1 {
        // With one node of three gone the cluster still takes acks=all writes (2 in sync): the
        // pipeline must carry on, once leadership has moved, without the node coming back.
        wait_for(
            "samples taken after the kill in both sinks while the node is down",
            Duration::from_secs(120),
            &logs,
            || every_host_past(&sink, &pg, killed_ns + 1_000_000_000),
        );
        during_outage = format!(
            "; samples taken after the kill reached both sinks {:?} after it",
            killed.elapsed()
        );
    }
    // Down long enough for Kafka to fence the node (broker.session.timeout.ms, 9 s) and for
    // clients to exhaust their reconnects to it; a hang for 30 s, past every client's request
    // timeout and the workers' session timeout.
    let outage = Duration::from_secs(if failure == Failure::Hang { 30 } else { 20 });
    std::thread::sleep(outage.saturating_sub(killed.elapsed()));
    let down_for = killed.elapsed();
    let restarting = Instant::now();
    match failure {
        Failure::Kill => cluster.restart(victim),
        Failure::Hang => cluster.signal(victim, libc::SIGCONT),
    }
    let restart_took = restarting.elapsed();
    let restarted_ns = unix_ns();
    wait_for(
        "samples taken after the restart in both sinks",
        Duration::from_secs(120),
        &logs,
        || every_host_past(&sink, &pg, restarted_ns + 1_000_000_000),
    );
    let recovered = restarting.elapsed();
    wait_for(
        "the exporter to collect successfully again",
        Duration::from_secs(60),
        &logs,
        || samples(&scrape(exporter_port)).get("sluice_lag_exporter_up") == Some(&1.0),
    );

    // Stop the agents; what each numbered must all be in the topic, once.
    let mut sent_before_stop = BTreeMap::new();
    for (host, port, log, agent) in &mut agents {
        let s = samples(&scrape(*port));
        let dropped: f64 = s
            .iter()
            .filter(|(k, _)| k.starts_with("sluice_agent_records_dropped_total"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(dropped, 0.0, "agent {host} dropped samples");
        sent_before_stop.insert(host.to_string(), s["sluice_agent_records_sent_total"] as u64);
        terminate(&mut agent.0, &format!("agent {host}"));
        let text = std::fs::read_to_string(&*log).unwrap();
        assert!(
            !text.contains("stopping with samples the broker has not acknowledged"),
            "agent {host} stopped holding samples:\n{text}"
        );
    }
    let hw = high_watermarks(&bootstrap, TOPIC, PARTITIONS);
    let total: i64 = hw.iter().sum();
    let records = read_topic(&bootstrap, TOPIC, PARTITIONS, total as usize, Duration::from_secs(60));
    assert_eq!(
        records.len() as i64,
        total,
        "the topic read back up to its high watermarks"
    );
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut partition_of_host: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for r in &records {
        let host = r.headers["sluice-agent"].clone();
        seqs.entry(host.clone())
            .or_default()
            .push(r.headers["sluice-seq"].parse().unwrap());
        partition_of_host.entry(host).or_default().insert(r.partition);
    }
    assert_eq!(seqs.keys().collect::<Vec<_>>(), HOSTS.iter().collect::<Vec<_>>());
    for (host, s) in &mut seqs {
        s.sort_unstable();
        let n = s.len() as u64;
        let distinct = s.iter().collect::<BTreeSet<_>>().len() as u64;
        assert_eq!(distinct, n, "{host}: a sequence number twice in the topic");
        assert_eq!(
            s.last().map_or(0, |l| l + 1),
            n,
            "{host}: a gap in the sequence (lost samples)"
        );
        assert!(
            n >= sent_before_stop[host],
            "{host}: the agent counted {} acknowledged, the topic holds {n}",
            sent_before_stop[host]
        );
    }

    // Both sinks hold every record the topic holds; what they hold twice is redelivery.
    let metrics: Vec<(String, model::Metric, i32)> = records
        .iter()
        .map(|r| {
            let line = String::from_utf8(r.value.clone()).unwrap().trim_end().to_string();
            let m = model::line_protocol::parse_line(&line).unwrap();
            (line, m, r.partition)
        })
        .collect();
    let file_in_topic = count(metrics.iter().map(|(l, _, _)| l.clone()));
    let pg_in_topic = count(metrics.iter().map(|(_, m, _)| pg_key(m)));
    let drain = Instant::now();
    wait_for(
        "every record of the topic in both sinks",
        Duration::from_secs(120),
        &logs,
        || {
            let file = count(lines_of(&sink));
            let table = count(postgres_keys(&pg));
            file_in_topic.iter().all(|(k, n)| file.get(k).is_some_and(|m| m >= n))
                && pg_in_topic.iter().all(|(k, n)| table.get(k).is_some_and(|m| m >= n))
        },
    );
    let drained = drain.elapsed();
    // Redelivery: the workers commit a partition's offsets after each batch a sink
    // acknowledged, and when a rebalance revokes it. A partition's position goes back to its
    // committed offset only when the consumer loses it (a rebalance, a restart); then the
    // records since the last commit come again, and with a commit after every batch those are
    // the records of the batch in flight: at most one batch, `BATCH` records, per partition and
    // sink. More would mean commits were lost or skipped, which the failure must not cause.
    let file_partition = metrics.iter().map(|(l, _, p)| (l.clone(), *p)).collect();
    let pg_partition = metrics.iter().map(|(_, m, p)| (pg_key(m), *p)).collect();
    let file_again = redelivered("file", &file_in_topic, &count(lines_of(&sink)), &file_partition);
    let pg_again = redelivered("postgres", &pg_in_topic, &count(postgres_keys(&pg)), &pg_partition);
    for (sink_name, again) in [("file", &file_again), ("postgres", &pg_again)] {
        for (p, n) in again {
            assert!(
                *n <= BATCH as i64,
                "{sink_name} sink: {n} records of partition {p} delivered again; at most one batch ({BATCH})"
            );
        }
    }
    let worker_metrics = samples(&scrape(workers_port));
    for host in HOSTS {
        assert_eq!(
            worker_metrics.get(&format!("sluice_worker_records_lost_total{{agent=\"{host}\"}}")),
            Some(&0.0),
            "the workers saw a gap in {host}'s sequence"
        );
    }
    assert_eq!(
        high_watermarks(&bootstrap, DEAD_LETTER, 1),
        [0],
        "nothing was dead-lettered"
    );

    // Caught up: kafka-consumer-groups shows every committed partition at its log end, and the
    // exporter says the same at the same offsets (nothing produces or commits any more).
    wait_for(
        "both groups committed up to the log end",
        Duration::from_secs(60),
        &logs,
        || {
            [FILE_GROUP, PG_GROUP].iter().all(|g| {
                describe_group(&bootstrap, g)
                    .iter()
                    .all(|r| r.current.is_none_or(|c| c == r.log_end) && r.current.is_some() == (r.log_end > 0))
            })
        },
    );
    for group in [FILE_GROUP, PG_GROUP] {
        assert_eq!(
            exporter_agrees_with_kafka_tool(&bootstrap, exporter_port, group, &logs),
            0
        );
    }
    terminate(&mut workers.0, "the workers");
    let scrapes = scraper.finish();

    // Lagging: with the workers stopped, 2p + 1 more records into each partition p. A group
    // lags by that on each partition it committed on; both tools must say so.
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .create()
        .unwrap();
    for p in 0..PARTITIONS {
        for i in 0..2 * p + 1 {
            let line = format!("lagprobe,host=probe n={i}i {}", unix_ns());
            producer
                .send(BaseRecord::<(), str>::to(TOPIC).partition(p).payload(&line))
                .unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    drop(producer);
    let committed_on: BTreeSet<i32> = partition_of_host.values().flatten().copied().collect();
    let want_max = committed_on.iter().map(|p| 2 * *p as i64 + 1).max().unwrap();
    for group in [FILE_GROUP, PG_GROUP] {
        assert_eq!(
            exporter_agrees_with_kafka_tool(&bootstrap, exporter_port, group, &logs),
            want_max,
            "{group}: the partitions committed on are {committed_on:?}"
        );
    }
    terminate(&mut exporter.0, "the lag exporter");

    // The exporter answered every scrape, before, during and after the failure.
    let unanswered: Vec<Duration> = scrapes
        .iter()
        .filter(|s| s.up.is_none())
        .map(|s| s.at.saturating_duration_since(killed))
        .collect();
    let outage_scrapes: Vec<&Scrape> = scrapes
        .iter()
        .filter(|s| s.at >= killed && s.at <= killed + down_for)
        .collect();
    assert!(
        unanswered.is_empty(),
        "of {} scrapes, {} went unanswered, at these times after the kill: {unanswered:?}",
        scrapes.len(),
        unanswered.len()
    );
    assert!(
        outage_scrapes.len() >= 20,
        "only {} scrapes while the node was down",
        outage_scrapes.len()
    );
    let down_scrapes = outage_scrapes.iter().filter(|s| s.up == Some(0.0)).count();
    if failure == Failure::Hang {
        // A hung broker holds the exporter's requests unanswered: its collections time out,
        // and it must say so rather than serve the last figures as if they were current.
        assert!(
            down_scrapes > 0,
            "the exporter never reported up=0 during a {down_for:?} hang"
        );
    }
    if cluster.nodes() > 1 {
        // A collection that ended more than its timeout (5 s) after the kill began after it:
        // the exporter collects from a cluster with a node down, not only from a whole one.
        let newest = outage_scrapes.iter().map(|s| s.last_success_ns).max().unwrap_or(0);
        assert!(
            newest > killed_ns + 6_000_000_000,
            "no collection begun after the kill succeeded while the node was down"
        );
    }

    let hosts_partitions: Vec<String> = partition_of_host.iter().map(|(h, p)| format!("{h}→{p:?}")).collect();
    eprintln!(
        "RESULT {target:?}: PASS in {:?} | cluster up in {cluster_started:?}, samples flowing at {flowing:?} | \
         {failure:?} of {roles} for {down_for:?}{during_outage}; restart took {restart_took:?}, samples taken after it in \
         both sinks {recovered:?} after the restart began | {total} records ({}), partitions {}, drained in \
         {drained:?} | redelivered per partition: file {file_again:?}, postgres {pg_again:?} (bound {BATCH}) | \
         exporter: {} scrapes all answered, {} during the outage of which {down_scrapes} with up=0 | lag vs \
         kafka-consumer-groups: equal at 0 and at max {want_max}",
        began.elapsed(),
        seqs.iter()
            .map(|(h, s)| format!("{h} 0..={}", s.len() - 1))
            .collect::<Vec<_>>()
            .join(", "),
        hosts_partitions.join(" "),
        scrapes.len(),
        outage_scrapes.len(),
    );
}

#[test]
fn on_a_three_node_kafka_cluster_a_sigkilled_node_costs_no_sample_and_the_lag_exporter_keeps_answering() {
    pipeline_survives(Target::Kafka { nodes: 3 }, Failure::Kill);
}

#[test]
fn on_single_node_kafka_a_sigkill_and_restart_costs_no_sample() {
    pipeline_survives(Target::Kafka { nodes: 1 }, Failure::Kill);
}

#[test]
fn on_the_bundled_broker_a_sigkill_and_restart_costs_no_sample() {
    pipeline_survives(Target::Bundled, Failure::Kill);
}

/// Issue #20's hung broker: SIGSTOP for 30 s, then SIGCONT. The agents, the workers and the
/// exporter recover on their own, nothing is lost, and the exporter reports `up 0` meanwhile.
#[test]
fn on_the_bundled_broker_a_30_s_hang_costs_no_sample_and_the_exporter_reports_it() {
    pipeline_survives(Target::Bundled, Failure::Hang);
}
