//! How many records a second the postgres sink writes, against a real PostgreSQL; the figures
//! are in BENCHMARKS.md ("Workers"). Ignored in normal runs:
//!
//! ```sh
//! cargo test --release --test workers_postgres_bench -- --ignored --nocapture
//! ```
//!
//! Each record is one Telegraf-style `cpu` metric (tags `cpu`, `host`; ten float fields),
//! as the agent sends them. Three measurements, each at batch sizes 500 and 5000, each the
//! median of three rounds into fresh tables:
//! - the sink alone: `deliver` of ready batches (binary COPY, one transaction per batch);
//! - the alternative it does not use: the same rows as one multi-row parameterized INSERT per
//!   batch, in one transaction;
//! - one worker end to end: records already in the bundled broker's topic, consumed, decoded,
//!   delivered, committed; timed from the first row in the table to the last.

mod postgres_server;
mod support;
mod workers_support;

use std::time::{Duration, Instant, UNIX_EPOCH};

use model::Metric;
use postgres_server::Postgres;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_postgres::types::ToSql;
use workers_support::*;

const RECORDS: usize = 100_000;
const BATCHES: [usize; 2] = [500, 5000];
const ROUNDS: usize = 3;
const FIELDS: [&str; 10] = [
    "usage_guest",
    "usage_guest_nice",
    "usage_idle",
    "usage_iowait",
    "usage_irq",
    "usage_nice",
    "usage_softirq",
    "usage_steal",
    "usage_system",
    "usage_user",
];

fn metrics() -> Vec<Metric> {
    let start = 1_700_000_000_000_000_000i64;
    (0..RECORDS)
        .map(|i| {
            let mut m = Metric::new("cpu", start + (i / 8) as i64 * 1_000_000_000)
                .tag("cpu", format!("cpu{}", i % 8))
                .tag("host", format!("host-{}", i % 50));
            for (j, f) in FIELDS.iter().enumerate() {
                m = m.field(*f, (i * 7 + j) as f64 / 13.0);
            }
            m
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn sink_config(pg: &Postgres, name: &str, prefix: &str) -> String {
    format!(
        "[[sinks]]\ntype = \"postgres\"\nname = \"{name}\"\nurl = \"{}\"\ntable_prefix = \"{prefix}\"\n",
        pg.url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --release -- --ignored --nocapture"]
async fn postgres_sink_records_per_second() {
    let pg = Postgres::start();
    let metrics = metrics();
    let client = connect(&pg).await;
    println!("{RECORDS} records of `cpu` (2 tags, 10 float fields), median of {ROUNDS} rounds");
    for batch in BATCHES {
        let (mut copies, mut inserts) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            copies.push(sink_alone(&pg, &metrics, batch, round).await);
            inserts.push(multi_row_insert(&client, &metrics, batch, round).await);
        }
        println!(
            "batch_size {batch:>5}: sink alone (COPY binary) {:>8.0} records/s; multi-row INSERT {:>8.0} records/s",
            median(copies),
            median(inserts)
        );
    }
    for batch in BATCHES {
        let mut rates = Vec::new();
        for round in 0..ROUNDS {
            rates.push(worker_end_to_end(&pg, &metrics, batch, round).await);
        }
        println!(
            "batch_size {batch:>5}: one worker end to end {:>8.0} records/s",
            median(rates)
        );
    }
}

/// The sink's `deliver`, batch after batch, into a fresh table; records per second.
async fn sink_alone(pg: &Postgres, metrics: &[Metric], batch: usize, round: usize) -> f64 {
    let config = workers::Config::parse(&sink_config(pg, "bench", &format!("alone_{batch}_{round}_"))).unwrap();
    let mut sink = config.sinks[0].build();
    // The first batch creates the table: not what is measured.
    sink.deliver(&metrics[..1]).await.unwrap();
    let started = Instant::now();
    for chunk in metrics[1..].chunks(batch) {
        sink.deliver(chunk).await.unwrap();
    }
    (metrics.len() - 1) as f64 / started.elapsed().as_secs_f64()
}

async fn connect(pg: &Postgres) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The same rows as one `INSERT … VALUES (…), (…)` with parameters per batch; records per second.
async fn multi_row_insert(client: &tokio_postgres::Client, metrics: &[Metric], batch: usize, round: usize) -> f64 {
    let table = format!("insert_{batch}_{round}");
    let fields: Vec<String> = FIELDS.iter().map(|f| format!("{f} double precision")).collect();
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (time timestamptz NOT NULL, cpu text, host text, {})",
            fields.join(", ")
        ))
        .await
        .unwrap();
    let columns = 3 + FIELDS.len();
    let head = format!("INSERT INTO {table} (time, cpu, host, {}) VALUES ", FIELDS.join(", "));
    let started = Instant::now();
    for chunk in metrics.chunks(batch) {
        let mut sql = head.clone();
        let mut times = Vec::with_capacity(chunk.len());
        for (i, m) in chunk.iter().enumerate() {
            let row: Vec<String> = (1..=columns).map(|c| format!("${}", i * columns + c)).collect();
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_str(&row.join(", "));
            sql.push(')');
            times.push(UNIX_EPOCH + Duration::from_nanos(m.timestamp as u64));
        }
        let values: Vec<Vec<f64>> = chunk
            .iter()
            .map(|m| {
                FIELDS
                    .iter()
                    .map(|f| match m.fields[*f] {
                        model::FieldValue::Float(v) => v,
                        _ => unreachable!("the bench makes floats"),
                    })
                    .collect()
            })
            .collect();
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * columns);
        for (i, m) in chunk.iter().enumerate() {
            params.push(&times[i] as &(dyn ToSql + Sync));
            params.push(&m.tags["cpu"]);
            params.push(&m.tags["host"]);
            for v in &values[i] {
                params.push(v);
            }
        }
        client.batch_execute("BEGIN").await.unwrap();
        client.execute(sql.as_str(), &params).await.unwrap();
        client.batch_execute("COMMIT").await.unwrap();
    }
    metrics.len() as f64 / started.elapsed().as_secs_f64()
}

/// Records produced to the bundled broker first, then one worker with `batch_size` drains
/// them; records per second from the first row in the table to the last.
async fn worker_end_to_end(pg: &Postgres, metrics: &[Metric], batch: usize, round: usize) -> f64 {
    let (b, _dir) = broker().await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", b.bootstrap())
        .set("linger.ms", "20")
        .create()
        .unwrap();
    let lines: Vec<String> = metrics
        .iter()
        .map(|m| {
            let mut out = String::new();
            model::line_protocol::encode_into(m, Default::default(), &mut out);
            out
        })
        .collect();
    // Enqueue everything, then wait for the acknowledgements (`send` would wait for each one).
    let mut sends = Vec::with_capacity(lines.len());
    for line in &lines {
        let mut record = FutureRecord::<(), str>::to("metrics").payload(line).partition(0);
        loop {
            match producer.send_result(record) {
                Ok(delivery) => break sends.push(delivery),
                Err((_, back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let prefix = format!("e2e_{batch}_{round}_");
    let config = worker_config(
        &b.bootstrap(),
        &format!("batch_size = {batch}\n{}", sink_config(pg, "bench", &prefix)),
    );
    let worker = workers::start(config).await.unwrap();
    let count = |pg: &Postgres| -> usize {
        pg.psql(&format!("SELECT count(*) FROM {prefix}cpu"))
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    };
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(300);
    let rate = loop {
        let n = count(pg);
        let now = Instant::now();
        if n > 0 && first.is_none() {
            first = Some((now, n));
        }
        if n == metrics.len() {
            let (t0, n0) = first.unwrap();
            break (n - n0) as f64 / (now - t0).as_secs_f64();
        }
        assert!(now < deadline, "{n} of {} rows after 300 s", metrics.len());
        std::thread::sleep(Duration::from_millis(50));
    };
    worker.shutdown().await.unwrap();
    b.shutdown().await;
    rate
}
