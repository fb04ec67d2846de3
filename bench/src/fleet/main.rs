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
//!
//! With `--throughput`, one worker against kcat instead (`throughput`). The simulated hosts'
//! lines are in `sample`, what is measured and how in `measure`, the processes under test in
//! `process`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

mod measure;
mod process;
mod sample;
mod soak;
mod throughput;

use measure::{broker_cpu_seconds, cpu_seconds, memory_mib, scrape_lag, Tail};
use process::{free_port, wait_for_port, write_configs, Up};
use sample::{host_sample, now_ns};
use soak::Soak;
use throughput::throughput;

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
    /// A soak: read `sluice up`'s resident memory, open fds and threads this often while
    /// measuring, and judge their growth (`bench/soak.sh`).
    #[arg(long, value_parser = humantime::parse_duration)]
    sample_every: Option<Duration>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(records) = args.throughput {
        return throughput(&args.sluice, records);
    }
    let dir = tempfile::tempdir()?;
    let ports: Vec<u16> = (0..5).map(|_| free_port()).collect::<anyhow::Result<_>>()?;
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
    let mut soak = args.sample_every.map(Soak::new);
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
        if let (true, Some(soak)) = (measuring, soak.as_mut()) {
            soak.tick(pid, window_start)?;
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
    if let Some(soak) = soak {
        soak.report();
    }
    Ok(())
}
