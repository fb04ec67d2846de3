//! The sluice processes under test: the shipped configs on free ports, waiting for a port to
//! listen, and a guard that kills a process if the benchmark fails half way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The shipped config files with free ports (broker, agent, workers, lag exporter, console) and a 5 s
/// lag-exporter interval.
pub fn write_configs(from: &Path, dir: &Path, ports: &[u16]) -> anyhow::Result<PathBuf> {
    let to = dir.join("config");
    std::fs::create_dir_all(&to)?;
    let replace: HashMap<&str, (&str, String)> = HashMap::from([
        ("broker.toml", ("127.0.0.1:9092", format!("127.0.0.1:{}", ports[0]))),
        ("agent.toml", ("127.0.0.1:9273", format!("127.0.0.1:{}", ports[1]))),
        ("workers.toml", ("127.0.0.1:9274", format!("127.0.0.1:{}", ports[2]))),
        (
            "lag-exporter.toml",
            ("127.0.0.1:9308", format!("127.0.0.1:{}", ports[3])),
        ),
        ("console.toml", ("127.0.0.1:9645", format!("127.0.0.1:{}", ports[4]))),
    ]);
    for (file, (old, new)) in replace {
        let text = std::fs::read_to_string(from.join(file)).with_context(|| format!("reading {file}"))?;
        let text = text
            .replace(old, &new)
            .replace("interval = \"15s\"", "interval = \"5s\"");
        std::fs::write(to.join(file), text)?;
    }
    Ok(to)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("sluice up did not listen on {port} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Kills `sluice up` if the benchmark fails half way.
pub struct Up(pub Child);
impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
