//! Fleet benchmark: many simulated agents into one `sluice up`.
//!
//! `sluice up` runs as its own process on a temporary data dir and free ports, from the shipped
//! `config/` files. This process plays `--agents` hosts: each sends what a 2-CPU host's agent
//! sends every `--interval` (three `cpu` lines and one `mem` line, Telegraf's fields, with the
//! agent's `sluice-agent`/`sluice-seq`/`sluice-time` headers), spread evenly over the interval,
//! through one idempotent acks=all producer. It reports, over the measured window:
//!
//! - CPU seconds per minute of the whole `sluice up` process (broker, workers, lag exporter and
//!   its own agent) and of its broker threads alone, and the process's resident memory;
//! - sample → file sink latency: the file sink is tailed every 5 ms and each line's timestamp
//!   (the time it was sent) is compared with when it appeared (resolution ±5 ms);
//! - the workers' group lag from the lag exporter, scraped every 5 s (its maximum and last value).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

#[derive(Parser)]
#[command(
    name = "sluice-fleet",
    about = "Simulated agents into one `sluice up`: CPU, memory, latency, lag"
)]
struct Args {
    /// The sluice binary (release build).
    #[arg(long, default_value = "target/release/sluice")]
    sluice: PathBuf,
    /// The config directory `sluice up` reads (ports are replaced by free ones).
    #[arg(long, default_value = "config")]
    config: PathBuf,
    /// Simulated agents.
    #[arg(long, default_value_t = 1000)]
    agents: u64,
    /// How often each agent sends its batch, e.g. "10s" or "1s".
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Measured time, after a warm-up of one interval plus 5 s.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Instead of the fleet: time one `sluice worker` delivering this many records (already in
    /// the topic) to the file sink, next to kcat copying the same records to a file.
    #[arg(long)]
    throughput: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(records) = args.throughput {
        return throughput(&args.sluice, records);
    }
    let dir = tempfile::tempdir()?;
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect::<anyhow::Result<_>>()?;
    let config = write_configs(&args.config, dir.path(), &ports)?;
    let data = dir.path().join("data");
    let bootstrap = format!("127.0.0.1:{}", ports[0]);
    let mut up = Up(Command::new(&args.sluice)
        .arg("up")
        .arg("--config-dir")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn,librdkafka=off,rdkafka=off")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("up.log"))?)
        .spawn()
        .with_context(|| format!("starting {}", args.sluice.display()))?);
    wait_for_port(ports[0])?;
    let pid = up.0.id();

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()?;
    let sink = data.join("sink/metrics.lp");
    let mut tail = Tail::new(sink);
    let exporter_port = ports[3];

    let warm_up = args.interval + Duration::from_secs(5);
    let start = Instant::now();
    let end = start + warm_up + args.duration;
    let mut measuring = false;
    let (mut cpu_start, mut broker_cpu_start, mut window_start) = (0.0, 0.0, Instant::now());
    let mut latencies_ms: Vec<f64> = Vec::new();
    let mut lag_max = 0i64;
    let mut lag_last = 0i64;
    let mut next_scrape = start;
    let mut seqs = vec![0u64; args.agents as usize];
    let mut sent = 0u64;
    // Agent i sends at start + i/agents of each interval.
    let slot = args.interval.as_secs_f64() / args.agents as f64;
    let mut due: u64 = 0; // index of the next (round, agent) send, counted over rounds
    while Instant::now() < end {
        let now = Instant::now();
        if !measuring && now >= start + warm_up {
            measuring = true;
            cpu_start = cpu_seconds(pid)?;
            broker_cpu_start = broker_cpu_seconds(pid)?;
            window_start = now;
            latencies_ms.clear();
        }
        // Send every batch whose time has come.
        while start + Duration::from_secs_f64(due as f64 * slot) <= now {
            let agent = (due % args.agents) as usize;
            let host = format!("fleet-{agent:04}");
            let ts = now_ns();
            for record in host_sample(&host, ts) {
                let seq = seqs[agent].to_string();
                seqs[agent] += 1;
                let ts_text = ts.to_string();
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: "sluice-agent",
                        value: Some(host.as_str()),
                    })
                    .insert(Header {
                        key: "sluice-seq",
                        value: Some(seq.as_str()),
                    })
                    .insert(Header {
                        key: "sluice-time",
                        value: Some(ts_text.as_str()),
                    });
                let mut r = BaseRecord::to("metrics")
                    .key(host.as_str())
                    .payload(record.as_str())
                    .headers(headers);
                loop {
                    match producer.send(r) {
                        Ok(()) => break,
                        Err((_, back)) => {
                            r = back;
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
                sent += 1;
            }
            due += 1;
        }
        // Tail the sink.
        let seen_at = now_ns();
        for ts in tail.new_fleet_timestamps()? {
            if measuring {
                latencies_ms.push((seen_at - ts) as f64 / 1e6);
            }
        }
        if now >= next_scrape {
            next_scrape = now + Duration::from_secs(5);
            if let Some(lag) = scrape_lag(exporter_port, "sluice-workers-archive") {
                lag_last = lag;
                if measuring {
                    lag_max = lag_max.max(lag);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let window = window_start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid)? - cpu_start;
    let broker_cpu = broker_cpu_seconds(pid)? - broker_cpu_start;
    let (rss, hwm) = memory_mib(pid)?;
    producer.flush(Duration::from_secs(30))?;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let stopped = Instant::now();
    let status = up.0.wait()?;
    let stop_took = stopped.elapsed();
    std::mem::forget(up);

    if latencies_ms.is_empty() {
        bail!(
            "no fleet sample reached the file sink; see {}",
            dir.path().join("up.log").display()
        );
    }
    latencies_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies_ms[((latencies_ms.len() as f64 * p) as usize).min(latencies_ms.len() - 1)];
    let rate = args.agents as f64 * 4.0 / args.interval.as_secs_f64();
    println!(
        "| {} agents every {} | {:.0} rec/s | {:.1} CPU s/min (broker {:.1}) | {:.0} MiB (peak {:.0}) | p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples) | max {lag_max}, last {lag_last} | {:.1} s, {} |",
        args.agents,
        humantime::format_duration(args.interval),
        rate,
        cpu / window * 60.0,
        broker_cpu / window * 60.0,
        rss,
        hwm,
        pct(0.50),
        pct(0.99),
        latencies_ms[latencies_ms.len() - 1],
        latencies_ms.len(),
        stop_took.as_secs_f64(),
        status,
    );
    eprintln!("sent {sent} records; measured {window:.0} s");
    Ok(())
}

/// One worker draining `records` agent-like records into the file sink, and kcat reading the same
/// topic into a file (a consumer with no decoding, no fsync and no commits: a ceiling).
fn throughput(sluice: &Path, records: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (port, metrics_port) = (free_port()?, free_port()?);
    let bootstrap = format!("127.0.0.1:{port}");
    let _broker = Up(Command::new(sluice)
        .args([
            "broker",
            "--listen",
            &bootstrap,
            "--config",
            "/dev/null",
            "--http-listen",
            "",
            "--data-dir",
        ])
        .arg(dir.path().join("broker"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?);
    wait_for_port(port)?;
    let created = Command::new(sluice)
        .args([
            "topics",
            "--bootstrap-server",
            &bootstrap,
            "--create",
            "--topic",
            "metrics",
            "--partitions",
            "6",
        ])
        .output()?;
    if !created.status.success() {
        bail!("creating the topic: {}", String::from_utf8_lossy(&created.stderr));
    }
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .create()?;
    let mut seq = 0u64;
    'fill: for round in 0.. {
        for agent in 0..1000 {
            let host = format!("fleet-{agent:04}");
            for record in host_sample(&host, 1_700_000_000_000_000_000 + round) {
                let mut r = BaseRecord::to("metrics").key(host.as_str()).payload(record.as_str());
                loop {
                    match producer.send(r) {
                        Ok(()) => break,
                        Err((_, back)) => {
                            r = back;
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
                seq += 1;
                if seq == records {
                    break 'fill;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60))?;
    eprintln!("{records} records in the topic");

    let config = dir.path().join("workers.toml");
    std::fs::write(
        &config,
        format!(
            "brokers = [\"{bootstrap}\"]\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n\
             [[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\nmax_bytes = 0\n",
            dir.path().join("sink.lp").display()
        ),
    )?;
    let started = Instant::now();
    let worker = Up(Command::new(sluice)
        .arg("worker")
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn,librdkafka=off,rdkafka=off")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?);
    let mut first: Option<Instant> = None;
    let done = loop {
        let delivered =
            scrape_counter(metrics_port, "sluice_worker_records_delivered_total{sink=\"archive\"}").unwrap_or(0);
        if delivered > 0 {
            first.get_or_insert_with(Instant::now);
        }
        if delivered >= records {
            break Instant::now();
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the worker delivered {delivered} of {records} in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let cpu = cpu_seconds(worker.0.id())?;
    let first = first.unwrap_or(started);
    let worker_secs = (done - first).as_secs_f64();
    drop(worker);

    let out = std::fs::File::create(dir.path().join("kcat.lp"))?;
    let kcat_started = Instant::now();
    let status = Command::new("kcat")
        .args([
            "-C",
            "-b",
            &bootstrap,
            "-t",
            "metrics",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-c",
            &records.to_string(),
        ])
        .stdout(out)
        .status()
        .context("running kcat (Debian's kcat; `bash .ci/install` installs it)")?;
    let kcat_secs = kcat_started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("kcat failed: {status}");
    }
    println!(
        "| file sink, one worker | {records} | {:.0} rec/s ({:.1} s from the first delivery; start-up {:.1} s) | {:.2} µs CPU/record | kcat → file: {:.0} rec/s ({kcat_secs:.1} s with start-up) | {:.2}× |",
        records as f64 / worker_secs,
        worker_secs,
        (first - started).as_secs_f64(),
        cpu * 1e6 / records as f64,
        records as f64 / kcat_secs,
        (records as f64 / worker_secs) / (records as f64 / kcat_secs),
    );
    Ok(())
}

fn scrape_counter(port: u16, series: &str) -> Option<u64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// What one 2-CPU host's agent sends per interval: cpu-total, cpu0, cpu1 and mem, with the
/// fields Telegraf's cpu and mem inputs report.
fn host_sample(host: &str, ts: i64) -> Vec<String> {
    let mut out: Vec<String> = ["cpu-total", "cpu0", "cpu1"]
        .iter()
        .map(|cpu| {
            format!(
                "cpu,cpu={cpu},host={host} usage_guest=0,usage_guest_nice=0,usage_idle=93.41317365269461,\
                 usage_iowait=0.09980039920159681,usage_irq=0,usage_nice=0,usage_softirq=0.09980039920159681,\
                 usage_steal=0.2994011976047904,usage_system=2.095808383233533,usage_user=4.091816367265469 {ts}"
            )
        })
        .collect();
    out.push(format!(
        "mem,host={host} active=4129034240i,available=24324071424i,available_percent=96.23192135242407,\
         buffered=54632448i,cached=17737834496i,commit_limit=12638253056i,committed_as=443817984i,dirty=559710208i,\
         free=6951591936i,huge_page_size=2097152i,huge_pages_free=0i,huge_pages_total=0i,inactive=13159677952i,\
         mapped=255414272i,page_tables=4378624i,shared=9068544i,slab=895217664i,sreclaimable=814211072i,\
         sunreclaim=81006592i,swap_cached=0i,swap_free=0i,swap_total=0i,total=25276510208i,used=532451328i,\
         used_percent=2.106506490090865,vmalloc_chunk=0i,vmalloc_total=35184372087808i,vmalloc_used=15446016i,\
         write_back=0i,write_back_tmp=0i {ts}"
    ));
    out
}

/// Reads what was appended to the sink file since the last call.
struct Tail {
    path: PathBuf,
    pos: u64,
    partial: String,
}

impl Tail {
    fn new(path: PathBuf) -> Tail {
        Tail {
            path,
            pos: 0,
            partial: String::new(),
        }
    }

    /// Timestamps of the new complete lines from simulated hosts.
    fn new_fleet_timestamps(&mut self) -> anyhow::Result<Vec<i64>> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Ok(Vec::new());
        };
        f.seek(SeekFrom::Start(self.pos))?;
        let mut buf = String::new();
        self.pos += f.read_to_string(&mut buf)? as u64;
        self.partial.push_str(&buf);
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            if line.contains("host=fleet-") {
                if let Some(ts) = line.trim_end().rsplit(' ').next().and_then(|t| t.parse().ok()) {
                    out.push(ts);
                }
            }
        }
        Ok(out)
    }
}

/// `kafka_consumergroup_records_lag_max{group=…,topic="metrics"}` from the lag exporter.
fn scrape_lag(port: u16, group: &str) -> Option<i64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let prefix = format!("kafka_consumergroup_records_lag_max{{group=\"{group}\",topic=\"metrics\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as i64)
}

/// The shipped config files with free ports (broker, agent, workers, lag exporter) and a 5 s
/// lag-exporter interval.
fn write_configs(from: &Path, dir: &Path, ports: &[u16]) -> anyhow::Result<PathBuf> {
    let to = dir.join("config");
    std::fs::create_dir_all(&to)?;
    let replace: HashMap<&str, (&str, String)> = HashMap::from([
        ("broker.toml", ("127.0.0.1:9092", format!("127.0.0.1:{}", ports[0]))),
        ("agent.toml", ("127.0.0.1:9273", format!("127.0.0.1:{}", ports[1]))),
        ("workers.toml", ("127.0.0.1:9274", format!("127.0.0.1:{}", ports[2]))),
        (
            "lag-exporter.toml",
            ("127.0.0.1:9308", format!("127.0.0.1:{}", ports[3])),
        ),
    ]);
    for (file, (old, new)) in replace {
        let text = std::fs::read_to_string(from.join(file)).with_context(|| format!("reading {file}"))?;
        let text = text
            .replace(old, &new)
            .replace("interval = \"15s\"", "interval = \"5s\"");
        std::fs::write(to.join(file), text)?;
    }
    Ok(to)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("sluice up did not listen on {port} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (_, seconds) = parse_stat(&stat).context("malformed /proc stat")?;
    Ok(seconds)
}

/// CPU seconds of the broker's own threads in `sluice up` (named "sluice-broker"), from each
/// thread's /proc stat. They never exit while it runs, so none of their time is lost.
fn broker_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let mut seconds = 0.0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread may end between listing and reading.
        let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
            continue;
        };
        match parse_stat(&stat) {
            Some(("sluice-broker", s)) => seconds += s,
            Some(_) => {}
            None => bail!("malformed /proc task stat"),
        }
    }
    Ok(seconds)
}

/// The command name and user + system CPU seconds of a /proc `stat` line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    // Fields after the parenthesised name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((stat.get(open + 1..close)?, ticks as f64 / hz))
}

/// (resident, peak resident) in MiB.
fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    Ok((kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0))
}

/// Kills `sluice up` if the benchmark fails half way.
struct Up(Child);
impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
