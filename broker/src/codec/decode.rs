//! From a frame (the bytes after the 4-byte size) to a typed request.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};

use super::apis::{decode_body, is_supported, Request};
use super::error::DecodeError;
use super::header::{decode_header, peek_header};
use super::reader::Reader;

/// A whole request: its header (correlation id, client id, version) and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFrame {
    pub header: RequestHeader,
    pub request: Request,
}

/// Decodes one request frame.
///
/// The (api key, version) pair is checked against the table of APIs before anything past the fixed
/// 8-byte prefix is read. An unsupported version is reported as
/// [`DecodeError::UnsupportedVersion`] so the caller can answer an ApiVersions request it cannot
/// parse (use [`peek_header`] for its correlation id).
///
/// Bytes left after the body are ignored, not refused. Kafka's `RequestContext.parseRequest`
/// reads the fields its schema knows and, as far as we can see, never checks that the buffer is
/// exhausted, so refusing them would disconnect clients that Kafka serves.
pub fn decode_request(frame: Bytes) -> Result<RequestFrame, DecodeError> {
    let (raw_key, version, _) = peek_header(&frame)?;
    let api_key = ApiKey::try_from(raw_key).map_err(|()| DecodeError::UnknownApiKey(raw_key))?;
    if !is_supported(api_key, version) {
        return Err(DecodeError::UnsupportedVersion { api_key, version });
    }
    let mut r = Reader::new(frame);
    let header = decode_header(&mut r, api_key, version)?;
    let request = decode_body(&mut r, api_key, version)?;
    Ok(RequestFrame { header, request })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::apis::{Api, APIS};
    use crate::codec::testkit::{random_header, Gen};
    use kafka_protocol::protocol::Encodable;
    use proptest::prelude::*;

    /// A frame with a v1 header (null client id) for `api_key` at `version`, then `body`.
    fn frame(api_key: i16, version: i16, body: &[u8]) -> Bytes {
        let mut out = Vec::new();
        out.extend_from_slice(&api_key.to_be_bytes());
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&42i32.to_be_bytes());
        out.extend_from_slice(&[0xff, 0xff]);
        out.extend_from_slice(body);
        out.into()
    }

    #[test]
    fn metadata_v4_with_a_huge_topic_count_is_refused_not_aborted() {
        // The body that makes the crate's decoder ask for ~150 GB and abort (pitfall 1 in
        // docs/kafka-protocol.md#kafka-protocol-crate-pitfalls).
        let err = decode_request(frame(3, 4, &[0x7f, 0xff, 0xff, 0xff])).unwrap_err();
        assert_eq!(err.to_string(), "array count 2147483647 exceeds the 0 bytes remaining");
    }

    #[test]
    fn compact_array_count_near_u32_max_is_refused() {
        // Metadata v9: header v2 (empty tag section), then compact topics count u32::MAX - 1.
        let mut body = vec![0x00];
        body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00]);
        let err = decode_request(frame(3, 9, &body)).unwrap_err();
        assert!(matches!(err, DecodeError::CountTooLarge { .. }), "{err}");
    }

    #[test]
    fn string_length_beyond_the_frame_is_refused() {
        // Produce v3: transactional_id claims 32767 bytes, 3 present.
        let err = decode_request(frame(0, 3, &[0x7f, 0xff, b'a', b'b', b'c'])).unwrap_err();
        assert_eq!(err, DecodeError::NotEnoughBytes { needed: 32767, had: 3 });
    }

    #[test]
    fn records_length_of_i32_max_is_refused() {
        // Produce v3: null txn id, acks, timeout, one topic "t" with one partition, records i32::MAX.
        let mut body = vec![0xff, 0xff, 0x00, 0x01, 0, 0, 0x75, 0x30, 0, 0, 0, 1, 0, 1, b't'];
        body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
        let err = decode_request(frame(0, 3, &body)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::NotEnoughBytes {
                needed: i32::MAX as usize,
                had: 3
            }
        );
    }

    #[test]
    fn negative_lengths_are_refused() {
        // Metadata v1 topic name of length -7.
        let err = decode_request(frame(3, 1, &[0, 0, 0, 1, 0xff, 0xf9])).unwrap_err();
        assert_eq!(err.to_string(), "negative length -7 for nullable string");
        // Produce v3 topic array count -2.
        let body = [0xff, 0xff, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe];
        let err = decode_request(frame(0, 3, &body)).unwrap_err();
        assert!(matches!(err, DecodeError::NegativeLength { len: -2, .. }), "{err}");
        // A negative client_id length in the header itself.
        let err = decode_request(frame(18, 0, &[])).map(|_| ());
        assert!(err.is_ok(), "null client id is fine");
        let mut bad = frame(18, 0, &[]).to_vec();
        bad[8..10].copy_from_slice(&(-3i16).to_be_bytes());
        assert!(matches!(
            decode_request(bad.into()),
            Err(DecodeError::NegativeLength { len: -3, .. })
        ));
    }

    #[test]
    fn frames_shorter_than_the_header_prefix_are_refused() {
        for len in 0..8 {
            let err = decode_request(Bytes::from(vec![0; len])).unwrap_err();
            assert_eq!(err, DecodeError::FrameTooShort { len });
        }
    }

    #[test]
    fn unknown_api_key_is_refused() {
        let err = decode_request(frame(999, 0, &[])).unwrap_err();
        assert_eq!(err.to_string(), "unknown api key 999");
        assert!(decode_request(frame(-1, 0, &[])).is_err());
    }

    #[test]
    fn known_api_we_do_not_serve_is_an_unsupported_version() {
        // ElectLeaders (43) exists in the crate but not in the table: one node has no other
        // replica to elect.
        let err = decode_request(frame(43, 2, &[])).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnsupportedVersion {
                api_key: ApiKey::ElectLeaders,
                version: 2
            }
        );
    }

    #[test]
    fn versions_just_outside_each_supported_range_are_refused() {
        for &Api {
            key: api_key, min, max, ..
        } in APIS
        {
            for version in [min - 1, max + 1, i16::MAX, i16::MIN] {
                let err = decode_request(frame(api_key as i16, version, &[0; 64])).unwrap_err();
                assert_eq!(err, DecodeError::UnsupportedVersion { api_key, version });
            }
        }
        let err = decode_request(frame(0, 14, &[])).unwrap_err();
        assert_eq!(err.to_string(), "unsupported version 14 for Produce");
    }

    #[test]
    fn too_new_api_versions_still_yields_its_header_prefix() {
        // A client probing with ApiVersions v127: we answer with a v0 error response, so we need
        // its correlation id even though the body is unreadable.
        let frame = frame(18, 127, &[0xde, 0xad]);
        assert_eq!(
            decode_request(frame.clone()),
            Err(DecodeError::UnsupportedVersion {
                api_key: ApiKey::ApiVersions,
                version: 127
            })
        );
        assert_eq!(peek_header(&frame), Ok((18, 127, 42)));
    }

    #[test]
    fn trailing_bytes_after_the_body_are_ignored() {
        let decoded = decode_request(frame(18, 0, &[1, 2, 3])).unwrap();
        assert_eq!(decoded.header.correlation_id, 42);
        assert_eq!(
            decoded.request,
            Request::ApiVersions(kafka_protocol::messages::ApiVersionsRequest::default())
        );
    }

    #[test]
    fn every_supported_api_is_decoded_by_the_dispatcher() {
        // A default request of each api at its highest version must decode to that api's
        // variant (the lowest may be one the crate does not encode: ListOffsets v0).
        let mut g = Gen::new(7);
        for &Api { key: api_key, max, .. } in APIS {
            let header = random_header(&mut g, api_key, max);
            let mut frame = bytes::BytesMut::new();
            header
                .encode(&mut frame, api_key.request_header_version(max))
                .expect("header encodes");
            super::super::apis::encode_default(api_key, max, &mut frame).expect("default request encodes");
            let decoded = decode_request(frame.freeze()).unwrap_or_else(|e| panic!("{api_key:?} v{max}: {e}"));
            assert_eq!(decoded.header, header);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..Default::default() })]

        #[test]
        fn arbitrary_bytes_after_a_supported_prefix_never_panic(
            entry in 0..APIS.len(),
            pick in any::<i16>(),
            rest in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            let Api { key: api_key, min, max, .. } = APIS[entry];
            let version = min + pick.rem_euclid(max - min + 1);
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&(api_key as i16).to_be_bytes());
            bytes.extend_from_slice(&version.to_be_bytes());
            bytes.extend_from_slice(&rest);
            let _ = decode_request(bytes.into());
        }

        #[test]
        fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_request(bytes.into());
        }
    }
}
