//! DescribeConfigs: flexible from v4.

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::DescribeConfigsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DescribeConfigsRequest, DecodeError> {
    let flex = version >= 4;
    let mut req = DescribeConfigsRequest::default();
    req.resources = r.array(flex, |r| resource(r, flex))?;
    req.include_synonyms = r.bool()?;
    if version >= 3 {
        req.include_documentation = r.bool()?;
    }
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn resource(r: &mut Reader, flex: bool) -> Result<DescribeConfigsResource, DecodeError> {
    let mut resource = DescribeConfigsResource::default();
    resource.resource_type = r.i8()?;
    resource.resource_name = r.string(flex)?;
    // Null asks for every config of the resource.
    resource.configuration_keys = r.nullable_array(flex, |r| r.string(flex))?;
    if flex {
        resource.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeConfigsRequest {
        let mut req = DescribeConfigsRequest::default();
        g.set(&mut req, v, |x, g| x.resources = g.vec(|g| resource(g, v)));
        g.set(&mut req, v, |x, g| x.include_synonyms = g.bool());
        g.set(&mut req, v, |x, g| x.include_documentation = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn resource(g: &mut Gen, v: i16) -> DescribeConfigsResource {
        let mut r = DescribeConfigsResource::default();
        g.set(&mut r, v, |x, g| x.resource_type = g.i8());
        g.set(&mut r, v, |x, g| x.resource_name = g.string());
        g.set(&mut r, v, |x, g| x.configuration_keys = g.opt(|g| g.vec(Gen::string)));
        g.set(&mut r, v, |x, g| x.unknown_tagged_fields = g.tags());
        r
    }

    round_trip_test!(DescribeConfigs, arbitrary);
}
