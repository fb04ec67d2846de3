//! DescribeAcls: flexible from v2. Kafka 4 dropped v0 (no pattern type).

use kafka_protocol::messages::DescribeAclsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DescribeAclsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = DescribeAclsRequest::default();
    req.resource_type_filter = r.i8()?;
    req.resource_name_filter = r.nullable_string(flex)?;
    req.pattern_type_filter = r.i8()?;
    req.principal_filter = r.nullable_string(flex)?;
    req.host_filter = r.nullable_string(flex)?;
    req.operation = r.i8()?;
    req.permission_type = r.i8()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeAclsRequest {
        let mut req = DescribeAclsRequest::default();
        g.set(&mut req, v, |x, g| x.resource_type_filter = g.i8());
        g.set(&mut req, v, |x, g| x.resource_name_filter = g.opt(|g| g.string()));
        g.set(&mut req, v, |x, g| x.pattern_type_filter = g.i8());
        g.set(&mut req, v, |x, g| x.principal_filter = g.opt(|g| g.string()));
        g.set(&mut req, v, |x, g| x.host_filter = g.opt(|g| g.string()));
        g.set(&mut req, v, |x, g| x.operation = g.i8());
        g.set(&mut req, v, |x, g| x.permission_type = g.i8());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeAcls, arbitrary);
}
