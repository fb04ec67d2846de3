//! The run's results as a table on stdout: each broker's median round per workload, sluice's
//! ratio to each peer, the brokers' CPU per record, peak memory and start times.

use std::time::Duration;

use crate::broker::{Broker, Started};
use crate::workloads::Figures;
use crate::CLIENT_ALLOCATOR;

/// The round whose headline figure is the median of all rounds (the upper median for an even
/// count); a failure in any round is reported instead.
pub fn median(mut rounds: Vec<Result<Figures, String>>) -> Result<Figures, String> {
    if let Some(failed) = rounds.iter().find(|r| r.is_err()) {
        return failed.clone();
    }
    let key = |f: &Figures| f.latency.map_or(-f.records_per_sec, |l| l[1]);
    rounds.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => key(a).total_cmp(&key(b)),
        _ => std::cmp::Ordering::Equal,
    });
    rounds.swap_remove(rounds.len() / 2)
}

/// sluice ÷ peer: the ratio of throughputs, or of p99 latencies for the latency workload.
pub fn ratio(sluice: &Figures, peer: &Figures) -> f64 {
    match (sluice.latency, peer.latency) {
        (Some(s), Some(p)) => s[1] / p[1],
        _ => sluice.records_per_sec / peer.records_per_sec,
    }
}

pub fn describe_start(s: &Started) -> String {
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    let mut text = format!("port accepting after {}", ms(s.accepting));
    if let Some((d, what)) = s.ready {
        text += &format!(", {what} after {}", ms(d));
    }
    text
}

pub fn print_table(brokers: &[Broker], results: &[(&str, Vec<Result<Figures, String>>)]) {
    let names: Vec<&str> = brokers.iter().map(|b| b.name).collect();
    // A table row from its columns: workload, one per broker, one ratio per peer (the first
    // broker, sluice, ÷ that peer), broker CPU.
    let line = |columns: Vec<String>| println!("| {} |", columns.join(" | "));
    let mut header = vec!["workload".to_string()];
    header.extend(names.iter().map(|n| n.to_string()));
    header.extend(names[1..].iter().map(|p| format!("{} ÷ {p}", names[0])));
    header.push(format!("broker CPU µs/record ({})", names.join(" / ")));
    let columns = header.len();
    line(header);
    println!("|{}", "---|".repeat(columns));
    for (name, row) in results {
        let mut cells = vec![name.to_string()];
        cells.extend(row.iter().map(|r| r.as_ref().map_or_else(Clone::clone, describe)));
        cells.extend(row[1..].iter().map(|peer| match (&row[0], peer) {
            (Ok(s), Ok(p)) if s.latency.is_some() => format!("p99 {:.3}×", ratio(s, p)),
            (Ok(s), Ok(p)) => format!("{:.2}×", ratio(s, p)),
            _ => "–".into(),
        }));
        let cpu: Vec<String> = row
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or("–".into(), |f| format!("{:.2}", f.broker_cpu_us_per_record))
            })
            .collect();
        cells.push(cpu.join(" / "));
        line(cells);
    }
    println!();
    println!("clients' allocator: {CLIENT_ALLOCATOR}  ");
    for b in brokers {
        if let Some(rss) = b.peak_rss_mib() {
            println!("{} peak resident memory: {rss:.0} MiB  ", b.name);
        }
    }
    for b in brokers {
        println!("{} start (process start →): {}  ", b.name, describe_start(&b.started));
    }
}

pub fn describe(f: &Figures) -> String {
    match f.latency {
        Some([p50, p99, p999, max]) => {
            format!("p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {p999:.2} ms, max {max:.1} ms")
        }
        None => format!("{:.0} rec/s ({:.0} MB/s)", f.records_per_sec, f.mb_per_sec),
    }
}
