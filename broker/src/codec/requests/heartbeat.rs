//! Heartbeat: flexible from v4.

use kafka_protocol::messages::{GroupId, HeartbeatRequest};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<HeartbeatRequest, DecodeError> {
    let flex = version >= 4;
    let mut req = HeartbeatRequest::default();
    req.group_id = GroupId(r.string(flex)?);
    req.generation_id = r.i32()?;
    req.member_id = r.string(flex)?;
    if version >= 3 {
        req.group_instance_id = r.nullable_string(flex)?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> HeartbeatRequest {
        let mut req = HeartbeatRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.generation_id = g.i32());
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.group_instance_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(Heartbeat, arbitrary);
}
