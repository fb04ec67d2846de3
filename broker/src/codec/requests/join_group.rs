//! JoinGroup: flexible from v6.

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::{GroupId, JoinGroupRequest};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<JoinGroupRequest, DecodeError> {
    let flex = version >= 6;
    let mut req = JoinGroupRequest::default();
    req.group_id = GroupId(r.string(flex)?);
    req.session_timeout_ms = r.i32()?;
    // v0 had a single timeout; the crate's default (-1) stands for "same as the session timeout".
    if version >= 1 {
        req.rebalance_timeout_ms = r.i32()?;
    }
    req.member_id = r.string(flex)?;
    // Static membership (KIP-345).
    if version >= 5 {
        req.group_instance_id = r.nullable_string(flex)?;
    }
    req.protocol_type = r.string(flex)?;
    req.protocols = r.array(flex, |r| protocol(r, flex))?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn protocol(r: &mut Reader, flex: bool) -> Result<JoinGroupRequestProtocol, DecodeError> {
    let mut protocol = JoinGroupRequestProtocol::default();
    protocol.name = r.string(flex)?;
    // Opaque to the broker: the consumer protocol's subscription, passed on to the leader.
    protocol.metadata = r.bytes(flex)?;
    if flex {
        protocol.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(protocol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> JoinGroupRequest {
        let mut req = JoinGroupRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.session_timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.rebalance_timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.group_instance_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.protocol_type = g.string());
        g.set(&mut req, v, |x, g| x.protocols = g.vec(|g| protocol(g, v)));
        g.set(&mut req, v, |x, g| x.reason = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn protocol(g: &mut Gen, v: i16) -> JoinGroupRequestProtocol {
        let mut p = JoinGroupRequestProtocol::default();
        g.set(&mut p, v, |x, g| x.name = g.string());
        g.set(&mut p, v, |x, g| x.metadata = g.bytes());
        g.set(&mut p, v, |x, g| x.unknown_tagged_fields = g.tags());
        p
    }

    round_trip_test!(JoinGroup, arbitrary);
}
