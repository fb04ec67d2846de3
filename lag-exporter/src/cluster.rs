//! What one collection reads from the cluster: topics and their offsets, groups with their
//! state, members and committed offsets, and the timestamps of first unconsumed records.
//! Blocking librdkafka calls; the collector runs them off the async runtime.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{Config, Matcher};
use crate::groups::{self, Group};
// librdkafka's logs at the exporter's levels: an unreachable cluster is recovered trouble that the
// collector reports once (WARN, with `up` = 0).
use kafka_client::librdkafka_log::QuietContext;
use kafka_client::native::{describe_configs, DescribeGroupsError, GroupError, OffsetsError, Resource};

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
    #[error("listing offsets: {source}")]
    ListOffsets { source: KafkaError },
    #[error("listing groups: {0}")]
    Groups(KafkaError),
    #[error("a thread reading groups panicked")]
    Aborted,
    #[error("committed offsets: {0}")]
    Committed(#[from] OffsetsError),
    #[error("describing groups: {0}")]
    Describe(#[from] DescribeGroupsError),
    #[error("describing group '{group}': {source}")]
    Group { group: String, source: GroupError },
}

/// A partition's log range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    pub log_start_offset: i64,
    pub high_watermark: i64,
}

/// Everything one collection read.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub partitions: BTreeMap<String, BTreeMap<i32, Watermarks>>,
    pub groups: Vec<Group>,
    /// Each topic's `retention.ms`, where the cluster answered it and it is not -1 (unlimited).
    pub retention_ms: BTreeMap<String, i64>,
}

/// How long a topic's `retention.ms` is trusted before it is asked again: retention changes
/// rarely, and asking costs one DescribeConfigs per topic.
const RETENTION_TTL: Duration = Duration::from_secs(60);

/// The librdkafka clients a collector keeps between collections.
pub struct Cluster {
    consumer: BaseConsumer<QuietContext>,
    /// Several admin clients, used in parallel: librdkafka parses an OffsetFetch answer with a
    /// linear search per partition (quadratic in the partitions of a group), which makes the
    /// committed offsets of many groups on many partitions CPU-bound in librdkafka's thread.
    admins: Vec<AdminClient<QuietContext>>,
    /// Reads single records to learn their timestamps; never joins a group, never commits.
    reader: BaseConsumer<QuietContext>,
    timeout: Duration,
    topics: Matcher,
    groups: Matcher,
    /// (topic, partition, offset) → record timestamp (ms); offsets do not change their records.
    timestamps: HashMap<(String, i32, i64), i64>,
    /// topic → (`retention.ms`, None when unlimited or not answered; when it was asked).
    retention: HashMap<String, (Option<i64>, Instant)>,
}

fn client_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", config.brokers.join(","))
        .set("client.id", "sluice-lag-exporter")
        .set("log_level", "3");
    config.security().apply(&mut c);
    config.librdkafka.apply(&mut c);
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
            .create_with_context(QuietContext)
            .map_err(ClusterError::Client)?;
        Ok(Cluster {
            // read_uncommitted: ListOffsets "latest" answers the high watermark, as lag needs,
            // not the last stable offset.
            consumer: client_config(config)
                .set("group.id", "sluice-lag-exporter-offsets")
                .set("isolation.level", "read_uncommitted")
                .create_with_context(QuietContext)
                .map_err(ClusterError::Client)?,
            admins: (0..std::thread::available_parallelism().map_or(1, |n| n.get()).min(4))
                .map(|_| {
                    client_config(config)
                        .create_with_context(QuietContext)
                        .map_err(ClusterError::Client)
                })
                .collect::<Result<_, _>>()?,
            reader,
            timeout: config.timeout,
            topics: config.topics.compile("topics")?,
            groups: config.groups.compile("groups")?,
            timestamps: HashMap::new(),
            retention: HashMap::new(),
        })
    }

    /// Reads topics, offsets and groups.
    pub fn snapshot(&mut self) -> Result<Snapshot, ClusterError> {
        let started = Instant::now();
        let md = self
            .consumer
            .fetch_metadata(None, self.timeout)
            .map_err(ClusterError::Metadata)?;
        let topics: Vec<(String, Vec<i32>)> = md
            .topics()
            .iter()
            .filter(|t| self.topics.matches(t.name()))
            .map(|t| (t.name().to_string(), t.partitions().iter().map(|p| p.id()).collect()))
            .collect();
        let earliest = self.list_offsets(&topics, Offset::Beginning)?;
        let latest = self.list_offsets(&topics, Offset::End)?;
        let offsets_done = Instant::now();
        let mut partitions: BTreeMap<String, BTreeMap<i32, Watermarks>> = BTreeMap::new();
        for (topic, ids) in &topics {
            let entry = partitions.entry(topic.clone()).or_default();
            for p in ids {
                let key = (topic.clone(), *p);
                if let (Some(&low), Some(&high)) = (earliest.get(&key), latest.get(&key)) {
                    entry.insert(
                        *p,
                        Watermarks {
                            log_start_offset: low,
                            high_watermark: high,
                        },
                    );
                }
            }
        }
        // ListGroups names every group (KIP-848 ones too); describing is left to the admin
        // clients below, since DescribeGroups answers a KIP-848 group as Dead with no members.
        let list = self
            .consumer
            .fetch_group_list(None, self.timeout)
            .map_err(ClusterError::Groups)?;
        let mut names: Vec<String> = list
            .groups()
            .iter()
            .filter(|g| self.groups.matches(g.name()))
            .filter(|g| g.protocol_type() == "consumer" || g.protocol_type().is_empty())
            .map(|g| g.name().to_string())
            .collect();
        names.sort();
        names.dedup();
        let listed = Instant::now();
        let groups = groups::read(&self.admins, &names, self.timeout)?;
        tracing::debug!(
            offsets_ms = (offsets_done - started).as_millis() as u64,
            list_ms = (listed - offsets_done).as_millis() as u64,
            groups_ms = listed.elapsed().as_millis() as u64,
            "lag exporter: cluster read"
        );
        let retention_ms = self.retention_ms(partitions.keys());
        Ok(Snapshot {
            partitions,
            groups,
            retention_ms,
        })
    }

    /// `retention.ms` of `topics`, asked again once [`RETENTION_TTL`] has passed. A topic whose
    /// config cannot be read is left out (no retention margin for it) rather than failing the
    /// collection: lag does not depend on it.
    fn retention_ms<'a>(&mut self, topics: impl Iterator<Item = &'a String>) -> BTreeMap<String, i64> {
        let topics: Vec<&String> = topics.collect();
        let (Some(admin), cache) = (self.admins.first(), &mut self.retention) else {
            return BTreeMap::new();
        };
        cache.retain(|t, _| topics.contains(&t));
        let mut out = BTreeMap::new();
        for topic in topics {
            let ms = match cache.get(topic).filter(|(_, at)| at.elapsed() < RETENTION_TTL) {
                Some((ms, _)) => *ms,
                None => {
                    let ms = match describe_configs(admin.inner(), Resource::Topic, topic, self.timeout) {
                        Ok(entries) => entries
                            .iter()
                            .find(|e| e.name == "retention.ms")
                            .and_then(|e| e.value.as_deref()?.parse::<i64>().ok())
                            .filter(|ms| *ms >= 0),
                        Err(e) => {
                            tracing::debug!(%topic, error = %e, "lag exporter: cannot read retention.ms");
                            None
                        }
                    };
                    cache.insert(topic.clone(), (ms, Instant::now()));
                    ms
                }
            };
            if let Some(ms) = ms {
                out.insert(topic.clone(), ms);
            }
        }
        out
    }

    /// Log-start (`Offset::Beginning`) or log-end (`Offset::End`) offsets of every partition in one
    /// ListOffsets request per leader: librdkafka's offsets-for-times with Kafka's sentinel
    /// timestamps -2 (earliest) and -1 (latest), instead of two requests per partition.
    fn list_offsets(
        &self,
        topics: &[(String, Vec<i32>)],
        which: Offset,
    ) -> Result<BTreeMap<(String, i32), i64>, ClusterError> {
        let mut tpl = TopicPartitionList::new();
        for (t, ids) in topics {
            for p in ids {
                let _ = tpl.add_partition_offset(t, *p, which);
            }
        }
        if tpl.count() == 0 {
            return Ok(BTreeMap::new());
        }
        let answered = self
            .consumer
            .offsets_for_times(tpl, self.timeout)
            .map_err(|source| ClusterError::ListOffsets { source })?;
        let mut out = BTreeMap::new();
        for e in answered.elements() {
            match (e.error(), e.offset()) {
                (Ok(()), Offset::Offset(o)) => {
                    out.insert((e.topic().to_string(), e.partition()), o);
                }
                (Err(source), _) => {
                    return Err(ClusterError::Watermarks {
                        topic: e.topic().to_string(),
                        partition: e.partition(),
                        source,
                    })
                }
                // No offset answered (an empty reply for that partition): leave it out.
                (Ok(()), _) => {}
            }
        }
        Ok(out)
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
