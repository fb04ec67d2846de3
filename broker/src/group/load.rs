//! Start-up: the groups and offsets are rebuilt by replaying every record of
//! `__consumer_offsets` from each partition's log start, latest record per key winning, as
//! Kafka's coordinator loads its partitions. A record that does not decode is skipped with a
//! warning: one bad record must not keep every other group from loading. Offsets committed in a
//! transaction wait for their producer's marker (`txn_offsets`): a COMMIT applies them, an ABORT
//! drops them, and those still waiting at the end are the pending offsets of open transactions.

use std::collections::HashMap;

use super::batch::StoredRecord;
use super::classic::Group;
use super::records::{decode_group_value, decode_key, decode_offset_value, RecordKey};
use super::store::Loaded;
use super::txn_offsets::Pending;

/// Replays what the topic holds (in log order per partition) into groups, and the offsets of
/// transactions still open.
pub fn replay(loaded: Vec<Loaded>, now_ms: i64) -> (HashMap<String, Group>, Pending) {
    let mut groups: HashMap<String, Group> = HashMap::new();
    let mut waiting: HashMap<i64, Vec<StoredRecord>> = HashMap::new();
    for batch in loaded {
        match batch {
            Loaded::Records(records) => records.into_iter().for_each(|r| apply(&mut groups, r, now_ms)),
            Loaded::Pending { producer_id, records } => waiting.entry(producer_id).or_default().extend(records),
            Loaded::Marker { producer_id, commit } => {
                let records = waiting.remove(&producer_id).unwrap_or_default();
                if commit {
                    records.into_iter().for_each(|r| apply(&mut groups, r, now_ms));
                }
            }
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

/// Applies one record to the groups.
fn apply(groups: &mut HashMap<String, Group>, r: StoredRecord, now_ms: i64) {
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
