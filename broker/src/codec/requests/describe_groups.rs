//! DescribeGroups: flexible from v5; v6 changes only the answer (an error and a message for a
//! group that is not a classic group).

use kafka_protocol::messages::{DescribeGroupsRequest, GroupId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DescribeGroupsRequest, DecodeError> {
    let flex = version >= 5;
    let mut req = DescribeGroupsRequest::default();
    req.groups = r.array(flex, |r| r.string(flex).map(GroupId))?;
    if version >= 3 {
        req.include_authorized_operations = r.bool()?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeGroupsRequest {
        let mut req = DescribeGroupsRequest::default();
        g.set(&mut req, v, |x, g| x.groups = g.vec(|g| GroupId(g.string())));
        g.set(&mut req, v, |x, g| x.include_authorized_operations = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeGroups, arbitrary);
}
