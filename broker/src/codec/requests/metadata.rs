//! Metadata: flexible from v9.

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<MetadataRequest, DecodeError> {
    let flex = version >= 9;
    let mut req = MetadataRequest::default();
    // A null array asks for every topic (v1+); the crate's type allows null at every version.
    req.topics = r.nullable_array(flex, |r| topic(r, version))?;
    if version >= 4 {
        req.allow_auto_topic_creation = r.bool()?;
    }
    if (8..=10).contains(&version) {
        req.include_cluster_authorized_operations = r.bool()?;
    }
    if version >= 8 {
        req.include_topic_authorized_operations = r.bool()?;
    }
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, version: i16) -> Result<MetadataRequestTopic, DecodeError> {
    let flex = version >= 9;
    let mut topic = MetadataRequestTopic::default();
    if version >= 10 {
        topic.topic_id = r.uuid()?;
    }
    topic.name = r.nullable_string(flex)?.map(TopicName);
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> MetadataRequest {
        let mut req = MetadataRequest::default();
        g.set(&mut req, v, |x, g| x.topics = g.opt(|g| g.vec(|g| topic(g, v))));
        g.set(&mut req, v, |x, g| x.allow_auto_topic_creation = g.bool());
        g.set(&mut req, v, |x, g| x.include_cluster_authorized_operations = g.bool());
        g.set(&mut req, v, |x, g| x.include_topic_authorized_operations = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> MetadataRequestTopic {
        let mut topic = MetadataRequestTopic::default();
        g.set(&mut topic, v, |x, g| x.topic_id = g.uuid());
        g.set(&mut topic, v, |x, g| x.name = g.opt(|g| TopicName(g.string())));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    round_trip_test!(Metadata, arbitrary);
}
