//! Response framing. Bodies are encoded by the protocol crate: encoding our own data is safe.
//!
//! ```text
//! i32   size            bytes that follow, excluding these 4
//! i32   correlation_id  echoed from the request
//! u8    0x00            tagged fields, response header v1 only (flexible version, not ApiVersions)
//! ..    body
//! ```
//!
//! ApiVersions responses always use header v0 so a client that sent a version we do not know can
//! still read the answer (docs/kafka-protocol.md#response-headers). sarama assumes the v1 tag
//! section is exactly one byte, so we never put tagged fields in a response header.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use super::error::EncodeError;

/// Appends one framed response to `out`, which may already hold earlier responses. On error `out`
/// is left as it was.
pub fn encode_response<R: Encodable>(
    out: &mut BytesMut,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_framed(out, start, api_key, version, correlation_id, body);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_framed<R: Encodable>(
    out: &mut BytesMut,
    start: usize,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<(), EncodeError> {
    // The crate's errors are `anyhow::Error`; keep their text (`:#` includes the cause chain).
    let crate_error = |e: &dyn std::fmt::Display| EncodeError::Crate {
        api_key,
        version,
        message: format!("{e:#}"),
    };
    out.put_i32(0); // size, patched below once known
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(out, api_key.response_header_version(version))
        .map_err(|e| crate_error(&e))?;
    body.encode(out, version).map_err(|e| crate_error(&e))?;
    let len = out.len() - start - 4;
    let size = i32::try_from(len).map_err(|_| EncodeError::TooLarge { api_key, version, len })?;
    // Cannot panic: the four placeholder bytes were written at `start` above.
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsResponse, MetadataResponse};

    #[test]
    fn api_versions_v3_response_has_a_v0_header_without_tag_byte() {
        let mut out = BytesMut::new();
        let body = ApiVersionsResponse::default();
        encode_response(&mut out, ApiKey::ApiVersions, 3, 0x0102_0304, &body).unwrap();
        let mut body_bytes = BytesMut::new();
        body.encode(&mut body_bytes, 3).unwrap();
        assert_eq!(&out[0..4], &(4 + body_bytes.len() as i32).to_be_bytes());
        assert_eq!(&out[4..8], &[1, 2, 3, 4]);
        assert_eq!(&out[8..], &body_bytes[..]);
    }

    #[test]
    fn metadata_v9_response_has_a_v1_header_with_one_tag_byte() {
        let mut out = BytesMut::new();
        let body = MetadataResponse::default();
        encode_response(&mut out, ApiKey::Metadata, 9, 7, &body).unwrap();
        let mut body_bytes = BytesMut::new();
        body.encode(&mut body_bytes, 9).unwrap();
        assert_eq!(&out[0..4], &(5 + body_bytes.len() as i32).to_be_bytes());
        assert_eq!(&out[4..8], &[0, 0, 0, 7]);
        assert_eq!(out[8], 0x00, "empty tagged-field section");
        assert_eq!(&out[9..], &body_bytes[..]);
    }

    #[test]
    fn metadata_v8_response_has_a_v0_header() {
        let mut out = BytesMut::new();
        let body = MetadataResponse::default();
        encode_response(&mut out, ApiKey::Metadata, 8, 7, &body).unwrap();
        let mut body_bytes = BytesMut::new();
        body.encode(&mut body_bytes, 8).unwrap();
        assert_eq!(&out[8..], &body_bytes[..]);
    }

    #[test]
    fn responses_are_appended_after_earlier_ones() {
        let mut out = BytesMut::new();
        let body = ApiVersionsResponse::default();
        encode_response(&mut out, ApiKey::ApiVersions, 0, 1, &body).unwrap();
        let first = out.len();
        encode_response(&mut out, ApiKey::ApiVersions, 0, 2, &body).unwrap();
        assert_eq!(out.len(), 2 * first);
        assert_eq!(&out[first + 4..first + 8], &[0, 0, 0, 2]);
    }

    #[test]
    fn a_refused_body_leaves_the_buffer_as_it_was() {
        let mut out = BytesMut::from(&b"earlier"[..]);
        // `include_cluster_authorized_operations`-style mistake: a field v0 lacks.
        let mut body = MetadataResponse::default();
        body.cluster_authorized_operations = 5;
        let err = encode_response(&mut out, ApiKey::Metadata, 0, 1, &body).unwrap_err();
        assert!(err.to_string().starts_with("encoding Metadata v0 response: "), "{err}");
        assert_eq!(&out[..], b"earlier");
    }
}
