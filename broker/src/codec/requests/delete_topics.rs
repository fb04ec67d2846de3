//! DeleteTopics: flexible from v4. Topics are plain names up to v5
//! (v6 switched to `topics[]` with ids).

use kafka_protocol::messages::{DeleteTopicsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DeleteTopicsRequest, DecodeError> {
    let flex = version >= 4;
    let mut req = DeleteTopicsRequest::default();
    req.topic_names = r.array(flex, |r| r.string(flex).map(TopicName))?;
    req.timeout_ms = r.i32()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DeleteTopicsRequest {
        let mut req = DeleteTopicsRequest::default();
        g.set(&mut req, v, |x, g| x.topic_names = g.vec(|g| TopicName(g.string())));
        g.set(&mut req, v, |x, g| x.timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DeleteTopics, arbitrary);
}
