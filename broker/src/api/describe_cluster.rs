//! DescribeCluster (KIP-700): the cluster id, the controller and the brokers, here this one node
//! as the listener the request came in on advertises it. Admin clients' `describeCluster()`
//! asks it. Like Kafka's brokers, the node describes itself only as a broker: asking for the
//! controller endpoints (v1's endpoint type 2) gets UNSUPPORTED_ENDPOINT_TYPE.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::Resource;
use crate::state::NODE_ID;

/// KIP-919's endpoint types.
const BROKERS: i8 = 1;

/// Kafka's value of `cluster_authorized_operations` when they were not asked for.
const NOT_ASKED: i32 = i32::MIN;

pub async fn handle(cx: &Cx<'_>, request: DescribeClusterRequest) -> DescribeClusterResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = DescribeClusterResponse::default();
    // v0 has no endpoint type and means brokers.
    let endpoint_type = if cx.version >= 1 {
        request.endpoint_type
    } else {
        BROKERS
    };
    response.endpoint_type = endpoint_type;
    if endpoint_type != BROKERS {
        response.error_code = ResponseError::UnsupportedEndpointType.code();
        response.error_message = Some(str_bytes(format!(
            "endpoint type {endpoint_type} is not served by a broker; only brokers (1) are"
        )));
        return response;
    }
    response.cluster_id = str_bytes(broker.cluster_id.clone());
    response.controller_id = BrokerId(NODE_ID);
    let advertised = &broker.advertised[cx.session.listener];
    let mut node = DescribeClusterBroker::default();
    node.broker_id = BrokerId(NODE_ID);
    node.host = str_bytes(advertised.host.clone());
    node.port = i32::from(advertised.port);
    response.brokers = vec![node];
    response.cluster_authorized_operations = if request.include_cluster_authorized_operations {
        access.authorized_operations(Resource::Cluster)
    } else {
        NOT_ASKED
    };
    response
}
