//! The request header.
//!
//! ```text
//! offset  field            type
//! 0       request_api_key  i16
//! 2       api_version      i16
//! 4       correlation_id   i32
//! 8       client_id        nullable string, ALWAYS classic (i16 length), even in header v2
//! ..      tagged fields    header v2 only (the api version is flexible)
//! ```
//!
//! `client_id` stays classic in v2 so that any broker can read the header of an ApiVersions
//! request at a version it does not know yet (docs/kafka-protocol.md#request-headers,
//! RequestHeader.json).

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};

use super::error::DecodeError;
use super::reader::Reader;

/// Length of the fixed prefix shared by every header version.
const PREFIX_LEN: usize = 8;

/// Reads `(api_key, api_version, correlation_id)` from the fixed 8-byte prefix without
/// interpreting anything else, so the caller can answer a request it cannot decode (an
/// ApiVersions at a newer version) with the right correlation id.
pub fn peek_header(frame: &Bytes) -> Result<(i16, i16, i32), DecodeError> {
    if frame.len() < PREFIX_LEN {
        return Err(DecodeError::FrameTooShort { len: frame.len() });
    }
    let mut r = Reader::new(frame.slice(..PREFIX_LEN));
    Ok((r.i16()?, r.i16()?, r.i32()?))
}

/// Decodes the full header of a request for `api_key` at `version`, leaving `r` at the body.
pub(super) fn decode_header(r: &mut Reader, api_key: ApiKey, version: i16) -> Result<RequestHeader, DecodeError> {
    let mut header = RequestHeader::default();
    header.request_api_key = r.i16()?;
    header.request_api_version = r.i16()?;
    header.correlation_id = r.i32()?;
    header.client_id = r.nullable_string(false)?;
    if api_key.request_header_version(version) >= 2 {
        header.unknown_tagged_fields = r.unknown_tagged_fields()?;
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_shorter_than_eight_bytes_are_refused() {
        for len in 0..PREFIX_LEN {
            let frame = Bytes::from(vec![0xff; len]);
            assert_eq!(peek_header(&frame), Err(DecodeError::FrameTooShort { len }));
        }
    }

    #[test]
    fn peek_reads_key_version_and_correlation_id_only() {
        let frame = Bytes::from_static(&[0, 18, 0, 9, 0, 0, 1, 2, 0xde, 0xad]);
        assert_eq!(peek_header(&frame), Ok((18, 9, 0x0102)));
    }

    #[test]
    fn header_v2_keeps_a_classic_client_id_and_reads_tags() {
        // Metadata v9 uses header v2.
        let frame = [0, 3, 0, 9, 0, 0, 0, 7, 0, 2, b'i', b'd', 0x01, 0x03, 0x01, 0xee];
        let mut r = Reader::new(Bytes::copy_from_slice(&frame));
        let header = decode_header(&mut r, ApiKey::Metadata, 9).unwrap();
        assert_eq!(header.correlation_id, 7);
        assert_eq!(header.client_id.as_deref(), Some("id"));
        assert_eq!(&header.unknown_tagged_fields[&3][..], &[0xee]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn header_v1_has_no_tag_section() {
        let frame = [0, 3, 0, 8, 0, 0, 0, 7, 0xff, 0xff, 0x42];
        let mut r = Reader::new(Bytes::copy_from_slice(&frame));
        let header = decode_header(&mut r, ApiKey::Metadata, 8).unwrap();
        assert_eq!(header.client_id, None);
        assert_eq!(r.remaining(), 1);
    }
}
