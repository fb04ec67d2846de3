//! ApiVersions: answered from the one table of what is implemented (`codec::SUPPORTED`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;

use super::HANDLED;
use crate::codec::SUPPORTED;

pub fn handle() -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.api_keys = advertised();
    response
}

/// The v0 body Kafka sends for an ApiVersions version it does not know (KIP-511).
pub fn unsupported_version() -> ApiVersionsResponse {
    let mut response = handle();
    response.error_code = ResponseError::UnsupportedVersion.code();
    response
}

fn advertised() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .filter(|(key, _, _)| HANDLED.contains(key))
        .map(|&(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = min;
            v.max_version = max;
            v
        })
        .collect()
}
