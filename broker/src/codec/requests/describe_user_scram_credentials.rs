//! DescribeUserScramCredentials (KIP-554): flexible at its only version. A null or empty list
//! of users asks for every user.

use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::DescribeUserScramCredentialsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<DescribeUserScramCredentialsRequest, DecodeError> {
    let mut req = DescribeUserScramCredentialsRequest::default();
    req.users = r.nullable_array(true, |r| {
        let mut u = UserName::default();
        u.name = r.string(true)?;
        u.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(u)
    })?;
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeUserScramCredentialsRequest {
        let mut req = DescribeUserScramCredentialsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.users = g.opt(|g| {
                g.vec(|g| {
                    let mut u = UserName::default();
                    g.set(&mut u, v, |u, g| u.name = g.string());
                    g.set(&mut u, v, |u, g| u.unknown_tagged_fields = g.tags());
                    u
                })
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeUserScramCredentials, arbitrary);
}
