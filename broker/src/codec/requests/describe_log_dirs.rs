//! DescribeLogDirs: flexible from v2. Kafka 4 dropped v0.

use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::{DescribeLogDirsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DescribeLogDirsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = DescribeLogDirsRequest::default();
    // Null asks for every partition.
    req.topics = r.nullable_array(flex, |r| {
        let mut t = DescribableLogDirTopic::default();
        t.topic = TopicName(r.string(flex)?);
        t.partitions = r.array(flex, |r| r.i32())?;
        if flex {
            t.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(t)
    })?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> DescribeLogDirsRequest {
        let mut req = DescribeLogDirsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.topics = g.opt(|g| {
                g.vec(|g| {
                    let mut t = DescribableLogDirTopic::default();
                    g.set(&mut t, v, |t, g| t.topic = TopicName(g.string()));
                    g.set(&mut t, v, |t, g| t.partitions = g.vec(|g| g.i32()));
                    g.set(&mut t, v, |t, g| t.unknown_tagged_fields = g.tags());
                    t
                })
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DescribeLogDirs, arbitrary);
}
