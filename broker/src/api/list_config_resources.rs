//! ListConfigResources (KIP-1142): the resources DescribeConfigs can describe, by type.
//! `kafka-configs --describe --entity-type groups` asks it for the groups that have configs,
//! which need not exist as groups. v0, once ListClientMetricsResources (KIP-714), lists only
//! client-metrics subscriptions, which this broker has none of.
//!
//! As in Kafka, the list needs DescribeConfigs on the cluster. An empty list of types asks for
//! every type; a type Kafka does not define is refused with INVALID_REQUEST.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_config_resources_response::ConfigResource;
use kafka_protocol::messages::{ListConfigResourcesRequest, ListConfigResourcesResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::config::resource_type::{ALL, BROKER, CLIENT_METRICS, GROUP, TOPIC};
use crate::state::NODE_ID;

pub async fn handle(cx: &Cx<'_>, request: ListConfigResourcesRequest) -> ListConfigResourcesResponse {
    let mut response = ListConfigResourcesResponse::default();
    if !cx.access().allows(Operation::DescribeConfigs, Resource::Cluster) {
        response.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return response;
    }
    let types = match (cx.version, request.resource_types.is_empty()) {
        (0, _) => vec![CLIENT_METRICS],
        (_, true) => ALL.to_vec(),
        (_, false) => request.resource_types,
    };
    // The answer has no room for a message: the code alone says it.
    if types.iter().any(|t| !ALL.contains(t)) {
        response.error_code = ResponseError::InvalidRequest.code();
        return response;
    }
    let broker = cx.broker;
    for resource_type in types {
        let names = match resource_type {
            TOPIC => broker.topics.list().iter().map(|t| t.name.clone()).collect(),
            BROKER => vec![NODE_ID.to_string()],
            GROUP => broker.groups.configs.groups(),
            // Broker loggers and client-metrics subscriptions: none here.
            _ => Vec::new(),
        };
        response.config_resources.extend(names.into_iter().map(|name| {
            let mut r = ConfigResource::default();
            r.resource_name = str_bytes(name);
            r.resource_type = resource_type;
            r
        }));
    }
    response
}
