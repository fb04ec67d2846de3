//! ApiVersions: answered from the one table of what is implemented (`codec::SUPPORTED`), except
//! that Produce is listed from v0 ([`PRODUCE_ADVERTISED_MIN`]).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

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

/// Produce v0–2 are listed although only v3 and later are decoded: a v0–2 request still closes
/// its connection, as any unsupported version does. Older librdkafka (2.0.2, Debian's kcat; not
/// 2.12, rdkafka-sys's) compresses a gzip, snappy or lz4 batch only when the broker's Produce
/// range includes v0, and otherwise sends it uncompressed without telling the application.
/// Apache Kafka 4 lists Produce from v0 and refuses v0–2 requests for the same reason
/// (KAFKA-18659). Clients pick the highest version both sides list, so none picks these.
pub const PRODUCE_ADVERTISED_MIN: i16 = 0;

fn advertised() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .filter(|(key, _, _)| HANDLED.contains(key))
        .map(|&(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = if key == ApiKey::Produce {
                PRODUCE_ADVERTISED_MIN
            } else {
                min
            };
            v.max_version = max;
            v
        })
        .collect()
}
