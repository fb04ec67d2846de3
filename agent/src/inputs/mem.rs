//! `[[inputs.mem]]`: Telegraf's mem input from `/proc/meminfo`, through procfs.
//!
//! Field names and arithmetic are those of Telegraf on Linux (which takes them from gopsutil):
//! `cached` includes SReclaimable, `used = total − free − buffered − cached` (what `free`
//! prints as used), `available` is MemAvailable (or free + buffered + cached on kernels
//! before 3.14). Sizes are bytes; `huge_pages_total`/`huge_pages_free` are page counts.

use model::Metric;
use procfs::{Current, Meminfo};

use super::InputError;
use crate::config::{ConfigError, MemConfig};
use crate::filter::FieldFilter;

pub struct Mem {
    config: MemConfig,
    filter: FieldFilter,
}

impl Mem {
    pub fn new(config: MemConfig) -> Result<Self, ConfigError> {
        Ok(Mem {
            filter: config.field_filter()?,
            config,
        })
    }

    pub fn gather(&mut self, timestamp: i64) -> Result<Vec<Metric>, InputError> {
        let info = Meminfo::current().map_err(|source| InputError { input: "mem", source })?;
        let mut m = metric(&info, timestamp);
        for (k, v) in &self.config.tags {
            m.tags.insert(k.clone(), v.clone());
        }
        Ok(if self.filter.apply(&mut m) { vec![m] } else { vec![] })
    }
}

/// The `mem` metric for one read of `/proc/meminfo`.
pub fn metric(i: &Meminfo, timestamp: i64) -> Metric {
    let total = i.mem_total;
    let cached = i.cached + i.s_reclaimable.unwrap_or(0);
    let available = i.mem_available.unwrap_or(i.mem_free + i.buffers + cached);
    let used = total.saturating_sub(i.mem_free + i.buffers + cached);
    let pct = |v: u64| {
        if total == 0 {
            0.0
        } else {
            100.0 * v as f64 / total as f64
        }
    };
    let mut m = Metric::new("mem", timestamp)
        .field("total", total)
        .field("available", available)
        .field("used", used)
        .field("free", i.mem_free)
        .field("used_percent", pct(used))
        .field("available_percent", pct(available))
        .field("active", i.active)
        .field("inactive", i.inactive)
        .field("buffered", i.buffers)
        .field("cached", cached)
        .field("committed_as", i.committed_as)
        .field("dirty", i.dirty)
        .field("mapped", i.mapped)
        .field("slab", i.slab)
        .field("swap_cached", i.swap_cached)
        .field("swap_free", i.swap_free)
        .field("swap_total", i.swap_total)
        .field("vmalloc_chunk", i.vmalloc_chunk)
        .field("vmalloc_total", i.vmalloc_total)
        .field("vmalloc_used", i.vmalloc_used)
        .field("write_back", i.writeback);
    // Fields that older kernels or some architectures do not have are left out, not zeroed.
    for (k, v) in [
        ("commit_limit", i.commit_limit),
        ("high_free", i.high_free),
        ("high_total", i.high_total),
        ("huge_pages_free", i.hugepages_free),
        ("huge_page_size", i.hugepagesize),
        ("huge_pages_total", i.hugepages_total),
        ("low_free", i.low_free),
        ("low_total", i.low_total),
        ("page_tables", i.page_tables),
        ("shared", i.shmem),
        ("sreclaimable", i.s_reclaimable),
        ("sunreclaim", i.s_unreclaim),
        ("write_back_tmp", i.writeback_tmp),
    ] {
        if let Some(v) = v {
            m.fields.insert(k.into(), v.into());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::FieldValue;
    use procfs::FromBufRead;

    const MEMINFO: &str = "MemTotal:       16000000 kB\nMemFree:         4000000 kB\nMemAvailable:   10000000 kB\nBuffers:          500000 kB\nCached:          3000000 kB\nSwapCached:            0 kB\nActive:          6000000 kB\nInactive:        3000000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nDirty:               100 kB\nWriteback:             0 kB\nMapped:           200000 kB\nShmem:             10000 kB\nSlab:             700000 kB\nSReclaimable:     500000 kB\nSUnreclaim:       200000 kB\nCommitted_AS:    9000000 kB\nVmallocTotal:   34359738367 kB\nVmallocUsed:       50000 kB\nVmallocChunk:          0 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n";

    #[test]
    fn used_is_what_free_calls_used_and_cached_includes_reclaimable_slab() {
        let info = Meminfo::from_buf_read(MEMINFO.as_bytes()).unwrap();
        let m = metric(&info, 7);
        let kib = |v: u64| FieldValue::UInt(v * 1024);
        assert_eq!(m.fields["total"], kib(16_000_000));
        assert_eq!(m.fields["cached"], kib(3_500_000));
        assert_eq!(m.fields["used"], kib(16_000_000 - 4_000_000 - 500_000 - 3_500_000));
        assert_eq!(m.fields["available"], kib(10_000_000));
        assert_eq!(m.fields["used_percent"], FieldValue::Float(50.0));
        assert_eq!(m.fields["available_percent"], FieldValue::Float(62.5));
        assert_eq!(m.fields["huge_page_size"], FieldValue::UInt(2048 * 1024));
        assert_eq!(m.fields["huge_pages_total"], FieldValue::UInt(0));
        assert!(!m.fields.contains_key("high_free"));
    }

    #[test]
    fn reads_this_machine() {
        let mut mem = Mem::new(MemConfig::default()).unwrap();
        let m = mem.gather(1).unwrap();
        assert!(matches!(m[0].fields["total"], FieldValue::UInt(t) if t > 0));
    }
}
