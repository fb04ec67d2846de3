//! `[[inputs.cpu]]`: Telegraf's cpu input from `/proc/stat`, through procfs.
//!
//! Usage is a difference: each gather reads every mode's tick counter for every CPU and reports
//! `usage_<mode> = 100 × Δmode / Δtotal` against the previous read. Choices, following Telegraf's
//! `plugins/inputs/cpu`:
//!
//! - `Δtotal` is the sum of user, nice, system, idle, iowait, irq, softirq and steal: the
//!   elapsed time as the kernel accounted it for that CPU (wall-clock time would disagree by
//!   the tick jitter and for CPUs that were offline). guest and guest_nice are *not* added: the
//!   kernel already counts guest time inside user (and guest_nice inside nice), so
//!   `usage_user` is user − guest and `usage_nice` is nice − guest_nice, and the ten usage
//!   fields add up to 100.
//! - `usage_active` is 100 − `usage_idle` (Telegraf's `active = total − idle`; iowait counts
//!   as active there, and here).
//! - A counter that goes backwards (per-CPU iowait does on some kernels; hotplug resets a CPU)
//!   contributes 0, never a negative share. If the total went backwards the CPU was reset: no
//!   usage is reported for that round and the new read becomes the baseline. Every share is
//!   therefore in [0, 100].
//! - `time_*` (with `collect_cpu_time`) are the raw counters in seconds, as Telegraf reports them.

use model::Metric;
use procfs::{CpuTime, CurrentSI, KernelStats};

use super::InputError;
use crate::config::{ConfigError, CpuConfig};
use crate::filter::FieldFilter;

/// One CPU's cumulative ticks per mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

impl From<&CpuTime> for Times {
    fn from(t: &CpuTime) -> Self {
        Times {
            user: t.user,
            nice: t.nice,
            system: t.system,
            idle: t.idle,
            iowait: t.iowait.unwrap_or(0),
            irq: t.irq.unwrap_or(0),
            softirq: t.softirq.unwrap_or(0),
            steal: t.steal.unwrap_or(0),
            guest: t.guest.unwrap_or(0),
            guest_nice: t.guest_nice.unwrap_or(0),
        }
    }
}

impl Times {
    /// Elapsed ticks: every mode except guest and guest_nice, which user and nice already hold.
    pub fn total(&self) -> u64 {
        self.user + self.nice + self.system + self.idle + self.iowait + self.irq + self.softirq + self.steal
    }
}

/// Percentages of one CPU between two reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub user: f64,
    pub system: f64,
    pub idle: f64,
    pub nice: f64,
    pub iowait: f64,
    pub irq: f64,
    pub softirq: f64,
    pub steal: f64,
    pub guest: f64,
    pub guest_nice: f64,
    pub active: f64,
}

impl Usage {
    /// Usage from `prev` to `cur`; `None` when no tick elapsed or the counters were reset.
    pub fn between(prev: &Times, cur: &Times) -> Option<Usage> {
        if cur.total() < prev.total() {
            return None;
        }
        let d = |c: u64, p: u64| c.saturating_sub(p);
        let user = d(cur.user, prev.user);
        let nice = d(cur.nice, prev.nice);
        let system = d(cur.system, prev.system);
        let idle = d(cur.idle, prev.idle);
        let iowait = d(cur.iowait, prev.iowait);
        let irq = d(cur.irq, prev.irq);
        let softirq = d(cur.softirq, prev.softirq);
        let steal = d(cur.steal, prev.steal);
        // Guest time is inside user time; it cannot be more of it.
        let guest = d(cur.guest, prev.guest).min(user);
        let guest_nice = d(cur.guest_nice, prev.guest_nice).min(nice);
        let total = user + nice + system + idle + iowait + irq + softirq + steal;
        if total == 0 {
            return None;
        }
        let pct = |ticks: u64| 100.0 * ticks as f64 / total as f64;
        Some(Usage {
            user: pct(user - guest),
            system: pct(system),
            idle: pct(idle),
            nice: pct(nice - guest_nice),
            iowait: pct(iowait),
            irq: pct(irq),
            softirq: pct(softirq),
            steal: pct(steal),
            guest: pct(guest),
            guest_nice: pct(guest_nice),
            active: pct(total - idle),
        })
    }
}

pub struct Cpu {
    config: CpuConfig,
    filter: FieldFilter,
    ticks_per_second: f64,
    /// The previous read: index 0 is the total, 1.. the CPUs in `/proc/stat` order.
    last: Vec<Times>,
}

impl Cpu {
    pub fn new(config: CpuConfig) -> Result<Self, ConfigError> {
        Ok(Cpu {
            filter: config.field_filter()?,
            config,
            ticks_per_second: procfs::ticks_per_second() as f64,
            last: Vec::new(),
        })
    }

    pub fn gather(&mut self, timestamp: i64) -> Result<Vec<Metric>, InputError> {
        let stat = KernelStats::current().map_err(|source| InputError { input: "cpu", source })?;
        let now: Vec<Times> = std::iter::once(&stat.total)
            .chain(&stat.cpu_time)
            .map(Times::from)
            .collect();
        Ok(self.metrics(now, timestamp))
    }

    /// Metrics for a new read `now` (total first), which becomes the baseline.
    pub fn metrics(&mut self, now: Vec<Times>, timestamp: i64) -> Vec<Metric> {
        let mut out = Vec::with_capacity(now.len());
        // procfs keeps the CPUs in `/proc/stat` order without their numbers; an offline CPU has
        // no line there, so the numbers are positions (as Telegraf's are on most systems).
        for (i, cur) in now.iter().enumerate() {
            let wanted = if i == 0 {
                self.config.totalcpu
            } else {
                self.config.percpu
            };
            if !wanted {
                continue;
            }
            let name = if i == 0 {
                "cpu-total".to_string()
            } else {
                format!("cpu{}", i - 1)
            };
            let mut m = Metric::new("cpu", timestamp).tag("cpu", name);
            if self.config.collect_cpu_time {
                self.add_times(&mut m, cur);
            }
            // A changed CPU count means hotplug: positions no longer match, so start over.
            let prev = (self.last.len() == now.len()).then(|| self.last[i]);
            if let Some(u) = prev.and_then(|p| Usage::between(&p, cur)) {
                add_usage(&mut m, &u, self.config.report_active);
            }
            for (k, v) in &self.config.tags {
                m.tags.insert(k.clone(), v.clone());
            }
            if self.filter.apply(&mut m) {
                out.push(m);
            }
        }
        self.last = now;
        out
    }

    fn add_times(&self, m: &mut Metric, t: &Times) {
        let s = |ticks: u64| ticks as f64 / self.ticks_per_second;
        for (k, v) in [
            ("time_user", t.user),
            ("time_system", t.system),
            ("time_idle", t.idle),
            ("time_nice", t.nice),
            ("time_iowait", t.iowait),
            ("time_irq", t.irq),
            ("time_softirq", t.softirq),
            ("time_steal", t.steal),
            ("time_guest", t.guest),
            ("time_guest_nice", t.guest_nice),
        ] {
            m.fields.insert(k.into(), s(v).into());
        }
        if self.config.report_active {
            m.fields.insert("time_active".into(), s(t.total() - t.idle).into());
        }
    }
}

fn add_usage(m: &mut Metric, u: &Usage, report_active: bool) {
    for (k, v) in [
        ("usage_user", u.user),
        ("usage_system", u.system),
        ("usage_idle", u.idle),
        ("usage_nice", u.nice),
        ("usage_iowait", u.iowait),
        ("usage_irq", u.irq),
        ("usage_softirq", u.softirq),
        ("usage_steal", u.steal),
        ("usage_guest", u.guest),
        ("usage_guest_nice", u.guest_nice),
    ] {
        m.fields.insert(k.into(), v.into());
    }
    if report_active {
        m.fields.insert("usage_active".into(), u.active.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::FieldValue;
    use proptest::prelude::*;

    fn times(user: u64, system: u64, idle: u64, steal: u64, guest: u64) -> Times {
        Times {
            user,
            system,
            idle,
            steal,
            guest,
            ..Times::default()
        }
    }

    #[test]
    fn usage_is_each_modes_share_of_elapsed_ticks() {
        let u = Usage::between(&times(100, 50, 1000, 0, 0), &times(130, 60, 1050, 10, 0)).unwrap();
        assert_eq!((u.user, u.system, u.idle, u.steal), (30.0, 10.0, 50.0, 10.0));
        assert_eq!(u.active, 50.0);
    }

    #[test]
    fn guest_time_is_taken_out_of_user_not_counted_twice() {
        let u = Usage::between(&times(0, 0, 0, 0, 0), &times(80, 0, 20, 0, 30)).unwrap();
        assert_eq!((u.user, u.guest, u.idle), (50.0, 30.0, 20.0));
    }

    #[test]
    fn a_counter_going_backwards_never_gives_a_negative_share() {
        let prev = Times {
            iowait: 500,
            ..times(100, 100, 100, 0, 0)
        };
        let cur = Times {
            iowait: 400,
            ..times(200, 100, 300, 0, 0)
        };
        let u = Usage::between(&prev, &cur).unwrap();
        assert_eq!((u.iowait, u.user, u.idle), (0.0, 100.0 / 3.0, 200.0 / 3.0));
    }

    #[test]
    fn a_reset_cpu_reports_nothing_then_starts_over() {
        assert_eq!(
            Usage::between(&times(5000, 0, 5000, 0, 0), &times(10, 0, 10, 0, 0)),
            None
        );
        assert_eq!(Usage::between(&times(1, 1, 1, 0, 0), &times(1, 1, 1, 0, 0)), None);
    }

    #[test]
    fn first_read_has_no_usage_and_the_second_does() {
        let mut cpu = Cpu::new(CpuConfig {
            collect_cpu_time: true,
            report_active: true,
            fieldexclude: vec!["time_guest*".into()],
            ..CpuConfig::default()
        })
        .unwrap();
        let first = cpu.metrics(vec![times(0, 0, 0, 0, 0); 3], 1);
        assert_eq!(first.len(), 3);
        assert!(first[0].fields.contains_key("time_user"));
        assert!(!first[0].fields.contains_key("usage_user"));
        let second = cpu.metrics(vec![times(10, 0, 90, 0, 0); 3], 2);
        assert_eq!(second[0].tags["cpu"], "cpu-total");
        assert_eq!(second[2].tags["cpu"], "cpu1");
        assert_eq!(second[1].fields["usage_idle"], FieldValue::Float(90.0));
        assert_eq!(second[1].fields["usage_active"], FieldValue::Float(10.0));
        assert!(!second[1].fields.contains_key("time_guest"));
        assert!(second[1].fields.contains_key("time_active"));
    }

    #[test]
    fn the_notes_config_drops_time_fields_and_keeps_usage() {
        let mut cpu = Cpu::new(CpuConfig {
            collect_cpu_time: true,
            fieldexclude: vec!["time_*".into()],
            ..CpuConfig::default()
        })
        .unwrap();
        assert!(
            cpu.metrics(vec![Times::default(); 2], 0).is_empty(),
            "no field left: dropped"
        );
        let m = cpu.metrics(vec![times(1, 1, 2, 0, 0); 2], 1);
        assert!(m[0].fields.keys().all(|k| k.starts_with("usage_")));
    }

    fn arb_times() -> impl Strategy<Value = Times> {
        prop::array::uniform10(0u64..1 << 40).prop_map(|a| Times {
            user: a[0],
            nice: a[1],
            system: a[2],
            idle: a[3],
            iowait: a[4],
            irq: a[5],
            softirq: a[6],
            steal: a[7],
            guest: a[8],
            guest_nice: a[9],
        })
    }

    proptest! {
        #[test]
        fn shares_stay_between_0_and_100_and_add_up(prev in arb_times(), cur in arb_times()) {
            if let Some(u) = Usage::between(&prev, &cur) {
                let all = [u.user, u.system, u.idle, u.nice, u.iowait, u.irq, u.softirq, u.steal, u.guest, u.guest_nice, u.active];
                prop_assert!(all.iter().all(|v| (0.0..=100.0).contains(v)), "{:?}", u);
                let sum = u.user + u.system + u.idle + u.nice + u.iowait + u.irq + u.softirq + u.steal + u.guest + u.guest_nice;
                prop_assert!((sum - 100.0).abs() < 1e-6, "sum {}", sum);
            }
        }
    }
}
