//! CreateAcls: flexible from v2. Kafka 4 dropped v0 (no pattern type).

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::CreateAclsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<CreateAclsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = CreateAclsRequest::default();
    req.creations = r.array(flex, |r| {
        let mut c = AclCreation::default();
        c.resource_type = r.i8()?;
        c.resource_name = r.string(flex)?;
        c.resource_pattern_type = r.i8()?;
        c.principal = r.string(flex)?;
        c.host = r.string(flex)?;
        c.operation = r.i8()?;
        c.permission_type = r.i8()?;
        if flex {
            c.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(c)
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

    fn arbitrary(g: &mut Gen, v: i16) -> CreateAclsRequest {
        let mut req = CreateAclsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.creations = g.vec(|g| {
                let mut c = AclCreation::default();
                g.set(&mut c, v, |c, g| c.resource_type = g.i8());
                g.set(&mut c, v, |c, g| c.resource_name = g.string());
                g.set(&mut c, v, |c, g| c.resource_pattern_type = g.i8());
                g.set(&mut c, v, |c, g| c.principal = g.string());
                g.set(&mut c, v, |c, g| c.host = g.string());
                g.set(&mut c, v, |c, g| c.operation = g.i8());
                g.set(&mut c, v, |c, g| c.permission_type = g.i8());
                g.set(&mut c, v, |c, g| c.unknown_tagged_fields = g.tags());
                c
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(CreateAcls, arbitrary);
}
