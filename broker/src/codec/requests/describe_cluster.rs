//! DescribeCluster: flexible at every version. v1 added the endpoint type (KIP-919), v2 whether
//! fenced brokers are listed (KIP-1073).

use kafka_protocol::messages::DescribeClusterRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DescribeClusterRequest, DecodeError> {
    let mut req = DescribeClusterRequest::default();
    req.include_cluster_authorized_operations = r.bool()?;
    if version >= 1 {
        req.endpoint_type = r.i8()?;
    }
    if version >= 2 {
        req.include_fenced_brokers = r.bool()?;
    }
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeClusterRequest {
        let mut req = DescribeClusterRequest::default();
        g.set(&mut req, v, |x, g| x.include_cluster_authorized_operations = g.bool());
        g.set(&mut req, v, |x, g| x.endpoint_type = g.i8());
        g.set(&mut req, v, |x, g| x.include_fenced_brokers = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeCluster, arbitrary);
}
