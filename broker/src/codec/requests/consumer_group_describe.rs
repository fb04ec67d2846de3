//! ConsumerGroupDescribe (KIP-848): flexible from v0; v1 only adds a field to the response.

use kafka_protocol::messages::{ConsumerGroupDescribeRequest, GroupId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<ConsumerGroupDescribeRequest, DecodeError> {
    let mut req = ConsumerGroupDescribeRequest::default();
    req.group_ids = r.array(true, |r| r.string(true).map(GroupId))?;
    req.include_authorized_operations = r.bool()?;
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ConsumerGroupDescribeRequest {
        let mut req = ConsumerGroupDescribeRequest::default();
        g.set(&mut req, v, |x, g| x.group_ids = g.vec(|g| GroupId(g.string())));
        g.set(&mut req, v, |x, g| x.include_authorized_operations = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(ConsumerGroupDescribe, arbitrary);
}
