//! One collection's lag as data: every group with its members and what each owns, and its lag
//! per topic and per partition, in records and in seconds.
//!
//! This is where lag is computed. `lag::figures` turns a [`View`] into Prometheus series and
//! `sluice up`'s console shows it as it is, so the two cannot disagree. Pure functions.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::cluster::Snapshot;
use crate::groups::Group;
use crate::loss::Totals;

/// Every selected group's lag at one collection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct View {
    /// When the collection finished, in ms since the Unix epoch (0 before the first one).
    pub collected_at_ms: i64,
    pub groups: Vec<GroupLag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupLag {
    pub group: String,
    /// librdkafka's state name (`Stable`, `Empty`, …; a KIP-848 group between states is
    /// `Unknown`).
    pub state: String,
    pub members: Vec<Member>,
    /// The topics the group committed on or is assigned, by name.
    pub topics: Vec<TopicLag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Kafka's member id (the "consumer id" of `kafka-consumer-groups --describe`).
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// The partitions the member owns now.
    pub assignment: Vec<(String, i32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicLag {
    pub topic: String,
    /// The largest partition lag; None while the group has committed nothing on the topic.
    pub records_lag_max: Option<i64>,
    pub lag_sum: Option<i64>,
    /// Age of the oldest record not consumed; 0 when caught up, None when a lag could not be
    /// dated (left out rather than reported as caught up).
    pub lag_seconds: Option<f64>,
    /// Partitions holding records that no commit of the group accounts for.
    pub partitions_uncommitted: u32,
    /// How long until time-based retention may delete the oldest record the group has not
    /// consumed: `retention.ms` after that record's timestamp, 0 once past. The whole
    /// `retention.ms` when caught up; None when retention is unlimited or a lag is undated.
    pub retention_margin_seconds: Option<f64>,
    /// Records that left the log before the group consumed them, counted since the exporter
    /// started (`loss`); None while the group has committed nothing on the topic.
    pub records_lost: Option<u64>,
    pub partitions: Vec<PartitionLag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionLag {
    pub partition: i32,
    pub log_start_offset: i64,
    /// The high watermark.
    pub log_end_offset: i64,
    pub committed_offset: Option<i64>,
    /// Log-end offset minus committed offset, never below 0; None without a commit.
    pub lag: Option<i64>,
    /// Age of the first record not consumed; 0 when caught up, None when unknown.
    pub lag_seconds: Option<f64>,
    /// The member that owns the partition now, if any.
    pub member_id: Option<String>,
}

/// The topics a group is on: those it committed on and those its members are assigned, that
/// still exist and pass the topic filter.
fn topics_of<'a>(group: &'a Group, snapshot: &'a Snapshot) -> impl Iterator<Item = &'a String> {
    let committed = group.committed.keys().map(|(t, _)| t);
    let assigned = group.members.iter().flat_map(|m| m.assignment.iter().map(|(t, _)| t));
    committed
        .chain(assigned)
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

/// The lag of every group in `snapshot`. `timestamps` holds record timestamps (ms) by (topic,
/// partition, offset), as [`first_unconsumed`] asked for them; `losses` what each group lost on
/// each topic (`loss::Losses`); `now_ms` is the wall clock.
pub fn view(snapshot: &Snapshot, timestamps: &HashMap<(String, i32, i64), i64>, losses: &Totals, now_ms: i64) -> View {
    let groups = snapshot
        .groups
        .iter()
        .map(|g| GroupLag {
            group: g.name.clone(),
            state: g.state.clone(),
            members: g
                .members
                .iter()
                .map(|m| Member {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    host: m.host.clone(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
            topics: topics_of(g, snapshot)
                .map(|t| topic_lag(g, t, snapshot, timestamps, losses, now_ms))
                .collect(),
        })
        .collect();
    View {
        collected_at_ms: now_ms,
        groups,
    }
}

fn topic_lag(
    g: &Group,
    topic: &str,
    snapshot: &Snapshot,
    timestamps: &HashMap<(String, i32, i64), i64>,
    losses: &Totals,
    now_ms: i64,
) -> TopicLag {
    let owner: HashMap<i32, &str> = g
        .members
        .iter()
        .flat_map(|m| {
            m.assignment
                .iter()
                .filter(|(t, _)| t == topic)
                .map(|(_, p)| (*p, m.member_id.as_str()))
        })
        .collect();
    let seconds = |ts: i64| ((now_ms - ts).max(0) as f64) / 1000.0;
    let mut out = TopicLag {
        topic: topic.to_string(),
        records_lag_max: None,
        lag_sum: None,
        lag_seconds: None,
        partitions_uncommitted: 0,
        retention_margin_seconds: None,
        records_lost: losses.get(&(g.name.clone(), topic.to_string())).copied(),
        partitions: Vec::new(),
    };
    let (mut oldest_ms, mut lagging) = (None::<i64>, 0u32);
    let Some(partitions) = snapshot.partitions.get(topic) else {
        return out;
    };
    for (p, w) in partitions {
        let committed = g.committed.get(&(topic.to_string(), *p)).copied();
        let mut row = PartitionLag {
            partition: *p,
            log_start_offset: w.log_start_offset,
            log_end_offset: w.high_watermark,
            committed_offset: committed,
            lag: None,
            lag_seconds: None,
            member_id: owner.get(p).map(|m| m.to_string()),
        };
        match committed {
            // Unknown lag only where there is something to lag on: a partition that never held
            // a record (or whose records retention removed) is no blind spot, and counting it
            // would keep the uncommitted alert firing on every topic with more partitions than
            // keys, such as one host's agent writing to one of the metric topic's six.
            None if w.high_watermark > w.log_start_offset => out.partitions_uncommitted += 1,
            None => {}
            Some(committed) => {
                let lag = (w.high_watermark - committed).max(0);
                out.records_lag_max = Some(out.records_lag_max.unwrap_or(0).max(lag));
                out.lag_sum = Some(out.lag_sum.unwrap_or(0) + lag);
                row.lag = Some(lag);
                if lag == 0 {
                    row.lag_seconds = Some(0.0);
                } else {
                    lagging += 1;
                    let key = (topic.to_string(), *p, committed.max(w.log_start_offset));
                    if let Some(&ts) = timestamps.get(&key) {
                        row.lag_seconds = Some(seconds(ts));
                        oldest_ms = Some(oldest_ms.map_or(ts, |o: i64| o.min(ts)));
                    }
                }
            }
        }
        out.partitions.push(row);
    }
    if out.records_lag_max.is_some() {
        out.lag_seconds = match oldest_ms {
            None if lagging == 0 => Some(0.0),
            Some(ts) => Some(seconds(ts)),
            None => None,
        };
        // Kafka deletes a whole segment once its newest record is older than retention.ms, so
        // the oldest unconsumed record goes no sooner than retention.ms after its own
        // timestamp: this is the earliest it can be lost.
        out.retention_margin_seconds = snapshot.retention_ms.get(topic).and_then(|&ms| match oldest_ms {
            None if lagging == 0 => Some(ms as f64 / 1000.0),
            Some(ts) => Some(((ts + ms - now_ms).max(0)) as f64 / 1000.0),
            None => None,
        });
    }
    out
}
