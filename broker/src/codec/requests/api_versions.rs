//! ApiVersions: flexible from v3 (request body only: the response header
//! stays v0, see `codec::response`).

use kafka_protocol::messages::ApiVersionsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ApiVersionsRequest, DecodeError> {
    let mut req = ApiVersionsRequest::default();
    // v0–2 have an empty body; v3 added the client's software name and version (KIP-511).
    if version >= 3 {
        req.client_software_name = r.string(true)?;
        req.client_software_version = r.string(true)?;
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ApiVersionsRequest {
        let mut req = ApiVersionsRequest::default();
        g.set(&mut req, v, |x, g| x.client_software_name = g.string());
        g.set(&mut req, v, |x, g| x.client_software_version = g.string());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(ApiVersions, arbitrary);
}
