//! `sluice topics`, `sluice produce` and `sluice consume` through the real binary against the
//! bundled broker, output compared line by line with Kafka's tools' layout.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sluice(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = sluice(args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn broker() -> (broker::RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let running = broker::start(broker::BrokerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    (running, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_create_list_describe_alter_delete_print_kafkas_layout() {
    let (b, _dir) = broker().await;
    let bs = b.bootstrap();
    let bs = bs.as_str();
    let created = ok(
        &[
            "topics",
            "--bootstrap-server",
            bs,
            "--create",
            "--topic",
            "cpu",
            "--partitions",
            "2",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=60000",
        ],
        None,
    );
    assert_eq!(created, "Created topic cpu.\n");
    ok(
        &[
            "topics",
            "--bootstrap-server",
            bs,
            "--create",
            "--topic",
            "mem",
            "--partitions",
            "1",
        ],
        None,
    );
    assert_eq!(ok(&["topics", "--bootstrap-server", bs, "--list"], None), "cpu\nmem\n");

    let described = ok(
        &["topics", "--bootstrap-server", bs, "--describe", "--topic", "cpu"],
        None,
    );
    let expected = [
        "Topic: cpu\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=60000",
        "\tTopic: cpu\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0",
        "\tTopic: cpu\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0",
    ];
    assert_eq!(described.lines().collect::<Vec<_>>(), expected);

    ok(
        &[
            "topics",
            "--bootstrap-server",
            bs,
            "--alter",
            "--topic",
            "cpu",
            "--partitions",
            "3",
        ],
        None,
    );
    let described = ok(
        &["topics", "--bootstrap-server", bs, "--describe", "--topic", "cpu"],
        None,
    );
    assert!(described.starts_with("Topic: cpu\tPartitionCount: 3\t"), "{described}");

    ok(
        &["topics", "--bootstrap-server", bs, "--delete", "--topic", "mem"],
        None,
    );
    assert_eq!(ok(&["topics", "--bootstrap-server", bs, "--list"], None), "cpu\n");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_errors_are_one_line_a_person_can_act_on() {
    let (b, _dir) = broker().await;
    let bs = b.bootstrap();
    ok(
        &["topics", "--bootstrap-server", &bs, "--create", "--topic", "dup"],
        None,
    );
    let again = sluice(
        &["topics", "--bootstrap-server", &bs, "--create", "--topic", "dup"],
        None,
    );
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("cannot create topic 'dup'") && err.contains("already exists"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let missing = sluice(
        &["topics", "--bootstrap-server", &bs, "--describe", "--topic", "nope"],
        None,
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope"));
    b.shutdown().await;

    // A port nobody listens on: a clear message within the tool's timeout, not a hang.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let down = sluice(
        &["topics", "--bootstrap-server", &format!("127.0.0.1:{port}"), "--list"],
        None,
    );
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot reach a Kafka broker"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_producer_and_consumer_round_trip_keys_and_values() {
    let (b, _dir) = broker().await;
    let bs = b.bootstrap();
    ok(
        &[
            "topics",
            "--bootstrap-server",
            &bs,
            "--create",
            "--topic",
            "lines",
            "--partitions",
            "1",
        ],
        None,
    );
    let input = "host-1:cpu usage_idle=97\nhost-2:mem used=5\n";
    ok(
        &[
            "produce",
            "--bootstrap-server",
            &bs,
            "--topic",
            "lines",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        Some(input),
    );
    let out = sluice(
        &[
            "consume",
            "--bootstrap-server",
            &bs,
            "--topic",
            "lines",
            "--from-beginning",
            "--max-messages",
            "2",
            "--property",
            "print.key=true",
            "--property",
            "print.offset=true",
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["Offset:0\thost-1\tcpu usage_idle=97", "Offset:1\thost-2\tmem used=5"]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Processed a total of 2 messages"));
    b.shutdown().await;
}
