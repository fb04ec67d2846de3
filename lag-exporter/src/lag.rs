//! From what the cluster said to the figures served: lag per partition, `records_lag_max` and the
//! sum per group and topic, uncommitted partitions, and lag in seconds. Pure functions.

use std::collections::{BTreeSet, HashMap};

use crate::cluster::Snapshot;
use crate::config::Granularity;
use crate::groups::Group;
use crate::metrics::{self, Sample};

/// Kafka's classic group states; each gets a `kafka_consumergroup_state` series. A KIP-848 group
/// is Empty, Stable or Dead too, but between them Assigning or Reconciling, which librdkafka
/// answers as `Unknown`: any other state gets a series of its own while it lasts.
const STATES: [&str; 5] = ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"];

/// The topics a group is on: those it committed on and those its members are assigned, that
/// still exist and pass the topic filter.
fn topics_of<'a>(group: &'a Group, snapshot: &'a Snapshot) -> impl Iterator<Item = &'a String> {
    let committed = group.committed.keys().map(|(t, _)| t);
    committed
        .chain(group.assigned_topics.iter())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|t| snapshot.partitions.contains_key(*t))
}

/// The records whose timestamps give lag in seconds: for every lagging partition, the first
/// record the group has not consumed (at its committed offset, or at the log start when
/// retention has removed that one).
pub fn first_unconsumed(snapshot: &Snapshot) -> BTreeSet<(String, i32, i64)> {
    let mut out = BTreeSet::new();
    for ((topic, partition), committed) in snapshot.groups.iter().flat_map(|g| g.committed.iter()) {
        let Some(w) = snapshot.partitions.get(topic).and_then(|ps| ps.get(partition)) else {
            continue;
        };
        if w.high_watermark > *committed {
            out.insert((topic.clone(), *partition, (*committed).max(w.log_start_offset)));
        }
    }
    out
}

/// The figures of one collection. `timestamps` holds record timestamps (ms) by (topic,
/// partition, offset); `now_ms` is the wall clock in ms.
pub fn figures(
    snapshot: &Snapshot,
    granularity: Granularity,
    timestamps: &HashMap<(String, i32, i64), i64>,
    now_ms: i64,
) -> Sample {
    let mut s = Sample::default();
    for (topic, partitions) in &snapshot.partitions {
        for (p, w) in partitions {
            let p = p.to_string();
            s.set(&metrics::HIGH_WATERMARK, &[topic, &p], w.high_watermark as f64);
            s.set(&metrics::LOG_START_OFFSET, &[topic, &p], w.log_start_offset as f64);
        }
    }
    for g in &snapshot.groups {
        s.set(&metrics::MEMBERS, &[&g.name], g.members as f64);
        for state in STATES {
            s.set(
                &metrics::STATE,
                &[&g.name, state],
                f64::from(u8::from(g.state == state)),
            );
        }
        if !STATES.contains(&g.state.as_str()) {
            s.set(&metrics::STATE, &[&g.name, &g.state], 1.0);
        }
        for topic in topics_of(g, snapshot) {
            group_topic(&mut s, g, topic, snapshot, granularity, timestamps, now_ms);
        }
    }
    s
}

fn group_topic(
    s: &mut Sample,
    g: &Group,
    topic: &str,
    snapshot: &Snapshot,
    granularity: Granularity,
    timestamps: &HashMap<(String, i32, i64), i64>,
    now_ms: i64,
) {
    let labels = [g.name.as_str(), topic];
    let (mut max, mut sum, mut uncommitted, mut any_committed) = (0i64, 0i64, 0u32, false);
    let (mut oldest_ms, mut lagging, mut timed) = (None::<i64>, 0u32, 0u32);
    for (p, w) in &snapshot.partitions[topic] {
        let Some(&committed) = g.committed.get(&(topic.to_string(), *p)) else {
            // Unknown lag only where there is something to lag on: a partition that never held
            // a record (or whose records retention removed) is no blind spot, and counting it
            // would keep the uncommitted alert firing on every topic with more partitions than
            // keys, such as one host's agent writing to one of the metric topic's six.
            if w.high_watermark > w.log_start_offset {
                uncommitted += 1;
            }
            continue;
        };
        any_committed = true;
        let lag = (w.high_watermark - committed).max(0);
        max = max.max(lag);
        sum += lag;
        if granularity == Granularity::Partition {
            let p = p.to_string();
            s.set(&metrics::LAG, &[&g.name, topic, &p], lag as f64);
            s.set(&metrics::COMMITTED_OFFSET, &[&g.name, topic, &p], committed as f64);
        }
        if lag > 0 {
            lagging += 1;
            let key = (topic.to_string(), *p, committed.max(w.log_start_offset));
            if let Some(&ts) = timestamps.get(&key) {
                timed += 1;
                oldest_ms = Some(oldest_ms.map_or(ts, |o: i64| o.min(ts)));
            }
        }
    }
    s.set(&metrics::PARTITIONS_UNCOMMITTED, &labels, f64::from(uncommitted));
    if !any_committed {
        return;
    }
    s.set(&metrics::RECORDS_LAG_MAX, &labels, max as f64);
    s.set(&metrics::LAG_SUM, &labels, sum as f64);
    // A lag we could not date is left out rather than reported as "caught up".
    match oldest_ms {
        None if lagging == 0 => s.set(&metrics::LAG_SECONDS, &labels, 0.0),
        Some(ts) if timed > 0 => s.set(&metrics::LAG_SECONDS, &labels, ((now_ms - ts).max(0) as f64) / 1000.0),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::Watermarks;

    fn snapshot() -> Snapshot {
        let w = |l, h| Watermarks {
            log_start_offset: l,
            high_watermark: h,
        };
        let mut partitions = BTreeMap::new();
        partitions.insert(
            "t".to_string(),
            // Partition 3 is empty: its 3 records were removed by retention.
            BTreeMap::from([(0, w(0, 10)), (1, w(5, 7)), (2, w(0, 4)), (3, w(3, 3))]),
        );
        let committed = BTreeMap::from([(("t".to_string(), 0), 4), (("t".to_string(), 1), 2)]);
        let group = |name: &str, committed| Group {
            name: name.into(),
            state: "Stable".into(),
            members: 1,
            assigned_topics: BTreeSet::from(["t".to_string()]),
            committed,
        };
        Snapshot {
            partitions,
            groups: vec![group("g", committed), group("fresh", BTreeMap::new())],
        }
    }

    #[test]
    fn lag_is_log_end_minus_committed_and_uncommitted_partitions_with_records_are_counted_not_guessed() {
        let snap = snapshot();
        let wanted = first_unconsumed(&snap);
        // Partition 1's committed offset 2 is below the log start 5: the first record left is 5.
        assert_eq!(wanted, BTreeSet::from([("t".into(), 0, 4), ("t".into(), 1, 5)]));
        let ts = HashMap::from([(("t".to_string(), 0, 4), 10_000), (("t".to_string(), 1, 5), 7_000)]);
        let s = figures(&snap, Granularity::Partition, &ts, 12_500);
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "0"]), Some(6.0));
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "1"]), Some(5.0));
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "2"]), None);
        assert_eq!(s.get(&metrics::RECORDS_LAG_MAX, &["g", "t"]), Some(6.0));
        assert_eq!(s.get(&metrics::LAG_SUM, &["g", "t"]), Some(11.0));
        assert_eq!(s.get(&metrics::LAG_SECONDS, &["g", "t"]), Some(5.5));
        // Partitions 2 (g) and 0-2 (fresh) hold records no commit accounts for; the empty
        // partition 3 counts for neither group.
        assert_eq!(s.get(&metrics::PARTITIONS_UNCOMMITTED, &["g", "t"]), Some(1.0));
        assert_eq!(s.get(&metrics::PARTITIONS_UNCOMMITTED, &["fresh", "t"]), Some(3.0));
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "3"]), None);
        assert_eq!(s.get(&metrics::RECORDS_LAG_MAX, &["fresh", "t"]), None);
        assert_eq!(s.get(&metrics::LAG_SECONDS, &["fresh", "t"]), None);
        assert_eq!(s.get(&metrics::STATE, &["g", "Stable"]), Some(1.0));
        assert_eq!(s.get(&metrics::STATE, &["g", "Empty"]), Some(0.0));
        assert_eq!(s.get(&metrics::HIGH_WATERMARK, &["t", "1"]), Some(7.0));
    }

    #[test]
    fn topic_granularity_has_no_partition_series_and_undated_lag_is_not_zero() {
        let s = figures(&snapshot(), Granularity::Topic, &HashMap::new(), 0);
        assert!(!s.series.contains_key(metrics::LAG.name));
        assert!(!s.series.contains_key(metrics::COMMITTED_OFFSET.name));
        assert_eq!(s.get(&metrics::LAG_SECONDS, &["g", "t"]), None);
    }
}
