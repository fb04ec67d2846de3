//! Start-up: the groups and offsets are rebuilt by replaying every record of
//! `__consumer_offsets` from each partition's log start, latest record per key winning, as
//! Kafka's coordinator loads its partitions. A record that does not decode is skipped with a
//! warning: one bad record must not keep every other group from loading.

use std::collections::HashMap;

use super::batch::StoredRecord;
use super::classic::Group;
use super::records::{decode_group_value, decode_key, decode_offset_value, RecordKey};

/// Replays `records` (in log order per partition) into groups.
pub fn replay(records: Vec<StoredRecord>, now_ms: i64) -> HashMap<String, Group> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    for r in records {
        let key = match r.key.as_deref().map(decode_key) {
            Some(Ok(key)) => key,
            Some(Err(e)) => {
                tracing::warn!(offset = r.offset, error = %e, "skipping a record while loading groups");
                continue;
            }
            None => continue,
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
    groups
}
