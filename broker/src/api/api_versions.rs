//! ApiVersions: answered from the table of APIs (`codec::APIS`), each listed from its
//! `listed_from` version.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::Cx;
use crate::codec::APIS;

pub async fn handle(_cx: &Cx<'_>, _request: ApiVersionsRequest) -> ApiVersionsResponse {
    answer()
}

fn answer() -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.api_keys = advertised();
    response
}

/// The v0 body Kafka sends for an ApiVersions version it does not know (KIP-511).
pub fn unsupported_version() -> ApiVersionsResponse {
    let mut response = answer();
    response.error_code = ResponseError::UnsupportedVersion.code();
    response
}

fn advertised() -> Vec<ApiVersion> {
    APIS.iter()
        .map(|api| {
            let mut v = ApiVersion::default();
            v.api_key = api.key as i16;
            v.min_version = api.listed_from;
            v.max_version = api.max;
            v
        })
        .collect()
}
