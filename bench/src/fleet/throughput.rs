//! The other run of `sluice-fleet` (`--throughput`): one `sluice worker` draining records already
//! in the topic into the file sink, against kcat copying the same records to a file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::measure::{cpu_seconds, scrape_counter};
use crate::process::{free_port, wait_for_port, Up};
use crate::sample::host_sample;

/// One worker draining `records` agent-like records into the file sink, and kcat reading the same
/// topic into a file (a consumer with no decoding, no fsync and no commits: a ceiling).
pub fn throughput(sluice: &Path, records: u64) -> anyhow::Result<()> {
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
