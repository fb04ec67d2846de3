//! InitProducerId: flexible from v2. v3 added the current producer id and
//! epoch so an idempotent producer can bump its epoch (KIP-360).

use kafka_protocol::messages::{InitProducerIdRequest, ProducerId, TransactionalId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<InitProducerIdRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = r.nullable_string(flex)?.map(TransactionalId);
    req.transaction_timeout_ms = r.i32()?;
    if version >= 3 {
        req.producer_id = ProducerId(r.i64()?);
        req.producer_epoch = r.i16()?;
    }
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> InitProducerIdRequest {
        let mut req = InitProducerIdRequest::default();
        g.set(&mut req, v, |x, g| {
            x.transactional_id = g.opt(|g| TransactionalId(g.string()))
        });
        g.set(&mut req, v, |x, g| x.transaction_timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.producer_id = ProducerId(g.i64()));
        g.set(&mut req, v, |x, g| x.producer_epoch = g.i16());
        g.set(&mut req, v, |x, g| x.enable_2_pc = g.bool());
        g.set(&mut req, v, |x, g| x.keep_prepared_txn = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(InitProducerId, arbitrary);
}
