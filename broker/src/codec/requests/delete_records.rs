//! DeleteRecords: flexible from v2.

use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::{DeleteRecordsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<DeleteRecordsRequest, DecodeError> {
    let flex = version >= 2;
    let mut req = DeleteRecordsRequest::default();
    req.topics = r.array(flex, |r| {
        let mut t = DeleteRecordsTopic::default();
        t.name = TopicName(r.string(flex)?);
        t.partitions = r.array(flex, |r| {
            let mut p = DeleteRecordsPartition::default();
            p.partition_index = r.i32()?;
            p.offset = r.i64()?;
            if flex {
                p.unknown_tagged_fields = r.unknown_tagged_fields()?;
            }
            Ok(p)
        })?;
        if flex {
            t.unknown_tagged_fields = r.unknown_tagged_fields()?;
        }
        Ok(t)
    })?;
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

    fn arbitrary(g: &mut Gen, v: i16) -> DeleteRecordsRequest {
        let mut req = DeleteRecordsRequest::default();
        g.set(&mut req, v, |x, g| {
            x.topics = g.vec(|g| {
                let mut t = DeleteRecordsTopic::default();
                g.set(&mut t, v, |t, g| t.name = TopicName(g.string()));
                g.set(&mut t, v, |t, g| {
                    t.partitions = g.vec(|g| {
                        let mut p = DeleteRecordsPartition::default();
                        g.set(&mut p, v, |p, g| p.partition_index = g.i32());
                        g.set(&mut p, v, |p, g| p.offset = g.i64());
                        g.set(&mut p, v, |p, g| p.unknown_tagged_fields = g.tags());
                        p
                    })
                });
                g.set(&mut t, v, |t, g| t.unknown_tagged_fields = g.tags());
                t
            })
        });
        g.set(&mut req, v, |x, g| x.timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(DeleteRecords, arbitrary);
}
