//! `sluice up` through the real binary: the whole pipeline on a temporary directory and free
//! ports, stopped by SIGTERM, started again with the agent's sequence continuing.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use support::up::{up, write_configs, Ports};
use support::wait_for;

fn http_get(port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// SIGTERM, then the exit status and how long the stop took.
fn terminate(mut child: Child) -> (std::process::ExitStatus, Duration, String) {
    let started = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "sluice up did not exit within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    (status, started.elapsed(), stdout)
}

/// `sluice-seq` of every record of `metrics` up to the high watermarks at the time of the call,
/// by `sluice-agent`.
fn sequences(bootstrap: &str) -> BTreeMap<String, Vec<u64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "up-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut remaining = BTreeMap::new();
    for p in 0..6 {
        let (low, high) = consumer
            .fetch_watermarks("metrics", p, Duration::from_secs(10))
            .unwrap();
        if high > low {
            tpl.add_partition_offset("metrics", p, Offset::Beginning).unwrap();
            remaining.insert(p, high);
        }
    }
    consumer.assign(&tpl).unwrap();
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !remaining.is_empty() {
        assert!(
            Instant::now() < deadline,
            "could not read the topic back: {remaining:?} left"
        );
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        if remaining.get(&m.partition()).is_some_and(|high| m.offset() >= *high) {
            continue;
        }
        if remaining.get(&m.partition()) == Some(&(m.offset() + 1)) {
            remaining.remove(&m.partition());
        }
        let header = |key: &str| {
            m.headers()
                .and_then(|h| h.iter().find(|h| h.key == key))
                .and_then(|h| std::str::from_utf8(h.value?).ok().map(str::to_string))
        };
        let (Some(agent), Some(seq)) = (header("sluice-agent"), header("sluice-seq")) else {
            panic!("a record without the agent's headers");
        };
        out.entry(agent).or_default().push(seq.parse().unwrap());
    }
    out
}

fn lines_starting(path: &Path, prefix: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .count()
}

#[test]
fn up_runs_the_pipeline_stops_on_sigterm_and_continues_where_it_left_off() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::free();
    let config = write_configs(dir.path(), &ports);
    let data = dir.path().join("data");
    let sink = data.join("sink/metrics.lp");
    let bootstrap = format!("127.0.0.1:{}", ports.broker);
    let started = Instant::now();
    let first = up(&config, &data, &dir.path().join("up1.log"));

    // Within 30 s: host samples in the file sink, the workers' group in the lag exporter and in
    // `sluice groups --describe`.
    wait_for(
        "cpu and mem samples in the file sink",
        Duration::from_secs(30),
        &[dir.path().join("up1.log")],
        || lines_starting(&sink, "cpu,") > 0 && lines_starting(&sink, "mem,") > 0,
    );
    let to_samples = started.elapsed();
    wait_for(
        "records_lag_max of the workers' group",
        Duration::from_secs(30),
        &[dir.path().join("up1.log")],
        || {
            http_get(ports.exporter, "/metrics")
                .contains("kafka_consumergroup_records_lag_max{group=\"sluice-workers-archive\",topic=\"metrics\"}")
        },
    );
    let describe: Output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "groups",
            "--bootstrap-server",
            &bootstrap,
            "--describe",
            "--group",
            "sluice-workers-archive",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&describe.stdout);
    assert!(describe.status.success(), "{text}");
    let header = text
        .lines()
        .find(|l| l.starts_with("GROUP"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        header.split_whitespace().collect::<Vec<_>>()
            == [
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID"
            ],
        "{text}"
    );
    let rows = text
        .lines()
        .filter(|l| l.starts_with("sluice-workers-archive metrics"))
        .count();
    assert_eq!(rows, 6, "one row per partition: {text}");
    // The prometheus sink serves this host's CPU on the workers' endpoint.
    assert!(http_get(ports.workers, "/metrics").contains("cpu_usage_idle{cpu=\"cpu-total\""));
    let first_run = sequences(&bootstrap);

    let (status, took, banner) = terminate(first);
    let log = std::fs::read_to_string(dir.path().join("up1.log")).unwrap();
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    assert!(banner.contains("sluice is up"), "{banner}");
    assert!(
        banner.contains(&format!("console       http://127.0.0.1:{}/", ports.console)),
        "{banner}"
    );
    assert!(
        banner.contains(&bootstrap) && banner.contains("sink/metrics.lp"),
        "{banner}"
    );
    // Every address of the test's configs is 127.0.0.1, and the banner says so.
    assert!(
        banner.contains("listens on this machine only (loopback)") && !banner.contains("Reachable from other hosts"),
        "{banner}"
    );
    eprintln!("first run: samples in the sink after {to_samples:?}; SIGTERM to exit 0 in {took:?}");

    // Again on the same data: the agent's sequence goes on from where it stopped.
    let before = lines_starting(&sink, "cpu,");
    let second = up(&config, &data, &dir.path().join("up2.log"));
    wait_for(
        "new samples after the restart",
        Duration::from_secs(30),
        &[dir.path().join("up2.log")],
        || lines_starting(&sink, "cpu,") > before + 3,
    );
    let both = sequences(&bootstrap);
    let (status, took, _) = terminate(second);
    assert!(status.success(), "second run exit {status:?}");
    assert!(took < Duration::from_secs(10), "second stop took {took:?}");

    assert_eq!(both.len(), 1, "one agent: {:?}", both.keys());
    let (agent, seqs) = both.iter().next().unwrap();
    let unique: BTreeSet<u64> = seqs.iter().copied().collect();
    let last = *unique.iter().next_back().unwrap();
    let missing: Vec<u64> = (0..=last).filter(|s| !unique.contains(s)).collect();
    assert!(missing.is_empty(), "gaps in {agent}'s sequence: {missing:?}");
    assert_eq!(unique.len(), seqs.len(), "no sequence number twice in the topic");
    let first_last = first_run[agent].iter().max().copied().unwrap();
    assert!(
        last > first_last,
        "the second run continued the sequence ({first_last} → {last})"
    );
    eprintln!(
        "agent {agent}: sequence 0..={last} without a gap across the restart (first run ended near {first_last})"
    );
}

#[test]
fn up_names_the_setting_when_a_port_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ports = Ports {
        workers: taken.local_addr().unwrap().port(),
        ..Ports::free()
    };
    let config = write_configs(dir.path(), &ports);
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("up")
        .arg("--config-dir")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("127.0.0.1:{} is already in use", ports.workers))
            && stderr.contains("`metrics_listen`")
            && stderr.contains("workers.toml"),
        "{stderr}"
    );
}
