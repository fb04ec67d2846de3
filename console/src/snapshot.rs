//! What the page shows, gathered at every refresh: hosts from the metric topic, topics from the
//! broker with rates from the last two samples, groups from the lag exporter's view with a
//! history of `records-lag-max`. The page and `/api/console` are two renderings of one
//! [`Snapshot`], so every figure on the page is in the JSON too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use lag_exporter::view::{Member, TopicLag, View};
use serde::Serialize;

use crate::config::Lagging;
use crate::hosts::{Host, Point};

/// A topic's figures as the broker keeps them; its counters count since the broker started.
#[derive(Debug, Clone)]
pub struct TopicSample {
    pub topic: String,
    pub produced_records: u64,
    pub fetched_records: u64,
    pub partitions: Vec<PartitionOffsets>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionOffsets {
    pub partition: i32,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub size_bytes: u64,
}

/// Where topic figures come from: `sluice up` passes its broker's.
pub type TopicSource = Arc<dyn Fn() -> Vec<TopicSample> + Send + Sync>;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// When this snapshot was taken (ms since the Unix epoch).
    pub generated_at_ms: i64,
    pub window_seconds: u64,
    pub refresh_seconds: f64,
    pub hosts: Vec<Host>,
    pub topics: Vec<TopicRow>,
    pub groups: Vec<GroupRow>,
    /// When the lag exporter collected the groups' figures (0: not yet).
    pub lag_collected_at_ms: i64,
    /// Records of the metric topic that were not metrics.
    pub undecodable_records: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicRow {
    pub topic: String,
    pub partitions: usize,
    pub size_bytes: u64,
    /// Records produced per second over the last refresh; None until two samples exist.
    pub records_in_per_second: Option<f64>,
    /// Records fetched per second (by every consumer) over the last refresh.
    pub records_out_per_second: Option<f64>,
    pub partition_offsets: Vec<PartitionOffsets>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    pub group: String,
    pub state: String,
    /// Whether any topic's lag is above the `[lagging]` thresholds.
    pub lagging: bool,
    pub members: Vec<Member>,
    pub topics: Vec<TopicLag>,
    /// `records-lag-max` per topic over the window, one point per collection.
    pub lag_history: Vec<LagHistory>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LagHistory {
    pub topic: String,
    pub points: Vec<Point>,
}

/// What a snapshot needs from earlier ones: the previous counters (for rates) and the lag
/// history.
#[derive(Debug, Default)]
pub struct History {
    counters: HashMap<String, (i64, u64, u64)>,
    lag: BTreeMap<(String, String), VecDeque<Point>>,
    last_view_ms: i64,
}

/// Everything one snapshot is made from.
pub struct Inputs<'a> {
    pub now_ms: i64,
    pub window_ms: i64,
    pub refresh_seconds: f64,
    pub lagging: &'a Lagging,
    pub hosts: Vec<Host>,
    pub undecodable_records: u64,
    pub topics: Vec<TopicSample>,
    pub view: &'a View,
}

impl History {
    /// A snapshot of `inputs`, remembering what the next one needs.
    pub fn snapshot(&mut self, inputs: Inputs<'_>) -> Snapshot {
        let since = inputs.now_ms - inputs.window_ms;
        let topics = inputs
            .topics
            .into_iter()
            .filter(|t| !t.topic.starts_with("__"))
            .map(|t| self.topic_row(t, inputs.now_ms))
            .collect();
        let view = inputs.view;
        if view.collected_at_ms > self.last_view_ms {
            self.last_view_ms = view.collected_at_ms;
            for g in &view.groups {
                for t in &g.topics {
                    if let Some(max) = t.records_lag_max {
                        let key = (g.group.clone(), t.topic.clone());
                        self.lag
                            .entry(key)
                            .or_default()
                            .push_back((view.collected_at_ms, max as f64));
                    }
                }
            }
        }
        for points in self.lag.values_mut() {
            while points.front().is_some_and(|p| p.0 < since) {
                points.pop_front();
            }
        }
        self.lag.retain(|_, points| !points.is_empty());
        let groups = view
            .groups
            .iter()
            .map(|g| GroupRow {
                group: g.group.clone(),
                state: g.state.clone(),
                lagging: g.topics.iter().any(|t| lags(t, inputs.lagging)),
                members: g.members.clone(),
                topics: g.topics.clone(),
                lag_history: self
                    .lag
                    .range((g.group.clone(), String::new())..)
                    .take_while(|((group, _), _)| *group == g.group)
                    .map(|((_, topic), points)| LagHistory {
                        topic: topic.clone(),
                        points: points.iter().copied().collect(),
                    })
                    .collect(),
            })
            .collect();
        Snapshot {
            generated_at_ms: inputs.now_ms,
            window_seconds: (inputs.window_ms / 1000) as u64,
            refresh_seconds: inputs.refresh_seconds,
            hosts: inputs.hosts,
            topics,
            groups,
            lag_collected_at_ms: view.collected_at_ms,
            undecodable_records: inputs.undecodable_records,
        }
    }

    fn topic_row(&mut self, t: TopicSample, now_ms: i64) -> TopicRow {
        let previous = self
            .counters
            .insert(t.topic.clone(), (now_ms, t.produced_records, t.fetched_records));
        let rate = |before: u64, after: u64, then_ms: i64| {
            let seconds = (now_ms - then_ms) as f64 / 1000.0;
            (seconds > 0.0).then(|| after.saturating_sub(before) as f64 / seconds)
        };
        let (records_in_per_second, records_out_per_second) = match previous {
            Some((then, produced, fetched)) => (
                rate(produced, t.produced_records, then),
                rate(fetched, t.fetched_records, then),
            ),
            None => (None, None),
        };
        TopicRow {
            partitions: t.partitions.len(),
            size_bytes: t.partitions.iter().map(|p| p.size_bytes).sum(),
            records_in_per_second,
            records_out_per_second,
            partition_offsets: t.partitions,
            topic: t.topic,
        }
    }
}

/// Whether a group's lag on a topic is above either threshold.
pub fn lags(t: &TopicLag, lagging: &Lagging) -> bool {
    t.records_lag_max.is_some_and(|r| r > lagging.records) || t.lag_seconds.is_some_and(|s| s > lagging.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lag_exporter::view::GroupLag;

    fn topic(produced: u64, fetched: u64) -> TopicSample {
        TopicSample {
            topic: "metrics".into(),
            produced_records: produced,
            fetched_records: fetched,
            partitions: vec![
                PartitionOffsets {
                    partition: 0,
                    log_start_offset: 0,
                    log_end_offset: 10,
                    size_bytes: 700,
                },
                PartitionOffsets {
                    partition: 1,
                    log_start_offset: 2,
                    log_end_offset: 5,
                    size_bytes: 300,
                },
            ],
        }
    }

    fn view(at_ms: i64, lag: i64) -> View {
        View {
            collected_at_ms: at_ms,
            groups: vec![GroupLag {
                group: "g".into(),
                state: "Stable".into(),
                members: Vec::new(),
                topics: vec![TopicLag {
                    topic: "metrics".into(),
                    records_lag_max: Some(lag),
                    lag_sum: Some(lag),
                    lag_seconds: Some(1.0),
                    partitions_uncommitted: 0,
                    retention_margin_seconds: None,
                    records_lost: Some(0),
                    partitions: Vec::new(),
                }],
            }],
        }
    }

    fn inputs<'a>(now_ms: i64, topics: Vec<TopicSample>, view: &'a View, lagging: &'a Lagging) -> Inputs<'a> {
        Inputs {
            now_ms,
            window_ms: 60_000,
            refresh_seconds: 5.0,
            lagging,
            hosts: Vec::new(),
            undecodable_records: 0,
            topics,
            view,
        }
    }

    #[test]
    fn rates_come_from_two_samples_and_lag_history_keeps_one_point_per_collection_within_the_window() {
        let lagging = Lagging {
            records: 100,
            seconds: 300.0,
        };
        let mut h = History::default();
        let v1 = view(1_000, 5);
        let s = h.snapshot(inputs(1_000, vec![topic(100, 40)], &v1, &lagging));
        assert_eq!(s.topics[0].records_in_per_second, None);
        assert_eq!((s.topics[0].partitions, s.topics[0].size_bytes), (2, 1_000));
        assert!(!s.groups[0].lagging);
        // The same view again (no new collection) adds no point.
        let s = h.snapshot(inputs(3_000, vec![topic(300, 50)], &v1, &lagging));
        assert_eq!(s.topics[0].records_in_per_second, Some(100.0));
        assert_eq!(s.topics[0].records_out_per_second, Some(5.0));
        assert_eq!(s.groups[0].lag_history[0].points, vec![(1_000, 5.0)]);
        let v2 = view(4_000, 500);
        let s = h.snapshot(inputs(5_000, vec![topic(300, 50)], &v2, &lagging));
        assert!(s.groups[0].lagging, "500 records is above 100");
        assert_eq!(s.groups[0].lag_history[0].points, vec![(1_000, 5.0), (4_000, 500.0)]);
        // A minute later the first point has left the window.
        let s = h.snapshot(inputs(62_000, vec![topic(300, 50)], &v2, &lagging));
        assert_eq!(s.groups[0].lag_history[0].points, vec![(4_000, 500.0)]);
        assert_eq!(s.topics[0].records_in_per_second, Some(0.0));
    }

    #[test]
    fn internal_topics_are_left_out() {
        let mut internal = topic(0, 0);
        internal.topic = "__consumer_offsets".into();
        let s = History::default().snapshot(inputs(1, vec![internal], &View::default(), &Lagging::default()));
        assert!(s.topics.is_empty());
    }
}
