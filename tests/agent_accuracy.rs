//! Accuracy under a known load: a busy loop pinned to one CPU and a process (this one) holding
//! 1 GiB. The agent's inputs are compared with this test's own reading of /proc over the same
//! window: `usage_idle` within 2 percentage points, `used` within 2 %. The mean absolute error
//! of `usage_idle` over the windows is printed (BENCHMARKS.md quotes it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agent::config::{CpuConfig, MemConfig};
use agent::inputs::{Cpu, Mem};
use model::{FieldValue, Metric};

/// Idle and total ticks per CPU line of /proc/stat ("cpu", "cpu0", …), read by hand so the
/// reference does not share the agent's parser.
fn proc_stat() -> Vec<(String, u64, u64)> {
    std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu"))
        .map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next().unwrap().to_string();
            let v: Vec<u64> = parts.map(|p| p.parse().unwrap()).collect();
            // user nice system idle iowait irq softirq steal (guest is inside user).
            let total: u64 = v.iter().take(8).sum();
            (name, v[3], total)
        })
        .collect()
}

/// used = MemTotal − MemFree − Buffers − Cached − SReclaimable, in bytes.
fn proc_used() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb = |key: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(|v| v.parse::<u64>().unwrap() * 1024)
            .unwrap_or(0)
    };
    kb("MemTotal") - kb("MemFree") - kb("Buffers") - kb("Cached") - kb("SReclaimable")
}

fn float(m: &Metric, field: &str) -> f64 {
    match m.fields[field] {
        FieldValue::Float(v) => v,
        ref other => panic!("{field}: {other:?}"),
    }
}

fn uint(m: &Metric, field: &str) -> u64 {
    match m.fields[field] {
        FieldValue::UInt(v) => v,
        ref other => panic!("{field}: {other:?}"),
    }
}

fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity only
    // read and write that local set for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[test]
fn usage_idle_and_used_match_proc_under_a_known_load() {
    let cpus = proc_stat().len() - 1;
    let busy_cpu = cpus.saturating_sub(1);
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            pin_to(busy_cpu);
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        })
    };
    let used_before = proc_used();
    // Hold 1 GiB, every page touched so it is resident.
    let hold: Vec<u8> = vec![1u8; 1 << 30];
    std::hint::black_box(&hold);

    let mut cpu = Cpu::new(CpuConfig::default()).unwrap();
    let mut mem = Mem::new(MemConfig::default()).unwrap();
    cpu.gather(0).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let windows = 5;
    let mut errors = Vec::new();
    let mut busy_idle = Vec::new();
    for _ in 0..windows {
        cpu.gather(0).unwrap();
        let before = proc_stat();
        std::thread::sleep(Duration::from_secs(1));
        let after = proc_stat();
        let metrics = cpu.gather(1).unwrap();
        for ((name, idle0, total0), (_, idle1, total1)) in before.iter().zip(&after) {
            let reference = 100.0 * (idle1 - idle0) as f64 / (total1 - total0) as f64;
            let tag = if name == "cpu" {
                "cpu-total".to_string()
            } else {
                name.clone()
            };
            let m = metrics.iter().find(|m| m.tags["cpu"] == tag).unwrap();
            let reported = float(m, "usage_idle");
            assert!(
                (reported - reference).abs() <= 2.0,
                "{tag}: usage_idle {reported:.2} vs /proc {reference:.2}"
            );
            errors.push((reported - reference).abs());
            if tag == format!("cpu{busy_cpu}") {
                busy_idle.push(reported);
            }
        }
    }
    let used_ref = proc_used();
    let used = uint(&mem.gather(0).unwrap()[0], "used");
    let used_ref_after = proc_used();
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
    drop(hold);

    let mae = errors.iter().sum::<f64>() / errors.len() as f64;
    eprintln!(
        "accuracy: {windows} windows of 1 s, {} CPU lines: usage_idle mean absolute error {mae:.3} pp (max {:.3}); \
         busy cpu{busy_cpu} usage_idle {busy_idle:.1?}; mem used {:.3} GiB vs /proc {:.3} GiB; \
         used grew {:.2} GiB while holding 1 GiB",
        cpus + 1,
        errors.iter().cloned().fold(0.0, f64::max),
        used as f64 / (1u64 << 30) as f64,
        used_ref as f64 / (1u64 << 30) as f64,
        (used_ref as f64 - used_before as f64) / (1u64 << 30) as f64,
    );
    let lo = used_ref.min(used_ref_after) as f64 * 0.98;
    let hi = used_ref.max(used_ref_after) as f64 * 1.02;
    assert!(
        (lo..=hi).contains(&(used as f64)),
        "used {used} vs /proc {used_ref}..{used_ref_after}"
    );
    assert!(
        busy_idle.iter().all(|&idle| idle < 10.0),
        "the CPU running the busy loop is not idle: {busy_idle:?}"
    );
}
