//! Start-up: the groups and offsets are rebuilt by replaying every record of
//! `__consumer_offsets` from each partition's log start, latest record per key winning, as
//! Kafka's coordinator loads its partitions. A record that does not decode is skipped with a
//! warning: one bad record must not keep every other group from loading. Offsets committed in a
//! transaction wait for their producer's marker (`txn_offsets`): a COMMIT applies them, an ABORT
//! drops them, and those still waiting at the end are the pending offsets of open transactions.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use uuid::Uuid;

use super::batch::StoredRecord;
use super::classic::Group;
use super::consumer::records::restore;
use super::records::{decode_group_value, decode_key, decode_offset_value, ConsumerPart, RecordKey};
use super::store::Loaded;
use super::txn_offsets::Pending;

/// The last value of each consumer group record (KIP-848), by group: the groups are rebuilt
/// from them once every record has been read.
type ConsumerRecords = HashMap<String, BTreeMap<ConsumerPart, (Bytes, Bytes)>>;

/// Replays what the topic holds (in log order per partition) into groups, and the offsets of
/// transactions still open. `topic_name` finds a topic by id, for consumer groups' records.
pub fn replay(
    loaded: Vec<Loaded>,
    now_ms: i64,
    topic_name: impl Fn(Uuid) -> Option<String>,
) -> (HashMap<String, Group>, Pending) {
    let mut groups: HashMap<String, Group> = HashMap::new();
    let mut consumer = ConsumerRecords::new();
    let mut waiting: HashMap<i64, Vec<StoredRecord>> = HashMap::new();
    for batch in loaded {
        match batch {
            Loaded::Records(records) => records
                .into_iter()
                .for_each(|r| apply(&mut groups, &mut consumer, r, now_ms)),
            Loaded::Pending { producer_id, records } => waiting.entry(producer_id).or_default().extend(records),
            Loaded::Marker { producer_id, commit } => {
                let records = waiting.remove(&producer_id).unwrap_or_default();
                if commit {
                    records
                        .into_iter()
                        .for_each(|r| apply(&mut groups, &mut consumer, r, now_ms));
                }
            }
        }
    }
    for (group_id, records) in consumer {
        let parts = records.iter().map(|(p, (_, v))| (p.clone(), v.clone())).collect();
        match restore(&parts, &topic_name) {
            Ok(mut cg) => {
                cg.stored = records.into_values().collect();
                let g = groups
                    .entry(group_id.clone())
                    .or_insert_with(|| Group::new(&group_id, now_ms));
                g.protocol_type = Some("consumer".into());
                g.consumer = Some(cg);
            }
            Err(e) => tracing::warn!(group = %group_id, error = %e, "skipping a consumer group's records"),
        }
    }
    let mut pending = Pending::new();
    for (producer_id, records) in waiting {
        for r in records {
            let key = r.key.as_deref().map(decode_key);
            let value = r.value.as_deref().map(decode_offset_value);
            if let (
                Some(Ok(RecordKey::Offset {
                    group,
                    topic,
                    partition,
                })),
                Some(Ok(v)),
            ) = (key, value)
            {
                pending
                    .entry(producer_id)
                    .or_default()
                    .push((group, (topic, partition), v));
            }
        }
    }
    (groups, pending)
}

/// Applies one record to the groups (consumer group records are gathered in `consumer`).
fn apply(groups: &mut HashMap<String, Group>, consumer: &mut ConsumerRecords, r: StoredRecord, now_ms: i64) {
    {
        let key = match r.key.as_deref().map(decode_key) {
            Some(Ok(key)) => key,
            Some(Err(e)) => {
                tracing::warn!(offset = r.offset, error = %e, "skipping a record while loading groups");
                return;
            }
            None => return,
        };
        let group_id = key.group().to_string();
        match (key, r.value) {
            (RecordKey::Consumer { part, .. }, None) => {
                if let Some(records) = consumer.get_mut(&group_id) {
                    records.remove(&part);
                    if records.is_empty() {
                        consumer.remove(&group_id);
                    }
                }
            }
            (RecordKey::Consumer { part, .. }, Some(value)) => {
                let key = r.key.clone().unwrap_or_default();
                consumer.entry(group_id).or_default().insert(part, (key, value));
            }
            (RecordKey::Offset { topic, partition, .. }, None) => {
                if let Some(g) = groups.get_mut(&group_id) {
                    g.offsets.remove(&(topic, partition));
                }
            }
            (RecordKey::Offset { topic, partition, .. }, Some(value)) => match decode_offset_value(&value) {
                Ok(v) => {
                    let g = groups
                        .entry(group_id.clone())
                        .or_insert_with(|| Group::new(&group_id, now_ms));
                    g.offsets.insert((topic, partition), v);
                }
                Err(e) => tracing::warn!(group = %group_id, offset = r.offset, error = %e, "skipping an offset record"),
            },
            // A group tombstone: the group's metadata is gone; offsets have their own tombstones.
            (RecordKey::Group { .. }, None) => {
                if let Some(g) = groups.remove(&group_id) {
                    if !g.offsets.is_empty() {
                        let mut fresh = Group::new(&group_id, now_ms);
                        fresh.offsets = g.offsets;
                        groups.insert(group_id, fresh);
                    }
                }
            }
            (RecordKey::Group { .. }, Some(value)) => match decode_group_value(&value) {
                Ok(v) => {
                    let g = groups
                        .entry(group_id.clone())
                        .or_insert_with(|| Group::new(&group_id, now_ms));
                    g.restore(v, value);
                }
                Err(e) => tracing::warn!(group = %group_id, offset = r.offset, error = %e, "skipping a group record"),
            },
        }
    }
}
