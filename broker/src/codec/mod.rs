//! The Kafka wire codec: request frames in, response frames out.
//!
//! This module owns bytes and their meaning as Kafka messages, nothing else: it turns one request
//! frame (the bytes after the 4-byte size prefix) into a [`RequestFrame`] holding the protocol
//! crate's own request struct, and frames a response struct into bytes. It knows no storage, no
//! handlers and no connection state; deciding what a request does is the caller's job.
//!
//! Why requests are not decoded by the `kafka-protocol` crate: its decoders pre-allocate arrays
//! from the count the client wrote, so a four-byte Metadata body `7f ff ff ff` asks for a
//! 150 GB allocation and aborts the whole process, which no `catch_unwind` can stop, and its
//! header reader panics on frames shorter than four bytes (pitfalls 1 and 2 in
//! docs/kafka-protocol.md#kafka-protocol-crate-pitfalls).
//! So requests go through our [`Reader`], which checks every length and count against the bytes
//! present before using it, but still produce the crate's structs so that handlers see Kafka's
//! familiar types and tests can compare our decoding with the crate's encoder. Responses are
//! encoded with the crate: encoding our own data is safe.
//!
//! # Layout
//!
//! - `reader`: bounds-checked primitives (ints, varints, classic and compact strings, bytes,
//!   arrays, tagged fields).
//! - `header`: the request header and [`peek_header`] for the fixed 8-byte prefix.
//! - `requests`: one body decoder per API, following Kafka's schemas version by version.
//! - `decode`: [`decode_request`], gated by [`SUPPORTED`].
//! - `response`: [`encode_response`], size prefix and response header.
//! - `error`: [`DecodeError`] (close the connection) and [`EncodeError`] (a broker bug).

mod decode;
mod error;
mod header;
mod reader;
mod requests;
mod response;
#[cfg(test)]
mod testkit;

pub use decode::{decode_request, is_supported, Request, RequestFrame};
pub use error::{DecodeError, EncodeError};
pub use header::peek_header;
pub use reader::Reader;
pub use response::encode_response;

use kafka_protocol::messages::ApiKey;

/// Every API and version range the broker decodes, and so advertises in ApiVersions (Produce is
/// advertised from v0: `handlers::api_versions`). Ranges and their reasons:
/// docs/kafka-protocol.md#advertised-api-versions. Each entry has a round-trip property test
/// at every version.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 5),
    (ApiKey::DeleteTopics, 1, 4),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::CreatePartitions, 0, 2),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    // v0 is what librdkafka checks for SASL support at all; after a v0 handshake the tokens
    // travel as bare size-prefixed frames (server.rs), after v1 in SaslAuthenticate.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
];
