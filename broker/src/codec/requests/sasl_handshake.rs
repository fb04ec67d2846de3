//! SaslHandshake: never flexible. v1 only changes what follows: SASL
//! tokens then travel in SaslAuthenticate requests instead of raw frames.

use kafka_protocol::messages::SaslHandshakeRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<SaslHandshakeRequest, DecodeError> {
    let mut req = SaslHandshakeRequest::default();
    req.mechanism = r.string(false)?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> SaslHandshakeRequest {
        let mut req = SaslHandshakeRequest::default();
        g.set(&mut req, v, |x, g| x.mechanism = g.string());
        req
    }

    round_trip_test!(SaslHandshake, arbitrary);
}
