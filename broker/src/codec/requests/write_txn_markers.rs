//! WriteTxnMarkers: v1 is flexible, and the only version the `kafka-protocol` crate and Kafka 4
//! know (v0 was dropped by KIP-896).

use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, _version: i16) -> Result<WriteTxnMarkersRequest, DecodeError> {
    let mut req = WriteTxnMarkersRequest::default();
    req.markers = r.array(true, |r| {
        let mut m = WritableTxnMarker::default();
        m.producer_id = ProducerId(r.i64()?);
        m.producer_epoch = r.i16()?;
        m.transaction_result = r.bool()?;
        m.topics = r.array(true, |r| {
            let mut t = WritableTxnMarkerTopic::default();
            t.name = TopicName(r.string(true)?);
            t.partition_indexes = r.array(true, |r| r.i32())?;
            t.unknown_tagged_fields = r.unknown_tagged_fields()?;
            Ok(t)
        })?;
        m.coordinator_epoch = r.i32()?;
        m.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(m)
    })?;
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> WriteTxnMarkersRequest {
        let mut req = WriteTxnMarkersRequest::default();
        g.set(&mut req, v, |x, g| {
            x.markers = g.vec(|g| {
                let mut m = WritableTxnMarker::default();
                m.producer_id = ProducerId(g.i64());
                m.producer_epoch = g.i16();
                m.transaction_result = g.bool();
                m.topics = g.vec(|g| {
                    let mut t = WritableTxnMarkerTopic::default();
                    t.name = TopicName(g.string());
                    t.partition_indexes = g.vec(|g| g.i32());
                    t.unknown_tagged_fields = g.tags();
                    t
                });
                m.coordinator_epoch = g.i32();
                m.unknown_tagged_fields = g.tags();
                m
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(WriteTxnMarkers, arbitrary);
}
