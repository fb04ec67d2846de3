//! `sluice agent` as a user runs it: bad configs fail with one clear line, `--test` prints
//! line protocol without a broker.

use std::process::Command;

fn agent(config: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("agent")
        .arg("--config")
        .arg(&path)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_kind_of_config_mistake_gives_one_clear_line_and_a_failure_exit() {
    let cases = [
        (
            "[agent]\n  logfile = \"/var/log/telegraf.log\"\n",
            "line 2, [agent] logfile: unknown field `logfile`",
        ),
        (
            "[agent]\n  interval = \"10 seconds please\"\n",
            "line 2, [agent] interval: invalid duration",
        ),
        (
            "[[inputs.cpu]]\n  percpu = \"yes\"\n",
            "line 2, [[inputs.cpu]] percpu: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "[[outputs.kafka]]\n  brokers = []\n",
            "`outputs.kafka.brokers` expects at least one broker",
        ),
        ("[agent\n", "TOML"),
    ];
    for (config, want) in cases {
        let (code, stdout, stderr) = agent(config, &[]);
        assert_ne!(code, 0, "{config}");
        assert!(stdout.is_empty());
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line for {config:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains("agent.toml"),
            "{stderr}"
        );
        if want != "TOML" {
            assert!(lines[0].contains(want), "want {want:?} in {stderr}");
        }
    }
}

#[test]
fn test_mode_prints_line_protocol_and_needs_no_broker() {
    let config = "[[inputs.cpu]]\n  percpu = false\n  report_active = true\n[[inputs.mem]]\n  fieldinclude = [\"used*\", \"total\"]\n[global_tags]\n  dc = \"here\"\n";
    let (code, stdout, stderr) = agent(config, &["--test"]);
    assert_eq!(code, 0, "{stderr}");
    let metrics = model::line_protocol::parse(&stdout).unwrap();
    assert_eq!(metrics.len(), 2, "{stdout}");
    assert_eq!(metrics[0].name, "cpu");
    assert_eq!(metrics[0].tags["cpu"], "cpu-total");
    assert_eq!(metrics[0].tags["dc"], "here");
    assert!(metrics[0].fields.contains_key("usage_active"));
    assert_eq!(metrics[1].name, "mem");
    let mut keys: Vec<&str> = metrics[1].fields.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["total", "used", "used_percent"]);
}
