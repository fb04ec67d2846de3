//! DescribeConfigs for topics (resource type 2), for this broker (type 4, name "0"; "" for the
//! cluster-wide dynamic defaults) and for consumer groups (type 32; `group::configs`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::config::dynamic::Layer;
use crate::config::resource_type::{BROKER, GROUP, TOPIC};
use crate::config::{ConfigEntry, ConfigSource};
use crate::state::NODE_ID;

/// A topic's configs need DescribeConfigs on it, a group's on the group; the broker's need
/// `admin`.
pub async fn handle(cx: &Cx<'_>, request: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let version = cx.version;
    let mut response = DescribeConfigsResponse::default();
    let synonyms = request.include_synonyms && version >= 1;
    for resource in request.resources {
        let mut r = DescribeConfigsResult::default();
        let entries = match resource.resource_type {
            TOPIC if !access.allows(Operation::DescribeConfigs, Resource::Topic(&resource.resource_name)) => Err((
                ResponseError::TopicAuthorizationFailed,
                format!("not authorized to describe topic '{}'", resource.resource_name),
            )),
            GROUP if !access.allows(Operation::DescribeConfigs, Resource::Group(&resource.resource_name)) => Err((
                ResponseError::GroupAuthorizationFailed,
                format!("not authorized to describe group '{}'", resource.resource_name),
            )),
            BROKER if !access.allows(Operation::DescribeConfigs, Resource::Cluster) => Err((
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
            // `--entity-default`: only what the cluster-wide dynamic layer sets, as Kafka answers.
            BROKER if resource.resource_name.is_empty() => {
                Ok(broker.dynamic.describe(&broker.config, Layer::ClusterDefault))
            }
            BROKER if *resource.resource_name == *NODE_ID.to_string() => {
                Ok(broker.dynamic.describe(&broker.config, Layer::Broker))
            }
            BROKER => Err((
                ResponseError::InvalidRequest,
                format!("the only broker is node {NODE_ID}"),
            )),
            GROUP if resource.resource_name.is_empty() => Err((
                ResponseError::InvalidRequest,
                "a group name must not be empty".to_string(),
            )),
            // A group need not exist to have configs, as in Kafka: they can be set ahead of it.
            GROUP => Ok(broker.groups.configs.describe(&resource.resource_name, &broker.config)),
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
/// that set it, then the broker setting it falls back to, as Kafka does (`kafka-configs
/// --describe` prints that list); a default without such a setting lists none.
fn describe(e: ConfigEntry, version: i16, synonyms: bool) -> DescribeConfigsResourceResult {
    let mut c = DescribeConfigsResourceResult::default();
    let synonym = |name: &str, value: &str, source: ConfigSource| {
        let mut s = DescribeConfigsSynonym::default();
        s.name = str_bytes(name);
        s.value = Some(str_bytes(value));
        s.source = source as i8;
        s
    };
    if synonyms && e.source != ConfigSource::Default {
        c.synonyms.push(synonym(e.name, &e.value, e.source));
    }
    if synonyms {
        for f in &e.fallbacks {
            c.synonyms.push(synonym(f.name, &f.value, f.source));
        }
    }
    c.name = str_bytes(e.name);
    c.value = Some(str_bytes(e.value));
    c.config_source = e.source as i8;
    if version >= 3 {
        c.config_type = e.config_type as i8;
    }
    c
}
