//! TxnOffsetCommit: flexible from v3. v2 adds each offset's leader epoch; v3 the member's
//! generation, id and instance id, so the group can fence a zombie member (KIP-447); v4 only
//! tells the broker the client knows TRANSACTION_ABORTABLE (KIP-890).

use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{GroupId, ProducerId, TopicName, TransactionalId, TxnOffsetCommitRequest};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<TxnOffsetCommitRequest, DecodeError> {
    let flex = version >= 3;
    let mut req = TxnOffsetCommitRequest::default();
    req.transactional_id = TransactionalId(r.string(flex)?);
    req.group_id = GroupId(r.string(flex)?);
    req.producer_id = ProducerId(r.i64()?);
    req.producer_epoch = r.i16()?;
    if version >= 3 {
        req.generation_id = r.i32()?;
        req.member_id = r.string(flex)?;
        req.group_instance_id = r.nullable_string(flex)?;
    }
    req.topics = r.array(flex, |r| {
        let mut t = TxnOffsetCommitRequestTopic::default();
        t.name = TopicName(r.string(flex)?);
        t.partitions = r.array(flex, |r| {
            let mut p = TxnOffsetCommitRequestPartition::default();
            p.partition_index = r.i32()?;
            p.committed_offset = r.i64()?;
            if version >= 2 {
                p.committed_leader_epoch = r.i32()?;
            }
            p.committed_metadata = r.nullable_string(flex)?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> TxnOffsetCommitRequest {
        let mut req = TxnOffsetCommitRequest::default();
        g.set(&mut req, v, |x, g| x.transactional_id = TransactionalId(g.string()));
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.producer_id = ProducerId(g.i64()));
        g.set(&mut req, v, |x, g| x.producer_epoch = g.i16());
        g.set(&mut req, v, |x, g| x.generation_id = g.i32());
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.group_instance_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| {
            x.topics = g.vec(|g| {
                let mut t = TxnOffsetCommitRequestTopic::default();
                t.name = TopicName(g.string());
                t.partitions = g.vec(|g| {
                    let mut p = TxnOffsetCommitRequestPartition::default();
                    p.partition_index = g.i32();
                    p.committed_offset = g.i64();
                    if v >= 2 {
                        p.committed_leader_epoch = g.i32();
                    }
                    p.committed_metadata = g.opt(Gen::string);
                    if v >= 3 {
                        p.unknown_tagged_fields = g.tags();
                    }
                    p
                });
                if v >= 3 {
                    t.unknown_tagged_fields = g.tags();
                }
                t
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(TxnOffsetCommit, arbitrary);
}
