//! SaslAuthenticate: flexible from v2.

use kafka_protocol::messages::SaslAuthenticateRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<SaslAuthenticateRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = r.bytes(flex)?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> SaslAuthenticateRequest {
        let mut req = SaslAuthenticateRequest::default();
        g.set(&mut req, v, |x, g| x.auth_bytes = g.bytes());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(SaslAuthenticate, arbitrary);
}
