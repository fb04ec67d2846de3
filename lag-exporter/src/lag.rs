//! From one collection's [`View`] to the series served: lag per partition, `records_lag_max` and
//! the sum per group and topic, uncommitted partitions, lag in seconds, group states and
//! members. The arithmetic is the view's; this only names the series. Pure functions.

use crate::cluster::Snapshot;
use crate::config::Granularity;
use crate::metrics::{self, Sample};
use crate::view::View;

/// Kafka's classic group states; each gets a `kafka_consumergroup_state` series. A KIP-848 group
/// is Empty, Stable or Dead too, but between them Assigning or Reconciling, which librdkafka
/// answers as `Unknown`: any other state gets a series of its own while it lasts.
const STATES: [&str; 5] = ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"];

/// The series of one collection: the partitions' offsets from `snapshot`, the groups' lag from
/// `view`.
pub fn figures(snapshot: &Snapshot, view: &View, granularity: Granularity) -> Sample {
    let mut s = Sample::default();
    for (topic, partitions) in &snapshot.partitions {
        for (p, w) in partitions {
            let p = p.to_string();
            s.set(&metrics::HIGH_WATERMARK, &[topic, &p], w.high_watermark as f64);
            s.set(&metrics::LOG_START_OFFSET, &[topic, &p], w.log_start_offset as f64);
        }
    }
    for g in &view.groups {
        let group = g.group.as_str();
        s.set(&metrics::MEMBERS, &[group], g.members.len() as f64);
        for state in STATES {
            s.set(&metrics::STATE, &[group, state], f64::from(u8::from(g.state == state)));
        }
        if !STATES.contains(&g.state.as_str()) {
            s.set(&metrics::STATE, &[group, &g.state], 1.0);
        }
        for t in &g.topics {
            let labels = [group, t.topic.as_str()];
            s.set(
                &metrics::PARTITIONS_UNCOMMITTED,
                &labels,
                f64::from(t.partitions_uncommitted),
            );
            let (Some(max), Some(sum)) = (t.records_lag_max, t.lag_sum) else {
                continue;
            };
            s.set(&metrics::RECORDS_LAG_MAX, &labels, max as f64);
            s.set(&metrics::LAG_SUM, &labels, sum as f64);
            if let Some(lost) = t.records_lost {
                s.set(&metrics::RECORDS_LOST_TOTAL, &labels, lost as f64);
            }
            if let Some(margin) = t.retention_margin_seconds {
                s.set(&metrics::RETENTION_MARGIN_SECONDS, &labels, margin);
            }
            if let Some(seconds) = t.lag_seconds {
                s.set(&metrics::LAG_SECONDS, &labels, seconds);
            }
            if granularity == Granularity::Partition {
                for p in &t.partitions {
                    let (Some(lag), Some(committed)) = (p.lag, p.committed_offset) else {
                        continue;
                    };
                    let partition = p.partition.to_string();
                    let labels = [group, t.topic.as_str(), partition.as_str()];
                    s.set(&metrics::LAG, &labels, lag as f64);
                    s.set(&metrics::COMMITTED_OFFSET, &labels, committed as f64);
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use std::collections::{BTreeSet, HashMap};

    use kafka_client::native::MemberDescription;

    use super::*;
    use crate::cluster::Watermarks;
    use crate::groups::Group;
    use crate::loss::Totals;
    use crate::view::{first_unconsumed, view};

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
        let member = MemberDescription {
            member_id: "m-1".into(),
            group_instance_id: None,
            client_id: "c".into(),
            host: "/127.0.0.1".into(),
            assignment: vec![("t".to_string(), 0), ("t".to_string(), 2)],
            target_assignment: None,
        };
        let group = |name: &str, committed| Group {
            name: name.into(),
            state: "Stable".into(),
            members: vec![member.clone()],
            committed,
        };
        Snapshot {
            partitions,
            groups: vec![group("g", committed), group("fresh", BTreeMap::new())],
            retention_ms: BTreeMap::new(),
        }
    }

    #[test]
    fn lag_is_log_end_minus_committed_and_uncommitted_partitions_with_records_are_counted_not_guessed() {
        let snap = snapshot();
        let wanted = first_unconsumed(&snap);
        // Partition 1's committed offset 2 is below the log start 5: the first record left is 5.
        assert_eq!(wanted, BTreeSet::from([("t".into(), 0, 4), ("t".into(), 1, 5)]));
        let ts = HashMap::from([(("t".to_string(), 0, 4), 10_000), (("t".to_string(), 1, 5), 7_000)]);
        let mut snap = snap;
        snap.retention_ms.insert("t".into(), 10_000);
        let lost = Totals::from([(("g".to_string(), "t".to_string()), 3)]);
        let v = view(&snap, &ts, &lost, 12_500);
        let s = figures(&snap, &v, Granularity::Partition);
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "0"]), Some(6.0));
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "1"]), Some(5.0));
        assert_eq!(s.get(&metrics::LAG, &["g", "t", "2"]), None);
        assert_eq!(s.get(&metrics::RECORDS_LAG_MAX, &["g", "t"]), Some(6.0));
        assert_eq!(s.get(&metrics::LAG_SUM, &["g", "t"]), Some(11.0));
        assert_eq!(s.get(&metrics::LAG_SECONDS, &["g", "t"]), Some(5.5));
        // The oldest unconsumed record (7 s) may be deleted 10 s after its timestamp: 4.5 s on.
        assert_eq!(s.get(&metrics::RETENTION_MARGIN_SECONDS, &["g", "t"]), Some(4.5));
        assert_eq!(s.get(&metrics::RECORDS_LOST_TOTAL, &["g", "t"]), Some(3.0));
        assert_eq!(s.get(&metrics::RETENTION_MARGIN_SECONDS, &["fresh", "t"]), None);
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
        // The view holds the same figures per partition, with each partition's owner.
        let t = &v.groups[0].topics[0];
        let row = |i: usize| {
            let p = &t.partitions[i];
            (p.lag, p.lag_seconds, p.member_id.as_deref())
        };
        assert_eq!(row(0), (Some(6), Some(2.5), Some("m-1")));
        assert_eq!(row(1), (Some(5), Some(5.5), None));
        assert_eq!(row(2), (None, None, Some("m-1")));
        assert_eq!(v.groups[0].members[0].assignment.len(), 2);
    }

    #[test]
    fn topic_granularity_has_no_partition_series_and_undated_lag_is_not_zero() {
        let snap = snapshot();
        let s = figures(
            &snap,
            &view(&snap, &HashMap::new(), &Totals::new(), 0),
            Granularity::Topic,
        );
        assert!(!s.series.contains_key(metrics::LAG.name));
        assert!(!s.series.contains_key(metrics::COMMITTED_OFFSET.name));
        assert_eq!(s.get(&metrics::LAG_SECONDS, &["g", "t"]), None);
    }
}
