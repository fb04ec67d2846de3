//! LeaveGroup: flexible from v4. v0–2 name one `member_id`; v3 replaced it
//! with a batch of `members` (KIP-345), so a handler reads whichever the version has.

use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::{GroupId, LeaveGroupRequest};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<LeaveGroupRequest, DecodeError> {
    let flex = version >= 4;
    let mut req = LeaveGroupRequest::default();
    req.group_id = GroupId(r.string(flex)?);
    if version <= 2 {
        req.member_id = r.string(flex)?;
    } else {
        req.members = r.array(flex, |r| member(r, flex))?;
    }
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn member(r: &mut Reader, flex: bool) -> Result<MemberIdentity, DecodeError> {
    let mut member = MemberIdentity::default();
    member.member_id = r.string(flex)?;
    member.group_instance_id = r.nullable_string(flex)?;
    if flex {
        member.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> LeaveGroupRequest {
        let mut req = LeaveGroupRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.members = g.vec(|g| member(g, v)));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn member(g: &mut Gen, v: i16) -> MemberIdentity {
        let mut m = MemberIdentity::default();
        g.set(&mut m, v, |x, g| x.member_id = g.string());
        g.set(&mut m, v, |x, g| x.group_instance_id = g.opt(Gen::string));
        g.set(&mut m, v, |x, g| x.reason = g.opt(Gen::string));
        g.set(&mut m, v, |x, g| x.unknown_tagged_fields = g.tags());
        m
    }

    round_trip_test!(LeaveGroup, arbitrary);
}
