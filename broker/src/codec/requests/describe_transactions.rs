//! DescribeTransactions: flexible from v0, its only version (KIP-664).

use kafka_protocol::messages::{DescribeTransactionsRequest, TransactionalId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<DescribeTransactionsRequest, DecodeError> {
    let mut req = DescribeTransactionsRequest::default();
    req.transactional_ids = r.array(true, |r| r.string(true).map(TransactionalId))?;
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeTransactionsRequest {
        let mut req = DescribeTransactionsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.transactional_ids = g.vec(|g| TransactionalId(g.string()))
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeTransactions, arbitrary);
}
