//! The coordinator's operations: InitProducerId, AddPartitionsToTxn (and AddOffsetsToTxn),
//! EndTxn, the checks appends make, and the timeouts (the rules are in the module doc of `txn`).

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;

use super::markers::write_markers;
use super::{AppendGuard, Env, Transactions, TxnMeta, TxnState, MAX_TIMEOUT_MS};
use crate::group::OFFSETS_TOPIC;
use crate::record::ControlType;

impl Transactions {
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
                timed_out_epoch: None,
            };
            self.persist(broker, id, meta).await?;
            return Ok((producer_id, 0));
        };
        if let Some((producer_id, epoch)) = given {
            // KIP-588: the producer whose transaction the coordinator aborted at its timeout
            // (bumping the epoch past it) may come back with the epoch it had.
            let timed_out = meta.timed_out_epoch == Some(epoch);
            if producer_id != meta.producer_id || (epoch != meta.epoch && !timed_out) {
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
                broker.transaction_ended("fenced");
                meta = self.get(id).unwrap_or(meta);
            }
            _ => {}
        }
        bump(broker, &mut meta)?;
        meta.timed_out_epoch = None;
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
                self.end_open(broker, id, meta, kind, now).await?;
                broker.transaction_ended(if commit { "commit" } else { "abort" });
                Ok(())
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
    /// aborts, fencing their producers, those open past their timeout, and forgets the ids idle
    /// past `transactional.id.expiration.ms`.
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
                    let epoch = meta.epoch;
                    match bump(broker, &mut meta) {
                        Ok(()) => {
                            meta.timed_out_epoch = Some(epoch);
                            let ended = self.end_open(broker, &id, meta, ControlType::Abort, now).await;
                            if ended.is_ok() {
                                broker.transaction_ended("timeout");
                            }
                            ended
                        }
                        Err(e) => Err(e),
                    }
                }
                _ => self.complete(broker, &id, meta, now).await,
            };
            if let Err(e) = result {
                tracing::warn!(transactional_id = %id, error = ?e, "could not end a transaction; will retry");
            }
        }
        let expired: Vec<String> = self
            .ids()
            .iter()
            .filter(|(_, m)| {
                matches!(
                    m.state,
                    TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
                ) && m.last_update_ms.saturating_add(broker.id_expiration_ms()) < now
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            match self.forget(broker, &id, now).await {
                Ok(()) => tracing::info!(transactional_id = %id, "transactional id expired"),
                Err(e) => {
                    tracing::warn!(transactional_id = %id, error = ?e, "could not expire a transactional id; will retry")
                }
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
