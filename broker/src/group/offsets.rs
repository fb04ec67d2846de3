//! OffsetCommit, OffsetFetch, OffsetDelete and offset expiry (Kafka's `OffsetMetadataManager`
//! and `ClassicGroup.validateOffsetCommit`/`offsetExpirationCondition`;
//! docs/kafka-protocol.md#offsetcommit-and-offsetfetch).
//!
//! A commit is applied in memory when its record is appended and answered once the record is
//! fsynced (the handler waits on the returned [`Durable`]), so an acknowledged commit survives
//! a crash.

use kafka_protocol::error::ResponseError;

use super::classic::{Group, GroupState};
use super::consumer::ConsumerGroup;
use super::messages::{CommitRequest, CommitResponse, FetchedOffset, OffsetDeleteResponse};
use super::records::{encode_key, encode_offset_value, OffsetValue, RecordKey};
use super::store::KeyValue;
use super::task::Core;

/// The offset record for `(group, topic, partition)`; `None` is its tombstone.
pub fn offset_record(group: &str, topic: &str, partition: i32, value: Option<&OffsetValue>) -> KeyValue {
    let key = RecordKey::Offset {
        group: group.to_string(),
        topic: topic.to_string(),
        partition,
    };
    (encode_key(&key), value.map(encode_offset_value))
}

impl Core {
    /// OffsetCommit, or with `txn` (producer id, epoch) TxnOffsetCommit: the offsets are then
    /// written as that producer's transactional batch and wait, pending, for its marker
    /// (`txn_offsets`).
    pub fn commit(&mut self, req: CommitRequest, txn: Option<(i64, i16)>) -> CommitResponse {
        let all = |e: ResponseError| CommitResponse {
            errors: vec![Some(e); req.offsets.len()],
            ..Default::default()
        };
        if req.group_id.is_empty() {
            return all(ResponseError::InvalidGroupId);
        }
        let now = self.ctx.clock.now_ms();
        let is_member_commit = req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some();
        if !self.groups.contains_key(&req.group_id) {
            // A commit with a generation to a group we do not know: its generation is gone.
            // OffsetCommit v9 says so with GROUP_ID_NOT_FOUND, earlier versions and
            // TxnOffsetCommit with ILLEGAL_GENERATION, as Kafka's coordinator does.
            if req.generation_id >= 0 {
                let v9 = txn.is_none() && req.api_version >= 9;
                return all(match v9 {
                    true => ResponseError::GroupIdNotFound,
                    false => ResponseError::IllegalGeneration,
                });
            }
            // Without one (manual assignment, an admin tool; a KIP-848 client names its own
            // member id even then) the commit creates a "simple" group, as in Kafka.
            self.groups.insert(req.group_id.clone(), Group::new(&req.group_id, now));
        }
        let Some(g) = self.groups.get_mut(&req.group_id) else {
            return all(ResponseError::CoordinatorNotAvailable);
        };
        if let Err(e) = validate_commit(g, &req, is_member_commit, txn.is_some()) {
            return all(e);
        }
        let max = self.ctx.config.offset_metadata_max_bytes;
        let expire = (req.retention_time_ms >= 0).then(|| now.saturating_add(req.retention_time_ms));
        let mut errors = Vec::with_capacity(req.offsets.len());
        let mut accepted = Vec::new();
        for o in &req.offsets {
            let metadata = o.metadata.clone().unwrap_or_default();
            if metadata.len() > max {
                errors.push(Some(ResponseError::OffsetMetadataTooLarge));
                continue;
            }
            errors.push(None);
            let value = OffsetValue {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata,
                commit_timestamp: now,
                expire_timestamp: expire,
            };
            accepted.push(((o.topic.clone(), o.partition), value));
        }
        let mut response = CommitResponse {
            errors,
            ..Default::default()
        };
        if accepted.is_empty() {
            return response;
        }
        let records: Vec<KeyValue> = accepted
            .iter()
            .map(|((t, p), v)| offset_record(&req.group_id, t, *p, Some(v)))
            .collect();
        match self.ctx.store.append(&req.group_id, &records, txn, now) {
            Ok(durable) => {
                response.durable = durable;
                match txn {
                    None => g.offsets.extend(accepted),
                    Some((producer_id, _)) => self
                        .pending
                        .entry(producer_id)
                        .or_default()
                        .extend(accepted.into_iter().map(|(p, v)| (req.group_id.clone(), p, v))),
                }
            }
            Err(e) => {
                tracing::warn!(group = %req.group_id, error = %e, "could not store offsets");
                for err in response.errors.iter_mut().filter(|e| e.is_none()) {
                    *err = Some(ResponseError::NotCoordinator);
                }
            }
        }
        response
    }

    /// Kafka's `ConsumerGroup.validateOffsetFetch`: a member of a consumer group that names
    /// itself must be known and at its current epoch. Classic groups and requests without a
    /// member (admin tools) are not checked.
    pub fn validate_fetch(&self, group_id: &str, member: Option<(String, i32)>) -> Result<(), ResponseError> {
        let Some((member_id, epoch)) = member else {
            return Ok(());
        };
        let Some(cg) = self.groups.get(group_id).and_then(|g| g.consumer.as_ref()) else {
            return Ok(());
        };
        let m = cg.members.get(&member_id).ok_or(ResponseError::UnknownMemberId)?;
        if m.epoch != epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Committed offsets; a partition with none is reported as offset -1, no error.
    pub fn fetch_offsets(&self, group_id: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> Vec<FetchedOffset> {
        let g = self.groups.get(group_id);
        let fetched = |topic: &str, partition: i32| {
            let v = g.and_then(|g| g.offsets.get(&(topic.to_string(), partition)));
            FetchedOffset {
                topic: topic.to_string(),
                partition,
                offset: v.map_or(-1, |v| v.offset),
                leader_epoch: v.map_or(-1, |v| v.leader_epoch),
                metadata: v.map(|v| v.metadata.clone()).unwrap_or_default(),
                unstable: self.is_pending(group_id, topic, partition),
            }
        };
        match topics {
            Some(topics) => topics
                .iter()
                .flat_map(|(t, ps)| ps.iter().map(move |p| (t, *p)))
                .map(|(t, p)| fetched(t, p))
                .collect(),
            None => g
                .map(|g| g.offsets.keys().map(|(t, p)| fetched(t, *p)).collect())
                .unwrap_or_default(),
        }
    }

    /// OffsetDelete: refused for topics a non-empty consumer group still subscribes to.
    pub fn delete_offsets(&mut self, group_id: &str, partitions: Vec<(String, i32)>) -> OffsetDeleteResponse {
        let Some(g) = self.groups.get_mut(group_id) else {
            return OffsetDeleteResponse {
                error: Some(ResponseError::GroupIdNotFound),
                ..Default::default()
            };
        };
        let subscribed = match g.state {
            _ if g.consumer.is_some() => g.consumer.as_ref().map(|c| match c.members.is_empty() {
                true => Default::default(),
                false => c.subscribed.keys().cloned().collect(),
            }),
            GroupState::Empty => Some(Default::default()),
            _ if g.protocol_type.as_deref() == Some("consumer") => g.subscribed_topics(),
            _ => {
                return OffsetDeleteResponse {
                    error: Some(ResponseError::NonEmptyGroup),
                    ..Default::default()
                }
            }
        };
        let mut response = OffsetDeleteResponse::default();
        let mut records = Vec::new();
        for (topic, partition) in partitions {
            // Unreadable subscriptions count as subscribed to everything, the safe side.
            let in_use = subscribed.as_ref().is_none_or(|s| s.contains(&topic));
            if in_use {
                response
                    .partitions
                    .push((topic, partition, Some(ResponseError::GroupSubscribedToTopic)));
                continue;
            }
            if g.offsets.contains_key(&(topic.clone(), partition)) {
                records.push(offset_record(group_id, &topic, partition, None));
            }
            response.partitions.push((topic, partition, None));
        }
        if !records.is_empty() {
            match self.ctx.store.append(group_id, &records, None, self.ctx.clock.now_ms()) {
                Ok(durable) => response.durable = durable,
                Err(e) => {
                    tracing::warn!(group = %group_id, error = %e, "could not delete offsets");
                    response.error = Some(ResponseError::NotCoordinator);
                    return response;
                }
            }
            for (topic, partition, error) in &response.partitions {
                if error.is_none() {
                    g.offsets.remove(&(topic.clone(), *partition));
                }
            }
        }
        response
    }

    /// Drops expired offsets (KIP-211), and groups left with neither members nor offsets.
    pub fn expire_offsets(&mut self) {
        let now = self.ctx.clock.now_ms();
        let retention = i64::try_from(self.ctx.config.offsets_retention.as_millis()).unwrap_or(i64::MAX);
        let mut dead = Vec::new();
        for g in self.groups.values_mut() {
            let expired: Vec<(String, i32)> = g
                .offsets
                .iter()
                .filter(|(_, v)| is_expired(g, v, now, retention))
                .map(|(k, _)| k.clone())
                .collect();
            let mut records: Vec<KeyValue> = expired
                .iter()
                .map(|(t, p)| offset_record(&g.group_id, t, *p, None))
                .collect();
            let drop_group = g.is_empty() && g.offsets.len() == expired.len();
            if drop_group {
                records.extend(g.tombstones());
            }
            if records.is_empty() {
                continue;
            }
            if let Err(e) = self.ctx.store.append(&g.group_id, &records, None, now) {
                tracing::warn!(group = %g.group_id, error = %e, "could not expire offsets; will retry");
                continue;
            }
            for k in &expired {
                g.offsets.remove(k);
            }
            tracing::info!(group = %g.group_id, offsets = expired.len(), group_removed = drop_group, "expired offsets");
            if drop_group {
                dead.push(g.group_id.clone());
            }
        }
        for id in dead {
            self.groups.remove(&id);
        }
    }
}

/// Kafka's `validateOffsetCommit` for classic groups.
fn validate_commit(
    g: &Group,
    req: &CommitRequest,
    is_member_commit: bool,
    transactional: bool,
) -> Result<(), ResponseError> {
    if let Some(cg) = &g.consumer {
        return validate_consumer_commit(cg, req, transactional);
    }
    if req.generation_id < 0 && g.state == GroupState::Empty {
        // No generation: an admin tool or a consumer without group management, whatever
        // member id it names; an empty group takes its commits.
        return Ok(());
    }
    if is_member_commit {
        g.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
        if req.generation_id != g.generation_id {
            return Err(ResponseError::IllegalGeneration);
        }
    } else if g.state != GroupState::Empty {
        // Without a member id and generation, only an empty group takes commits.
        return Err(ResponseError::UnknownMemberId);
    }
    if g.state == GroupState::CompletingRebalance {
        return Err(ResponseError::RebalanceInProgress);
    }
    Ok(())
}

/// Kafka's `ConsumerGroup.validateOffsetCommit`: without a member epoch only an empty group
/// takes commits; a member must commit at its current epoch, with OffsetCommit v9 or later
/// unless inside a transaction.
fn validate_consumer_commit(cg: &ConsumerGroup, req: &CommitRequest, transactional: bool) -> Result<(), ResponseError> {
    if req.generation_id < 0 && cg.members.is_empty() {
        return Ok(());
    }
    let member = cg.members.get(&req.member_id).ok_or(ResponseError::UnknownMemberId)?;
    if !transactional && req.api_version < 9 {
        return Err(ResponseError::UnsupportedVersion);
    }
    if req.generation_id != member.epoch {
        return Err(ResponseError::StaleMemberEpoch);
    }
    Ok(())
}

/// Kafka's expiration condition: offsets of a group that never had members (manual
/// assignment) age from their commit; those of an Empty group from when it became Empty; a
/// group with members keeps its offsets. An explicit expiry (OffsetCommit v2–4) wins.
fn is_expired(g: &Group, v: &OffsetValue, now: i64, retention: i64) -> bool {
    if let Some(at) = v.expire_timestamp {
        return now >= at;
    }
    if g.consumer.as_ref().is_some_and(|c| !c.members.is_empty()) {
        return false;
    }
    let base = match (&g.protocol_type, g.state) {
        (None, _) => v.commit_timestamp,
        (Some(_), GroupState::Empty) => g.state_timestamp.unwrap_or(v.commit_timestamp),
        _ => return false,
    };
    now.saturating_sub(base) >= retention
}
