//! `sluice broker` and its config file, through the real binary: a bad value or an unknown key
//! stops start-up with the file, the key and what was expected; settings that mean nothing on one
//! node are accepted with a one-line warning each.

mod support;
use support::{free_port, spawn_broker_logging, wait_for, KillOnDrop};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `sluice broker` on `config`; returns (exit success, stderr) once it exits, failing the
/// test if it is still running after 20 s.
fn broker_with(config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broker.toml");
    std::fs::write(&file, config).unwrap();
    let log = dir.path().join("stderr");
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args([
                "broker",
                "--http-listen",
                "",
                "--listen",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .arg("--config")
            .arg(&file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the broker started on {config:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.success(), std::fs::read_to_string(&log).unwrap())
}

#[test]
fn a_bad_value_or_an_unknown_key_stops_start_up_naming_file_key_and_what_was_expected() {
    let (ok, err) = broker_with("num.partitions = 0\n");
    assert!(!ok);
    assert!(
        err.contains("broker.toml") && err.contains("`num.partitions` expects an integer from 1"),
        "{err}"
    );
    let (ok, err) = broker_with("log.retention.hours = \"a week\"\n");
    assert!(!ok);
    assert!(
        err.contains("broker.toml") && err.contains("log.retention.hours"),
        "{err}"
    );
    let (ok, err) = broker_with("num.partition = 3\n");
    assert!(!ok);
    assert!(err.contains("broker.toml: unknown setting `num.partition`"), "{err}");
}

#[test]
fn single_node_meaningless_settings_are_accepted_with_one_warning_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broker.toml");
    std::fs::write(
        &file,
        "zookeeper.connect = \"zk:2181\"\nbroker.id = 3\ndefault.replication.factor = 3\n",
    )
    .unwrap();
    let log = dir.path().join("broker.log");
    let port = free_port();
    let stderr = std::fs::File::create(&log).unwrap().into();
    let _child = spawn_broker_logging(port, &dir.path().join("data"), &file, "warn", stderr);
    let keys = ["zookeeper.connect", "broker.id", "default.replication.factor"];
    // The warnings are written before the broker listens, but a port from `free_port` can be
    // taken by another process in between, so the log itself is waited for.
    let logged = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        keys.iter().all(|key| text.contains(key))
    };
    wait_for(
        "the three warnings",
        Duration::from_secs(20),
        std::slice::from_ref(&log),
        logged,
    );
    let text = std::fs::read_to_string(&log).unwrap();
    for key in keys {
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(key)).collect();
        assert_eq!(lines.len(), 1, "{key}: {text}");
        assert!(lines[0].contains("WARN"), "{}", lines[0]);
    }
}
