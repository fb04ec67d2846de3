//! A broker outage while the agent runs: the real `sluice broker` binary is stopped for 60 s
//! while the real `sluice agent` samples every second, then started again. Every sequence
//! number must arrive, none twice, and sampling must not pause. The second run also restarts
//! the agent during the outage, with a spool.

mod support;
use support::{free_port, spawn_broker, terminate, KillOnDrop};

use std::collections::BTreeMap;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

const OUTAGE: Duration = Duration::from_secs(60);

fn spawn_agent(config: &Path) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["agent", "--config"])
            .arg(config)
            .env("RUST_LOG", std::env::var("AGENT_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sluice binary runs"),
    )
}

/// (sequence number, sample time in ns) of every record in the topic, in log order.
fn read_all(bootstrap: &str, topic: &str) -> Vec<(u64, i64)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "outage-checker")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "reading back timed out");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let headers = m.headers().expect("records carry headers");
                let header = |name: &str| {
                    let h = headers.iter().find(|h| h.key == name).expect(name);
                    String::from_utf8(h.value.unwrap().to_vec()).unwrap()
                };
                out.push((
                    header("sluice-seq").parse().unwrap(),
                    header("sluice-time").parse().unwrap(),
                ));
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return out,
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
}

async fn outage(restart_agent_with_spool: bool) {
    let dir = tempfile::tempdir().unwrap();
    let broker_dir = dir.path().join("broker");
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let mut broker = spawn_broker(port, &broker_dir, Path::new("/dev/null"));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new("metrics", 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok());

    let spool = if restart_agent_with_spool {
        format!("spool_dir = {:?}", dir.path().join("spool"))
    } else {
        String::new()
    };
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n  metrics_listen = \"\"\n  {spool}\n\
             [[inputs.mem]]\n\
             [[outputs.kafka]]\n  brokers = [\"{bootstrap}\"]\n  topic = \"metrics\"\n"
        ),
    )
    .unwrap();
    let mut agent = spawn_agent(&config);
    tokio::time::sleep(Duration::from_secs(5)).await;

    broker.kill().unwrap();
    broker.wait().unwrap();
    let down_at = Instant::now();
    let mut restart_gap = Duration::ZERO;
    if restart_agent_with_spool {
        tokio::time::sleep(OUTAGE / 3).await;
        let t = Instant::now();
        terminate(&mut agent, "the agent");
        agent = spawn_agent(&config);
        restart_gap = t.elapsed();
    }
    tokio::time::sleep(OUTAGE.saturating_sub(down_at.elapsed())).await;
    let mut broker = spawn_broker(port, &broker_dir, Path::new("/dev/null"));
    // Long enough for librdkafka to reconnect and the backlog to drain.
    tokio::time::sleep(Duration::from_secs(10)).await;
    terminate(&mut agent, "the agent");

    let records = tokio::task::spawn_blocking(move || read_all(&bootstrap, "metrics"))
        .await
        .unwrap();
    broker.kill().unwrap();
    broker.wait().unwrap();

    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    for (seq, _) in &records {
        *count.entry(*seq).or_default() += 1;
    }
    let max = *count.keys().last().expect("records arrived");
    let missing: Vec<u64> = (0..=max).filter(|s| !count.contains_key(s)).collect();
    let twice: Vec<u64> = count.iter().filter(|(_, &n)| n > 1).map(|(&s, _)| s).collect();
    eprintln!(
        "outage test (agent restarted with spool: {restart_agent_with_spool}): {} records, seq 0..={max}, {} missing, {} duplicated",
        records.len(),
        missing.len(),
        twice.len()
    );
    assert!(missing.is_empty(), "lost sequence numbers: {missing:?}");
    assert!(twice.is_empty(), "duplicated sequence numbers: {twice:?}");
    let expected = 5 + OUTAGE.as_secs() + 10 - restart_gap.as_secs() - 3;
    assert!(max + 1 >= expected, "only {} samples over the run", max + 1);

    // Sampling went on through the outage: one sample a second, in order, the only longer
    // pause being the agent's own restart.
    let mut times: Vec<i64> = records.iter().map(|(_, t)| *t).collect();
    let in_order = times.windows(2).all(|w| w[0] < w[1]);
    assert!(in_order, "samples arrive in sample-time order");
    times.dedup();
    let allowed = Duration::from_secs(2) + restart_gap;
    let longest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(
        longest as u128 <= allowed.as_nanos(),
        "a {} s pause in sampling (allowed {allowed:?})",
        longest as f64 / 1e9
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60s_broker_outage_loses_no_sample() {
    outage(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restarted_during_the_outage_resends_its_spool() {
    outage(true).await;
}
