//! AddOffsetsToTxn: flexible from v3. v4 only tells the broker the client knows the
//! TRANSACTION_ABORTABLE error (KIP-890).

use kafka_protocol::messages::{AddOffsetsToTxnRequest, GroupId, ProducerId, TransactionalId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<AddOffsetsToTxnRequest, DecodeError> {
    let flex = version >= 3;
    let mut req = AddOffsetsToTxnRequest::default();
    req.transactional_id = TransactionalId(r.string(flex)?);
    req.producer_id = ProducerId(r.i64()?);
    req.producer_epoch = r.i16()?;
    req.group_id = GroupId(r.string(flex)?);
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> AddOffsetsToTxnRequest {
        let mut req = AddOffsetsToTxnRequest::default();
        g.set(&mut req, v, |x, g| x.transactional_id = TransactionalId(g.string()));
        g.set(&mut req, v, |x, g| x.producer_id = ProducerId(g.i64()));
        g.set(&mut req, v, |x, g| x.producer_epoch = g.i16());
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(AddOffsetsToTxn, arbitrary);
}
