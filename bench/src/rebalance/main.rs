//! `sluice-rebalance`: what a consumer group pays when a fifth member joins four busy ones, for
//! the classic protocol (the eager `range` assignor and `cooperative-sticky`) and for KIP-848's
//! consumer protocol, against sluice's broker and, with `--kafka`, against Apache Kafka started
//! by this run (tests/kafka/kafka.sh), every broker and protocol with its default settings.
//!
//! Each round: a producer writes `--rate` records a second over `--partitions` partitions; four
//! librdkafka members (rdkafka, one thread each) join and settle; a fifth joins. Printed per
//! broker and protocol, medians over `--rounds`:
//!
//! - **join → settled**: from the fifth member's start until every member holds an equal share
//!   and together they hold every partition;
//! - **paused**: how many partitions went more than half a second without a record being
//!   consumed, from a second before the join to two after it settled (records keep arriving in
//!   every partition, so a pause is the group's doing);
//! - **longest pause** of any partition and the **median** partition's longest pause (high when
//!   the whole group stopped at once), beside the longest gap of the steady state before the
//!   join.
//!
//! Each member spends `--work-us` per record after consuming it, as a worker writing to a sink
//! does, so the four are busy when the fifth arrives.

mod members;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

use members::{run_round, Protocol, Round};

#[derive(Parser)]
#[command(about = "Rebalance cost of a fifth member joining four busy ones: classic against KIP-848")]
struct Args {
    /// The sluice binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/sluice")]
    sluice: PathBuf,
    /// Also run against Apache Kafka (tests/kafka/kafka.sh, installed by .ci/install).
    #[arg(long)]
    kafka: bool,
    #[arg(long, default_value_t = 20)]
    partitions: i32,
    /// Records a second the producer writes while the group changes.
    #[arg(long, default_value_t = 2000)]
    rate: u32,
    /// Microseconds of work per record in each member (a sink's write): at the default, four
    /// members are about three-quarters busy.
    #[arg(long, default_value_t = 1500)]
    work_us: u64,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// A broker of the run, stopped when dropped.
enum Broker {
    Sluice(Child, PathBuf),
    Kafka(PathBuf),
}

impl Drop for Broker {
    fn drop(&mut self) {
        match self {
            Broker::Sluice(child, dir) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(dir);
            }
            Broker::Kafka(dir) => {
                let _ = Command::new("bash").arg(kafka_sh()).arg("stop").arg(&*dir).status();
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

fn kafka_sh() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/kafka/kafka.sh")
}

fn start_sluice(bin: &PathBuf) -> anyhow::Result<(Broker, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("sluice-rebalance-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let child = Command::new(bin)
        .args([
            "broker",
            "--config",
            "/dev/null",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--http-listen", "", "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let broker = Broker::Sluice(child, dir);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("sluice did not listen on {port}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((broker, format!("127.0.0.1:{port}")))
}

fn start_kafka() -> anyhow::Result<(Broker, String)> {
    let dir = std::env::temp_dir().join(format!("sluice-rebalance-kafka-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = Command::new("bash")
        .arg(kafka_sh())
        .arg("start")
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .context("running tests/kafka/kafka.sh")?;
    let broker = Broker::Kafka(dir);
    if !out.status.success() {
        bail!("Apache Kafka did not start (is it installed? bash .ci/install)");
    }
    Ok((broker, String::from_utf8(out.stdout)?.trim().to_string()))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut brokers = vec![("sluice", start_sluice(&args.sluice)?)];
    if args.kafka {
        brokers.push(("Apache Kafka", start_kafka()?));
    }
    println!(
        "a fifth member joins four busy ones: {} partitions, {} records/s, {} µs of work per record, median of {} rounds",
        args.partitions, args.rate, args.work_us, args.rounds
    );
    println!(
        "{:<14} {:<28} {:>15} {:>18} {:>14} {:>15} {:>11}",
        "broker", "protocol", "join → settled", "paused > 0.5 s", "longest pause", "median pause", "steady gap"
    );
    let mut index = 0;
    for (name, (_broker, bootstrap)) in &brokers {
        for protocol in Protocol::ALL {
            let mut rounds: Vec<Round> = Vec::new();
            for _ in 0..args.rounds {
                index += 1;
                let shape = (args.partitions, args.rate, Duration::from_micros(args.work_us));
                rounds.push(run_round(bootstrap, protocol, shape, index)?);
            }
            let m = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
            println!(
                "{:<14} {:<28} {:>13.1} s {:>12} of {:<2} {:>12.2} s {:>13.2} s {:>9.2} s",
                name,
                protocol.name(),
                m(|r| r.settled.as_secs_f64()),
                m(|r| r.paused as f64),
                args.partitions,
                m(|r| r.longest_pause.as_secs_f64()),
                m(|r| r.median_pause.as_secs_f64()),
                m(|r| r.steady_gap.as_secs_f64()),
            );
        }
    }
    Ok(())
}
