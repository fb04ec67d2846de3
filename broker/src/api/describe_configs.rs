//! DescribeConfigs for topics (resource type 2) and for this broker (type 4, name "0" or "").

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::topic_config::{ConfigEntry, ConfigSource, ConfigType};
use crate::config::BrokerConfig;
use crate::state::NODE_ID;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

/// A topic's configs need Describe on it; the broker's need `admin`.
pub async fn handle(cx: &Cx<'_>, request: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let mut response = DescribeConfigsResponse::default();
    let synonyms = request.include_synonyms && version >= 1;
    for resource in request.resources {
        let mut r = DescribeConfigsResult::default();
        let entries = match resource.resource_type {
            TOPIC if !access.allows(Operation::Describe, Resource::Topic(&resource.resource_name)) => Err((
                ResponseError::TopicAuthorizationFailed,
                format!("not authorized to describe topic '{}'", resource.resource_name),
            )),
            BROKER if !access.allows(Operation::Alter, Resource::Cluster) => Err((
                ResponseError::ClusterAuthorizationFailed,
                "not authorized to describe the broker's configs".to_string(),
            )),
            TOPIC => match broker.topics.get(&resource.resource_name) {
                Some(t) => Ok(t.config.describe(&t.overrides)),
                None => Err((
                    ResponseError::UnknownTopicOrPartition,
                    format!("topic '{}' does not exist", resource.resource_name),
                )),
            },
            BROKER if resource.resource_name.is_empty() || *resource.resource_name == *NODE_ID.to_string() => {
                Ok(broker_entries(&broker.config))
            }
            BROKER => Err((
                ResponseError::InvalidRequest,
                format!("the only broker is node {NODE_ID}"),
            )),
            other => Err((
                ResponseError::InvalidRequest,
                format!("resource type {other} is not supported"),
            )),
        };
        match entries {
            Ok(entries) => {
                // Null asks for every key; so does an empty list (asking for none is never useful).
                let wanted = resource.configuration_keys.as_ref().filter(|keys| !keys.is_empty());
                r.configs = entries
                    .into_iter()
                    .filter(|e| wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.name)))
                    .map(|e| describe(e, version, synonyms))
                    .collect();
            }
            Err((code, message)) => {
                r.error_code = code.code();
                r.error_message = Some(str_bytes(message));
            }
        }
        r.resource_type = resource.resource_type;
        r.resource_name = resource.resource_name;
        response.results.push(r);
    }
    response
}

/// With `synonyms`, a value that was set anywhere lists itself as its first synonym, at the source
/// that set it, as Kafka does (`kafka-configs --describe` prints that list); a default lists none.
fn describe(e: ConfigEntry, version: i16, synonyms: bool) -> DescribeConfigsResourceResult {
    let mut c = DescribeConfigsResourceResult::default();
    if synonyms && e.source != ConfigSource::Default {
        let mut own = DescribeConfigsSynonym::default();
        own.name = str_bytes(e.name);
        own.value = Some(str_bytes(e.value.clone()));
        own.source = e.source as i8;
        c.synonyms.push(own);
    }
    c.name = str_bytes(e.name);
    c.value = Some(str_bytes(e.value));
    c.config_source = e.source as i8;
    if version >= 3 {
        c.config_type = e.config_type as i8;
    }
    c
}

/// The broker settings sluice has, with Kafka's names; a value equal to the default is
/// reported as such, anything else as set in the broker's file.
fn broker_entries(config: &BrokerConfig) -> Vec<ConfigEntry> {
    let defaults = BrokerConfig::default();
    let listeners = |l: &[crate::config::Listener]| {
        l.iter()
            .map(|l| format!("{}://{}", l.name, l.addr()))
            .collect::<Vec<_>>()
            .join(",")
    };
    let ms = |d: std::time::Duration| d.as_millis().to_string();
    let describe = |c: &BrokerConfig| {
        vec![
            ("listeners", listeners(&c.listeners), ConfigType::List),
            (
                "advertised.listeners",
                c.advertised_listeners.as_deref().map(listeners).unwrap_or_default(),
                ConfigType::List,
            ),
            ("log.dirs", c.data_dir.display().to_string(), ConfigType::String),
            ("num.partitions", c.num_partitions.to_string(), ConfigType::Int),
            (
                "auto.create.topics.enable",
                c.auto_create_topics.to_string(),
                ConfigType::String,
            ),
            (
                "log.retention.ms",
                c.log.retention_ms.unwrap_or(-1).to_string(),
                ConfigType::Long,
            ),
            (
                "log.retention.bytes",
                c.log.retention_bytes.map_or(-1, |b| b as i64).to_string(),
                ConfigType::Long,
            ),
            ("log.segment.bytes", c.log.segment_bytes.to_string(), ConfigType::Int),
            ("log.roll.ms", c.log.roll_ms.to_string(), ConfigType::Long),
            (
                "log.index.interval.bytes",
                c.log.index_interval_bytes.to_string(),
                ConfigType::Int,
            ),
            (
                "message.max.bytes",
                c.log.message_max_bytes.to_string(),
                ConfigType::Int,
            ),
            (
                "log.message.timestamp.type",
                if c.log.log_append_time {
                    "LogAppendTime"
                } else {
                    "CreateTime"
                }
                .to_string(),
                ConfigType::String,
            ),
            (
                "log.retention.check.interval.ms",
                ms(c.retention_check_interval),
                ConfigType::Long,
            ),
            (
                "socket.request.max.bytes",
                c.socket_request_max_bytes.to_string(),
                ConfigType::Int,
            ),
            (
                "group.initial.rebalance.delay.ms",
                ms(c.groups.initial_rebalance_delay),
                ConfigType::Int,
            ),
            (
                "group.min.session.timeout.ms",
                ms(c.groups.min_session_timeout),
                ConfigType::Int,
            ),
            (
                "group.max.session.timeout.ms",
                ms(c.groups.max_session_timeout),
                ConfigType::Int,
            ),
            ("group.max.size", c.groups.max_size.to_string(), ConfigType::Int),
            (
                "offsets.retention.minutes",
                (c.groups.offsets_retention.as_secs() / 60).to_string(),
                ConfigType::Int,
            ),
            (
                "offsets.retention.check.interval.ms",
                ms(c.groups.offsets_retention_check_interval),
                ConfigType::Long,
            ),
            (
                "offsets.topic.num.partitions",
                c.groups.offsets_topic_partitions.to_string(),
                ConfigType::Int,
            ),
            (
                "offsets.topic.segment.bytes",
                c.groups.offsets_topic_segment_bytes.to_string(),
                ConfigType::Int,
            ),
            (
                "offset.metadata.max.bytes",
                c.groups.offset_metadata_max_bytes.to_string(),
                ConfigType::Int,
            ),
        ]
    };
    describe(config)
        .into_iter()
        .zip(describe(&defaults))
        .map(|((name, value, config_type), (_, default, _))| ConfigEntry {
            name,
            source: if value == default {
                ConfigSource::Default
            } else {
                ConfigSource::StaticBroker
            },
            value,
            config_type,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Listener, SecurityProtocol};

    #[test]
    fn listeners_are_described_by_their_own_names() {
        let config = BrokerConfig {
            listeners: vec![
                Listener::plaintext("127.0.0.1", 9092),
                Listener {
                    name: "SASL_SSL".into(),
                    protocol: SecurityProtocol::SaslSsl,
                    host: "0.0.0.0".into(),
                    port: 9094,
                },
            ],
            ..BrokerConfig::default()
        };
        let listeners = broker_entries(&config)
            .into_iter()
            .find(|e| e.name == "listeners")
            .unwrap();
        assert_eq!(listeners.value, "PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9094");
    }
}
