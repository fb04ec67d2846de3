//! A consumer group in `__consumer_offsets`, in Kafka 4's record types (its
//! `ConsumerGroup*{Key,Value}.json` schemas in group-coordinator/src/main/resources/common/message):
//!
//! ```text
//! key 3  group                  → value v0: i32 group epoch
//! key 5  group, member          → value v0: instance?, rack?, client id, client host,
//!                                  [subscribed topic], regex?, i32 rebalance timeout, assignor?
//! key 6  group                  → value v0: i32 assignment epoch
//! key 7  group, member          → value v0: [topic id, [partition]]  (its target)
//! key 8  group, member          → value v0: i32 epoch, i32 previous epoch, i8 state,
//!                                  [topic id, [partition]] assigned, … pending revocation
//! ```
//!
//! Keys are classic (`i16` version, `i16`-length strings, `records.rs`); values are flexible:
//! `i16` version 0, compact strings and arrays (uvarint length + 1, 0 = null) and an empty
//! tagged-field section after each struct. Key 4 (subscribed topics' metadata), which Kafka 4.1
//! stopped writing, is read and ignored: subscriptions are resolved again on the first heartbeat.
//!
//! A group's records are derived whole from its state ([`encode`]); the coordinator writes the
//! difference from what it wrote last, tombstones for what is gone, so replaying the topic gives
//! back each key's last value and [`restore`] rebuilds the group from them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::{Assignment, ConsumerGroup, ConsumerMember, MemberState};
use crate::codec::Reader;
use crate::group::records::{encode_key, ConsumerPart, RecordError, RecordKey};

const VALUE_VERSION: i16 = 0;

/// Every record of the group as it stands, key → value; topic ids from `cg.ids`.
pub fn encode(group: &str, cg: &ConsumerGroup) -> BTreeMap<Bytes, Bytes> {
    let key = |part| {
        encode_key(&RecordKey::Consumer {
            group: group.to_string(),
            part,
        })
    };
    let mut out = BTreeMap::new();
    out.insert(key(ConsumerPart::Metadata), epoch_value(cg.epoch));
    out.insert(key(ConsumerPart::TargetMetadata), epoch_value(cg.assignment_epoch));
    for m in cg.members.values() {
        out.insert(key(ConsumerPart::Member(m.member_id.clone())), member_value(m));
        let target = cg.target.get(&m.member_id).cloned().unwrap_or_default();
        let mut b = start();
        put_partitions(&mut b, &target, cg);
        b.put_u8(0);
        out.insert(key(ConsumerPart::TargetMember(m.member_id.clone())), b.freeze());
        let mut b = start();
        b.put_i32(m.epoch);
        b.put_i32(m.previous_epoch);
        b.put_i8(match m.state {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
        });
        put_partitions(&mut b, &m.assigned, cg);
        put_partitions(&mut b, &m.pending_revocation, cg);
        b.put_u8(0);
        out.insert(key(ConsumerPart::CurrentAssignment(m.member_id.clone())), b.freeze());
    }
    out
}

/// Rebuilds a group from its records' last values; `name` finds a topic by id (a deleted
/// topic's partitions are dropped). The members' timers are the caller's to start.
pub fn restore(
    records: &BTreeMap<ConsumerPart, Bytes>,
    name: impl Fn(Uuid) -> Option<String>,
) -> Result<ConsumerGroup, RecordError> {
    let mut cg = ConsumerGroup::default();
    let mut targets = BTreeMap::new();
    let mut members: BTreeMap<String, ConsumerMember> = BTreeMap::new();
    for (part, value) in records {
        let mut r = Reader::new(value.clone());
        if r.i16().map_err(bad)? != VALUE_VERSION {
            return Err(RecordError(format!("unknown value version for {part:?}")));
        }
        match part {
            ConsumerPart::Metadata => cg.epoch = r.i32().map_err(bad)?,
            ConsumerPart::TargetMetadata => cg.assignment_epoch = r.i32().map_err(bad)?,
            ConsumerPart::PartitionMetadata => {}
            ConsumerPart::Member(id) => {
                let m = members.entry(id.clone()).or_insert_with(|| ConsumerMember::new(id));
                m.instance_id = r.nullable_string(true).map_err(bad)?.map(|s| s.to_string());
                m.rack_id = r.nullable_string(true).map_err(bad)?.map(|s| s.to_string());
                m.client_id = r.string(true).map_err(bad)?.to_string();
                m.client_host = r.string(true).map_err(bad)?.to_string();
                let names = r.array(true, |r| r.string(true)).map_err(bad)?;
                m.subscribed_names = names.iter().map(|s| s.to_string()).collect();
                m.set_regex(r.nullable_string(true).map_err(bad)?.map(|s| s.to_string()));
                m.rebalance_timeout = Duration::from_millis(u64::try_from(r.i32().map_err(bad)?).unwrap_or(0));
                m.server_assignor = r.nullable_string(true).map_err(bad)?.map(|s| s.to_string());
            }
            ConsumerPart::TargetMember(id) => {
                targets.insert(id.clone(), partitions(&mut r, &name, &mut cg)?);
            }
            ConsumerPart::CurrentAssignment(id) => {
                let m = members.entry(id.clone()).or_insert_with(|| ConsumerMember::new(id));
                m.epoch = r.i32().map_err(bad)?;
                m.previous_epoch = r.i32().map_err(bad)?;
                m.state = match r.i8().map_err(bad)? {
                    1 => MemberState::UnrevokedPartitions,
                    2 => MemberState::UnreleasedPartitions,
                    _ => MemberState::Stable,
                };
                m.assigned = partitions(&mut r, &name, &mut cg)?;
                m.pending_revocation = partitions(&mut r, &name, &mut cg)?;
            }
        }
    }
    for m in members.into_values() {
        cg.put(m);
    }
    cg.target = targets
        .into_iter()
        .filter(|(id, _)| cg.members.contains_key(id))
        .collect();
    cg.subscriptions_unknown = true;
    Ok(cg)
}

fn bad(e: crate::codec::DecodeError) -> RecordError {
    RecordError(format!("consumer group record: {e}"))
}

fn start() -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i16(VALUE_VERSION);
    b
}

fn epoch_value(epoch: i32) -> Bytes {
    let mut b = start();
    b.put_i32(epoch);
    b.put_u8(0);
    b.freeze()
}

fn member_value(m: &ConsumerMember) -> Bytes {
    let mut b = start();
    put_nullable(&mut b, m.instance_id.as_deref());
    put_nullable(&mut b, m.rack_id.as_deref());
    put_nullable(&mut b, Some(&m.client_id));
    put_nullable(&mut b, Some(&m.client_host));
    put_len(&mut b, Some(m.subscribed_names.len()));
    for t in &m.subscribed_names {
        put_nullable(&mut b, Some(t));
    }
    put_nullable(&mut b, m.subscribed_regex.as_deref());
    b.put_i32(i32::try_from(m.rebalance_timeout.as_millis()).unwrap_or(i32::MAX));
    put_nullable(&mut b, m.server_assignor.as_deref());
    b.put_u8(0);
    b.freeze()
}

/// `[topic id, [partition], tags]`; topics without a known id (deleted) are left out.
fn put_partitions(b: &mut BytesMut, a: &Assignment, cg: &ConsumerGroup) {
    let known: Vec<(&Uuid, &BTreeSet<i32>)> = a.iter().filter_map(|(t, ps)| Some((cg.ids.get(t)?, ps))).collect();
    put_len(b, Some(known.len()));
    for (id, ps) in known {
        b.put_slice(id.as_bytes());
        put_len(b, Some(ps.len()));
        for p in ps {
            b.put_i32(*p);
        }
        b.put_u8(0);
    }
}

fn partitions(
    r: &mut Reader,
    name: &impl Fn(Uuid) -> Option<String>,
    cg: &mut ConsumerGroup,
) -> Result<Assignment, RecordError> {
    let topics = r
        .array(true, |r| {
            let id = r.uuid()?;
            let ps = r.array(true, Reader::i32)?;
            r.unknown_tagged_fields()?;
            Ok((id, ps))
        })
        .map_err(bad)?;
    let mut out = Assignment::new();
    for (id, ps) in topics {
        if let Some(topic) = name(id) {
            cg.ids.insert(topic.clone(), id);
            out.entry(topic).or_default().extend(ps);
        }
    }
    Ok(out)
}

/// A compact length: uvarint of n + 1, 0 for null.
fn put_len(b: &mut BytesMut, n: Option<usize>) {
    let mut v = n.map_or(0, |n| n as u64 + 1);
    while v >= 0x80 {
        b.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

fn put_nullable(b: &mut BytesMut, s: Option<&str>) {
    put_len(b, s.map(str::len));
    if let Some(s) = s {
        b.put_slice(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::records::decode_key;

    #[test]
    fn a_group_survives_its_records() {
        let mut cg = ConsumerGroup::default();
        cg.ids.insert("t".into(), Uuid::from_u128(7));
        cg.epoch = 4;
        cg.assignment_epoch = 4;
        let mut m = ConsumerMember::new("m-1");
        m.instance_id = Some("host-a".into());
        m.client_id = "worker".into();
        m.client_host = "/127.0.0.1".into();
        m.subscribed_names = vec!["t".into()];
        m.set_regex(Some("t.*".into()));
        m.rebalance_timeout = Duration::from_secs(30);
        m.server_assignor = Some("range".into());
        m.epoch = 4;
        m.previous_epoch = 3;
        m.state = MemberState::UnrevokedPartitions;
        m.assigned = [("t".to_string(), BTreeSet::from([0, 1]))].into();
        m.pending_revocation = [("t".to_string(), BTreeSet::from([2]))].into();
        cg.put(m);
        cg.target
            .insert("m-1".into(), [("t".to_string(), BTreeSet::from([0, 1]))].into());

        let records = encode("g", &cg);
        assert_eq!(records.len(), 5, "metadata, target metadata, and three per member");
        let parts: BTreeMap<ConsumerPart, Bytes> = records
            .iter()
            .map(|(k, v)| match decode_key(k) {
                Ok(RecordKey::Consumer { group, part }) if group == "g" => (part, v.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        let back = restore(&parts, |id| (id == Uuid::from_u128(7)).then(|| "t".to_string())).unwrap();
        assert_eq!((back.epoch, back.assignment_epoch), (4, 4));
        let m = &back.members["m-1"];
        assert_eq!(
            (m.epoch, m.previous_epoch, m.state),
            (4, 3, MemberState::UnrevokedPartitions)
        );
        assert_eq!(m.assigned, cg.members["m-1"].assigned);
        assert_eq!(m.pending_revocation, cg.members["m-1"].pending_revocation);
        assert_eq!(m.subscribed_regex.as_deref(), Some("t.*"));
        assert_eq!(m.rebalance_timeout, Duration::from_secs(30));
        assert_eq!(back.target, cg.target);
        assert_eq!(
            back.owner_epoch("t", 2),
            Some(4),
            "a partition being revoked is still held"
        );
        assert_eq!(back.static_members["host-a"], "m-1");
        // The same state encodes to the same bytes: nothing is rewritten after a restart.
        assert_eq!(encode("g", &back), records);

        // The epoch value is Kafka's: version 0, i32, no tagged fields.
        assert_eq!(&epoch_value(4)[..], &[0, 0, 0, 0, 0, 4, 0]);
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        for bytes in [
            &b""[..],
            &[0, 0, 0][..],
            &[0, 9, 0, 0, 0, 1, 0][..],
            &[0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f][..],
        ] {
            let parts = BTreeMap::from([(
                ConsumerPart::CurrentAssignment("m".into()),
                Bytes::copy_from_slice(bytes),
            )]);
            assert!(restore(&parts, |_| None).is_err(), "{bytes:?}");
        }
    }
}
