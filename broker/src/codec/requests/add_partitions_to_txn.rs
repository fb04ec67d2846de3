//! AddPartitionsToTxn: flexible from v3. v4 and later carry a batch of transactions for
//! broker-to-broker verification (KIP-890); clients send v3 and below, which is what is served.

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{AddPartitionsToTxnRequest, ProducerId, TopicName, TransactionalId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<AddPartitionsToTxnRequest, DecodeError> {
    let flex = version >= 3;
    let mut req = AddPartitionsToTxnRequest::default();
    req.v3_and_below_transactional_id = TransactionalId(r.string(flex)?);
    req.v3_and_below_producer_id = ProducerId(r.i64()?);
    req.v3_and_below_producer_epoch = r.i16()?;
    req.v3_and_below_topics = r.array(flex, |r| {
        let mut t = AddPartitionsToTxnTopic::default();
        t.name = TopicName(r.string(flex)?);
        t.partitions = r.array(flex, |r| r.i32())?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> AddPartitionsToTxnRequest {
        let mut req = AddPartitionsToTxnRequest::default();
        g.set(&mut req, v, |x, g| {
            x.v3_and_below_transactional_id = TransactionalId(g.string())
        });
        g.set(&mut req, v, |x, g| x.v3_and_below_producer_id = ProducerId(g.i64()));
        g.set(&mut req, v, |x, g| x.v3_and_below_producer_epoch = g.i16());
        g.set(&mut req, v, |x, g| {
            x.v3_and_below_topics = g.vec(|g| {
                let mut t = AddPartitionsToTxnTopic::default();
                t.name = TopicName(g.string());
                t.partitions = g.vec(|g| g.i32());
                if v >= 3 {
                    t.unknown_tagged_fields = g.tags();
                }
                t
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(AddPartitionsToTxn, arbitrary);
}
