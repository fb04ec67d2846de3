//! What one collection reads from the cluster: topics and their offsets, groups with their
//! state, members and committed offsets, and the timestamps of first unconsumed records.
//! Blocking librdkafka calls; the collector runs them off the async runtime.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{Config, Matcher};
use crate::offsets::{self, Committed, OffsetsError};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot create a Kafka client: {0}")]
    Client(KafkaError),
    #[error("metadata: {0}")]
    Metadata(KafkaError),
    #[error("offsets of {topic}[{partition}]: {source}")]
    Watermarks {
        topic: String,
        partition: i32,
        source: KafkaError,
    },
    #[error("listing groups: {0}")]
    Groups(KafkaError),
    #[error("committed offsets: {0}")]
    Committed(#[from] OffsetsError),
}

/// A partition's log range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    pub log_start_offset: i64,
    pub high_watermark: i64,
}

/// A consumer group as ListGroups/DescribeGroups and OffsetFetch describe it.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub state: String,
    pub members: usize,
    /// Topics that members are assigned (a group that never committed still lags on these).
    pub assigned_topics: BTreeSet<String>,
    pub committed: Committed,
}

/// Everything one collection read.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub partitions: BTreeMap<String, BTreeMap<i32, Watermarks>>,
    pub groups: Vec<Group>,
}

/// The librdkafka clients a collector keeps between collections.
pub struct Cluster {
    consumer: BaseConsumer,
    admin: AdminClient<DefaultClientContext>,
    /// Reads single records to learn their timestamps; never joins a group, never commits.
    reader: BaseConsumer,
    timeout: Duration,
    topics: Matcher,
    groups: Matcher,
    /// (topic, partition, offset) → record timestamp (ms); offsets do not change their records.
    timestamps: HashMap<(String, i32, i64), i64>,
}

fn client_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", config.brokers.join(","))
        .set("client.id", "sluice-lag-exporter")
        .set("log_level", "3");
    c
}

impl Cluster {
    pub fn new(config: &Config) -> Result<Cluster, crate::Error> {
        let reader = client_config(config)
            .set("group.id", "sluice-lag-exporter-reader")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "10")
            .set("max.partition.fetch.bytes", "65536")
            .set("queued.min.messages", "1")
            .create()
            .map_err(ClusterError::Client)?;
        Ok(Cluster {
            consumer: client_config(config).create().map_err(ClusterError::Client)?,
            admin: client_config(config).create().map_err(ClusterError::Client)?,
            reader,
            timeout: config.timeout,
            topics: config.topics.compile("topics")?,
            groups: config.groups.compile("groups")?,
            timestamps: HashMap::new(),
        })
    }

    /// Reads topics, offsets and groups.
    pub fn snapshot(&self) -> Result<Snapshot, ClusterError> {
        let md = self
            .consumer
            .fetch_metadata(None, self.timeout)
            .map_err(ClusterError::Metadata)?;
        let mut partitions: BTreeMap<String, BTreeMap<i32, Watermarks>> = BTreeMap::new();
        for t in md.topics().iter().filter(|t| self.topics.matches(t.name())) {
            let entry = partitions.entry(t.name().to_string()).or_default();
            for p in t.partitions() {
                let (low, high) = self
                    .consumer
                    .fetch_watermarks(t.name(), p.id(), self.timeout)
                    .map_err(|source| ClusterError::Watermarks {
                        topic: t.name().to_string(),
                        partition: p.id(),
                        source,
                    })?;
                entry.insert(
                    p.id(),
                    Watermarks {
                        log_start_offset: low,
                        high_watermark: high,
                    },
                );
            }
        }
        let list = self
            .consumer
            .fetch_group_list(None, self.timeout)
            .map_err(ClusterError::Groups)?;
        let mut groups: Vec<Group> = list
            .groups()
            .iter()
            .filter(|g| self.groups.matches(g.name()))
            .filter(|g| g.protocol_type() == "consumer" || g.protocol_type().is_empty())
            .map(|g| Group {
                name: g.name().to_string(),
                state: g.state().to_string(),
                members: g.members().len(),
                assigned_topics: g
                    .members()
                    .iter()
                    .filter_map(|m| m.assignment())
                    .flat_map(assigned_topics)
                    .collect(),
                committed: Committed::new(),
            })
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
        let mut committed = offsets::list_group_offsets(&self.admin, &names, self.timeout)?;
        for g in &mut groups {
            g.committed = committed.remove(&g.name).unwrap_or_default();
        }
        Ok(Snapshot { partitions, groups })
    }

    /// Timestamps (ms) of the records at `wanted` (topic, partition, offset). Offsets that cannot
    /// be read in time are left out. Each pass reads every partition forward from its lowest
    /// missing offset through a window of [`SPAN`] offsets, so the groups of one topic cost one
    /// read per partition; offsets beyond the window wait for the next pass.
    pub fn timestamps(&mut self, wanted: &BTreeSet<(String, i32, i64)>) -> HashMap<(String, i32, i64), i64> {
        self.timestamps.retain(|k, _| wanted.contains(k));
        let mut missing: BTreeMap<(String, i32), Vec<i64>> = BTreeMap::new();
        for (t, p, o) in wanted {
            if !self.timestamps.contains_key(&(t.clone(), *p, *o)) {
                missing.entry((t.clone(), *p)).or_default().push(*o);
            }
        }
        let deadline = Instant::now() + self.timeout;
        while !missing.is_empty() && Instant::now() < deadline {
            // BTreeSet iteration order made every list ascending; a pass takes a window of each.
            let pass: BTreeMap<(String, i32), Vec<i64>> = missing
                .iter_mut()
                .map(|(tp, offsets)| {
                    let end = offsets.partition_point(|o| *o < offsets[0] + SPAN);
                    (tp.clone(), offsets.drain(..end).collect())
                })
                .collect();
            missing.retain(|_, offsets| !offsets.is_empty());
            self.read_pass(pass, deadline);
        }
        let _ = self.reader.unassign();
        self.timestamps.clone()
    }

    fn read_pass(&mut self, mut pending: BTreeMap<(String, i32), Vec<i64>>, deadline: Instant) {
        let mut tpl = TopicPartitionList::new();
        for ((t, p), offsets) in &pending {
            let _ = tpl.add_partition_offset(t, *p, Offset::Offset(offsets[0]));
        }
        if let Err(e) = self.reader.assign(&tpl) {
            tracing::warn!(error = %e, "lag exporter: cannot assign partitions to read timestamps");
            return;
        }
        while !pending.is_empty() && Instant::now() < deadline {
            let Some(msg) = self.reader.poll(Duration::from_millis(100)) else {
                continue;
            };
            let Ok(msg) = msg else { continue };
            let key = (msg.topic().to_string(), msg.partition());
            let Some(offsets) = pending.get_mut(&key) else { continue };
            // The first record at or after a wanted offset is the first unconsumed one (the
            // wanted offset itself may hold a transaction marker or have been compacted away).
            let reached = offsets.partition_point(|o| *o <= msg.offset());
            if let Some(ts) = msg.timestamp().to_millis() {
                for o in &offsets[..reached] {
                    self.timestamps.insert((key.0.clone(), key.1, *o), ts);
                }
            }
            offsets.drain(..reached);
            if offsets.is_empty() {
                pending.remove(&key);
            }
        }
    }
}

/// How far one pass reads forward in a partition to date several groups' offsets at once.
const SPAN: i64 = 10_000;

/// Topic names of a ConsumerProtocolAssignment: `i16 version, [i32 n]{string topic, [i32
/// m]{i32 partition}}, bytes user_data`. A malformed one yields what was read so far.
fn assigned_topics(mut b: &[u8]) -> Vec<String> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        *b = rest;
        Some(head)
    }
    let mut out = Vec::new();
    let _version = take(&mut b, 2);
    let Some(n) = take(&mut b, 4).map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]])) else {
        return out;
    };
    for _ in 0..n.max(0) {
        let Some(len) = take(&mut b, 2).map(|x| i16::from_be_bytes([x[0], x[1]])) else {
            break;
        };
        let Some(name) = take(&mut b, len.max(0) as usize) else {
            break;
        };
        out.push(String::from_utf8_lossy(name).into_owned());
        let Some(m) = take(&mut b, 4).map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]])) else {
            break;
        };
        if take(&mut b, 4 * m.max(0) as usize).is_none() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn assignment_topics_are_decoded() {
        let mut b = vec![0, 1, 0, 0, 0, 2];
        for (t, ps) in [("metrics", vec![0i32, 3]), ("dlq", vec![1])] {
            b.extend((t.len() as i16).to_be_bytes());
            b.extend(t.as_bytes());
            b.extend((ps.len() as i32).to_be_bytes());
            for p in ps {
                b.extend(p.to_be_bytes());
            }
        }
        assert_eq!(super::assigned_topics(&b), ["metrics", "dlq"]);
        assert_eq!(super::assigned_topics(&b[..9]), Vec::<String>::new());
    }
}
