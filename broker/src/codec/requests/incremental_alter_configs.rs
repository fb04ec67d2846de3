//! IncrementalAlterConfigs: flexible from v1. KIP-339: each config is
//! changed by an operation (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT) instead of the whole set being
//! replaced, as AlterConfigs (key 33) does.

use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::IncrementalAlterConfigsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<IncrementalAlterConfigsRequest, DecodeError> {
    let flex = version >= 1;
    let mut req = IncrementalAlterConfigsRequest::default();
    req.resources = r.array(flex, |r| resource(r, flex))?;
    req.validate_only = r.bool()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn resource(r: &mut Reader, flex: bool) -> Result<AlterConfigsResource, DecodeError> {
    let mut resource = AlterConfigsResource::default();
    resource.resource_type = r.i8()?;
    resource.resource_name = r.string(flex)?;
    resource.configs = r.array(flex, |r| config(r, flex))?;
    if flex {
        resource.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(resource)
}

fn config(r: &mut Reader, flex: bool) -> Result<AlterableConfig, DecodeError> {
    let mut config = AlterableConfig::default();
    config.name = r.string(flex)?;
    config.config_operation = r.i8()?;
    config.value = r.nullable_string(flex)?;
    if flex {
        config.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> IncrementalAlterConfigsRequest {
        let mut req = IncrementalAlterConfigsRequest::default();
        g.set(&mut req, v, |x, g| x.resources = g.vec(|g| resource(g, v)));
        g.set(&mut req, v, |x, g| x.validate_only = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn resource(g: &mut Gen, v: i16) -> AlterConfigsResource {
        let mut resource = AlterConfigsResource::default();
        g.set(&mut resource, v, |x, g| x.resource_type = g.i8());
        g.set(&mut resource, v, |x, g| x.resource_name = g.string());
        g.set(&mut resource, v, |x, g| x.configs = g.vec(|g| config(g, v)));
        g.set(&mut resource, v, |x, g| x.unknown_tagged_fields = g.tags());
        resource
    }

    fn config(g: &mut Gen, v: i16) -> AlterableConfig {
        let mut config = AlterableConfig::default();
        g.set(&mut config, v, |x, g| x.name = g.string());
        g.set(&mut config, v, |x, g| x.config_operation = g.i8());
        g.set(&mut config, v, |x, g| x.value = g.opt(|g| g.string()));
        g.set(&mut config, v, |x, g| x.unknown_tagged_fields = g.tags());
        config
    }

    round_trip_test!(IncrementalAlterConfigs, arbitrary);
}
