//! DescribeConfigs for topics (resource type 2) and for this broker (type 4, name "0" or "").

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::config::{ConfigEntry, ConfigSource};
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
            TOPIC if !access.allows(Operation::DescribeConfigs, Resource::Topic(&resource.resource_name)) => Err((
                ResponseError::TopicAuthorizationFailed,
                format!("not authorized to describe topic '{}'", resource.resource_name),
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
            BROKER if resource.resource_name.is_empty() || *resource.resource_name == *NODE_ID.to_string() => {
                Ok(crate::config::describe(&broker.config))
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
