//! `sluice topics`, `sluice configs`, `sluice groups`, `sluice produce` and `sluice consume`
//! through the real binary against the bundled broker, output compared line by line with
//! Kafka's tools' layout.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use support::table_rows;

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
    // Like Kafka's, --list shows internal topics unless told not to.
    assert_eq!(
        ok(&["topics", "--bootstrap-server", bs, "--list"], None),
        "__consumer_offsets\ncpu\nmem\n"
    );
    assert_eq!(
        ok(
            &["topics", "--bootstrap-server", bs, "--list", "--exclude-internal"],
            None
        ),
        "cpu\nmem\n"
    );

    let described = ok(
        &["topics", "--bootstrap-server", bs, "--describe", "--topic", "cpu"],
        None,
    );
    // The topic id is the broker's own; the rest is kafka-topics' layout.
    let id = regex::Regex::new(r"\tTopicId: [A-Za-z0-9_-]{22}\t").unwrap();
    let described = id.replace(&described, "\tTopicId: <id>\t");
    let expected = [
        "Topic: cpu\tTopicId: <id>\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=60000",
        "\tTopic: cpu\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A",
        "\tTopic: cpu\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A",
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
    assert!(described.contains("\tPartitionCount: 3\t"), "{described}");

    // Configs: set with topics --alter --config and configs --alter, removed with
    // --delete-config, read back with configs --describe (kafka-configs' layout).
    ok(
        &[
            "topics",
            "--bootstrap-server",
            bs,
            "--alter",
            "--topic",
            "cpu",
            "--config",
            "segment.ms=3600000",
        ],
        None,
    );
    assert_eq!(
        ok(
            &[
                "configs",
                "--bootstrap-server",
                bs,
                "--alter",
                "--topic",
                "cpu",
                "--add-config",
                "cleanup.policy=[compact,delete]",
                "--delete-config",
                "retention.ms",
            ],
            None
        ),
        "Completed updating config for topic cpu.\n"
    );
    let line = |k: &str, v: &str| format!("  {k}={v} sensitive=false synonyms={{DYNAMIC_TOPIC_CONFIG:{k}={v}}}\n");
    assert_eq!(
        ok(
            &["configs", "--bootstrap-server", bs, "--describe", "--topic", "cpu"],
            None
        ),
        format!(
            "Dynamic configs for topic cpu are:\n{}{}",
            line("cleanup.policy", "compact,delete"),
            line("segment.ms", "3600000")
        )
    );
    let refused = sluice(
        &[
            "configs",
            "--bootstrap-server",
            bs,
            "--alter",
            "--topic",
            "cpu",
            "--add-config",
            "retention.ms=soon",
        ],
        None,
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("INVALID_CONFIG") && err.contains("retention.ms"), "{err}");

    ok(
        &["topics", "--bootstrap-server", bs, "--delete", "--topic", "mem"],
        None,
    );
    assert_eq!(
        ok(
            &["topics", "--bootstrap-server", bs, "--list", "--exclude-internal"],
            None
        ),
        "cpu\n"
    );
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

    // key.separator separates every column, as in Kafka's formatter; --group commits what it read.
    let out = ok(
        &[
            "consume",
            "--bootstrap-server",
            &bs,
            "--topic",
            "lines",
            "--from-beginning",
            "--group",
            "readers",
            "--max-messages",
            "2",
            "--property",
            "print.key=true",
            "--property",
            "print.partition=true",
            "--property",
            "key.separator= | ",
        ],
        None,
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "Partition:0 | host-1 | cpu usage_idle=97",
            "Partition:0 | host-2 | mem used=5"
        ]
    );
    let described = ok(
        &["groups", "--bootstrap-server", &bs, "--describe", "--group", "readers"],
        None,
    );
    let rows = table_rows(
        &described,
        "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
    );
    assert_eq!(
        rows.iter().map(|r| r[..6].join(" ")).collect::<Vec<_>>(),
        ["readers lines 0 2 2 0"],
        "{described}"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_describe_reset_and_delete_like_kafka_consumer_groups() {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use rdkafka::ClientConfig;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.groups.initial_rebalance_delay = Duration::ZERO;
    let b = broker::start(config).await.unwrap();
    let bs = b.bootstrap();
    ok(
        &[
            "topics",
            "--bootstrap-server",
            &bs,
            "--create",
            "--topic",
            "g",
            "--partitions",
            "2",
        ],
        None,
    );
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &bs).create().unwrap();
    for i in 0..10 {
        let value = i.to_string();
        producer
            .send(
                FutureRecord::<str, str>::to("g").payload(&value).partition(i % 2),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
    }
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("group.id", "workers")
        .set("client.id", "tool-test")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["g"]).unwrap();
    let mut consumed = 0;
    while consumed < 4 {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            m.unwrap();
            consumed += 1;
        }
    }
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();

    assert!(ok(&["groups", "--bootstrap-server", &bs, "--list"], None)
        .lines()
        .any(|l| l == "workers"));
    let header = "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID";
    let active = ok(
        &["groups", "--bootstrap-server", &bs, "--describe", "--group", "workers"],
        None,
    );
    let rows = table_rows(&active, header);
    assert_eq!(rows.len(), 2, "{active}");
    // A partition without a commit shows "-" for CURRENT-OFFSET and LAG, as Kafka's tool does.
    for r in &rows {
        match r[3].parse::<i64>() {
            Ok(current) => assert_eq!(r[5], (5 - current).to_string(), "{active}"),
            Err(_) => assert_eq!((r[3].as_str(), r[5].as_str()), ("-", "-"), "{active}"),
        }
    }
    let committed: i64 = rows.iter().filter_map(|r| r[3].parse::<i64>().ok()).sum();
    assert!(committed >= 4, "{active}");
    for r in &rows {
        assert_eq!((r[0].as_str(), r[1].as_str(), r[4].as_str()), ("workers", "g", "5"));
        assert!(
            r[6].starts_with("tool-test-") && r[7] == "/127.0.0.1" && r[8] == "tool-test",
            "{active}"
        );
    }

    let busy = sluice(
        &[
            "groups",
            "--bootstrap-server",
            &bs,
            "--reset-offsets",
            "--group",
            "workers",
            "--topic",
            "g",
            "--to-earliest",
            "--execute",
        ],
        None,
    );
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("inactive"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );

    consumer.unsubscribe();
    drop(consumer);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let empty = loop {
        let out = sluice(
            &["groups", "--bootstrap-server", &bs, "--describe", "--group", "workers"],
            None,
        );
        assert!(out.status.success());
        // Like kafka-consumer-groups: the table on stdout, the remark on stderr.
        let remark = String::from_utf8_lossy(&out.stderr);
        let out = String::from_utf8(out.stdout).unwrap();
        if remark.contains("Consumer group 'workers' has no active members.") {
            break out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the group never became empty: {out}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        table_rows(&empty, header)
            .iter()
            .all(|r| r[6] == "-" && r[7] == "-" && r[8] == "-"),
        "{empty}"
    );

    let dry = ok(
        &[
            "groups",
            "--bootstrap-server",
            &bs,
            "--reset-offsets",
            "--group",
            "workers",
            "--topic",
            "g:1",
            "--to-earliest",
            "--dry-run",
        ],
        None,
    );
    assert_eq!(
        table_rows(&dry, "GROUP TOPIC PARTITION NEW-OFFSET"),
        vec![vec!["workers", "g", "1", "0"]]
    );
    let unchanged = ok(
        &["groups", "--bootstrap-server", &bs, "--describe", "--group", "workers"],
        None,
    );
    assert_eq!(
        table_rows(&unchanged, header)
            .iter()
            .filter_map(|r| r[3].parse::<i64>().ok())
            .sum::<i64>(),
        committed
    );

    // `--reset-offsets --group workers --topic g --execute` with a target: the printed table.
    let execute = |to: &[&str]| {
        let mut args = vec![
            "groups",
            "--bootstrap-server",
            &bs,
            "--reset-offsets",
            "--group",
            "workers",
            "--topic",
            "g",
            "--execute",
        ];
        args.extend_from_slice(to);
        ok(&args, None)
    };
    let reset = |to: &[&str]| {
        table_rows(&execute(to), "GROUP TOPIC PARTITION NEW-OFFSET")
            .into_iter()
            .map(|r| r.join(" "))
            .collect::<Vec<_>>()
    };
    execute(&["--to-earliest"]);
    assert_eq!(reset(&["--to-latest"]), ["workers g 0 5", "workers g 1 5"]);
    assert_eq!(reset(&["--to-offset", "3"]), ["workers g 0 3", "workers g 1 3"]);
    // An offset past the end is clamped to the log-end offset, as Kafka's tool does.
    assert_eq!(reset(&["--to-offset", "99"]), ["workers g 0 5", "workers g 1 5"]);
    assert_eq!(reset(&["--to-earliest"]), ["workers g 0 0", "workers g 1 0"]);
    let shifted = execute(&["--shift-by", "2"]);
    assert!(
        table_rows(&shifted, "GROUP TOPIC PARTITION NEW-OFFSET")
            .iter()
            .all(|r| r[3] == "2"),
        "{shifted}"
    );
    let described = ok(
        &["groups", "--bootstrap-server", &bs, "--describe", "--group", "workers"],
        None,
    );
    assert!(
        table_rows(&described, header)
            .iter()
            .all(|r| r[3] == "2" && r[5] == "3"),
        "{described}"
    );
    let future = execute(&["--to-datetime", "2100-01-01T00:00:00"]);
    assert!(
        table_rows(&future, "GROUP TOPIC PARTITION NEW-OFFSET")
            .iter()
            .all(|r| r[3] == "5"),
        "{future}"
    );

    let deleted = ok(
        &["groups", "--bootstrap-server", &bs, "--delete", "--group", "workers"],
        None,
    );
    assert!(
        deleted.contains("'workers'") && deleted.contains("successful"),
        "{deleted}"
    );
    assert!(!ok(&["groups", "--bootstrap-server", &bs, "--list"], None)
        .lines()
        .any(|l| l == "workers"));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_describe_a_kip848_group_with_its_member() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::ClientConfig;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig {
        listeners: vec![broker::Listener::plaintext("127.0.0.1", 0)],
        data_dir: dir.path().to_path_buf(),
        http_listen: None,
        ..Default::default()
    };
    // KIP-848 members heartbeat this often, so an assignment takes half a second, not five.
    config.groups.consumer_heartbeat_interval = Duration::from_millis(500);
    let b = broker::start(config).await.unwrap();
    let bs = b.local_addr().to_string();
    ok(
        &[
            "topics",
            "--bootstrap-server",
            &bs,
            "--create",
            "--topic",
            "k",
            "--partitions",
            "2",
        ],
        None,
    );
    // A member with group.protocol=consumer: DescribeGroups answers its group as Dead with no
    // members; `sluice groups` must describe it as Kafka's tool does.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bs)
        .set("group.id", "kip848")
        .set("group.protocol", "consumer")
        .set("client.id", "kip848-member")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&["k"]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let polling = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(50));
            }
            // Dropping the consumer closes it: the member leaves the group.
        })
    };

    let header = "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID";
    let describe = || {
        let out = sluice(
            &["groups", "--bootstrap-server", &bs, "--describe", "--group", "kip848"],
            None,
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (active, remark) = loop {
        let (out, err) = describe();
        // Until the member's first heartbeat the group does not exist and no table is printed.
        let table = out.lines().any(|l| l.starts_with("GROUP "));
        let rows = if table { table_rows(&out, header) } else { Vec::new() };
        if rows.len() == 2 && rows.iter().all(|r| r[6] != "-") {
            break (out, err);
        }
        assert!(
            Instant::now() < deadline,
            "the member never got both partitions: {out}{err}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rows = table_rows(&active, header);
    let member_id = rows[0][6].clone();
    assert_eq!(
        rows.iter()
            .map(|r| [&r[0], &r[1], &r[2], &r[3], &r[5], &r[6], &r[7], &r[8]].map(String::as_str))
            .collect::<Vec<_>>(),
        [
            ["kip848", "k", "0", "-", "-", &member_id, "/127.0.0.1", "kip848-member"],
            ["kip848", "k", "1", "-", "-", &member_id, "/127.0.0.1", "kip848-member"],
        ],
        "{active}"
    );
    assert!(!remark.contains("no active members"), "{remark}");
    assert!(ok(&["groups", "--bootstrap-server", &bs, "--list"], None)
        .lines()
        .any(|l| l == "kip848"));
    let busy = sluice(
        &[
            "groups",
            "--bootstrap-server",
            &bs,
            "--reset-offsets",
            "--group",
            "kip848",
            "--topic",
            "k",
            "--to-earliest",
            "--execute",
        ],
        None,
    );
    let refusal = String::from_utf8_lossy(&busy.stderr);
    assert!(
        !busy.status.success() && refusal.contains("its state is Stable with 1 member(s)"),
        "{refusal}"
    );

    stop.store(true, Ordering::Relaxed);
    polling.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (empty, remark) = describe();
        if remark.contains("Consumer group 'kip848' has no active members.") {
            break;
        }
        assert!(Instant::now() < deadline, "the member never left: {empty}{remark}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.shutdown().await;
}
