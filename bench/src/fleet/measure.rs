//! What the fleet run measures, and where from: new lines of the file sink ([`Tail`]), the
//! worker's and the lag exporter's `/metrics`, and CPU and memory of a process from `/proc`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

pub fn scrape_counter(port: u16, series: &str) -> Option<u64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Reads what was appended to the sink file since the last call.
pub struct Tail {
    path: PathBuf,
    pos: u64,
    partial: String,
}

impl Tail {
    pub fn new(path: PathBuf) -> Tail {
        Tail {
            path,
            pos: 0,
            partial: String::new(),
        }
    }

    /// Timestamps of the new complete lines from simulated hosts.
    pub fn new_fleet_timestamps(&mut self) -> anyhow::Result<Vec<i64>> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Ok(Vec::new());
        };
        f.seek(SeekFrom::Start(self.pos))?;
        let mut buf = String::new();
        self.pos += f.read_to_string(&mut buf)? as u64;
        self.partial.push_str(&buf);
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            if line.contains("host=fleet-") {
                if let Some(ts) = line.trim_end().rsplit(' ').next().and_then(|t| t.parse().ok()) {
                    out.push(ts);
                }
            }
        }
        Ok(out)
    }
}

/// `kafka_consumergroup_records_lag_max{group=…,topic="metrics"}` from the lag exporter.
pub fn scrape_lag(port: u16, group: &str) -> Option<i64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let prefix = format!("kafka_consumergroup_records_lag_max{{group=\"{group}\",topic=\"metrics\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as i64)
}

pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let (_, seconds) = parse_stat(&stat).context("malformed /proc stat")?;
    Ok(seconds)
}

/// CPU seconds of the broker's own threads in `sluice up` (named "sluice-broker"), from each
/// thread's /proc stat. They never exit while it runs, so none of their time is lost.
pub fn broker_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let mut seconds = 0.0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread may end between listing and reading.
        let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
            continue;
        };
        match parse_stat(&stat) {
            Some(("sluice-broker", s)) => seconds += s,
            Some(_) => {}
            None => bail!("malformed /proc task stat"),
        }
    }
    Ok(seconds)
}

/// The command name and user + system CPU seconds of a /proc `stat` line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    // Fields after the parenthesised name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((stat.get(open + 1..close)?, ticks as f64 / hz))
}

/// (resident, peak resident) in MiB.
pub fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    Ok((kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0))
}
