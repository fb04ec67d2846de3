//! Apache Kafka, the reference, for tests: a KRaft cluster started by `tests/kafka/kafka.sh` in a
//! temporary directory on free loopback ports, and Kafka's command-line tools run by name.
//! `.ci/install` (the README's test command) installs Kafka; without it these helpers fail the
//! test with the command to run, never skip it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka/kafka.sh")
}

/// A running Apache Kafka cluster of combined broker+controller nodes; stopped when dropped.
pub struct Kafka {
    dir: tempfile::TempDir,
    pub bootstrap: String,
}

impl Kafka {
    /// One node (replication factor 1) or three (replication factor 3, min.insync.replicas 2),
    /// with `settings` (`key=value`) added to every node's server.properties.
    pub fn start(nodes: usize, settings: &[&str]) -> Kafka {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .arg("start")
            .arg(dir.path())
            .args(["--nodes", &nodes.to_string()]);
        for s in settings {
            cmd.args(["--set", s]);
        }
        let out = cmd.stderr(Stdio::inherit()).output().expect("bash runs");
        assert!(
            out.status.success(),
            "Apache Kafka did not start (is it installed? run: bash .ci/install)"
        );
        let bootstrap = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Kafka { dir, bootstrap }
    }

    /// SIGKILLs the node whose `node.id` is `n` (0, 1, 2) and waits until it is gone.
    pub fn kill_node(&self, n: usize) {
        self.script_ok("kill", n);
    }

    /// Starts node `n` again on its ports and data; returns once it has started.
    pub fn restart_node(&self, n: usize) {
        self.script_ok("restart", n);
    }

    fn script_ok(&self, verb: &str, n: usize) {
        let status = Command::new("bash")
            .arg(script())
            .arg(verb)
            .arg(self.dir.path())
            .arg(n.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kafka.sh {verb} {n} failed");
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Runs one of Kafka's tools by its bin/ name (`kafka-topics`, `kafka-consumer-groups`, …) with
/// `stdin` as its input.
pub fn kafka_tool(tool: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new("bash")
        .arg(script())
        .arg("run")
        .arg(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// [`kafka_tool`] that must succeed; its standard output.
pub fn kafka_tool_ok(tool: &str, args: &[&str], stdin: Option<&str>) -> String {
    let out = kafka_tool(tool, args, stdin);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
