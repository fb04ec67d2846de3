//! Kafka's own command-line tools (Apache Kafka 4.x, run by their main classes) against the bundled
//! broker and against Apache Kafka itself: the same commands in the same order against both, and
//! every output compared after the values that differ by nature (topic ids, member ids, times)
//! are replaced by placeholders. Where the bundled broker does not yet answer as Kafka does, the
//! difference is asserted exactly as the compatibility table of docs/tools.md states it, so the table
//! cannot drift from what a user sees.

mod support;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;
use support::kafka::{kafka_tool, Kafka};
use support::{free_port, spawn_broker, KillOnDrop};

/// What one command printed, normalised: exit status, stdout and stderr.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Seen {
    /// A finished command's status and its outputs, normalised.
    fn of(out: &std::process::Output) -> Seen {
        Seen {
            ok: out.status.success(),
            stdout: normalise(&String::from_utf8_lossy(&out.stdout)),
            stderr: normalise(&String::from_utf8_lossy(&out.stderr)),
        }
    }
}

/// A broker under test, kept alive while the scenario runs.
enum Target {
    Sluice {
        _broker: KillOnDrop,
        _data: tempfile::TempDir,
        bootstrap: String,
    },
    Kafka(Kafka),
}

impl Target {
    fn sluice() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let broker = spawn_broker(port, dir.path(), std::path::Path::new("/dev/null"));
        Target::Sluice {
            _broker: broker,
            _data: dir,
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }

    fn bootstrap(&self) -> &str {
        match self {
            Target::Sluice { bootstrap, .. } => bootstrap,
            Target::Kafka(k) => &k.bootstrap,
        }
    }
}

/// Replaces what differs between any two runs, even of Kafka against itself.
fn normalise(text: &str) -> String {
    let rules: &[(&str, &str)] = &[
        // Log lines of the tools: drop the timestamp.
        (r"(?m)^\[\d{4}-\d\d-\d\d [\d:,]+\] ", "[time] "),
        (r"TopicId: [A-Za-z0-9_-]{22}", "TopicId: <id>"),
        // Console consumers name their members console-consumer-<uuid>.
        (r"console-consumer-[0-9a-f-]{36}", "console-consumer-<uuid>"),
        // ... and a console consumer without --group joins console-consumer-<random number>.
        (r"console-consumer-\d+\b", "console-consumer-<n>"),
        // The log directory is each target's own temporary directory.
        (r#""logDir":"[^"]*""#, r#""logDir":"<dir>""#),
        // Kafka's tools echo their arguments in an error, the broker's port among them.
        (r"--bootstrap-server 127\.0\.0\.1:\d+", "--bootstrap-server <address>"),
        // Every cluster has its own id.
        (r"Cluster ID: [A-Za-z0-9_-]{22}", "Cluster ID: <id>"),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = Regex::new(pattern).unwrap().replace_all(&out, *with).into_owned();
    }
    out
}

/// Lines in sorted order: for outputs whose line order depends on which partition a fetch or a
/// map iteration returned first, not on the broker.
fn sorted(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    lines.join("\n")
}

struct Scenario<'a> {
    bootstrap: &'a str,
    seen: BTreeMap<&'static str, Seen>,
}

impl Scenario<'_> {
    fn run(&mut self, step: &'static str, tool: &str, args: &[&str], stdin: Option<&str>) -> Seen {
        // A tool with subcommands (`kafka-cluster cluster-id`) takes its options after them.
        let (subcommand, args) = match args.split_first() {
            Some((first, rest)) if !first.starts_with('-') => (vec![*first], rest),
            _ => (vec![], args),
        };
        let mut full = subcommand;
        full.extend(["--bootstrap-server", self.bootstrap]);
        full.extend_from_slice(args);
        let out = kafka_tool(tool, &full, stdin);
        let seen = Seen::of(&out);
        eprintln!(
            "--- {step}: {tool} {args:?} -> ok={}\n{}{}",
            seen.ok, seen.stdout, seen.stderr
        );
        assert!(self.seen.insert(step, seen.clone()).is_none(), "step {step} twice");
        seen
    }

    /// Like `run`, with the outputs' lines sorted.
    fn run_sorted(&mut self, step: &'static str, tool: &str, args: &[&str], stdin: Option<&str>) {
        let mut seen = self.run(step, tool, args, stdin);
        seen.stdout = sorted(&seen.stdout);
        seen.stderr = sorted(&seen.stderr);
        self.seen.insert(step, seen);
    }
}

const RECORDS: &str = "host-a\tcpu usage_idle=97\nhost-b\tcpu usage_idle=42\nhost-c\tmem used=1024i\n\
host-a\tcpu usage_idle=96\nhost-b\tcpu usage_idle=41\nhost-d\tmem used=2048i\n";

/// The commands of the project's notes, verbatim, and the ones an operator reaches for next.
fn scenario(target: &Target) -> BTreeMap<&'static str, Seen> {
    let mut s = Scenario {
        bootstrap: target.bootstrap(),
        seen: BTreeMap::new(),
    };
    let topics = "kafka-topics";
    let groups = "kafka-consumer-groups";
    s.run(
        "topics --create",
        topics,
        &[
            "--create",
            "--topic",
            "notes",
            "--partitions",
            "3",
            "--replication-factor",
            "1",
        ],
        None,
    );
    s.run(
        "topics --create --config",
        topics,
        &[
            "--create",
            "--topic",
            "conf",
            "--partitions",
            "1",
            "--config",
            "retention.ms=60000",
        ],
        None,
    );
    s.run(
        "topics --create (exists)",
        topics,
        &["--create", "--topic", "notes", "--partitions", "3"],
        None,
    );
    s.run(
        "topics --describe --topic",
        topics,
        &["--describe", "--topic", "notes"],
        None,
    );
    s.run(
        "topics --describe --topic conf",
        topics,
        &["--describe", "--topic", "conf"],
        None,
    );
    s.run(
        "topics --alter --partitions",
        topics,
        &["--alter", "--topic", "notes", "--partitions", "4"],
        None,
    );
    s.run(
        "topics --describe (altered)",
        topics,
        &["--describe", "--topic", "notes"],
        None,
    );
    s.run(
        "console-producer parse.key",
        "kafka-console-producer",
        &["--topic", "notes", "--property", "parse.key=true"],
        Some(RECORDS),
    );
    s.run_sorted(
        "console-consumer --from-beginning print.key --group",
        "kafka-console-consumer",
        &[
            "--topic",
            "notes",
            "--from-beginning",
            "--property",
            "print.key=true",
            "--max-messages",
            "6",
            "--group",
            "readers",
        ],
        None,
    );
    s.run_sorted(
        "console-consumer print.partition print.offset",
        "kafka-console-consumer",
        &[
            "--topic",
            "notes",
            "--from-beginning",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
            "--property",
            "print.key=true",
            "--max-messages",
            "6",
        ],
        None,
    );
    s.run("topics --list", topics, &["--list"], None);
    s.run(
        "topics --list --exclude-internal",
        topics,
        &["--list", "--exclude-internal"],
        None,
    );
    s.run_sorted("groups --list", groups, &["--list"], None);
    s.run(
        "groups --describe (no members)",
        groups,
        &["--describe", "--group", "readers"],
        None,
    );
    for (step, how) in [
        ("groups --reset-offsets --to-earliest", &["--to-earliest"][..]),
        ("groups --reset-offsets --to-offset", &["--to-offset", "1"][..]),
        ("groups --reset-offsets --shift-by", &["--shift-by", "1"][..]),
    ] {
        let mut args = vec!["--reset-offsets", "--group", "readers", "--topic", "notes", "--execute"];
        args.extend_from_slice(how);
        s.run_sorted(step, groups, &args, None);
    }
    s.run_sorted(
        "groups --reset-offsets --dry-run",
        groups,
        &[
            "--reset-offsets",
            "--group",
            "readers",
            "--topic",
            "notes",
            "--to-latest",
            "--dry-run",
        ],
        None,
    );
    s.run(
        "groups --describe (after resets)",
        groups,
        &["--describe", "--group", "readers"],
        None,
    );
    live_member_steps(&mut s);
    s.run(
        "configs --describe topic",
        "kafka-configs",
        &["--describe", "--entity-type", "topics", "--entity-name", "conf"],
        None,
    );
    s.run(
        "configs --alter --add-config retention.ms",
        "kafka-configs",
        &[
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "conf",
            "--add-config",
            "retention.ms=3600000",
        ],
        None,
    );
    s.run(
        "configs --describe topic (after alter)",
        "kafka-configs",
        &["--describe", "--entity-type", "topics", "--entity-name", "conf"],
        None,
    );
    s.run(
        "configs --alter --delete-config",
        "kafka-configs",
        &[
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "conf",
            "--delete-config",
            "retention.ms",
        ],
        None,
    );
    s.run(
        "configs --describe topic (after delete-config)",
        "kafka-configs",
        &["--describe", "--entity-type", "topics", "--entity-name", "conf"],
        None,
    );
    // A consumer group's own KIP-848 timings (group configs), set before the group exists.
    let group_config = |op: &'static str, config: &'static str| {
        [
            op,
            "--entity-type",
            "groups",
            "--entity-name",
            "conf-group",
            "--add-config",
            config,
        ]
    };
    s.run(
        "configs --alter group",
        "kafka-configs",
        &group_config("--alter", "consumer.session.timeout.ms=50000"),
        None,
    );
    s.run(
        "configs --alter group (out of range)",
        "kafka-configs",
        &group_config("--alter", "consumer.heartbeat.interval.ms=1000"),
        None,
    );
    s.run(
        "configs --describe group",
        "kafka-configs",
        &["--describe", "--entity-type", "groups", "--entity-name", "conf-group"],
        None,
    );
    s.run_sorted(
        "configs --describe groups",
        "kafka-configs",
        &["--describe", "--entity-type", "groups"],
        None,
    );
    // Dynamic broker configs (KIP-226): the cluster-wide default, then this broker's own over
    // it; the topic's segment.bytes below follows them on both brokers.
    let broker_config = |entity: &'static [&'static str], config: &'static str| {
        [
            &["--alter", "--entity-type", "brokers"][..],
            entity,
            &["--add-config", config],
        ]
        .concat()
    };
    s.run(
        "configs --alter broker default",
        "kafka-configs",
        &broker_config(&["--entity-default"], "log.segment.bytes=4000000"),
        None,
    );
    s.run(
        "configs --alter broker",
        "kafka-configs",
        &broker_config(&["--entity-name", "0"], "log.segment.bytes=2000000"),
        None,
    );
    s.run(
        "configs --alter broker (not dynamic)",
        "kafka-configs",
        &broker_config(&["--entity-name", "0"], "group.consumer.session.timeout.ms=50000"),
        None,
    );
    s.run(
        "configs --describe broker",
        "kafka-configs",
        &["--describe", "--entity-type", "brokers", "--entity-name", "0"],
        None,
    );
    s.run(
        "configs --describe broker default",
        "kafka-configs",
        &["--describe", "--entity-type", "brokers", "--entity-default"],
        None,
    );
    // Every topic config Kafka has, with its default. Only the synonyms differ: Kafka names the
    // broker setting behind each default, and a single-node broker leaves defaults unnamed.
    let mut all = s.run(
        "configs --describe --all topic",
        "kafka-configs",
        &[
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "conf",
            "--all",
        ],
        None,
    );
    all.stdout = Regex::new(r" synonyms=\{[^}]*\}")
        .unwrap()
        .replace_all(&all.stdout, "")
        .into_owned();
    s.seen.insert("configs --describe --all topic", all);
    s.run("get-offsets latest", "kafka-get-offsets", &["--topic", "notes"], None);
    s.run(
        "get-offsets earliest",
        "kafka-get-offsets",
        &["--topic", "notes", "--time", "-2"],
        None,
    );
    let mut dirs = s.run(
        "log-dirs --describe",
        "kafka-log-dirs",
        &["--describe", "--topic-list", "notes"],
        None,
    );
    dirs.stdout = partitions_in_name_order(&dirs.stdout);
    s.seen.insert("log-dirs --describe", dirs);
    s.run("acls --list", "kafka-acls", &["--list"], None);
    s.run("cluster cluster-id", "kafka-cluster", &["cluster-id"], None);
    // Every record of notes goes (offset -1 is each partition's high watermark).
    let json = tempfile::NamedTempFile::new().unwrap();
    let partitions: Vec<String> = (0..4)
        .map(|p| format!(r#"{{"topic":"notes","partition":{p},"offset":-1}}"#))
        .collect();
    std::fs::write(
        json.path(),
        format!(r#"{{"partitions":[{}],"version":1}}"#, partitions.join(",")),
    )
    .unwrap();
    s.run_sorted(
        "delete-records",
        "kafka-delete-records",
        &["--offset-json-file", json.path().to_str().unwrap()],
        None,
    );
    s.run(
        "get-offsets earliest (after delete-records)",
        "kafka-get-offsets",
        &["--topic", "notes", "--time", "-2"],
        None,
    );
    perf_steps(&mut s);
    s.run("groups --delete", groups, &["--delete", "--group", "readers"], None);
    s.run("topics --delete", topics, &["--delete", "--topic", "conf"], None);
    s.run(
        "topics --list (after delete)",
        topics,
        &["--list", "--exclude-internal"],
        None,
    );
    s.seen
}

/// kafka-log-dirs prints one JSON line whose partitions come in the broker's hash-map order;
/// sorted here so that only what they say is compared.
fn partitions_in_name_order(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| match serde_json::from_str::<serde_json::Value>(line) {
            Ok(mut json) => {
                for broker in json["brokers"].as_array_mut().into_iter().flatten() {
                    for dir in broker["logDirs"].as_array_mut().into_iter().flatten() {
                        if let Some(partitions) = dir["partitions"].as_array_mut() {
                            partitions.sort_by_key(|p| p["partition"].as_str().unwrap_or_default().to_string());
                        }
                    }
                }
                json.to_string()
            }
            Err(_) => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `kafka-consumer-groups --describe` shows a member on every partition with its
/// committed offset at the log end: the console consumer has joined, read everything and
/// committed it (its auto-commit runs every 5 s), so two tools run one after the other see the
/// same offsets.
fn caught_up(describe: &str) -> bool {
    let rows: Vec<Vec<&str>> = describe
        .lines()
        .skip_while(|l| !l.starts_with("GROUP"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .filter(|cols: &Vec<&str>| cols.len() >= 9)
        .collect();
    !rows.is_empty() && rows.iter().all(|cols| cols[3] == cols[4] && cols[6] != "-")
}

/// `--describe` and `--describe --members` while a console consumer is in the group.
fn live_member_steps(s: &mut Scenario<'_>) {
    let mut consumer = KillOnDrop(spawn_console_consumer(s.bootstrap, "live", &[]));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = kafka_tool(
            "kafka-consumer-groups",
            &["--bootstrap-server", s.bootstrap, "--describe", "--group", "live"],
            None,
        );
        if caught_up(&String::from_utf8_lossy(&out.stdout)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the console consumer never joined group 'live' and committed what it read"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let groups = "kafka-consumer-groups";
    s.run(
        "groups --describe (a live member)",
        groups,
        &["--describe", "--group", "live"],
        None,
    );
    s.run(
        "groups --describe --members",
        groups,
        &["--describe", "--group", "live", "--members"],
        None,
    );
    s.run(
        "groups --reset-offsets (active group)",
        groups,
        &[
            "--reset-offsets",
            "--group",
            "live",
            "--topic",
            "notes",
            "--to-earliest",
            "--execute",
        ],
        None,
    );
    // SIGTERM lets the console consumer leave the group, as Ctrl-C would.
    sigterm(&consumer.0);
    let _ = consumer.0.wait();
}

/// Kafka's console consumer in `group`, with `properties` (`key=value`) as consumer properties.
fn spawn_console_consumer(bootstrap: &str, group: &str, properties: &[&str]) -> Child {
    Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kafka/kafka.sh"))
        .args(["run", "kafka-console-consumer", "--bootstrap-server", bootstrap])
        .args(["--topic", "notes", "--group", group])
        .args(properties.iter().flat_map(|p| ["--consumer-property", p]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The perf tools print rates that differ run to run; what must match is how many records went
/// through and that the tool succeeded.
fn perf_steps(s: &mut Scenario<'_>) {
    let mut produced = s.run(
        "producer-perf-test",
        "kafka-producer-perf-test",
        &[
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--command-property",
            "acks=all",
        ],
        None,
    );
    let sent = Regex::new(r"(?m)^(\d+) records sent").unwrap();
    produced.stdout = sent
        .captures_iter(&produced.stdout)
        .last()
        .map_or_else(|| "no summary".to_string(), |c| format!("{} records sent", &c[1]));
    produced.stderr = String::new();
    s.seen.insert("producer-perf-test", produced);
    let mut consumed = s.run(
        "consumer-perf-test",
        "kafka-consumer-perf-test",
        &["--topic", "perf", "--num-records", "20000"],
        None,
    );
    // CSV: start.time, end.time, MB, MB/s, nMsg, ...: keep the record count.
    consumed.stdout = consumed
        .stdout
        .lines()
        .nth(1)
        .and_then(|row| row.split(", ").nth(4).map(|n| format!("{n} records consumed")))
        .unwrap_or_else(|| "no summary".to_string());
    consumed.stderr = String::new();
    s.seen.insert("consumer-perf-test", consumed);
}

/// Steps that Apache Kafka itself refuses, so the bundled broker must too.
const KAFKA_REFUSES: &[&str] = &[
    "topics --create (exists)",
    "configs --alter group (out of range)",
    "configs --alter broker (not dynamic)",
    // Kafka without an authorizer (the fixture's, and Kafka's default) has no ACLs to list.
    "acls --list",
];

/// How the bundled broker's answer to a step differs from Kafka's, and why. Each entry is a row of
/// the compatibility table of docs/tools.md; the test fails if the difference changes (for better too,
/// so a fixed gap leaves the table).
struct Difference {
    step: &'static str,
    /// Text that appears in what the bundled broker's run printed (stdout or stderr) ...
    sluice_prints: &'static str,
    /// ... and whether that command still succeeds there.
    sluice_ok: bool,
}

const DIFFERENCES: &[Difference] = &[];

/// Kafka 4.x keeps a cluster-wide `min.insync.replicas` (a dynamic default broker config, for
/// eligible leader replicas) and so lists it among every topic's configs and the cluster's
/// dynamic defaults; a single-node broker has no such setting. Removed from Kafka's output
/// before comparing.
fn without_cluster_min_isr(text: &str) -> String {
    text.replace("Configs: min.insync.replicas=1,", "Configs: ")
        .replace("Configs: min.insync.replicas=1", "Configs: ")
        .replace(
            "  min.insync.replicas=1 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=1}\n",
            "",
        )
}

#[test]
fn kafkas_tools_work_against_the_bundled_broker_as_against_kafka() {
    let sluice = Target::sluice();
    let on_sluice = scenario(&sluice);
    drop(sluice);
    let kafka = Target::Kafka(Kafka::start(1, &[]));
    let on_kafka = scenario(&kafka);
    drop(kafka);
    let failures = differences(&on_sluice, &on_kafka, KAFKA_REFUSES);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every step whose outputs differ (beyond a documented difference of [`DIFFERENCES`]), and
/// every step where Kafka itself did not succeed or fail as `refused` says it should.
fn differences(
    on_sluice: &BTreeMap<&'static str, Seen>,
    on_kafka: &BTreeMap<&'static str, Seen>,
    refused: &[&str],
) -> Vec<String> {
    let mut failures = Vec::new();
    for (step, theirs) in on_kafka {
        let ours = &on_sluice[step];
        let mut theirs = theirs.clone();
        theirs.stdout = without_cluster_min_isr(&theirs.stdout);
        if theirs.ok == refused.contains(step) {
            failures.push(format!("step '{step}': Kafka itself answered {theirs:?}"));
        }
        match DIFFERENCES.iter().find(|d| d.step == *step) {
            Some(d) => {
                let printed = format!("{}{}", ours.stdout, ours.stderr);
                if ours.ok != d.sluice_ok || !printed.contains(d.sluice_prints) {
                    failures.push(format!(
                        "step '{step}': expected the documented difference (ok={}, prints {:?}), got {ours:?}",
                        d.sluice_ok, d.sluice_prints
                    ));
                }
            }
            None if *ours != theirs => {
                failures.push(format!("step '{step}':\n  sluice: {ours:?}\n  kafka:  {theirs:?}"));
            }
            None => {}
        }
    }
    failures
}

/// Kafka's settings for an authorizer that lets everyone do what no ACL covers, as the test
/// clusters of librdkafka's suite run; broker.toml takes the same keys.
const AUTHORIZER: [&str; 2] = [
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=true",
];

/// `kafka-acls` adding, listing and removing bindings, and what a client then meets, with
/// `restart` called between adding and listing (the bundled broker restarts there, to show that
/// the bindings are kept).
fn acl_scenario(bootstrap: &str, restart: &mut dyn FnMut()) -> BTreeMap<&'static str, Seen> {
    let mut s = Scenario {
        bootstrap,
        seen: BTreeMap::new(),
    };
    let acls = "kafka-acls";
    for topic in ["open", "secret"] {
        let step = if topic == "open" {
            "topics --create open"
        } else {
            "topics --create secret"
        };
        s.run(
            step,
            "kafka-topics",
            &["--create", "--topic", topic, "--partitions", "1"],
            None,
        );
    }
    let deny_secret = [
        "--deny-principal",
        "User:*",
        "--operation",
        "All",
        "--deny-host",
        "*",
        "--topic",
        "secret",
    ];
    let add_deny: Vec<&str> = ["--add"].iter().chain(&deny_secret).copied().collect();
    s.run_sorted("acls --add deny", acls, &add_deny, None);
    s.run_sorted(
        "acls --add prefixed",
        acls,
        &[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "metrics-",
            "--resource-pattern-type",
            "prefixed",
            "--group",
            "readers",
        ],
        None,
    );
    restart();
    s.run_sorted("acls --list", acls, &["--list"], None);
    s.run_sorted(
        "acls --list --topic secret",
        acls,
        &["--list", "--topic", "secret"],
        None,
    );
    s.run_sorted(
        "acls --list --principal",
        acls,
        &["--list", "--principal", "User:alice"],
        None,
    );
    s.run("get-offsets open", "kafka-get-offsets", &["--topic", "open"], None);
    s.run(
        "get-offsets secret (denied)",
        "kafka-get-offsets",
        &["--topic", "secret"],
        None,
    );
    let remove: Vec<&str> = ["--remove", "--force"].iter().chain(&deny_secret).copied().collect();
    s.run_sorted("acls --remove", acls, &remove, None);
    s.run_sorted("acls --list (after remove)", acls, &["--list"], None);
    s.run(
        "get-offsets secret (after remove)",
        "kafka-get-offsets",
        &["--topic", "secret"],
        None,
    );
    s.seen
}

/// Kafka refuses these steps of [`acl_scenario`] too.
const KAFKA_REFUSES_ACLS: &[&str] = &["get-offsets secret (denied)"];

#[test]
fn kafka_acls_works_against_the_bundled_brokers_authorizer_as_against_kafkas() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broker.toml");
    let toml: String = AUTHORIZER
        .iter()
        .map(|kv| {
            let (key, value) = kv.split_once('=').unwrap();
            match value {
                "true" => format!("{key} = true\n"),
                _ => format!("{key} = \"{value}\"\n"),
            }
        })
        .collect();
    std::fs::write(&config, toml).unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut broker = Some(spawn_broker(port, &data, &config));
    let bootstrap = format!("127.0.0.1:{port}");
    let on_sluice = acl_scenario(&bootstrap, &mut || {
        drop(broker.take());
        broker = Some(spawn_broker(port, &data, &config));
    });
    drop(broker);
    let kafka = Kafka::start(1, &AUTHORIZER);
    let on_kafka = acl_scenario(&kafka.bootstrap, &mut || {});
    drop(kafka);
    let failures = differences(&on_sluice, &on_kafka, KAFKA_REFUSES_ACLS);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `sluice <args>` → what it printed, normalised as Kafka's tools' output is.
fn sluice_tool(args: &[&str]) -> Seen {
    Seen::of(&Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().unwrap())
}

fn kafka_tool_seen(tool: &str, args: &[&str]) -> Seen {
    Seen::of(&kafka_tool(tool, args, None))
}

#[test]
fn sluices_tools_print_what_kafkas_tools_print_against_kafka() {
    let kafka = Kafka::start(1, &[]);
    let bs = kafka.bootstrap.as_str();
    let setup = |tool: &str, args: &[&str], stdin: Option<&str>| {
        let mut full = vec!["--bootstrap-server", bs];
        full.extend_from_slice(args);
        support::kafka::kafka_tool_ok(tool, &full, stdin);
    };
    setup(
        "kafka-topics",
        &[
            "--create",
            "--topic",
            "notes",
            "--partitions",
            "3",
            "--config",
            "retention.ms=60000",
        ],
        None,
    );
    setup(
        "kafka-console-producer",
        &["--topic", "notes", "--property", "parse.key=true"],
        Some(RECORDS),
    );
    setup(
        "kafka-console-consumer",
        &[
            "--topic",
            "notes",
            "--from-beginning",
            "--max-messages",
            "4",
            "--group",
            "readers",
        ],
        None,
    );
    // One more record, so some partition lags.
    setup(
        "kafka-console-producer",
        &["--topic", "notes", "--property", "parse.key=true"],
        Some("host-e\tx=1\n"),
    );

    let mut failures = Vec::new();
    let mut compare = |what: &str, sluice_args: &[&str], kafka: (&str, &[&str]), sort: bool| {
        let mut ours = sluice_tool(&[&sluice_args[..1], &["--bootstrap-server", bs], &sluice_args[1..]].concat());
        let mut mine_args = vec!["--bootstrap-server", bs];
        mine_args.extend_from_slice(kafka.1);
        let mut theirs = kafka_tool_seen(kafka.0, &mine_args);
        // librdkafka cannot learn eligible leader replicas (only DescribeTopicPartitions carries
        // them), so sluice prints N/A where kafka-topics prints the (empty) list.
        theirs.stdout = theirs
            .stdout
            .replace("Elr: \tLastKnownElr: ", "Elr: N/A\tLastKnownElr: N/A");
        if sort {
            ours.stdout = sorted(&ours.stdout);
            theirs.stdout = sorted(&theirs.stdout);
        }
        eprintln!("--- {what}\nsluice: {ours:?}\nkafka:  {theirs:?}");
        if ours != theirs {
            failures.push(format!("{what}:\n  sluice: {ours:?}\n  kafka:  {theirs:?}"));
        }
    };
    compare(
        "topics --describe",
        &["topics", "--describe", "--topic", "notes"],
        ("kafka-topics", &["--describe", "--topic", "notes"]),
        false,
    );
    let notes_configs = ["--describe", "--entity-type", "topics", "--entity-name", "notes"];
    compare(
        "configs --describe topic",
        &[&["configs"][..], &notes_configs].concat(),
        ("kafka-configs", &notes_configs),
        false,
    );
    let all_configs = [&notes_configs[..], &["--all"]].concat();
    compare(
        "configs --describe --all topic",
        &[&["configs"][..], &all_configs].concat(),
        ("kafka-configs", &all_configs),
        false,
    );
    let broker_configs = ["--describe", "--entity-type", "brokers", "--entity-name", "0", "--all"];
    compare(
        "configs --describe --all broker",
        &[&["configs"][..], &broker_configs].concat(),
        ("kafka-configs", &broker_configs),
        true,
    );
    // Both set the same values, so the second run changes nothing the first did not.
    let alter = [
        "--alter",
        "--entity-type",
        "topics",
        "--entity-name",
        "notes",
        "--add-config",
        "segment.ms=100000,cleanup.policy=[compact,delete]",
        "--delete-config",
        "retention.ms",
    ];
    compare(
        "configs --alter",
        &[&["configs"][..], &alter].concat(),
        ("kafka-configs", &alter),
        false,
    );
    compare(
        "configs --describe topic (after alter)",
        &[&["configs"][..], &notes_configs].concat(),
        ("kafka-configs", &notes_configs),
        false,
    );
    let group_alter = [
        "--alter",
        "--entity-type",
        "groups",
        "--entity-name",
        "readers",
        "--add-config",
        "consumer.session.timeout.ms=50000",
    ];
    compare(
        "configs --alter group",
        &[&["configs"][..], &group_alter].concat(),
        ("kafka-configs", &group_alter),
        false,
    );
    let group_configs = ["--describe", "--entity-type", "groups", "--entity-name", "readers"];
    compare(
        "configs --describe group",
        &[&["configs"][..], &group_configs].concat(),
        ("kafka-configs", &group_configs),
        false,
    );
    let all_group_configs = [&group_configs[..], &["--all"]].concat();
    compare(
        "configs --describe --all group",
        &[&["configs"][..], &all_group_configs].concat(),
        ("kafka-configs", &all_group_configs),
        false,
    );
    compare(
        "groups --list",
        &["groups", "--list"],
        ("kafka-consumer-groups", &["--list"]),
        true,
    );
    compare(
        "groups --describe (no members)",
        &["groups", "--describe", "--group", "readers"],
        ("kafka-consumer-groups", &["--describe", "--group", "readers"]),
        false,
    );
    for target in [
        &["--to-earliest"][..],
        &["--to-latest"][..],
        &["--to-offset", "1"][..],
        &["--shift-by", "-1"][..],
    ] {
        let mut args = vec!["--reset-offsets", "--group", "readers", "--topic", "notes", "--dry-run"];
        args.extend_from_slice(target);
        let sluice_args = [&["groups"][..], &args].concat();
        compare(
            &format!("groups {args:?}"),
            &sluice_args,
            ("kafka-consumer-groups", &args),
            true,
        );
    }
    let one_partition = [
        "--reset-offsets",
        "--group",
        "readers",
        "--topic",
        "notes:1",
        "--to-earliest",
        "--dry-run",
    ];
    compare(
        "groups --reset-offsets --topic notes:1",
        &[&["groups"][..], &one_partition].concat(),
        ("kafka-consumer-groups", &one_partition),
        true,
    );

    // A group with a live member: the same member id, host and client id from both tools; and
    // a KIP-848 group's (group.protocol=consumer), which DescribeGroups answers as Dead.
    for (group, properties) in [("live", &[][..]), ("live-kip848", &["group.protocol=consumer"][..])] {
        let mut consumer = KillOnDrop(spawn_console_consumer(bs, group, properties));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !caught_up(
            &kafka_tool_seen(
                "kafka-consumer-groups",
                &["--bootstrap-server", bs, "--describe", "--group", group],
            )
            .stdout,
        ) {
            assert!(
                Instant::now() < deadline,
                "the console consumer never joined group '{group}' and committed what it read"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        compare(
            &format!("groups --describe (a live member of {group})"),
            &["groups", "--describe", "--group", group],
            ("kafka-consumer-groups", &["--describe", "--group", group]),
            false,
        );
        sigterm(&consumer.0);
        let _ = consumer.0.wait();
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
