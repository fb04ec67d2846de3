//! ConsumerGroupHeartbeat (KIP-848): flexible from v0; v1 adds `SubscribedTopicRegex`.

use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, GroupId, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<ConsumerGroupHeartbeatRequest, DecodeError> {
    let mut req = ConsumerGroupHeartbeatRequest::default();
    req.group_id = GroupId(r.string(true)?);
    req.member_id = r.string(true)?;
    req.member_epoch = r.i32()?;
    req.instance_id = r.nullable_string(true)?;
    req.rack_id = r.nullable_string(true)?;
    req.rebalance_timeout_ms = r.i32()?;
    req.subscribed_topic_names = r.nullable_array(true, |r| r.string(true).map(TopicName))?;
    if version >= 1 {
        req.subscribed_topic_regex = r.nullable_string(true)?;
    }
    req.server_assignor = r.nullable_string(true)?;
    req.topic_partitions = r.nullable_array(true, |r| {
        let mut t = TopicPartitions::default();
        t.topic_id = r.uuid()?;
        t.partitions = r.array(true, Reader::i32)?;
        t.unknown_tagged_fields = r.unknown_tagged_fields()?;
        Ok(t)
    })?;
    req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> ConsumerGroupHeartbeatRequest {
        let mut req = ConsumerGroupHeartbeatRequest::default();
        g.set(&mut req, v, |x, g| x.group_id = GroupId(g.string()));
        g.set(&mut req, v, |x, g| x.member_id = g.string());
        g.set(&mut req, v, |x, g| x.member_epoch = g.i32());
        g.set(&mut req, v, |x, g| x.instance_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.rack_id = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.rebalance_timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| {
            x.subscribed_topic_names = g.opt(|g| g.vec(|g| TopicName(g.string())))
        });
        g.set(&mut req, v, |x, g| x.subscribed_topic_regex = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| x.server_assignor = g.opt(Gen::string));
        g.set(&mut req, v, |x, g| {
            x.topic_partitions = g.opt(|g| {
                g.vec(|g| {
                    let mut t = TopicPartitions::default();
                    t.topic_id = g.uuid();
                    t.partitions = g.vec(Gen::i32);
                    t.unknown_tagged_fields = g.tags();
                    t
                })
            })
        });
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    round_trip_test!(ConsumerGroupHeartbeat, arbitrary);
}
