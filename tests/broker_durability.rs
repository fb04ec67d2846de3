//! Durability through the real binary: SIGKILL during acks=all produce, and clean restarts.

mod support;
use support::{free_port, spawn_broker, spawn_broker_logging, KillOnDrop};

use std::collections::HashMap;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

/// Everything in `topic`, read from the beginning of each partition: partition → [(offset, value)].
fn read_all(bootstrap: &str, topic: &str, partitions: i32) -> HashMap<i32, Vec<(i64, String)>> {
    read_at(bootstrap, topic, partitions, "read_uncommitted")
}

/// Every value a `read_committed` reader gets from the start of each partition.
fn read_committed(bootstrap: &str, topic: &str, partitions: i32) -> Vec<String> {
    let by_partition = read_at(bootstrap, topic, partitions, "read_committed");
    by_partition.into_values().flatten().map(|(_, v)| v).collect()
}

/// [`read_all`] at an `isolation.level`.
fn read_at(bootstrap: &str, topic: &str, partitions: i32, isolation: &str) -> HashMap<i32, Vec<(i64, String)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "checker")
        .set("isolation.level", isolation)
        .set("check.crcs", "true")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out: HashMap<i32, Vec<(i64, String)>> = HashMap::new();
    let mut at_end = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_end.len() < partitions as usize {
        assert!(Instant::now() < deadline, "reading back timed out");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let value = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
                out.entry(m.partition()).or_default().push((m.offset(), value));
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("consumer error (a torn or corrupt batch would show here): {e}"),
            None => {}
        }
    }
    out
}

/// Reads topic `crash` whole and checks it: offsets contiguous in every partition (CRCs checked,
/// so no torn batch is served), no record stored twice, and every `acked` (partition, offset,
/// value) present at its offset. Returns how many records are stored.
fn check_log(bootstrap: &str, acked: &[(i32, i64, String)]) -> usize {
    let log = read_all(bootstrap, "crash", 3);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for records in log.values() {
        for (_, v) in records {
            *seen.entry(v.as_str()).or_default() += 1;
        }
        let offsets: Vec<i64> = records.iter().map(|(o, _)| *o).collect();
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "offsets are contiguous");
    }
    assert!(seen.values().all(|&n| n == 1), "no record is stored twice");
    let at: HashMap<(i32, i64), &str> = log
        .iter()
        .flat_map(|(p, records)| records.iter().map(move |(o, v)| ((*p, *o), v.as_str())))
        .collect();
    for (p, o, v) in acked {
        assert_eq!(
            at.get(&(*p, *o)).copied(),
            Some(v.as_str()),
            "acknowledged {v} at {p}/{o}"
        );
    }
    seen.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_repeated_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let mut child = spawn_broker(port, dir.path(), Path::new("/dev/null"));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new("crash", 3, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok());

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "60000")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "200")
        .create()
        .unwrap();
    let acked: Arc<Mutex<Vec<(i32, i64, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (producer, acked, stop) = (producer.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let batch: Vec<_> = (0..50)
                    .map(|_| {
                        n += 1;
                        let (producer, value) = (producer.clone(), format!("record-{n}"));
                        tokio::spawn(async move {
                            let key = (n % 3).to_string();
                            let r = producer
                                .send(
                                    FutureRecord::to("crash").key(&key).payload(&value),
                                    Duration::from_secs(60),
                                )
                                .await;
                            (value, r)
                        })
                    })
                    .collect();
                for h in batch {
                    match h.await.unwrap() {
                        (value, Ok(d)) => acked.lock().unwrap().push((d.partition, d.offset, value)),
                        (value, Err((e, _))) => eprintln!("{value} not acknowledged: {e}"),
                    }
                }
            }
        })
    };
    let kills = 4;
    for kill in 1..=kills {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Everything acknowledged before the kill must be there after the restart.
        let before = acked.lock().unwrap().clone();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = spawn_broker(port, dir.path(), Path::new("/dev/null"));
        let stored = tokio::task::block_in_place(|| check_log(&bootstrap, &before));
        eprintln!(
            "crash test: after SIGKILL {kill}, {} acknowledged records all present once among {stored}",
            before.len()
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.await.unwrap();

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 500, "only {} records were acknowledged", acked.len());
    let stored = tokio::task::block_in_place(|| check_log(&bootstrap, &acked));
    eprintln!(
        "crash test: {kills} SIGKILLs, {} acknowledged records, {stored} stored, all acknowledged present once",
        acked.len(),
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_configs_and_data_survive_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let mut child = spawn_broker(port, dir.path(), Path::new("/dev/null"));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let topic = NewTopic::new("keep", 2, TopicReplication::Fixed(1)).set("retention.ms", "86400000");
    assert!(admin.create_topics(&[topic], &AdminOptions::new()).await.unwrap()[0].is_ok());
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    for i in 0..100 {
        let (key, value) = ((i % 2).to_string(), format!("v{i}"));
        producer
            .send(
                FutureRecord::to("keep").partition(i % 2).key(&key).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    drop(producer);
    // SIGTERM: the clean path.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    let mut child = spawn_broker(port, dir.path(), Path::new("/dev/null"));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let configs = admin
        .describe_configs(&[ResourceSpecifier::Topic("keep")], &AdminOptions::new())
        .await
        .unwrap();
    let retention = configs[0].as_ref().unwrap().get("retention.ms").unwrap().value.clone();
    assert_eq!(retention.as_deref(), Some("86400000"));
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some("keep"), Duration::from_secs(10)).unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 2);
    // Every record, each key's records in one partition in the order they were sent.
    let log = read_all(&bootstrap, "keep", 2);
    let mut all: Vec<usize> = Vec::new();
    for records in log.values() {
        let sent: Vec<usize> = records.iter().map(|(_, v)| v[1..].parse().unwrap()).collect();
        assert!(sent.windows(2).all(|w| w[0] < w[1] && w[0] % 2 == w[1] % 2), "{sent:?}");
        all.extend(sent);
    }
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `sluice broker` at RUST_LOG=info with its stderr in `log`.
fn broker_logging_to(port: u16, data_dir: &Path, log: &Path) -> KillOnDrop {
    let stderr = std::fs::File::create(log).unwrap().into();
    spawn_broker_logging(port, data_dir, Path::new("/dev/null"), "info", stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_says_in_one_line_per_partition_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let child = broker_logging_to(port, &data, &dir.path().join("first.log"));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let topic = NewTopic::new("torn", 2, TopicReplication::Fixed(1));
    assert!(admin.create_topics(&[topic], &AdminOptions::new()).await.unwrap()[0].is_ok());
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .create()
        .unwrap();
    for i in 0..50 {
        let record = FutureRecord::to("torn").partition(i % 2).key("k").payload("v");
        producer.send(record, Duration::from_secs(10)).await.unwrap();
    }
    drop(child); // SIGKILL
                 // A torn write: half a batch header's worth of garbage after partition 0's last batch,
                 // where the file goes on with the zeros the broker preallocates.
    let segment = data.join("torn-0").join("00000000000000000000.log");
    let bytes = std::fs::read(&segment).unwrap();
    let mut end = 0;
    while let Some(len) = bytes.get(end + 8..end + 12) {
        match i32::from_be_bytes(len.try_into().unwrap()) {
            len if len > 0 => end += 12 + len as usize,
            _ => break,
        }
    }
    let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xab; 30], end as u64).unwrap();

    let log = dir.path().join("second.log");
    let _child = broker_logging_to(port, &data, &log);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = |partition: &str| -> Vec<&str> {
        text.lines()
            .filter(|l| l.contains("topic=torn") && l.contains(&format!("partition={partition}")))
            .collect()
    };
    let (zero, one) = (lines("0"), lines("1"));
    assert_eq!(zero.len(), 1, "{text}");
    assert!(
        zero[0].contains("recovered partition: truncated a torn or corrupt tail"),
        "{}",
        zero[0]
    );
    assert!(
        zero[0].contains("truncated_bytes=30") && zero[0].contains("log_end_offset=25"),
        "{}",
        zero[0]
    );
    assert_eq!(one.len(), 1, "{text}");
    assert!(
        one[0].contains("recovered partition") && one[0].contains("log_end_offset=25"),
        "{}",
        one[0]
    );
    assert_eq!(
        read_all(&bootstrap, "torn", 2).values().map(Vec::len).sum::<usize>(),
        50
    );
}

/// What the transactional writer of `committed_transactions_survive_repeated_sigkill` saw.
#[derive(Default)]
struct TxnLedger {
    /// Transactions whose commit the broker acknowledged.
    committed: Vec<u64>,
    /// Transactions begun whose outcome the writer does not know (the broker died under it).
    uncertain: Vec<u64>,
}

/// Records of one transaction: `RECORDS_PER_TXN` of them, spread over the topic's partitions.
const RECORDS_PER_TXN: u64 = 12;

/// A transactional producer that commits transaction after transaction into `txn-crash`,
/// riding out broker restarts: a commit that fails is aborted if the client can, and the
/// producer is made anew (which fences and aborts whatever it left open) if it cannot.
fn transactional_writer(bootstrap: String, ledger: Arc<Mutex<TxnLedger>>, stop: Arc<std::sync::atomic::AtomicBool>) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let wait = Duration::from_secs(30);
    let make = || -> Option<BaseProducer> {
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("transactional.id", "crash-writer")
            .set("transaction.timeout.ms", "10000")
            .set("reconnect.backoff.ms", "50")
            .set("reconnect.backoff.max.ms", "200")
            .create()
            .ok()?;
        p.init_transactions(wait).ok()?;
        Some(p)
    };
    let mut producer = None;
    let mut n = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(p) = producer.take().or_else(make) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        n += 1;
        if p.begin_transaction().is_err() {
            continue;
        }
        ledger.lock().unwrap().uncertain.push(n);
        let mut sent = true;
        for i in 0..RECORDS_PER_TXN {
            let value = format!("txn-{n}-{i}");
            let record = BaseRecord::<str, str>::to("txn-crash")
                .partition((i % 3) as i32)
                .payload(&value);
            sent &= p.send(record).is_ok();
        }
        let committed = sent && p.flush(wait).is_ok() && p.commit_transaction(wait).is_ok();
        if committed {
            let mut l = ledger.lock().unwrap();
            l.uncertain.retain(|t| *t != n);
            l.committed.push(n);
            producer = Some(p);
        } else if p.abort_transaction(wait).is_ok() {
            // Aborted for sure: it may not show.
            ledger.lock().unwrap().uncertain.retain(|t| *t != n);
            producer = Some(p);
        }
        // Otherwise the producer is dropped and made anew, which aborts its open transaction.
    }
}

/// Transactions committed while the broker is SIGKILLed again and again: a `read_committed`
/// reader finds every acknowledged transaction whole, any other transaction whole or not at all
/// (never part of one), and no record twice.
#[test]
fn committed_transactions_survive_repeated_sigkill_and_none_is_half_visible() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let mut child = spawn_broker(port, dir.path(), Path::new("/dev/null"));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let created = runtime
        .block_on(admin.create_topics(
            &[NewTopic::new("txn-crash", 3, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .unwrap();
    assert!(created[0].is_ok());
    let ledger: Arc<Mutex<TxnLedger>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (bootstrap, ledger, stop) = (bootstrap.clone(), ledger.clone(), stop.clone());
        std::thread::spawn(move || transactional_writer(bootstrap, ledger, stop))
    };
    let kills = 4;
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(2500));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = spawn_broker(port, dir.path(), Path::new("/dev/null"));
    }
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();

    // Transactions left open by the kills are aborted by their 10 s timeout; until then the
    // last stable offset holds the reader back.
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "checker")
            .set("isolation.level", "read_committed")
            .create()
            .unwrap();
        let u: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .unwrap();
        let stable = (0..3).all(|p| {
            let lso = c.fetch_watermarks("txn-crash", p, Duration::from_secs(5)).map(|w| w.1);
            let high = u.fetch_watermarks("txn-crash", p, Duration::from_secs(5)).map(|w| w.1);
            matches!((lso, high), (Ok(l), Ok(h)) if l == h)
        });
        if stable {
            break read_committed(&bootstrap, "txn-crash", 3);
        }
        assert!(Instant::now() < deadline, "transactions stayed open after the kills");
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut per_txn: HashMap<u64, Vec<u64>> = HashMap::new();
    for value in &records {
        let mut parts = value.strip_prefix("txn-").unwrap().split('-');
        let (t, i) = (
            parts.next().unwrap().parse().unwrap(),
            parts.next().unwrap().parse().unwrap(),
        );
        per_txn.entry(t).or_default().push(i);
    }
    for (t, items) in &mut per_txn {
        items.sort_unstable();
        assert_eq!(
            *items,
            (0..RECORDS_PER_TXN).collect::<Vec<_>>(),
            "transaction {t} is whole and once"
        );
    }
    let ledger = ledger.lock().unwrap();
    for t in &ledger.committed {
        assert!(per_txn.contains_key(t), "committed transaction {t} is there");
    }
    assert!(
        ledger.committed.len() > 20,
        "only {} transactions committed",
        ledger.committed.len()
    );
    eprintln!(
        "transactional crash test: {kills} SIGKILLs, {} transactions acknowledged, {} visible, {} uncertain",
        ledger.committed.len(),
        per_txn.len(),
        ledger.uncertain.len()
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
