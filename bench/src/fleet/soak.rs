//! `--sample-every`: the soak's readings of `sluice up` over a long run, its resident memory,
//! open file descriptors and threads every so often, and a verdict against the floors of
//! issue #20 (resident memory grows less than 10 %, descriptors and threads do not grow).
//!
//! The baseline is the first reading after the warm-up; a leak shows as growth from it to the
//! last reading.

use std::time::{Duration, Instant};

use super::measure::memory_mib;

/// One reading.
#[derive(Clone, Copy)]
struct Usage {
    at: Duration,
    rss_mib: f64,
    fds: usize,
    threads: usize,
}

pub struct Soak {
    every: Duration,
    next: Option<Instant>,
    readings: Vec<Usage>,
}

impl Soak {
    pub fn new(every: Duration) -> Soak {
        Soak {
            every,
            next: None,
            readings: Vec::new(),
        }
    }

    /// Takes a reading of `pid` when one is due; `since` is when measuring began.
    pub fn tick(&mut self, pid: u32, since: Instant) -> anyhow::Result<()> {
        let now = Instant::now();
        if self.next.is_some_and(|n| now < n) {
            return Ok(());
        }
        self.next = Some(now + self.every);
        let (rss_mib, _) = memory_mib(pid)?;
        let usage = Usage {
            at: now - since,
            rss_mib,
            fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count(),
            threads: std::fs::read_dir(format!("/proc/{pid}/task"))?.count(),
        };
        eprintln!(
            "soak {:>6.0} s: RSS {:.1} MiB, {} open fds, {} threads",
            usage.at.as_secs_f64(),
            usage.rss_mib,
            usage.fds,
            usage.threads
        );
        self.readings.push(usage);
        Ok(())
    }

    /// The readings' table row and the verdict of each floor, for BENCHMARKS.md.
    pub fn report(&self) {
        let (Some(first), Some(last)) = (self.readings.first(), self.readings.last()) else {
            println!("soak: no reading taken");
            return;
        };
        let peak = self.readings.iter().map(|u| u.rss_mib).fold(0.0, f64::max);
        let growth = (last.rss_mib / first.rss_mib - 1.0) * 100.0;
        let verdict = |ok: bool| if ok { "holds" } else { "DOES NOT HOLD" };
        println!(
            "| soak {} readings over {:.0} s | RSS {:.1} → {:.1} MiB ({growth:+.1} %, peak {peak:.1}) | fds {} → {} | threads {} → {} |",
            self.readings.len(),
            last.at.as_secs_f64(),
            first.rss_mib,
            last.rss_mib,
            first.fds,
            last.fds,
            first.threads,
            last.threads,
        );
        println!(
            "floors: RSS growth < 10 %: {}; no fd growth: {}; no thread growth: {}",
            verdict(growth < 10.0),
            verdict(last.fds <= first.fds),
            verdict(last.threads <= first.threads)
        );
        // What grows by design in the first hour (the console's hour of each host's series,
        // the workers' per-series gauges) is done growing later: the second half alone shows a
        // leak apart from it.
        let middle = self.readings[self.readings.len() / 2];
        println!(
            "second half: RSS {:.1} → {:.1} MiB ({:+.1} %) from {:.0} s on",
            middle.rss_mib,
            last.rss_mib,
            (last.rss_mib / middle.rss_mib - 1.0) * 100.0,
            middle.at.as_secs_f64()
        );
    }
}
