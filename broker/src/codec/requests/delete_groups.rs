//! DeleteGroups: flexible from v2.

use kafka_protocol::messages::{DeleteGroupsRequest, GroupId};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DeleteGroupsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = DeleteGroupsRequest::default();
    req.groups_names = r.array(flex, |r| r.string(flex).map(GroupId))?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DeleteGroupsRequest {
        let mut req = DeleteGroupsRequest::default();
        g.set(&mut req, v, |x, g| x.groups_names = g.vec(|g| GroupId(g.string())));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DeleteGroups, arbitrary);
}
