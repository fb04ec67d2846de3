//! DescribeClientQuotas (KIP-546): flexible from v1.

use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::DescribeClientQuotasRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DescribeClientQuotasRequest, DecodeError> {
    let flex = version >= 1;
    let mut req = DescribeClientQuotasRequest::default();
    req.components = r.array(flex, |r| {
        let mut c = ComponentData::default();
        c.entity_type = r.string(flex)?;
        c.match_type = r.i8()?;
        c._match = r.nullable_string(flex)?;
        if flex {
            c.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(c)
    })?;
    req.strict = r.bool()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeClientQuotasRequest {
        let mut req = DescribeClientQuotasRequest::default();
        g.set(&mut req, v, |x, g| {
            x.components = g.vec(|g| {
                let mut c = ComponentData::default();
                g.set(&mut c, v, |c, g| c.entity_type = g.string());
                g.set(&mut c, v, |c, g| c.match_type = g.i8());
                g.set(&mut c, v, |c, g| c._match = g.opt(Gen::string));
                g.set(&mut c, v, |c, g| c.unknown_tagged_fields = g.tags());
                c
            })
        });
        g.set(&mut req, v, |x, g| x.strict = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeClientQuotas, arbitrary);
}
