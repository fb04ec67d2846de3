//! Every metric the exporter serves, declared once: the cluster figures of one collection
//! ([`Family`] table, rebuilt and swapped whole after each successful collection, so series of
//! deleted groups and topics vanish) and the exporter's own health ([`Health`]).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, IntCounter, IntGauge, Opts, Registry};

/// One family of cluster figures: gauges, or a counter (whose name ends in `_total`).
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub counter: bool,
}

const GT: &[&str] = &["group", "topic"];
const GTP: &[&str] = &["group", "topic", "partition"];
const TP: &[&str] = &["topic", "partition"];

pub const RECORDS_LAG_MAX: Family = Family {
    name: "kafka_consumergroup_records_lag_max",
    help: "Largest partition lag (log-end offset minus committed offset) of the group on the topic",
    labels: GT,
    counter: false,
};
pub const LAG_SUM: Family = Family {
    name: "kafka_consumergroup_lag_sum",
    help: "Sum of the partition lags of the group on the topic",
    labels: GT,
    counter: false,
};
pub const LAG: Family = Family {
    name: "kafka_consumergroup_lag",
    help: "Log-end offset minus the group's committed offset (granularity = partition)",
    labels: GTP,
    counter: false,
};
pub const COMMITTED_OFFSET: Family = Family {
    name: "kafka_consumergroup_committed_offset",
    help: "The group's committed offset (granularity = partition)",
    labels: GTP,
    counter: false,
};
pub const LAG_SECONDS: Family = Family {
    name: "kafka_consumergroup_lag_seconds",
    help: "Age of the oldest record the group has not consumed, from its timestamp; 0 when caught up",
    labels: GT,
    counter: false,
};
pub const PARTITIONS_UNCOMMITTED: Family = Family {
    name: "kafka_consumergroup_partitions_uncommitted",
    help: "Partitions of the topic on which the group has no committed offset",
    labels: GT,
    counter: false,
};
pub const MEMBERS: Family = Family {
    name: "kafka_consumergroup_members",
    help: "Members of the consumer group",
    labels: &["group"],
    counter: false,
};
pub const STATE: Family = Family {
    name: "kafka_consumergroup_state",
    help: "1 for the group's current state (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead)",
    labels: &["group", "state"],
    counter: false,
};
pub const HIGH_WATERMARK: Family = Family {
    name: "kafka_topic_partition_high_watermark",
    help: "Log-end offset (high watermark) of the partition",
    labels: TP,
    counter: false,
};
pub const LOG_START_OFFSET: Family = Family {
    name: "kafka_topic_partition_log_start_offset",
    help: "Oldest offset still in the partition's log",
    labels: TP,
    counter: false,
};

pub const RETENTION_MARGIN_SECONDS: Family = Family {
    name: "kafka_consumergroup_retention_margin_seconds",
    help: "Time until retention.ms may delete the oldest record the group has not consumed (the whole retention.ms when caught up)",
    labels: GT,
    counter: false,
};
pub const RECORDS_LOST_TOTAL: Family = Family {
    name: "kafka_consumergroup_records_lost_total",
    help: "Records that left the log (retention, DeleteRecords) before the group consumed them",
    labels: GT,
    counter: true,
};

pub const FAMILIES: &[&Family] = &[
    &RECORDS_LAG_MAX,
    &LAG_SUM,
    &LAG,
    &COMMITTED_OFFSET,
    &LAG_SECONDS,
    &PARTITIONS_UNCOMMITTED,
    &RETENTION_MARGIN_SECONDS,
    &RECORDS_LOST_TOTAL,
    &MEMBERS,
    &STATE,
    &HIGH_WATERMARK,
    &LOG_START_OFFSET,
];

pub const UP: &str = "sluice_lag_exporter_up";
pub const COLLECT_DURATION: &str = "sluice_lag_exporter_collect_duration_seconds";
pub const LAST_SUCCESS: &str = "sluice_lag_exporter_last_success_timestamp_seconds";
pub const SERIES: &str = "sluice_lag_exporter_series";
pub const COLLECTIONS_FAILED: &str = "sluice_lag_exporter_collections_failed_total";

/// The figures of one collection, as series before they become metric families.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Sample {
    pub series: BTreeMap<&'static str, Vec<(Vec<String>, f64)>>,
}

impl Sample {
    pub fn set(&mut self, family: &Family, labels: &[&str], value: f64) {
        debug_assert_eq!(labels.len(), family.labels.len(), "{}", family.name);
        let labels = labels.iter().map(|l| l.to_string()).collect();
        self.series.entry(family.name).or_default().push((labels, value));
    }

    pub fn len(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of one series, for tests and logs.
    pub fn get(&self, family: &Family, labels: &[&str]) -> Option<f64> {
        self.series
            .get(family.name)?
            .iter()
            .find(|(l, _)| l.iter().map(String::as_str).eq(labels.iter().copied()))
            .map(|(_, v)| *v)
    }

    fn families(&self) -> Result<Vec<MetricFamily>, prometheus::Error> {
        let registry = Registry::new();
        for family in FAMILIES {
            let Some(series) = self.series.get(family.name) else {
                continue;
            };
            let opts = Opts::new(family.name, family.help);
            if family.counter {
                let vec = prometheus::CounterVec::new(opts, family.labels)?;
                for (labels, value) in series {
                    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                    vec.get_metric_with_label_values(&labels)?.inc_by(*value);
                }
                registry.register(Box::new(vec))?;
            } else {
                let vec = prometheus::GaugeVec::new(opts, family.labels)?;
                for (labels, value) in series {
                    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                    vec.get_metric_with_label_values(&labels)?.set(*value);
                }
                registry.register(Box::new(vec))?;
            }
        }
        Ok(registry.gather())
    }
}

/// The last good collection, read by every scrape. The lock is held only to swap or clone an
/// `Arc`, so a scrape never waits for a collection.
#[derive(Clone)]
pub struct Cache {
    descs: Arc<Vec<Desc>>,
    families: Arc<RwLock<Arc<Vec<MetricFamily>>>>,
}

impl Cache {
    fn new() -> Result<Cache, prometheus::Error> {
        let descs = FAMILIES
            .iter()
            .map(|f| {
                Desc::new(
                    f.name.into(),
                    f.help.into(),
                    f.labels.iter().map(|l| l.to_string()).collect(),
                    Default::default(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cache {
            descs: Arc::new(descs),
            families: Default::default(),
        })
    }

    pub fn publish(&self, sample: &Sample) -> Result<(), prometheus::Error> {
        let families = Arc::new(sample.families()?);
        *self.families.write().unwrap_or_else(|e| e.into_inner()) = families;
        Ok(())
    }
}

impl Collector for Cache {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let families = self.families.read().unwrap_or_else(|e| e.into_inner()).clone();
        families.as_ref().clone()
    }
}

/// The exporter's own health.
#[derive(Clone)]
pub struct Health {
    pub up: IntGauge,
    pub collect_duration: Gauge,
    pub last_success: Gauge,
    pub series: IntGauge,
    pub collections_failed: IntCounter,
}

/// The registry that `/metrics` serves, with the cache and the health gauges in it.
pub fn registry() -> Result<(Registry, Cache, Health), prometheus::Error> {
    let registry = Registry::new();
    let cache = Cache::new()?;
    registry.register(Box::new(cache.clone()))?;
    let health = Health {
        up: IntGauge::new(
            UP,
            "1 if the last collection succeeded, 0 if it failed (the last good figures are served)",
        )?,
        collect_duration: Gauge::new(COLLECT_DURATION, "Duration of the last collection")?,
        last_success: Gauge::new(LAST_SUCCESS, "Unix time at which the last successful collection ended")?,
        series: IntGauge::new(SERIES, "Cluster series served from the last successful collection")?,
        collections_failed: IntCounter::new(COLLECTIONS_FAILED, "Collections that failed")?,
    };
    registry.register(Box::new(health.up.clone()))?;
    registry.register(Box::new(health.collect_duration.clone()))?;
    registry.register(Box::new(health.last_success.clone()))?;
    registry.register(Box::new(health.series.clone()))?;
    registry.register(Box::new(health.collections_failed.clone()))?;
    Ok((registry, cache, health))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_sample_replaces_the_previous_one_whole() {
        let (registry, cache, _) = registry().unwrap();
        let mut a = Sample::default();
        a.set(&RECORDS_LAG_MAX, &["g1", "t"], 5.0);
        a.set(&MEMBERS, &["g1"], 2.0);
        cache.publish(&a).unwrap();
        let names: Vec<_> = registry.gather().iter().map(|f| f.name().to_string()).collect();
        assert!(names.contains(&RECORDS_LAG_MAX.name.to_string()), "{names:?}");
        let mut b = Sample::default();
        b.set(&MEMBERS, &["g2"], 1.0);
        cache.publish(&b).unwrap();
        let families = registry.gather();
        let members = families.iter().find(|f| f.name() == MEMBERS.name).unwrap();
        assert_eq!(members.get_metric().len(), 1);
        assert!(!families.iter().any(|f| f.name() == RECORDS_LAG_MAX.name));
    }

    #[test]
    fn every_name_follows_prometheus_naming() {
        for f in FAMILIES {
            assert!(
                f.name.starts_with("kafka_") && f.name.ends_with("_total") == f.counter,
                "{}",
                f.name
            );
        }
    }
}
