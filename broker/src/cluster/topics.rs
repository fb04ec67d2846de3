//! The topic registry: which topics exist, their partitions, ids and config overrides.
//!
//! Topic metadata lives in `<data-dir>/topics.json`, rewritten atomically (temp file, fsync,
//! rename, fsync of the directory) on every change, so a crash leaves the old or the new list and
//! never half of one. Partition data lives in `<data-dir>/<topic>-<partition>/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cluster::partition::{log_config, Partition, PartitionRef};
use crate::cluster::topic_config::TopicConfig;
use crate::config::LogDefaults;
use crate::log::{write_atomically, RecoveryReport};

/// The longest topic name Kafka allows.
const MAX_NAME_LENGTH: usize = 249;

/// A refused topic operation: the Kafka error code and a message for `error_message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct TopicError {
    pub code: ResponseError,
    pub message: String,
}

impl TopicError {
    fn new(code: ResponseError, message: impl Into<String>) -> Self {
        TopicError {
            code,
            message: message.into(),
        }
    }
}

/// Errors that stop the registry itself (start-up, or a failed metadata write).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error(transparent)]
    File(#[from] crate::log::LogError),
    #[error("topic {topic} partition {partition}: {source}")]
    Log {
        topic: String,
        partition: i32,
        source: crate::log::LogError,
    },
}

/// A JSON file of the data directory's metadata (topics, ACLs, dynamic and group configs):
/// what it holds, the default if it does not exist yet, or why it cannot be read.
pub fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, RegistryError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(RegistryError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<PartitionRef>,
    pub overrides: BTreeMap<String, String>,
    pub config: TopicConfig,
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("partitions", &self.partitions.len())
            .field("overrides", &self.overrides)
            .finish()
    }
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<&PartitionRef> {
        usize::try_from(index).ok().and_then(|i| self.partitions.get(i))
    }

    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }
}

#[derive(Serialize, Deserialize)]
struct StoredTopic {
    name: String,
    id: Uuid,
    partitions: i32,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Default)]
struct StoredTopics {
    topics: Vec<StoredTopic>,
}

pub struct Topics {
    dir: PathBuf,
    /// What a topic's configs fall back to: broker.toml's, or dynamic broker configs' once set.
    defaults: RwLock<LogDefaults>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serialises create/delete/grow so that two admin requests cannot interleave their
    /// directory work and metadata writes; lookups never take it.
    admin: Mutex<()>,
    /// `sluice.max.partitions`: what clients' creations may bring the total to.
    max_partitions: AtomicUsize,
}

/// One line of start-up recovery per partition.
pub struct Recovered {
    pub topic: String,
    pub partition: i32,
    pub report: RecoveryReport,
}

impl Topics {
    pub fn open(dir: &Path, defaults: LogDefaults) -> Result<(Topics, Vec<Recovered>), RegistryError> {
        std::fs::create_dir_all(dir).map_err(|source| RegistryError::Io {
            path: dir.into(),
            source,
        })?;
        let path = dir.join("topics.json");
        let stored: StoredTopics = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
                path: path.clone(),
                message: format!("not a valid topic list: {e}"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoredTopics::default(),
            Err(source) => return Err(RegistryError::Io { path, source }),
        };
        let mut topics = BTreeMap::new();
        let mut recovered = Vec::new();
        for t in stored.topics {
            let config = TopicConfig::resolve(&defaults, &t.configs).map_err(|message| RegistryError::Corrupt {
                path: path.clone(),
                message,
            })?;
            let mut partitions = Vec::new();
            for p in 0..t.partitions {
                let (partition, report) = open_partition(dir, &t.name, p, &config)?;
                recovered.push(Recovered {
                    topic: t.name.clone(),
                    partition: p,
                    report,
                });
                partitions.push(Arc::new(partition));
            }
            let topic = Topic {
                name: t.name.clone(),
                id: t.id,
                partitions,
                overrides: t.configs,
                config,
            };
            topics.insert(t.name, Arc::new(topic));
        }
        let registry = Topics {
            dir: dir.into(),
            defaults: RwLock::new(defaults),
            topics: RwLock::new(topics),
            admin: Mutex::new(()),
            max_partitions: AtomicUsize::new(usize::MAX),
        };
        Ok((registry, recovered))
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.read().get(name).cloned()
    }

    pub fn by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.read().values().find(|t| t.id == id).cloned()
    }

    pub fn list(&self) -> Vec<Arc<Topic>> {
        self.read().values().cloned().collect()
    }

    pub fn defaults(&self) -> LogDefaults {
        self.defaults.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes `defaults` what every topic's configs fall back to, at once (dynamic broker
    /// configs). A topic's overrides are checked on their own, whatever the defaults, so this
    /// re-resolves without refusing; an error would change nothing.
    pub fn set_defaults(&self, defaults: LogDefaults) -> Result<(), TopicError> {
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let mut resolved = Vec::new();
        for topic in self.list() {
            let config = TopicConfig::resolve(&defaults, &topic.overrides)
                .map_err(|m| TopicError::new(ResponseError::InvalidRequest, format!("topic '{}': {m}", topic.name)))?;
            resolved.push((topic, config));
        }
        *self.defaults.write().unwrap_or_else(|p| p.into_inner()) = defaults;
        let mut topics = self.write();
        for (old, config) in resolved {
            let log = log_config(&config);
            for partition in &old.partitions {
                partition.set_log_config(log.clone());
            }
            let topic = Topic {
                name: old.name.clone(),
                id: old.id,
                partitions: old.partitions.clone(),
                overrides: old.overrides.clone(),
                config,
            };
            topics.insert(topic.name.clone(), Arc::new(topic));
        }
        Ok(())
    }

    /// Sets `sluice.max.partitions`: the most partitions [`Topics::create`] and
    /// [`Topics::add_partitions`] may bring the broker to.
    pub fn set_max_partitions(&self, max: usize) {
        self.max_partitions.store(max, Ordering::Relaxed);
    }

    /// Refuses `more` partitions for `name` when they would pass `sluice.max.partitions`, with
    /// Kafka's POLICY_VIOLATION (what a CreateTopicPolicy's refusal answers). The caller holds
    /// the admin lock, so the count cannot change before the partitions are made.
    fn check_room(&self, name: &str, more: usize) -> Result<(), TopicError> {
        let max = self.max_partitions.load(Ordering::Relaxed);
        let held: usize = self.read().values().map(|t| t.partitions.len()).sum();
        if held.saturating_add(more) > max {
            return Err(TopicError::new(
                ResponseError::PolicyViolation,
                format!(
                    "Topic '{name}' needs {more} more partitions, and the broker holds {held} of the {max} its \
                     sluice.max.partitions allows."
                ),
            ));
        }
        Ok(())
    }

    /// Creates a topic (CreateTopics, Metadata auto-create, `sluice topics --create`), within
    /// `sluice.max.partitions`.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        self.create_topic(name, partitions, overrides, validate_only, true)
    }

    /// Creates one of the broker's own topics (`__consumer_offsets`, `__transaction_state`):
    /// groups and transactions need them whatever clients have created, so no cap applies.
    pub fn create_internal(
        &self,
        name: &str,
        partitions: i32,
        overrides: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, TopicError> {
        self.create_topic(name, partitions, overrides, false, false)
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
        capped: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        validate_name(name)?;
        if partitions <= 0 {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                "number of partitions must be at least 1",
            ));
        }
        // Taken before the defaults are read, so that set_defaults cannot change them between.
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let config = TopicConfig::resolve(&self.defaults(), &overrides)
            .map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
        if self.read().contains_key(name) {
            return Err(TopicError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{name}' already exists."),
            ));
        }
        if capped {
            self.check_room(name, partitions as usize)?;
        }
        let topic = Topic {
            name: name.into(),
            id: Uuid::new_v4(),
            partitions: Vec::new(),
            overrides,
            config,
        };
        if validate_only {
            return Ok(Arc::new(topic));
        }
        let topic = self.with_partitions(topic, partitions)?;
        self.install(topic)
    }

    /// Grows a topic to `count` partitions (CreatePartitions).
    pub fn add_partitions(&self, name: &str, count: i32, validate_only: bool) -> Result<(), TopicError> {
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.get(name).ok_or_else(|| unknown(name))?;
        let current = old.partitions.len() as i32;
        if count <= current {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                format!("topic '{name}' has {current} partitions; the count can only grow"),
            ));
        }
        self.check_room(name, (count - current) as usize)?;
        if validate_only {
            return Ok(());
        }
        let grown = Topic {
            name: old.name.clone(),
            id: old.id,
            partitions: old.partitions.clone(),
            overrides: old.overrides.clone(),
            config: old.config.clone(),
        };
        let grown = self.with_partitions(grown, count)?;
        self.install(grown).map(|_| ())
    }

    /// Replaces a topic's config overrides (IncrementalAlterConfigs), checked as CreateTopics
    /// checks them; its partitions take the new settings at once, and they survive a restart.
    pub fn alter_configs(
        &self,
        name: &str,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        // Taken before the defaults are read, so that set_defaults cannot change them between.
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let config = TopicConfig::resolve(&self.defaults(), &overrides)
            .map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
        let old = self.get(name).ok_or_else(|| unknown(name))?;
        if validate_only {
            return Ok(());
        }
        let altered = Topic {
            name: old.name.clone(),
            id: old.id,
            partitions: old.partitions.clone(),
            overrides,
            config,
        };
        let altered = self.install(altered)?;
        let log = log_config(&altered.config);
        for partition in &altered.partitions {
            partition.set_log_config(log.clone());
        }
        Ok(())
    }

    pub fn delete(&self, name: &str) -> Result<(), TopicError> {
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let removed = self.write().remove(name).ok_or_else(|| unknown(name))?;
        if let Err(e) = self.persist() {
            self.write().insert(name.into(), removed);
            return Err(TopicError::new(ResponseError::KafkaStorageError, e.to_string()));
        }
        for p in 0..removed.partitions.len() {
            let dir = partition_dir(&self.dir, name, p as i32);
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove a deleted topic's directory");
            }
        }
        Ok(())
    }

    fn with_partitions(&self, mut topic: Topic, count: i32) -> Result<Topic, TopicError> {
        for p in topic.partitions.len() as i32..count {
            let (partition, report) = open_partition(&self.dir, &topic.name, p, &topic.config)
                .map_err(|e| TopicError::new(ResponseError::KafkaStorageError, e.to_string()))?;
            // A new partition over a directory left behind (a crash during DeleteTopics, say).
            if report.repaired() {
                report.log(&topic.name, p);
            }
            topic.partitions.push(Arc::new(partition));
        }
        Ok(topic)
    }

    fn install(&self, topic: Topic) -> Result<Arc<Topic>, TopicError> {
        let topic = Arc::new(topic);
        let previous = self.write().insert(topic.name.clone(), topic.clone());
        if let Err(e) = self.persist() {
            let mut topics = self.write();
            match previous {
                Some(p) => topics.insert(topic.name.clone(), p),
                None => topics.remove(&topic.name),
            };
            return Err(TopicError::new(ResponseError::KafkaStorageError, e.to_string()));
        }
        Ok(topic)
    }

    fn persist(&self) -> Result<(), RegistryError> {
        let stored = StoredTopics {
            topics: self
                .read()
                .values()
                .map(|t| StoredTopic {
                    name: t.name.clone(),
                    id: t.id,
                    partitions: t.partitions.len() as i32,
                    configs: t.overrides.clone(),
                })
                .collect(),
        };
        // Serialising plain strings and integers into JSON cannot fail.
        let bytes = serde_json::to_vec_pretty(&stored).unwrap_or_default();
        Ok(write_atomically(&self.dir, "topics.json", &bytes)?)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn unknown(name: &str) -> TopicError {
    TopicError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("topic '{name}' does not exist"),
    )
}

/// Kafka's rule: 1–249 characters of `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name == "." || name == ".." {
        return Err(TopicError::new(
            ResponseError::InvalidTopicException,
            format!("'{name}' is not a valid topic name"),
        ));
    }
    if name.len() > MAX_NAME_LENGTH {
        return Err(TopicError::new(
            ResponseError::InvalidTopicException,
            format!(
                "topic name is {} characters long; the limit is {MAX_NAME_LENGTH}",
                name.len()
            ),
        ));
    }
    if !name.chars().all(legal) {
        return Err(TopicError::new(
            ResponseError::InvalidTopicException,
            format!("topic name '{name}' may contain only ASCII letters, digits, '.', '_' and '-'"),
        ));
    }
    Ok(())
}

fn partition_dir(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    dir.join(format!("{topic}-{partition}"))
}

fn open_partition(
    dir: &Path,
    topic: &str,
    partition: i32,
    config: &TopicConfig,
) -> Result<(Partition, RecoveryReport), RegistryError> {
    let log = log_config(config);
    Partition::open(&partition_dir(dir, topic, partition), partition, log).map_err(|source| RegistryError::Log {
        topic: topic.into(),
        partition,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;

    fn registry(dir: &Path) -> Topics {
        Topics::open(dir, BrokerConfig::default().log).unwrap().0
    }

    #[test]
    fn altered_configs_reach_the_partitions_at_once_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let topics = registry(dir.path());
        let created = BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]);
        let id = topics.create("metrics", 2, created, false).unwrap().id;
        let altered = BTreeMap::from([
            ("retention.ms".to_string(), "3600000".to_string()),
            ("segment.bytes".to_string(), "1048576".to_string()),
        ]);
        topics.alter_configs("metrics", altered.clone(), true).unwrap();
        assert_eq!(
            topics.get("metrics").unwrap().config.retention_ms,
            Some(1000),
            "validate_only changes nothing"
        );
        topics.alter_configs("metrics", altered.clone(), false).unwrap();
        for t in [
            topics.get("metrics").unwrap(),
            registry(dir.path()).get("metrics").unwrap(),
        ] {
            assert_eq!(
                (t.id, &t.overrides, t.config.retention_ms),
                (id, &altered, Some(3_600_000))
            );
            for p in &t.partitions {
                let log = p.log_settings();
                assert_eq!((log.retention_ms, log.segment_bytes), (Some(3_600_000), 1_048_576));
            }
        }
        let bad = BTreeMap::from([("retention.ms".to_string(), "soon".to_string())]);
        let err = topics.alter_configs("metrics", bad, false).unwrap_err();
        assert_eq!(err.code, ResponseError::InvalidConfig);
        assert_eq!(
            topics.alter_configs("nope", BTreeMap::new(), false).unwrap_err().code,
            ResponseError::UnknownTopicOrPartition
        );
    }

    #[test]
    fn topics_and_overrides_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]);
        let id = registry(dir.path()).create("metrics", 3, overrides, false).unwrap().id;
        let reopened = registry(dir.path());
        let t = reopened.get("metrics").unwrap();
        assert_eq!((t.id, t.partitions.len(), t.config.retention_ms), (id, 3, Some(1000)));
    }

    #[test]
    fn names_follow_kafkas_rules() {
        assert!(validate_name("my-computer-metric.v1_x").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", &"x".repeat(250)] {
            assert_eq!(
                validate_name(bad).unwrap_err().code,
                ResponseError::InvalidTopicException,
                "{bad}"
            );
        }
    }

    #[test]
    fn duplicate_create_and_shrinking_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let r = registry(dir.path());
        r.create("t", 2, BTreeMap::new(), false).unwrap();
        assert_eq!(
            r.create("t", 2, BTreeMap::new(), false).unwrap_err().code,
            ResponseError::TopicAlreadyExists
        );
        assert_eq!(
            r.add_partitions("t", 2, false).unwrap_err().code,
            ResponseError::InvalidPartitions
        );
        r.add_partitions("t", 4, false).unwrap();
        assert_eq!(registry(dir.path()).get("t").unwrap().partitions.len(), 4);
    }

    #[test]
    fn validate_only_creates_nothing_and_delete_removes_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let r = registry(dir.path());
        r.create("t", 1, BTreeMap::new(), true).unwrap();
        assert!(r.get("t").is_none());
        r.create("t", 1, BTreeMap::new(), false).unwrap();
        assert!(dir.path().join("t-0").exists());
        r.delete("t").unwrap();
        assert!(!dir.path().join("t-0").exists());
        assert!(registry(dir.path()).get("t").is_none());
    }
}
