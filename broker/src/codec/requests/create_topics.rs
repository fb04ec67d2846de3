//! CreateTopics: flexible from v5.

use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::{BrokerId, CreateTopicsRequest, TopicName};

use crate::codec::{DecodeError, Reader};

pub fn decode(r: &mut Reader, version: i16) -> Result<CreateTopicsRequest, DecodeError> {
    let flex = version >= 5;
    let mut req = CreateTopicsRequest::default();
    req.topics = r.array(flex, |r| topic(r, flex))?;
    req.timeout_ms = r.i32()?;
    req.validate_only = r.bool()?;
    if flex {
        req.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(req)
}

fn topic(r: &mut Reader, flex: bool) -> Result<CreatableTopic, DecodeError> {
    let mut topic = CreatableTopic::default();
    topic.name = TopicName(r.string(flex)?);
    topic.num_partitions = r.i32()?;
    topic.replication_factor = r.i16()?;
    topic.assignments = r.array(flex, |r| assignment(r, flex))?;
    topic.configs = r.array(flex, |r| config(r, flex))?;
    if flex {
        topic.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(topic)
}

fn assignment(r: &mut Reader, flex: bool) -> Result<CreatableReplicaAssignment, DecodeError> {
    let mut assignment = CreatableReplicaAssignment::default();
    assignment.partition_index = r.i32()?;
    assignment.broker_ids = r.array(flex, |r| r.i32().map(BrokerId))?;
    if flex {
        assignment.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(assignment)
}

fn config(r: &mut Reader, flex: bool) -> Result<CreatableTopicConfig, DecodeError> {
    let mut config = CreatableTopicConfig::default();
    config.name = r.string(flex)?;
    config.value = r.nullable_string(flex)?;
    if flex {
        config.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testkit::{round_trip_test, Gen};

    fn arbitrary(g: &mut Gen, v: i16) -> CreateTopicsRequest {
        let mut req = CreateTopicsRequest::default();
        g.set(&mut req, v, |x, g| x.topics = g.vec(|g| topic(g, v)));
        g.set(&mut req, v, |x, g| x.timeout_ms = g.i32());
        g.set(&mut req, v, |x, g| x.validate_only = g.bool());
        g.set(&mut req, v, |x, g| x.unknown_tagged_fields = g.tags());
        req
    }

    fn topic(g: &mut Gen, v: i16) -> CreatableTopic {
        let mut topic = CreatableTopic::default();
        g.set(&mut topic, v, |x, g| x.name = TopicName(g.string()));
        g.set(&mut topic, v, |x, g| x.num_partitions = g.i32());
        g.set(&mut topic, v, |x, g| x.replication_factor = g.i16());
        g.set(&mut topic, v, |x, g| x.assignments = g.vec(|g| assignment(g, v)));
        g.set(&mut topic, v, |x, g| x.configs = g.vec(|g| config(g, v)));
        g.set(&mut topic, v, |x, g| x.unknown_tagged_fields = g.tags());
        topic
    }

    fn assignment(g: &mut Gen, v: i16) -> CreatableReplicaAssignment {
        let mut a = CreatableReplicaAssignment::default();
        g.set(&mut a, v, |x, g| x.partition_index = g.i32());
        g.set(&mut a, v, |x, g| x.broker_ids = g.vec(|g| BrokerId(g.i32())));
        g.set(&mut a, v, |x, g| x.unknown_tagged_fields = g.tags());
        a
    }

    fn config(g: &mut Gen, v: i16) -> CreatableTopicConfig {
        let mut c = CreatableTopicConfig::default();
        g.set(&mut c, v, |x, g| x.name = g.string());
        g.set(&mut c, v, |x, g| x.value = g.opt(Gen::string));
        g.set(&mut c, v, |x, g| x.unknown_tagged_fields = g.tags());
        c
    }

    round_trip_test!(CreateTopics, arbitrary);
}
