//! Offsets committed inside a transaction (TxnOffsetCommit, `sendOffsetsToTransaction`): the
//! exactly-once loop of consume, transform, produce.
//!
//! As in Kafka, the offsets are written to the group's `__consumer_offsets` partition at once,
//! as a transactional batch with the producer's id and epoch, and are *pending*: OffsetFetch
//! does not return them (and answers UNSTABLE_OFFSET_COMMIT to a client that asks for stable
//! offsets only) until the transaction coordinator has written the transaction's marker to that
//! partition. Then [`Core::txn_ended`] applies them (COMMIT) or drops them (ABORT). On start,
//! replay does the same from the log (`load`): a transactional batch's records wait for their
//! producer's marker. Snapshots keep every segment from the oldest open transaction on (`store`).

use std::collections::HashMap;

use super::records::OffsetValue;
use super::task::Core;

/// One pending offset: the group, the partition it is for, and its value.
pub type PendingOffset = (String, (String, i32), OffsetValue);

/// Pending offsets by producer id, in commit order.
pub type Pending = HashMap<i64, Vec<PendingOffset>>;

impl Core {
    /// The producer's transaction ended: on commit its pending offsets become the groups'
    /// committed offsets, on abort they go. Nothing is written: the marker is the record.
    pub fn txn_ended(&mut self, producer_id: i64, commit: bool) {
        let Some(offsets) = self.pending.remove(&producer_id) else {
            return;
        };
        if !commit {
            return;
        }
        let now = self.ctx.clock.now_ms();
        for (group, partition, value) in offsets {
            self.groups
                .entry(group.clone())
                .or_insert_with(|| super::classic::Group::new(&group, now))
                .offsets
                .insert(partition, value);
        }
    }

    /// Whether an open transaction holds an offset for the group's partition.
    pub fn is_pending(&self, group: &str, topic: &str, partition: i32) -> bool {
        self.pending
            .values()
            .flatten()
            .any(|(g, (t, p), _)| g == group && t == topic && *p == partition)
    }
}
