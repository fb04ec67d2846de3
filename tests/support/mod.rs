//! Helpers shared by the end-to-end tests that run the real `sluice` binary.
// Each test binary includes this module and uses a subset of it.
#![allow(dead_code)]

pub mod kafka;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
pub fn spawn_broker(port: u16, data_dir: &Path, config: &Path) -> Child {
    spawn_broker_logging(port, data_dir, config, "warn", Stdio::inherit())
}

/// [`spawn_broker`] at `RUST_LOG=rust_log` with its stderr sent to `stderr`. Fails the test if
/// the broker exits before it listens.
pub fn spawn_broker_logging(port: u16, data_dir: &Path, config: &Path, rust_log: &str, stderr: Stdio) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["broker", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .args(["--http-listen", ""])
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("sluice binary runs");
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

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
