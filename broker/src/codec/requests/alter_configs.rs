//! AlterConfigs: flexible from v2.

use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::AlterConfigsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<AlterConfigsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = AlterConfigsRequest::default();
    req.resources = r.array(flex, |r| {
        let mut res = AlterConfigsResource::default();
        res.resource_type = r.i8()?;
        res.resource_name = r.string(flex)?;
        res.configs = r.array(flex, |r| {
            let mut c = AlterableConfig::default();
            c.name = r.string(flex)?;
            c.value = r.nullable_string(flex)?;
            if flex {
                c.unknown_tagged_fields = r.unknown_tagged_fields()?;
            }
            Ok(c)
        })?;
        if flex {
            res.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(res)
    })?;
    req.validate_only = r.bool()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> AlterConfigsRequest {
        let mut req = AlterConfigsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.resources = g.vec(|g| {
                let mut res = AlterConfigsResource::default();
                g.set(&mut res, v, |r, g| r.resource_type = g.i8());
                g.set(&mut res, v, |r, g| r.resource_name = g.string());
                g.set(&mut res, v, |r, g| {
                    r.configs = g.vec(|g| {
                        let mut c = AlterableConfig::default();
                        g.set(&mut c, v, |c, g| c.name = g.string());
                        g.set(&mut c, v, |c, g| c.value = g.opt(Gen::string));
                        g.set(&mut c, v, |c, g| c.unknown_tagged_fields = g.tags());
                        c
                    })
                });
                g.set(&mut res, v, |r, g| r.unknown_tagged_fields = g.tags());
                res
            })
        });
        g.set(&mut req, v, |x, g| x.validate_only = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(AlterConfigs, arbitrary);
}
