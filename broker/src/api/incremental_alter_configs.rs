//! IncrementalAlterConfigs (KIP-339): change a topic's configs while it serves, as
//! `kafka-configs --alter --entity-type topics --add-config k=v / --delete-config k` does, or a
//! consumer group's (`--entity-type groups`, checked and kept by `group::configs`).
//!
//! Each resource is answered on its own: the new set of overrides is the old one with every
//! operation applied, checked exactly as CreateTopics checks its configs, and stored only if all
//! of it is valid. The broker's own settings are changed dynamically only for the log defaults of
//! `config::dynamic` (KIP-226), this broker's (`--entity-name 0`) or the cluster-wide default
//! (`--entity-default`); any other is refused with INVALID_REQUEST, as Kafka refuses a setting
//! that cannot change while the broker runs.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::{is_internal, str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::cluster::topic_config::{topic_key, ConfigType};
use crate::config::dynamic::Layer;
use crate::config::resource_type::{BROKER, GROUP, TOPIC};
use crate::state::NODE_ID;

/// `config_operation` values (KIP-339).
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub(super) type Refusal = (ResponseError, String);

pub async fn handle(cx: &Cx<'_>, request: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let mut response = IncrementalAlterConfigsResponse::default();
    for resource in request.resources {
        let outcome = alter_resource(
            cx,
            resource.resource_type,
            &resource.resource_name,
            request.validate_only,
            |current| apply(current, &resource.configs),
        );
        let mut r = AlterConfigsResourceResponse::default();
        if let Err((code, message)) = outcome {
            r.error_code = code.code();
            r.error_message = Some(str_bytes(message));
        }
        r.resource_type = resource.resource_type;
        r.resource_name = resource.resource_name;
        response.responses.push(r);
    }
    response
}

/// Changes one resource's configs to what `change` makes of its current overrides, with the
/// checks both AlterConfigs APIs share: who may, which resources, and CreateTopics' rules for
/// the result (stored only if all of it is valid, and not at all with `validate_only`).
pub(super) fn alter_resource(
    cx: &Cx<'_>,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Refusal>,
) -> Result<(), Refusal> {
    let broker = cx.broker;
    match resource_type {
        TOPIC if !cx.access().allows(Operation::AlterConfigs, Resource::Topic(name)) => Err((
            ResponseError::TopicAuthorizationFailed,
            format!("not authorized to alter the configs of topic '{name}'"),
        )),
        TOPIC if is_internal(name) => Err((
            ResponseError::InvalidRequest,
            format!("{name} is kept by the broker's settings; its configs are fixed"),
        )),
        TOPIC => {
            let topic = broker.topics.get(name).ok_or_else(|| {
                (
                    ResponseError::UnknownTopicOrPartition,
                    format!("topic '{name}' does not exist"),
                )
            })?;
            let overrides = change(&topic.overrides)?;
            broker
                .topics
                .alter_configs(name, overrides, validate_only)
                .map_err(|e| (e.code, e.message))?;
            if !validate_only {
                tracing::info!(topic = %name, "altered topic configs");
            }
            Ok(())
        }
        GROUP if !cx.access().allows(Operation::AlterConfigs, Resource::Group(name)) => Err((
            ResponseError::GroupAuthorizationFailed,
            format!("not authorized to alter the configs of group '{name}'"),
        )),
        GROUP => {
            let configs = &broker.groups.configs;
            configs.alter(name, change, &broker.config.groups, validate_only)?;
            if !validate_only {
                tracing::info!(group = %name, "altered group configs");
            }
            Ok(())
        }
        BROKER if !cx.access().allows(Operation::AlterConfigs, Resource::Cluster) => Err((
            ResponseError::ClusterAuthorizationFailed,
            "not authorized to alter the broker's configs".to_string(),
        )),
        BROKER => {
            let layer = match name {
                "" => Layer::ClusterDefault,
                id if id == NODE_ID.to_string() => Layer::Broker,
                _ => {
                    return Err((
                        ResponseError::InvalidRequest,
                        format!("the only broker is node {NODE_ID}"),
                    ))
                }
            };
            broker
                .dynamic
                .alter(layer, change, &broker.config, &broker.topics, validate_only)?;
            if !validate_only {
                tracing::info!(broker = %name, "altered dynamic broker configs");
            }
            Ok(())
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!("resource type {other} is not supported"),
        )),
    }
}

/// Kafka's refusal of a config key named twice in one resource.
pub(super) fn twice(key: &str) -> Refusal {
    (
        ResponseError::InvalidRequest,
        format!("config key '{key}' is given twice"),
    )
}

/// The overrides after `changes`, in order. A key named twice is refused (Kafka: "duplicate
/// config keys"), as is APPEND or SUBTRACT on a key that is not a list.
fn apply(current: &BTreeMap<String, String>, changes: &[AlterableConfig]) -> Result<BTreeMap<String, String>, Refusal> {
    let mut overrides = current.clone();
    for (i, change) in changes.iter().enumerate() {
        let key = change.name.as_str();
        if changes[..i].iter().any(|c| c.name.as_str() == key) {
            return Err(twice(key));
        }
        let value = change.value.as_deref().map(str::to_string);
        let is_list = topic_key(key).is_some_and(|k| k.config_type == ConfigType::List);
        match change.config_operation {
            SET => {
                let value =
                    value.ok_or_else(|| (ResponseError::InvalidConfig, format!("SET of '{key}' needs a value")))?;
                overrides.insert(key.to_string(), value);
            }
            DELETE => {
                overrides.remove(key);
            }
            APPEND | SUBTRACT if !is_list => {
                return Err((
                    ResponseError::InvalidConfig,
                    format!("'{key}' is not a list; only SET and DELETE change it"),
                ));
            }
            op @ (APPEND | SUBTRACT) => {
                let current = overrides.get(key).cloned().unwrap_or_default();
                let mut items: Vec<String> = current.split(',').filter(|s| !s.is_empty()).map(String::from).collect();
                for item in value.unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
                    if op == APPEND && !items.iter().any(|i| i == item) {
                        items.push(item.to_string());
                    } else if op == SUBTRACT {
                        items.retain(|i| i != item);
                    }
                }
                if items.is_empty() {
                    overrides.remove(key);
                } else {
                    overrides.insert(key.to_string(), items.join(","));
                }
            }
            other => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("unknown config operation {other} for '{key}'"),
                ))
            }
        }
    }
    Ok(overrides)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::StrBytes;

    fn change(name: &str, op: i8, value: Option<&str>) -> AlterableConfig {
        let mut c = AlterableConfig::default();
        c.name = StrBytes::from_string(name.into());
        c.config_operation = op;
        c.value = value.map(|v| StrBytes::from_string(v.into()));
        c
    }

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn set_and_delete_change_only_the_keys_they_name() {
        let before = overrides(&[("retention.ms", "60000"), ("segment.bytes", "1048576")]);
        let after = apply(
            &before,
            &[
                change("retention.ms", SET, Some("3600000")),
                change("segment.bytes", DELETE, None),
            ],
        )
        .unwrap();
        assert_eq!(after, overrides(&[("retention.ms", "3600000")]));
        // Deleting a key that was never set is not an error, as in Kafka.
        assert_eq!(apply(&after, &[change("segment.ms", DELETE, None)]).unwrap(), after);
    }

    #[test]
    fn append_and_subtract_edit_list_keys_and_nothing_else() {
        let after = apply(&BTreeMap::new(), &[change("cleanup.policy", APPEND, Some("delete"))]).unwrap();
        assert_eq!(after, overrides(&[("cleanup.policy", "delete")]));
        let again = apply(&after, &[change("cleanup.policy", APPEND, Some("delete"))]).unwrap();
        assert_eq!(again, after, "an item already present is not added twice");
        assert_eq!(
            apply(&after, &[change("cleanup.policy", SUBTRACT, Some("delete"))]).unwrap(),
            BTreeMap::new()
        );
        let err = apply(&after, &[change("retention.ms", APPEND, Some("1"))]).unwrap_err();
        assert_eq!(err.0, ResponseError::InvalidConfig);
    }

    #[test]
    fn a_key_twice_a_set_without_value_and_an_unknown_operation_are_refused() {
        let twice = [
            change("retention.ms", SET, Some("1")),
            change("retention.ms", DELETE, None),
        ];
        assert_eq!(
            apply(&BTreeMap::new(), &twice).unwrap_err().0,
            ResponseError::InvalidRequest
        );
        let bare = [change("retention.ms", SET, None)];
        assert_eq!(
            apply(&BTreeMap::new(), &bare).unwrap_err().0,
            ResponseError::InvalidConfig
        );
        let odd = [change("retention.ms", 9, Some("1"))];
        assert_eq!(
            apply(&BTreeMap::new(), &odd).unwrap_err().0,
            ResponseError::InvalidRequest
        );
    }
}
