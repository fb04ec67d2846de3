//! ListConfigResources: flexible from v0. v0 was KIP-714's ListClientMetricsResources, with an
//! empty body; v1 (KIP-1142) asks for resource types.

use kafka_protocol::messages::ListConfigResourcesRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ListConfigResourcesRequest, DecodeError> {
    let mut req = ListConfigResourcesRequest::default();
    if version >= 1 {
        req.resource_types = r.array(true, Reader::i8)?;
    }
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ListConfigResourcesRequest {
        let mut req = ListConfigResourcesRequest::default();
        g.set(&mut req, v, |x, g| x.resource_types = g.vec(Gen::i8));
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(ListConfigResources, arbitrary);
}
