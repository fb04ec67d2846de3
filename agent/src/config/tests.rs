use std::path::Path;

use super::*;

/// The Telegraf config from the project's notes (docs/agent.md).
pub(crate) const NOTES_CONFIG: &str = r#"
[agent]
  interval = "10s"
[[outputs.kafka]]
  brokers = ["127.0.0.1:9092"]
  topic = "my-computer-metric"
[[inputs.cpu]]
  percpu = true
  totalcpu = true
  fielddrop = ["time_*"]
[[inputs.mem]]
"#;

fn error_of(text: &str) -> String {
    match Config::parse(text).and_then(|c| c.validate().map(|_| c)) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn example_config_parses_and_validates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/agent.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.agent.interval, Duration::secs(10));
    assert_eq!(c.inputs.cpu.len(), 1);
    assert_eq!(c.inputs.mem.len(), 1);
    let k = c.kafka().unwrap();
    assert_eq!(k.topic, "metrics");
    assert!(k.idempotent());
    assert_eq!(
        k.librdkafka.settings().collect::<Vec<_>>(),
        [("linger.ms", "5".to_string())]
    );
}

#[test]
fn the_notes_config_runs_as_is() {
    let c = Config::parse(NOTES_CONFIG).unwrap();
    c.validate().unwrap();
    assert_eq!(c.kafka().unwrap().topic, "my-computer-metric");
    assert_eq!(c.kafka().unwrap().routing_tag, "host");
    assert_eq!(c.inputs.cpu[0].fieldexclude, ["time_*"]);
    assert!(c.agent.round_interval);
    assert_eq!(c.agent.metric_buffer_limit, 10_000);
    assert_eq!(c.agent.precision_ns(), 1_000_000_000);
}

#[test]
fn an_unknown_telegraf_key_is_named_with_its_table_and_line() {
    let e = error_of("[agent]\n  interval = \"10s\"\n  logfile = \"/tmp/x\"\n");
    assert!(e.contains("line 3, [agent] logfile"), "{e}");
    assert!(e.contains("unknown field `logfile`"), "{e}");
    let e = error_of("[[inputs.cpu]]\n  core_tags = true\n");
    assert!(
        e.contains("[[inputs.cpu]] core_tags") && e.contains("unknown field"),
        "{e}"
    );
    let e = error_of("[[inputs.disk]]\n");
    assert!(e.contains("unknown field `disk`"), "{e}");
}

#[test]
fn a_bad_duration_says_what_a_duration_looks_like() {
    let e = error_of("[agent]\n  interval = \"10 parsecs\"\n");
    assert!(e.contains("[agent] interval"), "{e}");
    assert!(e.contains("invalid duration \"10 parsecs\""), "{e}");
    assert!(e.contains("\"10s\""), "{e}");
}

#[test]
fn a_wrong_type_names_the_key_and_the_expected_type() {
    let e = error_of("[agent]\n  omit_hostname = \"yes\"\n");
    assert!(e.contains("[agent] omit_hostname"), "{e}");
    assert!(e.contains("expected a boolean"), "{e}");
    let e = error_of("[[outputs.kafka]]\n  brokers = \"127.0.0.1:9092\"\n");
    assert!(e.contains("brokers") && e.contains("expected a sequence"), "{e}");
}

#[test]
fn empty_brokers_are_refused() {
    let e = error_of("[[outputs.kafka]]\n  brokers = []\n");
    assert!(e.contains("`outputs.kafka.brokers` expects at least one broker"), "{e}");
}

#[test]
fn librdkafka_keys_that_clash_with_first_class_options_are_refused() {
    let e =
        error_of("[[outputs.kafka]]\n  brokers = [\"b:9092\"]\n  [outputs.kafka.librdkafka]\n    \"acks\" = \"1\"\n");
    assert!(e.contains("librdkafka.\"acks\"") && e.contains("required_acks"), "{e}");
    let e = error_of(
        "[[outputs.kafka]]\n  brokers = [\"b:9092\"]\n  [outputs.kafka.librdkafka]\n    \"message.timeout.ms\" = 1000\n",
    );
    assert!(e.contains("never") && e.contains("drop a sample"), "{e}");
}

#[test]
fn telegraf_compression_numbers_and_names_both_work() {
    for (text, want) in [
        ("2", Compression::Snappy),
        ("\"zstd\"", Compression::Zstd),
        ("0", Compression::None),
    ] {
        let c = Config::parse(&format!("[[outputs.kafka]]\n compression_codec = {text}\n")).unwrap();
        assert_eq!(c.kafka().unwrap().compression_codec, want);
    }
    assert!(error_of("[[outputs.kafka]]\n compression_codec = 9\n").contains("0-4"));
}

#[test]
fn idempotence_needs_acks_all() {
    let e = error_of("[[outputs.kafka]]\n brokers = [\"b:1\"]\n required_acks = 1\n idempotent_writes = true\n");
    assert!(e.contains("idempotent_writes"), "{e}");
    let c = Config::parse("[[outputs.kafka]]\n brokers = [\"b:1\"]\n required_acks = 1\n").unwrap();
    assert!(!c.kafka().unwrap().idempotent());
}

#[test]
fn old_and_new_filter_names_both_work_and_bad_globs_are_refused() {
    let c = Config::parse("[[inputs.mem]]\n fieldpass = [\"used*\"]\n").unwrap();
    assert_eq!(c.inputs.mem[0].fieldinclude, ["used*"]);
    assert!(error_of("[[inputs.cpu]]\n fieldinclude = [\"usage_[\"]\n").contains("usage_["));
}

#[test]
fn a_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, "[agent]\n  flush_interval = 10.5\n").unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: line 2, [agent] flush_interval", path.display())),
        "{e}"
    );
    let missing = Config::load(&dir.path().join("nope.toml")).unwrap_err().to_string();
    assert!(missing.contains("nope.toml"), "{missing}");
}

#[test]
fn precision_follows_telegraf_from_the_interval() {
    let mut a = AgentConfig {
        interval: Duration(std::time::Duration::from_millis(500)),
        ..AgentConfig::default()
    };
    assert_eq!(a.precision_ns(), 1_000_000);
    a.precision = Duration(std::time::Duration::from_millis(10));
    assert_eq!(a.precision_ns(), 10_000_000);
}

#[test]
fn telegrafs_tls_and_sasl_options_are_checked_with_the_table_named() {
    let ok =
        "[[outputs.kafka]]\n  brokers = [\"b:9093\"]\n  enable_tls = true\n  sasl_mechanism = \"SCRAM-SHA-256\"\n  \
              sasl_username = \"agent\"\n  sasl_password = \"pw-in-file\"\n";
    let c = Config::parse(ok).unwrap();
    c.validate().unwrap();
    let security = c.kafka().unwrap().security();
    assert_eq!(security.protocol(), kafka_client::Protocol::SaslSsl);
    assert!(!format!("{c:?}").contains("pw-in-file"));
    let e = error_of("[[outputs.kafka]]\n  brokers = [\"b:9093\"]\n  sasl_username = \"agent\"\n");
    assert!(
        e.starts_with("`outputs.kafka.sasl_password` expects the password"),
        "{e}"
    );
    let e = error_of("[[outputs.kafka]]\n  brokers = [\"b:9093\"]\n  tls_ca = \"/nonexistent/ca.pem\"\n");
    assert!(
        e.starts_with("`outputs.kafka.tls_ca` expects a readable PEM file"),
        "{e}"
    );
    let e = error_of(&format!(
        "{ok}  [outputs.kafka.librdkafka]\n    \"security.protocol\" = \"SSL\"\n"
    ));
    assert!(e.contains("left to the tls_* and sasl_* options"), "{e}");
}

#[test]
fn a_password_from_the_environment_never_shows_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::env::set_var("SLUICE_AGENT_TEST_PASSWORD", "s3cret-from-env");
    std::fs::write(
        &path,
        "[[outputs.kafka]]\n  brokers = [\"b:9093\"]\n  sasl_username = \"agent\"\n  sasl_password = \"x\"\n  \
         sasl_mechanism = \"${SLUICE_AGENT_TEST_PASSWORD}\"\n",
    )
    .unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(e.contains("`outputs.kafka.sasl_mechanism` expects PLAIN"), "{e}");
    assert!(
        !e.contains("s3cret") && e.contains("${SLUICE_AGENT_TEST_PASSWORD}"),
        "{e}"
    );
    let loaded = {
        std::fs::write(
            &path,
            "[[outputs.kafka]]\n  brokers = [\"b:9093\"]\n  sasl_username = \"agent\"\n  sasl_password = \"${SLUICE_AGENT_TEST_PASSWORD}\"\n",
        )
        .unwrap();
        Config::load(&path).unwrap()
    };
    assert_eq!(
        loaded.kafka().unwrap().sasl_password.as_ref().map(|p| p.expose()),
        Some("s3cret-from-env")
    );
}
