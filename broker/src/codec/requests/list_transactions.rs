//! ListTransactions: flexible from v0 (KIP-664). v1 adds a filter on how long a transaction
//! has been open (KIP-994); v2's filter on the transactional id by regular expression is not
//! served.

use kafka_protocol::messages::{ListTransactionsRequest, ProducerId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ListTransactionsRequest, DecodeError> {
    let mut req = ListTransactionsRequest::default();
    req.state_filters = r.array(true, |r| r.string(true))?;
    req.producer_id_filters = r.array(true, |r| r.i64().map(ProducerId))?;
    if version >= 1 {
        req.duration_filter = r.i64()?;
    }
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ListTransactionsRequest {
        let mut req = ListTransactionsRequest::default();
        g.set(&mut req, v, |x, g| x.state_filters = g.vec(Gen::string));
        g.set(&mut req, v, |x, g| {
            x.producer_id_filters = g.vec(|g| ProducerId(g.i64()))
        });
        g.set(&mut req, v, |x, g| x.duration_filter = g.i64());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(ListTransactions, arbitrary);
}
