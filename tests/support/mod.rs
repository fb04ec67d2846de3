//! Helpers shared by the end-to-end tests that run the real `sluice` binary.
// Each test binary includes this module and uses a subset of it.
#![allow(dead_code)]

pub mod http_server;
pub mod kafka;
pub mod poll;
pub mod prometheus;
pub mod up;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `path` in this repository (relative to its root).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sluice broker` on 127.0.0.1:`port` over `data_dir` with the config file `config` (use
/// `/dev/null` for Kafka's defaults); returns once it accepts connections. Its HTTP endpoint is
/// off, so tests running side by side never fight over the default port 9644.
pub fn spawn_broker(port: u16, data_dir: &Path, config: &Path) -> KillOnDrop {
    spawn_broker_logging(port, data_dir, config, "warn", Stdio::inherit())
}

/// [`spawn_broker`] at `RUST_LOG=rust_log` with its stderr sent to `stderr`. Fails the test if
/// the broker exits before it listens.
pub fn spawn_broker_logging(port: u16, data_dir: &Path, config: &Path, rust_log: &str, stderr: Stdio) -> KillOnDrop {
    // Held from the start, so a broker that never listens is killed with the failing test.
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["broker", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .args(["--http-listen", ""])
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("sluice binary runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("broker exited with {status} before listening");
        }
        assert!(Instant::now() < deadline, "broker did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// The body of `GET /metrics` on 127.0.0.1:`port`, or "" while nothing answers there.
pub fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// broker behind holding its port or the test's output pipe.
pub struct KillOnDrop(pub Child);

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM, as a service manager stops a component, then its exit within 15 s (a component's
/// shutdown grace, 5 s, and a little more, even while its cluster is down). Fails the test, after
/// a SIGKILL, if it does not exit in time or exits with a failure.
pub fn terminate(child: &mut Child, what: &str) {
    // SAFETY: kill(2) on a child we started and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within 15 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{what} exited with {status} on SIGTERM");
}

/// This test binary again, running only the ignored test `test` with `env` set: a part of the
/// test (a group member, say) in a process of its own that the test can SIGKILL. Its stdout is
/// piped; the harness's "test … " shares a line with the first thing it prints.
pub fn spawn_self(test: &str, env: (&str, String)) -> KillOnDrop {
    KillOnDrop(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(env.0, env.1)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Polls `check` every 100 ms until it holds or `wait` passes; whether it held.
pub async fn eventually(wait: Duration, check: impl FnMut() -> bool) -> bool {
    poll::until(wait, Duration::from_millis(100), check)
}

/// Polls `done` every 200 ms; after `limit`, fails the test naming `what`, with the last lines
/// of every log in `logs` (the components' own account of why it never happened).
pub fn wait_for(what: &str, limit: Duration, logs: &[PathBuf], done: impl FnMut() -> bool) {
    if poll::until(limit, Duration::from_millis(200), done) {
        return;
    }
    let mut tails = String::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        tails += &format!(
            "--- {}\n{}\n",
            log.display(),
            lines[lines.len().saturating_sub(20)..].join("\n")
        );
    }
    panic!("timed out waiting for {what} ({limit:?})\n{tails}");
}

/// Every sample of a Prometheus text exposition, `name{labels}` → value; panics on a line that
/// is not `name{labels} value` or `name value` (comments aside), or on a series given twice.
pub fn samples(body: &str) -> BTreeMap<String, f64> {
    let line_re =
        regex::Regex::new(r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (\S+)$"#).unwrap();
    let mut samples = BTreeMap::new();
    for line in body.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let c = line_re
            .captures(line)
            .unwrap_or_else(|| panic!("not `name{{labels}} value`: {line}"));
        let value: f64 = c[4].parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        let series = line.rsplit_once(' ').unwrap().0.to_string();
        assert!(samples.insert(series, value).is_none(), "duplicate series: {line}");
    }
    samples
}

/// Rows of a table as Kafka's tools print it (and `sluice groups`, which copies their layout),
/// split on whitespace, header excluded; the header must be `header`.
pub fn table_rows(out: &str, header: &str) -> Vec<Vec<String>> {
    let first = header.split_whitespace().next().unwrap_or_default();
    let mut lines = out.lines().skip_while(|l| !l.starts_with(first));
    let head: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(head, header.split_whitespace().collect::<Vec<_>>());
    lines
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}
