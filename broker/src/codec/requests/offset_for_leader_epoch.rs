//! OffsetForLeaderEpoch (KIP-101, KIP-320): flexible from v4; v3 added the replica id.

use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::{BrokerId, OffsetForLeaderEpochRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<OffsetForLeaderEpochRequest, DecodeError> {
    let flex = version >= 4;
    let mut req = OffsetForLeaderEpochRequest::default();
    if version >= 3 {
        req.replica_id = BrokerId(r.i32()?);
    }
    req.topics = r.array(flex, |r| {
        let mut t = OffsetForLeaderTopic::default();
        t.topic = TopicName(r.string(flex)?);
        t.partitions = r.array(flex, |r| {
            let mut p = OffsetForLeaderPartition::default();
            p.partition = r.i32()?;
            p.current_leader_epoch = r.i32()?;
            p.leader_epoch = r.i32()?;
            if flex {
                p.unknown_tagged_fields = r.unknown_tagged_fields()?;
            }
            Ok(p)
        })?;
        if flex {
            t.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(t)
    })?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> OffsetForLeaderEpochRequest {
        let mut req = OffsetForLeaderEpochRequest::default();
        g.set(&mut req, v, |x, g| x.replica_id = BrokerId(g.i32()));
        g.set(&mut req, v, |x, g| {
            x.topics = g.vec(|g| {
                let mut t = OffsetForLeaderTopic::default();
                g.set(&mut t, v, |t, g| t.topic = TopicName(g.string()));
                g.set(&mut t, v, |t, g| {
                    t.partitions = g.vec(|g| {
                        let mut p = OffsetForLeaderPartition::default();
                        g.set(&mut p, v, |p, g| p.partition = g.i32());
                        g.set(&mut p, v, |p, g| p.current_leader_epoch = g.i32());
                        g.set(&mut p, v, |p, g| p.leader_epoch = g.i32());
                        g.set(&mut p, v, |p, g| p.unknown_tagged_fields = g.tags());
                        p
                    })
                });
                g.set(&mut t, v, |t, g| t.unknown_tagged_fields = g.tags());
                t
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(OffsetForLeaderEpoch, arbitrary);
}
