//! Exactly-once into PostgreSQL: a worker process SIGKILLed ten times at random moments while
//! records keep arriving, restarted each time; afterwards the table holds every sequence number
//! exactly once — no gap, no duplicate — counted with SQL.
//!
//! The table is made beforehand with a trigger that sleeps 100 ms per COPY, so the worker spends
//! most of its time inside a batch's transaction and the kills land mid-batch. Every other kill
//! waits for a transaction to be open. The others come between PostgreSQL's COMMIT and Kafka's,
//! the moment at-least-once delivery writes a batch twice: every client reaches the broker
//! through a proxy in this test ([`Proxy`], the broker's advertised listener), which holds what
//! clients send while the worker goes on writing what it had fetched; the worker is killed once
//! it wrote more, and the held bytes, its offset commits among them, are dropped with the
//! connections.

mod postgres_server;
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use postgres_server::Postgres;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use support::{free_port, KillOnDrop};

const PARTITIONS: i32 = 3;
const KILLS: usize = 10;
/// Records per second, each with the agent's headers (one agent, `sluice-seq` 0, 1, 2, …).
const RATE: u64 = 2000;
const BATCH: usize = 500;

/// `sluice broker` with `config` (its listeners), once it accepts connections on `port`.
fn spawn_broker(data_dir: &Path, config: &Path, port: u16) -> KillOnDrop {
    let broker = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("broker")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .args(["--http-listen", ""])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sluice binary runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    broker
}

fn worker(config: &Path) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("worker")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn,librdkafka=off,rdkafka=off")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sluice binary runs"),
    )
}

/// Produces `load,host=… seq=N` with the agent's `sluice-agent` and `sluice-seq` headers at
/// [`RATE`] until `stop`; returns how many it produced.
fn produce(bootstrap: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "5")
            .set("enable.idempotence", "true")
            .create()
            .unwrap();
        let start = Instant::now();
        let mut seq = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let due = start.elapsed().as_millis() as u64 * RATE / 1000;
            while seq < due {
                let host = format!("h{}", seq % 7);
                let line = format!("load,host={host} seq={seq}i {}", 1_700_000_000_000_000_000u64 + seq);
                let n = seq.to_string();
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: "sluice-agent",
                        value: Some("test-host"),
                    })
                    .insert(Header {
                        key: "sluice-seq",
                        value: Some(&n),
                    });
                let mut record = BaseRecord::to("metrics").key(&host).payload(&line).headers(headers);
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, r)) => {
                            record = r;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                seq += 1;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        producer.flush(Duration::from_secs(30)).unwrap();
        seq
    })
}

/// Rows in the sink's table so far (0 before it exists).
fn rows(pg: &Postgres) -> u64 {
    pg.psql("SELECT count(*) FROM load")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The worker's group settings: short sessions, so that a killed member's partitions move soon.
/// A KIP-848 group takes them from the broker (its `group.consumer.*` settings).
fn group_settings(protocol: &str) -> String {
    match protocol {
        "classic" => "[librdkafka]\n\"session.timeout.ms\" = \"1500\"\n\"heartbeat.interval.ms\" = \"300\"\n".into(),
        other => format!("group_protocol = \"{other}\"\n"),
    }
}

/// A TCP proxy to the broker. `hold` stops forwarding what clients send (answers still flow);
/// `cut` closes every connection, dropping what was held, and forwards again.
struct Proxy {
    port: u16,
    held: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            held: Arc::default(),
            connections: Arc::default(),
        };
        let (held, connections) = (proxy.held.clone(), proxy.connections.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut all = connections.lock().unwrap();
                all.extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let held = held.clone();
                std::thread::spawn(move || pump(c, s, Some(held)));
                std::thread::spawn(move || pump(server, client, None));
            }
        });
        proxy
    }

    fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    fn cut(&self) {
        for c in self.connections.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        self.held.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either closes; with `held`, nothing is written while it is set.
fn pump(mut from: TcpStream, mut to: TcpStream, held: Option<Arc<AtomicBool>>) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while held.as_ref().is_some_and(|h| h.load(Ordering::SeqCst)) {
            std::thread::sleep(Duration::from_millis(2));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Whether a worker has a transaction open.
fn in_transaction(pg: &Postgres) -> bool {
    pg.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sluice-worker' AND xact_start IS NOT NULL",
    ) != "0"
}

/// xorshift64*, seeded from the clock; the seed is printed so a failing run can be repeated.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn a_worker_killed_ten_times_mid_batch_writes_every_record_exactly_once() {
    kill_ten_times("classic");
}

/// KIP-848: partitions come and go through `incremental_assign` and `incremental_unassign`.
#[test]
fn the_same_with_the_consumer_group_protocol() {
    kill_ten_times("consumer");
}

fn kill_ten_times(protocol: &str) {
    let began = Instant::now();
    let pg = Postgres::start();
    pg.query(
        "CREATE TABLE load (time timestamptz NOT NULL, host text, seq bigint); \
         COMMENT ON COLUMN load.host IS 'tag'; \
         CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END $$; \
         CREATE TRIGGER slow AFTER INSERT ON load FOR EACH STATEMENT EXECUTE FUNCTION slow()",
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let proxy = Proxy::start(port);
    // A killed member leaves the group after its session timeout: short ones keep ten restarts
    // quick. Clients learn the proxy's address as the broker's.
    let broker_config = dir.path().join("broker.toml");
    std::fs::write(
        &broker_config,
        format!(
            "listeners = [\"PLAINTEXT://127.0.0.1:{port}\"]\nadvertised.listeners = [\"PLAINTEXT://127.0.0.1:{}\"]\n\
             group.initial.rebalance.delay.ms = 0\ngroup.min.session.timeout.ms = 1000\n\
             group.consumer.min.session.timeout.ms = 1000\ngroup.consumer.session.timeout.ms = 1500\n\
             group.consumer.min.heartbeat.interval.ms = 300\ngroup.consumer.heartbeat.interval.ms = 300\n",
            proxy.port
        ),
    )
    .unwrap();
    let _broker = spawn_broker(&dir.path().join("broker"), &broker_config, port);
    let bootstrap = format!("127.0.0.1:{}", proxy.port);
    let created = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "topics",
            "--bootstrap-server",
            &bootstrap,
            "--create",
            "--topic",
            "metrics",
        ])
        .args(["--partitions", &PARTITIONS.to_string()])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");

    let config = dir.path().join("workers.toml");
    std::fs::write(
        &config,
        format!(
            "brokers = [\"{bootstrap}\"]\nmetrics_listen = \"\"\nbatch_size = {BATCH}\nbatch_timeout = \"50ms\"\n\
             retry_initial_backoff = \"50ms\"\nretry_max_backoff = \"500ms\"\n\
             {}\
             [[sinks]]\ntype = \"postgres\"\nname = \"warehouse\"\nurl = \"{}\"\n",
            group_settings(protocol),
            pg.url()
        ),
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let producing = produce(bootstrap.clone(), stop.clone());

    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut random = Random(seed);
    let (mut open_at_kill, mut ahead_at_kill) = (0, 0);
    for kill in 1..=KILLS {
        let mut w = worker(&config);
        // Wait until this worker writes, then kill it at a random moment while it keeps writing.
        let before = rows(&pg);
        let deadline = Instant::now() + Duration::from_secs(30);
        while rows(&pg) <= before {
            assert!(Instant::now() < deadline, "worker {kill} never wrote a row");
            assert!(w.try_wait().unwrap().is_none(), "worker {kill} exited");
            std::thread::sleep(Duration::from_millis(20));
        }
        if kill % 2 == 1 {
            let written = rows(&pg);
            proxy.hold();
            let deadline = Instant::now() + Duration::from_secs(5);
            while rows(&pg) <= written && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if rows(&pg) > written {
                ahead_at_kill += 1;
            }
            w.kill().unwrap(); // SIGKILL
            w.wait().unwrap();
            proxy.cut();
            continue;
        }
        std::thread::sleep(Duration::from_millis(random.below(1500)));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !in_transaction(&pg) && Instant::now() < deadline {}
        w.kill().unwrap(); // SIGKILL
        w.wait().unwrap();
        if Instant::now() < deadline {
            open_at_kill += 1;
        }
    }

    // The last worker runs to the end: production stops, it catches up.
    let mut last = worker(&config);
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let total = producing.join().unwrap();
    let want = format!("{total}|{}", total - 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = String::new();
    while got != want {
        assert!(
            Instant::now() < deadline,
            "the last worker did not catch up: distinct seq and max {got}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
        got = pg
            .psql("SELECT count(DISTINCT seq), max(seq) FROM load")
            .unwrap_or_default();
    }
    // Nothing more may arrive once it caught up.
    std::thread::sleep(Duration::from_secs(2));
    let _ = last.kill();
    let _ = last.wait();

    let counts = pg.query(
        "SELECT count(*), count(DISTINCT seq), min(seq), max(seq), \
                count(*) - count(DISTINCT seq), (max(seq) - min(seq) + 1) - count(DISTINCT seq) FROM load",
    );
    let [rows, distinct, min, max, duplicates, gaps]: [i64; 6] = counts
        .split('|')
        .map(|n| n.parse().unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    eprintln!(
        "{protocol} group protocol, {KILLS} SIGKILLs ({open_at_kill} with a batch's transaction open a moment before, {ahead_at_kill} with \
         batches written while the proxy held their commits), seed {seed}, {:.1} s: \
         {total} records produced; {rows} rows, {distinct} distinct seq ({min}..={max}), {gaps} gaps, \
         {duplicates} duplicates",
        began.elapsed().as_secs_f64()
    );
    let stored = pg
        .psql(
            "SELECT string_agg(partition || ':' || next_offset, ' ' ORDER BY partition), sum(next_offset) \
         FROM sluice_offsets WHERE consumer_group = 'sluice-workers-warehouse' AND topic = 'metrics'",
        )
        .unwrap_or_else(|e| e);
    eprintln!("offsets table (partition:next_offset|sum): {stored}");

    assert_eq!(
        (min, max, distinct as u64),
        (0, total as i64 - 1, total),
        "every record arrived"
    );
    assert_eq!(gaps, 0, "no gap");
    assert_eq!(duplicates, 0, "no duplicate: exactly once");
    assert_eq!(
        stored.split('|').nth(1),
        Some(total.to_string().as_str()),
        "each partition's next offset is its end"
    );
}
