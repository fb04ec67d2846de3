//! `sluice-bench`: the same librdkafka workloads against `sluice broker` and peer brokers
//! (Tansu; Apache Kafka as it ships and fsyncing every append), one after the other in one run,
//! so the machine's noise hits all alike.
//!
//! Each broker runs as its own process; its CPU time is read from `/proc/<pid>/stat` around
//! every workload, so "broker CPU per record" excludes the client's work. Workloads:
//!
//! 1. produce 100-byte records, acks=1, one partition
//! 2. produce 100-byte records, acks=all, one partition (sluice fsyncs before answering)
//! 3. produce 1 KB records, acks=1, six partitions
//! 4. consume workload 1's topic from the beginning
//! 5. produce→consume latency at a fixed rate (10,000 records/s by default)
//!
//! With `--kafka`, also Kafka's own `kafka-producer-perf-test` and `kafka-consumer-perf-test` at
//! 100-byte and 1 KiB records against every broker (kafka.rs), and the floors against
//! Kafka under the table.
//!
//! The clients run on mimalloc, which also serves librdkafka's C allocations: with glibc's
//! malloc a single consumer stalls on an arena lock shared by librdkafka's fetch and poll
//! threads, and the faster the broker answers, the more the two overlap (BENCHMARKS.md).
//! Build with `--no-default-features` to measure with glibc's malloc.
//!
//! # Layout
//!
//! - `broker`: the brokers as processes: start, client config, CPU and memory from `/proc`.
//! - `workloads`: the list of workloads and their `Figures`; one submodule per
//!   librdkafka workload (`produce`, `consume`, `latency`).
//! - `kafka`: Apache Kafka as the peer, Kafka's perf tools as workloads, the floors.
//! - `secure`: the SASL_SSL sluice peer.
//! - `report`: the median round and the table.
//!
//! `fleet/` is the other binary of this crate, `sluice-fleet`.

use std::path::PathBuf;

use clap::Parser;

use broker::Broker;
use report::{describe, describe_start, median, print_table};
use workloads::{workloads, Figures};

mod broker;
mod kafka;
mod report;
mod secure;
mod workloads;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator of this process, which is the clients' (named under the table).
const CLIENT_ALLOCATOR: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "glibc malloc"
};

#[derive(Parser)]
#[command(about = "Benchmark sluice broker against a peer broker with librdkafka workloads")]
struct Args {
    /// The sluice binary (release build).
    #[arg(long, default_value = "target/release/sluice")]
    sluice: PathBuf,
    /// A Tansu binary to compare against (memory storage); omit to bench sluice alone.
    #[arg(long, conflicts_with = "sasl_ssl")]
    tansu: Option<PathBuf>,
    /// The Kafka fixture script (tests/kafka/kafka.sh): compare against Apache Kafka, one KRaft
    /// node as it ships and one with log.flush.interval.messages=1, and add Kafka's perf tools
    /// to the workloads.
    #[arg(long)]
    kafka: Option<PathBuf>,
    /// KAFKA_HEAP_OPTS of the Kafka brokers (Kafka's own start script uses -Xmx1G -Xms1G).
    #[arg(long, default_value = "-Xmx1G -Xms1G")]
    kafka_heap: String,
    /// Compare sluice over PLAINTEXT with a second sluice broker over SASL_SSL (TLS with
    /// SCRAM-SHA-256, the certificate and user made for the run) instead of with Tansu.
    #[arg(long)]
    sasl_ssl: bool,
    /// Records in each 100-byte produce workload.
    #[arg(long, default_value_t = 2_000_000)]
    small_records: u64,
    /// Records in the 1 KB six-partition workload.
    #[arg(long, default_value_t = 500_000)]
    large_records: u64,
    /// librdkafka's `compression.codec` for the produce workloads (none, gzip, snappy, lz4,
    /// zstd); the records are 'x' repeated, so they compress far better than real ones.
    #[arg(long, default_value = "none")]
    compression: String,
    /// Producer instances (one thread each) in the produce workloads; the same for every broker.
    #[arg(long, default_value_t = 1)]
    producers: u64,
    /// Rounds of every workload; the table shows each broker's median round.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Run only the workloads whose name contains one of these words (e.g. `--only consume`).
    #[arg(long)]
    only: Vec<String>,
    /// Rate of the latency workload, records per second.
    #[arg(long, default_value_t = 10_000)]
    latency_rate: u64,
    /// Length of the latency workload.
    #[arg(long, default_value = "10")]
    latency_seconds: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut brokers = vec![Broker::start_sluice(&args.sluice)?];
    if let Some(tansu) = &args.tansu {
        brokers.push(Broker::start_tansu(tansu)?);
    }
    if args.sasl_ssl {
        brokers.push(secure::start(&args.sluice)?);
    }
    if let Some(script) = &args.kafka {
        for (i, setup) in kafka::SETUPS.iter().enumerate() {
            brokers.push(kafka::start(script, &args.kafka_heap, setup, i)?);
        }
    }
    for b in &brokers {
        eprintln!("{} started: {}", b.name, describe_start(&b.started));
    }
    let mut results: Vec<(&str, Vec<Result<Figures, String>>)> = Vec::new();
    for (name, run) in workloads(&args) {
        if !args.only.is_empty() && !args.only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let mut per_broker: Vec<Vec<Result<Figures, String>>> = brokers.iter().map(|_| Vec::new()).collect();
        for round in 0..args.rounds {
            // Alternate who goes first so drift in the machine's load does not favour one broker.
            let mut order: Vec<usize> = (0..brokers.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let b = &brokers[i];
                eprintln!("{name}: {} (round {}) …", b.name, round + 1);
                // A broker failing one workload is a result to report, not a reason to stop.
                let figures = run(b, round).map_err(|e| {
                    eprintln!("{name} on {}: {e:#}", b.name);
                    format!("failed: {e}")
                });
                // Every round on stderr, so an outlying median can be told from a slow round.
                if let Ok(f) = &figures {
                    eprintln!(
                        "  {}, broker CPU {:.2} µs/record",
                        describe(f),
                        f.broker_cpu_us_per_record
                    );
                }
                per_broker[i].push(figures);
            }
        }
        results.push((name, per_broker.into_iter().map(median).collect()));
    }
    print_table(&brokers, &results);
    kafka::print_floors(&brokers, &results);
    Ok(())
}
