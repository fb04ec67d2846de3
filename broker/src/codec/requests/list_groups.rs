//! ListGroups: flexible from v3. v0–2 have an empty body.

use kafka_protocol::messages::ListGroupsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ListGroupsRequest, DecodeError> {
    let flex = version >= 3;
    let mut req = ListGroupsRequest::default();
    // v4 (KIP-518); flexible-only, so always compact.
    if version >= 4 {
        req.states_filter = r.array(flex, |r| r.string(flex))?;
    }
    // v5 (KIP-848).
    if version >= 5 {
        req.types_filter = r.array(flex, |r| r.string(flex))?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> ListGroupsRequest {
        let mut req = ListGroupsRequest::default();
        g.set(&mut req, v, |x, g| x.states_filter = g.vec(Gen::string));
        g.set(&mut req, v, |x, g| x.types_filter = g.vec(Gen::string));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(ListGroups, arbitrary);
}
