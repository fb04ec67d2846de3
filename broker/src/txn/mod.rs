//! The transaction coordinator ([KIP-98](https://cwiki.apache.org/confluence/display/KAFKA/KIP-98+-+Exactly+Once+Delivery+and+Transactional+Messaging)),
//! Kafka's first transaction protocol: the client registers each partition with
//! AddPartitionsToTxn before it writes there, and ends with EndTxn, after which the coordinator
//! writes a COMMIT or ABORT marker into every registered partition.
//!
//! # State and durability
//!
//! Each transactional id has a producer id, an epoch, a timeout, a state (Kafka's
//! `TransactionState`) and the partitions of its open transaction ([`TxnMeta`]). Every change
//! is written to `__transaction_state` (compacted, Kafka's 50 partitions, the id's partition
//! being Kafka's `partitionFor`) in Kafka's record format (`record`), and fsynced before the
//! request is answered. On start the topic is replayed, latest record per id winning, and a
//! transaction found between its decision and its markers (PrepareCommit, PrepareAbort) is
//! completed: markers written again where they already were change nothing
//! (`cluster::partition_txns`).
//!
//! # Ending a transaction
//!
//! EndTxn: persist PrepareCommit (or PrepareAbort), mark the id so no more of its batches are
//! appended, append a marker to each partition and fsync it, persist CompleteCommit (or
//! CompleteAbort), answer. Appends of a transactional batch check, under the same lock the
//! decision takes, that the id's transaction is open and holds the partition, so no batch of it
//! lands after its marker.
//!
//! # Fencing and timeouts
//!
//! InitProducerId for an id bumps its epoch: the previous producer's batches and requests are
//! refused from then on (markers carry the new epoch to every partition). An open transaction
//! is aborted first. A transaction open longer than its timeout is aborted by the coordinator,
//! with the epoch bumped so its producer learns it was fenced, as Kafka does.
//!
//! # Expiration
//!
//! An id whose last transaction ended (or that never began one) and that has seen no request
//! for `transactional.id.expiration.ms` (7 days) is forgotten: a tombstone is written for it
//! and its next InitProducerId starts afresh with a new producer id, as in Kafka.
//!
//! Coordinator operations run one at a time (`ops`), each with its own fsyncs: simple, and
//! enough for transactions that each carry many records.

mod markers;
mod ops;
mod record;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

pub use record::{TxnMeta, TxnState};

use crate::cluster::partition::PartitionRef;
use crate::cluster::topics::{TopicError, Topics};
use crate::group::partition_for;
use crate::record::BatchHeader;

pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// Kafka's `transaction.state.log.num.partitions` default.
const LOG_PARTITIONS: i32 = 50;
/// Kafka's `transaction.state.log.segment.bytes` default.
const LOG_SEGMENT_BYTES: u64 = 100 << 20;
/// Kafka's `transaction.max.timeout.ms` default: the longest timeout a producer may ask for.
pub const MAX_TIMEOUT_MS: i32 = 900_000;
/// How often open transactions are checked against their timeouts (Kafka:
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`, 10 s).
pub const TIMEOUT_CHECK: std::time::Duration = std::time::Duration::from_secs(1);
/// The coordinator epoch markers carry: one coordinator has led every id.
const COORDINATOR_EPOCH: i32 = 0;

#[derive(Debug, thiserror::Error)]
pub enum TxnLogError {
    #[error("cannot create {TRANSACTION_STATE_TOPIC}: {0}")]
    Create(#[from] TopicError),
    #[error("cannot read {TRANSACTION_STATE_TOPIC}: {0}")]
    Read(#[from] crate::log::LogError),
}

/// What the coordinator needs of the broker around it.
pub trait Env: Sync {
    fn topics(&self) -> &Topics;
    /// A producer id never handed out before (KAFKA_STORAGE_ERROR if none can be kept).
    fn next_producer_id(&self) -> Result<i64, ResponseError>;
    /// Wakes fetches waiting for appends: markers move the last stable offset.
    fn appended(&self);
    /// The group coordinator, told when a transaction that committed offsets ends.
    fn groups(&self) -> &crate::group::Coordinator;
    /// Counts a transaction that ended, by outcome (`metrics::TRANSACTION_OUTCOMES`).
    fn transaction_ended(&self, outcome: &'static str);
    /// `transactional.id.expiration.ms`.
    fn id_expiration_ms(&self) -> i64;
}

pub struct Transactions {
    ops: tokio::sync::Mutex<()>,
    ids: Mutex<HashMap<String, TxnMeta>>,
    /// `__transaction_state`'s partitions, once it exists: it is created with the first
    /// transactional id, as Kafka creates it, so a broker that never sees a transaction has no
    /// such topic.
    log: std::sync::OnceLock<Vec<PartitionRef>>,
}

/// A transactional batch may be appended while this is held (see the module doc).
pub struct AppendGuard<'a>(#[allow(dead_code)] MutexGuard<'a, HashMap<String, TxnMeta>>);

impl Transactions {
    /// Replays `__transaction_state`, if it exists.
    pub fn open(topics: &Topics) -> Result<Transactions, TxnLogError> {
        let log = std::sync::OnceLock::new();
        let Some(topic) = topics.get(TRANSACTION_STATE_TOPIC) else {
            return Ok(Transactions {
                ops: tokio::sync::Mutex::new(()),
                ids: Mutex::new(HashMap::new()),
                log,
            });
        };
        let mut ids = HashMap::new();
        for p in &topic.partitions {
            let (mut offset, end) = p.offsets();
            while offset < end {
                let read = p.read(offset, 4 << 20, true)?;
                let batches = crate::group::batch::split(&read.data);
                let Some((last, _)) = batches.last() else { break };
                offset = last.last_offset() + 1;
                for (header, bytes) in &batches {
                    let records = match crate::group::batch::decode(header, bytes) {
                        Ok(records) => records,
                        Err(e) => {
                            tracing::warn!(error = %e, "skipping a batch of {TRANSACTION_STATE_TOPIC}");
                            continue;
                        }
                    };
                    for r in records {
                        let Some(id) = r.key.as_deref().and_then(record::decode_key) else {
                            continue;
                        };
                        match r.value.as_deref().map(record::decode_value) {
                            None => {
                                ids.remove(&id);
                            }
                            Some(Some(meta)) => {
                                ids.insert(id, meta);
                            }
                            Some(None) => tracing::warn!(id, "skipping an unreadable {TRANSACTION_STATE_TOPIC} value"),
                        }
                    }
                }
            }
        }
        if !ids.is_empty() {
            tracing::info!(transactional_ids = ids.len(), "loaded {TRANSACTION_STATE_TOPIC}");
        }
        let _ = log.set(topic.partitions.clone());
        Ok(Transactions {
            ops: tokio::sync::Mutex::new(()),
            ids: Mutex::new(ids),
            log,
        })
    }

    /// `__transaction_state`'s partitions, creating the topic the first time. Callers hold
    /// `ops`, so two never create it at once.
    fn log(&self, broker: &dyn Env) -> Result<&[PartitionRef], ResponseError> {
        if let Some(log) = self.log.get() {
            return Ok(log);
        }
        let overrides = BTreeMap::from([
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("segment.bytes".to_string(), LOG_SEGMENT_BYTES.to_string()),
        ]);
        let topic = match broker.topics().get(TRANSACTION_STATE_TOPIC) {
            Some(t) => t,
            None => {
                tracing::info!(partitions = LOG_PARTITIONS, "creating {TRANSACTION_STATE_TOPIC}");
                broker
                    .topics()
                    .create_internal(TRANSACTION_STATE_TOPIC, LOG_PARTITIONS, overrides)
                    .map_err(|e| {
                        tracing::error!(error = %e, "cannot create {TRANSACTION_STATE_TOPIC}");
                        ResponseError::CoordinatorNotAvailable
                    })?
            }
        };
        Ok(self.log.get_or_init(|| topic.partitions.clone()))
    }

    fn ids(&self) -> MutexGuard<'_, HashMap<String, TxnMeta>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<TxnMeta> {
        self.ids().get(id).cloned()
    }

    /// Every transactional id and its state.
    pub fn all(&self) -> Vec<(String, TxnMeta)> {
        self.ids().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Writes `meta` as `id`'s state and makes it durable, then takes it as current.
    async fn persist(&self, broker: &dyn Env, id: &str, meta: TxnMeta) -> Result<(), ResponseError> {
        self.write(broker, id, Some(&meta), meta.last_update_ms).await?;
        self.ids().insert(id.to_string(), meta);
        Ok(())
    }

    /// Writes a tombstone for `id` and makes it durable, then forgets the id.
    async fn forget(&self, broker: &dyn Env, id: &str, now: i64) -> Result<(), ResponseError> {
        self.write(broker, id, None, now).await?;
        self.ids().remove(id);
        Ok(())
    }

    /// Appends `id`'s record (its state, or a tombstone for `None`) and fsyncs it.
    async fn write(&self, broker: &dyn Env, id: &str, meta: Option<&TxnMeta>, now: i64) -> Result<(), ResponseError> {
        let log = self.log(broker)?;
        let partition = &log[partition_for(id, log.len())];
        let records = [(
            Bytes::from(record::encode_key(id)),
            meta.map(|m| Bytes::from(record::encode_value(m))),
        )];
        let mut batch = crate::group::batch::encode(&records, now);
        let stored = BatchHeader::parse(&batch)
            .ok()
            .and_then(|h| partition.append(&mut batch, &h, now).ok());
        let Some(appended) = stored else {
            tracing::error!(id, "cannot append to {TRANSACTION_STATE_TOPIC}");
            return Err(ResponseError::KafkaStorageError);
        };
        if let Err(e) = partition.sync_to(appended.end_offset()).await {
            tracing::error!(id, error = %e, "cannot fsync {TRANSACTION_STATE_TOPIC}");
            return Err(ResponseError::KafkaStorageError);
        }
        Ok(())
    }
}
