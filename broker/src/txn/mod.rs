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
//! Coordinator operations run one at a time (`ops`), each with its own fsyncs: simple, and
//! enough for transactions that each carry many records.

mod record;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

pub use record::{TxnMeta, TxnState};

use crate::cluster::partition::PartitionRef;
use crate::cluster::topics::{TopicError, Topics};
use crate::group::{partition_for, OFFSETS_TOPIC};
use crate::record::{marker_batch, BatchHeader, ControlType};

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
                    .create(TRANSACTION_STATE_TOPIC, LOG_PARTITIONS, overrides, false)
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
        let log = self.log(broker)?;
        let partition = &log[partition_for(id, log.len())];
        let records = [(
            Bytes::from(record::encode_key(id)),
            Some(Bytes::from(record::encode_value(&meta))),
        )];
        let mut batch = crate::group::batch::encode(&records, meta.last_update_ms);
        let stored = BatchHeader::parse(&batch)
            .ok()
            .and_then(|h| partition.append(&mut batch, &h, meta.last_update_ms).ok());
        let Some(appended) = stored else {
            tracing::error!(id, "cannot append to {TRANSACTION_STATE_TOPIC}");
            return Err(ResponseError::KafkaStorageError);
        };
        if let Err(e) = partition.sync_to(appended.end_offset()).await {
            tracing::error!(id, error = %e, "cannot fsync {TRANSACTION_STATE_TOPIC}");
            return Err(ResponseError::KafkaStorageError);
        }
        self.ids().insert(id.to_string(), meta);
        Ok(())
    }

    /// InitProducerId with a transactional id: the id's producer id with its epoch bumped (a new
    /// id gets a new producer id at epoch 0). An open transaction is aborted first. `given` is
    /// the producer id and epoch a producer that already had them offers (KIP-360).
    pub async fn init_producer_id(
        &self,
        broker: &dyn Env,
        id: &str,
        timeout_ms: i32,
        given: Option<(i64, i16)>,
        now: i64,
    ) -> Result<(i64, i16), ResponseError> {
        if timeout_ms <= 0 || timeout_ms > MAX_TIMEOUT_MS {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        let _op = self.ops.lock().await;
        let Some(mut meta) = self.get(id) else {
            let producer_id = new_producer_id(broker)?;
            let meta = TxnMeta {
                producer_id,
                epoch: 0,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                last_update_ms: now,
                start_ms: -1,
            };
            self.persist(broker, id, meta).await?;
            return Ok((producer_id, 0));
        };
        if let Some((producer_id, epoch)) = given {
            if producer_id != meta.producer_id || epoch != meta.epoch {
                return Err(ResponseError::ProducerFenced);
            }
        }
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return Err(ResponseError::ConcurrentTransactions)
            }
            TxnState::Ongoing => {
                bump(broker, &mut meta)?;
                self.end_open(broker, id, meta.clone(), ControlType::Abort, now).await?;
                meta = self.get(id).unwrap_or(meta);
            }
            _ => {}
        }
        bump(broker, &mut meta)?;
        meta.timeout_ms = timeout_ms;
        meta.state = TxnState::Empty;
        meta.partitions.clear();
        meta.last_update_ms = now;
        let answer = (meta.producer_id, meta.epoch);
        self.persist(broker, id, meta).await?;
        Ok(answer)
    }

    /// The id's state, if `producer_id` and `epoch` are its current ones.
    fn current(&self, id: &str, producer_id: i64, epoch: i16) -> Result<TxnMeta, ResponseError> {
        let meta = self.get(id).ok_or(ResponseError::InvalidProducerIdMapping)?;
        if meta.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if meta.epoch != epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if matches!(
            meta.state,
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
        ) {
            return Err(ResponseError::ConcurrentTransactions);
        }
        Ok(meta)
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, for the group's offsets partition): the
    /// partitions join the id's transaction, which opens if it was not.
    pub async fn add_partitions(
        &self,
        broker: &dyn Env,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: impl IntoIterator<Item = (String, i32)>,
        now: i64,
    ) -> Result<(), ResponseError> {
        let _op = self.ops.lock().await;
        let mut meta = self.current(id, producer_id, epoch)?;
        let before = meta.partitions.len();
        meta.partitions.extend(partitions);
        if meta.state == TxnState::Ongoing && meta.partitions.len() == before {
            return Ok(());
        }
        if meta.state != TxnState::Ongoing {
            meta.state = TxnState::Ongoing;
            meta.start_ms = now;
        }
        meta.last_update_ms = now;
        self.persist(broker, id, meta).await
    }

    /// EndTxn: commits or aborts the id's open transaction. Asking again for what was just
    /// done (a retry) succeeds; ending a transaction that is not open is INVALID_TXN_STATE.
    pub async fn end(
        &self,
        broker: &dyn Env,
        id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now: i64,
    ) -> Result<(), ResponseError> {
        let _op = self.ops.lock().await;
        let meta = self.current(id, producer_id, epoch)?;
        match (meta.state, commit) {
            (TxnState::Ongoing, _) => {
                let kind = if commit {
                    ControlType::Commit
                } else {
                    ControlType::Abort
                };
                self.end_open(broker, id, meta, kind, now).await
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(()),
            _ => Err(ResponseError::InvalidTxnState),
        }
    }

    /// Decides `kind` for the open transaction in `meta`, writes its markers and completes it.
    async fn end_open(
        &self,
        broker: &dyn Env,
        id: &str,
        mut meta: TxnMeta,
        kind: ControlType,
        now: i64,
    ) -> Result<(), ResponseError> {
        meta.state = match kind {
            ControlType::Commit => TxnState::PrepareCommit,
            ControlType::Abort => TxnState::PrepareAbort,
        };
        meta.last_update_ms = now;
        // From here no batch of the id is appended (`append_guard` sees Prepare*).
        self.persist(broker, id, meta.clone()).await?;
        self.complete(broker, id, meta, now).await
    }

    /// Writes the markers of a decided transaction and records it complete.
    async fn complete(&self, broker: &dyn Env, id: &str, mut meta: TxnMeta, now: i64) -> Result<(), ResponseError> {
        let kind = match meta.state {
            TxnState::PrepareCommit => ControlType::Commit,
            _ => ControlType::Abort,
        };
        write_markers(broker, &meta, kind, now).await?;
        if meta.partitions.iter().any(|(topic, _)| topic == OFFSETS_TOPIC) {
            broker
                .groups()
                .txn_ended(meta.producer_id, kind == ControlType::Commit)
                .await;
        }
        meta.state = match kind {
            ControlType::Commit => TxnState::CompleteCommit,
            ControlType::Abort => TxnState::CompleteAbort,
        };
        // The start time stays: Kafka describes a completed transaction with it.
        meta.partitions.clear();
        meta.last_update_ms = now;
        self.persist(broker, id, meta).await
    }

    /// Completes the transactions found decided but without their markers (after a restart),
    /// and aborts, fencing their producers, those open past their timeout.
    pub async fn tick(&self, broker: &dyn Env, now: i64) {
        let _op = self.ops.lock().await;
        let due: Vec<(String, TxnMeta)> = self
            .ids()
            .iter()
            .filter(|(_, m)| match m.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => true,
                TxnState::Ongoing => m.start_ms.saturating_add(i64::from(m.timeout_ms)) < now,
                _ => false,
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, mut meta) in due {
            let result = match meta.state {
                TxnState::Ongoing => {
                    tracing::info!(transactional_id = %id, producer_id = meta.producer_id, timeout_ms = meta.timeout_ms, "aborting a transaction open past its timeout");
                    match bump(broker, &mut meta) {
                        Ok(()) => self.end_open(broker, &id, meta, ControlType::Abort, now).await,
                        Err(e) => Err(e),
                    }
                }
                _ => self.complete(broker, &id, meta, now).await,
            };
            if let Err(e) = result {
                tracing::warn!(transactional_id = %id, error = ?e, "could not end a transaction; will retry");
            }
        }
    }

    /// TxnOffsetCommit: checks that the id's open transaction, at `epoch`, holds the group's
    /// `__consumer_offsets` partition (AddOffsetsToTxn), and keeps every other operation of the
    /// coordinator (an EndTxn above all) waiting while the caller writes the offsets.
    pub async fn offsets_guard(
        &self,
        id: &str,
        producer_id: i64,
        epoch: i16,
        offsets_partition: i32,
    ) -> Result<tokio::sync::MutexGuard<'_, ()>, ResponseError> {
        let op = self.ops.lock().await;
        let meta = self.current(id, producer_id, epoch)?;
        if meta.state != TxnState::Ongoing
            || !meta
                .partitions
                .contains(&(OFFSETS_TOPIC.to_string(), offsets_partition))
        {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(op)
    }

    /// Checks that `producer_id` at `epoch` may append a transactional batch to `topic`
    /// `partition` for `id` now, and holds that true while the caller appends.
    pub fn append_guard(
        &self,
        id: &str,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<AppendGuard<'_>, ResponseError> {
        let ids = self.ids();
        let meta = ids.get(id).ok_or(ResponseError::InvalidTxnState)?;
        if meta.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if meta.epoch != epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if meta.state != TxnState::Ongoing || !meta.partitions.contains(&(topic.to_string(), partition)) {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(AppendGuard(ids))
    }
}

/// The next epoch of `meta`'s producer, or a new producer id when the epoch is spent (Kafka's
/// rule at `Short.MAX_VALUE - 1`).
fn bump(broker: &dyn Env, meta: &mut TxnMeta) -> Result<(), ResponseError> {
    if meta.epoch >= i16::MAX - 1 {
        meta.producer_id = new_producer_id(broker)?;
        meta.epoch = 0;
    } else {
        meta.epoch += 1;
    }
    Ok(())
}

fn new_producer_id(broker: &dyn Env) -> Result<i64, ResponseError> {
    broker.next_producer_id()
}

/// Appends a `kind` marker to every partition of `meta`'s transaction and waits until each is
/// on disk. A partition whose topic was deleted meanwhile has nothing left to mark.
async fn write_markers(broker: &dyn Env, meta: &TxnMeta, kind: ControlType, now: i64) -> Result<(), ResponseError> {
    let mut written = Vec::new();
    for (topic, index) in &meta.partitions {
        let Some(partition) = broker.topics().get(topic).and_then(|t| t.partition(*index).cloned()) else {
            continue;
        };
        let mut batch = marker_batch(meta.producer_id, meta.epoch, COORDINATOR_EPOCH, kind, now);
        let header = BatchHeader::parse(&batch).map_err(|_| ResponseError::UnknownServerError)?;
        match partition.append(&mut batch, &header, now) {
            Ok(appended) => written.push((partition, appended.end_offset())),
            Err(e) => {
                tracing::error!(%topic, partition = index, error = %e, "cannot write a transaction marker");
                return Err(ResponseError::KafkaStorageError);
            }
        }
    }
    broker.appended();
    for (partition, end) in written {
        if partition.sync_to(end).await.is_err() {
            return Err(ResponseError::KafkaStorageError);
        }
    }
    Ok(())
}
