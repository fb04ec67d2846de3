//! Records a group lost: offsets that left the log (retention, DeleteRecords) while the group's
//! committed offset was still below them, so the group never consumed them. Each offset is
//! counted once across collections, so each group's total on a topic only grows: it is served
//! as the counter `kafka_consumergroup_records_lost_total`.
//!
//! What is counted is what the collections saw: an offset committed below the log start is
//! noticed at the next collection, whenever the records left. A restarted exporter starts from
//! 0 and counts again what is still below the log start (Prometheus' `increase()` handles the
//! reset).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::cluster::Snapshot;

/// (group, topic) → records lost.
pub type Totals = BTreeMap<(String, String), u64>;

#[derive(Debug, Default)]
pub struct Losses {
    /// (group, topic, partition) → the offset below which losses were counted already.
    counted_to: HashMap<(String, String, i32), i64>,
    totals: Totals,
}

impl Losses {
    /// Counts what `snapshot` shows lost since the last call; the totals of every group and
    /// topic with a commit. Groups and topics that are gone are forgotten.
    pub fn observe(&mut self, snapshot: &Snapshot) -> &Totals {
        let (mut partitions, mut topics) = (HashSet::new(), HashSet::new());
        for g in &snapshot.groups {
            for ((topic, partition), &committed) in &g.committed {
                let Some(w) = snapshot.partitions.get(topic).and_then(|ps| ps.get(partition)) else {
                    continue;
                };
                let key = (g.name.clone(), topic.clone(), *partition);
                let from = self.counted_to.get(&key).map_or(committed, |&c| c.max(committed));
                let total = self.totals.entry((g.name.clone(), topic.clone())).or_insert(0);
                if w.log_start_offset > from {
                    *total += (w.log_start_offset - from) as u64;
                    self.counted_to.insert(key.clone(), w.log_start_offset);
                }
                topics.insert((key.0.clone(), key.1.clone()));
                partitions.insert(key);
            }
        }
        self.counted_to.retain(|k, _| partitions.contains(k));
        self.totals.retain(|k, _| topics.contains(k));
        &self.totals
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::Watermarks;
    use crate::groups::Group;

    fn snapshot(log_start: i64, committed: i64) -> Snapshot {
        let mut s = Snapshot::default();
        s.partitions.insert(
            "t".into(),
            BTreeMap::from([(
                0,
                Watermarks {
                    log_start_offset: log_start,
                    high_watermark: 100,
                },
            )]),
        );
        s.groups.push(Group {
            name: "g".into(),
            state: "Empty".into(),
            members: Vec::new(),
            committed: BTreeMap::from([(("t".to_string(), 0), committed)]),
        });
        s
    }

    #[test]
    fn each_offset_that_left_the_log_unconsumed_is_counted_once() {
        let mut losses = Losses::default();
        let key = ("g".to_string(), "t".to_string());
        assert_eq!(losses.observe(&snapshot(0, 10))[&key], 0, "nothing left the log yet");
        assert_eq!(losses.observe(&snapshot(25, 10))[&key], 15, "offsets 10..25");
        assert_eq!(
            losses.observe(&snapshot(25, 10))[&key],
            15,
            "seen again, not counted again"
        );
        assert_eq!(losses.observe(&snapshot(40, 10))[&key], 30, "then 25..40");
        // The group moves on to the log start (a consumer's offset reset): nothing more lost,
        // until retention overtakes it again.
        assert_eq!(losses.observe(&snapshot(40, 40))[&key], 30);
        assert_eq!(losses.observe(&snapshot(50, 45))[&key], 35, "45..50");
        // Offsets reset to earlier ones (kafka-consumer-groups --reset-offsets) are not lost
        // twice.
        assert_eq!(losses.observe(&snapshot(50, 0))[&key], 35);
        assert!(
            losses.observe(&Snapshot::default()).is_empty(),
            "a deleted group is forgotten"
        );
    }
}
