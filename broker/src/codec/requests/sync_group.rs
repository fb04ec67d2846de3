//! SyncGroup: flexible from v4.

use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{GroupId, SyncGroupRequest};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<SyncGroupRequest, DecodeError> {
    let flex = version >= 4;
    let mut req = SyncGroupRequest::default();
    req.group_id = GroupId(r.string(flex)?);
    req.generation_id = r.i32()?;
    req.member_id = r.string(flex)?;
    if version >= 3 {
        req.group_instance_id = r.nullable_string(flex)?;
    }
    // v5 lets the broker check that the member syncs the protocol the group chose.
    if version >= 5 {
        req.protocol_type = r.nullable_string(flex)?;
        req.protocol_name = r.nullable_string(flex)?;
    }
    req.assignments = r.array(flex, |r| assignment(r, flex))?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn assignment(r: &mut Reader, flex: bool) -> Result<SyncGroupRequestAssignment, DecodeError> {
    let mut assignment = SyncGroupRequestAssignment::default();
    assignment.member_id = r.string(flex)?;
    assignment.assignment = r.bytes(flex)?;
    if flex {
        assignment.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(assignment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> SyncGroupRequest {
        let mut req = SyncGroupRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.generation_id = g.i32());
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.group_instance_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.protocol_type = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.protocol_name = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.assignments = g.vec(|g| assignment(g, v)));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn assignment(g: &mut Gen, v: i16) -> SyncGroupRequestAssignment {
        let mut a = SyncGroupRequestAssignment::default();
        g.set(&mut a, v, |x, g| x.member_id = g.string());
        g.set(&mut a, v, |x, g| x.assignment = g.bytes());
        g.set(&mut a, v, |x, g| x.unknown_tagged_fields = g.tags());
        a
    }

    round_trip_test!(SyncGroup, arbitrary);
}
