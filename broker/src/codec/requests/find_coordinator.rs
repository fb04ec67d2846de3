//! FindCoordinator: flexible from v3. v4 replaced `key` with a batch of
//! `coordinator_keys`, which is why we stop at 3 (docs/kafka-protocol.md#versions-per-api).

use kafka_protocol::messages::FindCoordinatorRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<FindCoordinatorRequest, DecodeError> {
    let flex = version >= 3;
    let mut req = FindCoordinatorRequest::default();
    req.key = r.string(flex)?;
    // 0 = group, 1 = transaction; v0 could only ask for groups.
    if version >= 1 {
        req.key_type = r.i8()?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> FindCoordinatorRequest {
        let mut req = FindCoordinatorRequest::default();
        g.set(&mut req, v, |x, g| x.key = g.string());
        g.set(&mut req, v, |x, g| x.key_type = g.i8());
        g.set(&mut req, v, |x, g| x.coordinator_keys = g.vec(Gen::string));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(FindCoordinator, arbitrary);
}
