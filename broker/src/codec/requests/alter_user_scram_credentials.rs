//! AlterUserScramCredentials (KIP-554): flexible at its only version. Upsertions carry the salt
//! and the salted password, never the password.

use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::AlterUserScramCredentialsRequest;

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<AlterUserScramCredentialsRequest, DecodeError> {
    let mut req = AlterUserScramCredentialsRequest::default();
    req.deletions = r.array(true, |r| {
        let mut d = ScramCredentialDeletion::default();
        d.name = r.string(true)?;
        d.mechanism = r.i8()?;
        d.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(d)
    })?;
    req.upsertions = r.array(true, |r| {
        let mut u = ScramCredentialUpsertion::default();
        u.name = r.string(true)?;
        u.mechanism = r.i8()?;
        u.iterations = r.i32()?;
        u.salt = r.bytes(true)?;
        u.salted_password = r.bytes(true)?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> AlterUserScramCredentialsRequest {
        let mut req = AlterUserScramCredentialsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.deletions = g.vec(|g| {
                let mut d = ScramCredentialDeletion::default();
                g.set(&mut d, v, |d, g| d.name = g.string());
                g.set(&mut d, v, |d, g| d.mechanism = g.i8());
                g.set(&mut d, v, |d, g| d.unknown_tagged_fields = g.tags());
                d
            })
        });
        g.set(&mut req, v, |x, g| {
            x.upsertions = g.vec(|g| {
                let mut u = ScramCredentialUpsertion::default();
                g.set(&mut u, v, |u, g| u.name = g.string());
                g.set(&mut u, v, |u, g| u.mechanism = g.i8());
                g.set(&mut u, v, |u, g| u.iterations = g.i32());
                g.set(&mut u, v, |u, g| u.salt = g.bytes());
                g.set(&mut u, v, |u, g| u.salted_password = g.bytes());
                g.set(&mut u, v, |u, g| u.unknown_tagged_fields = g.tags());
                u
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(AlterUserScramCredentials, arbitrary);
}
