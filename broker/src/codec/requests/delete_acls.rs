//! DeleteAcls: flexible from v2. Kafka 4 dropped v0 (no pattern type).

use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::DeleteAclsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DeleteAclsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = DeleteAclsRequest::default();
    req.filters = r.array(flex, |r| {
        let mut f = DeleteAclsFilter::default();
        f.resource_type_filter = r.i8()?;
        f.resource_name_filter = r.nullable_string(flex)?;
        f.pattern_type_filter = r.i8()?;
        f.principal_filter = r.nullable_string(flex)?;
        f.host_filter = r.nullable_string(flex)?;
        f.operation = r.i8()?;
        f.permission_type = r.i8()?;
        if flex {
            f.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(f)
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

    fn arbitrary(g: &mut Gen, v: i16) -> DeleteAclsRequest {
        let mut req = DeleteAclsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.filters = g.vec(|g| {
                let mut f = DeleteAclsFilter::default();
                g.set(&mut f, v, |f, g| f.resource_type_filter = g.i8());
                g.set(&mut f, v, |f, g| f.resource_name_filter = g.opt(|g| g.string()));
                g.set(&mut f, v, |f, g| f.pattern_type_filter = g.i8());
                g.set(&mut f, v, |f, g| f.principal_filter = g.opt(|g| g.string()));
                g.set(&mut f, v, |f, g| f.host_filter = g.opt(|g| g.string()));
                g.set(&mut f, v, |f, g| f.operation = g.i8());
                g.set(&mut f, v, |f, g| f.permission_type = g.i8());
                g.set(&mut f, v, |f, g| f.unknown_tagged_fields = g.tags());
                f
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DeleteAcls, arbitrary);
}
