//! AlterConfigs, the older of Kafka's two ways to change configs: each resource's configs are
//! replaced by the set given, so a topic override left out is removed (Kafka's
//! `legacyAlterConfigs`). kafka-python's and confluent-kafka's `alter_configs` send it. The
//! checks, and the resources that may change, are IncrementalAlterConfigs' own.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::incremental_alter_configs::{alter_resource, twice};
use super::{str_bytes, Cx};

pub async fn handle(cx: &Cx<'_>, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut response = AlterConfigsResponse::default();
    for resource in request.resources {
        let configs = &resource.configs;
        let outcome = alter_resource(
            cx,
            resource.resource_type,
            &resource.resource_name,
            request.validate_only,
            |_| {
                let mut overrides = BTreeMap::new();
                for c in configs {
                    let Some(value) = &c.value else {
                        return Err((ResponseError::InvalidRequest, format!("null value for '{}'", c.name)));
                    };
                    if overrides.insert(c.name.to_string(), value.to_string()).is_some() {
                        return Err(twice(&c.name));
                    }
                }
                Ok(overrides)
            },
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
