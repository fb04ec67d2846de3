//! Test support: random requests of the protocol crate's types, and the round-trip check every
//! API's tests run.
//!
//! Requests are derived from a seed with a small PRNG rather than proptest strategies: the crate's
//! structs are `#[non_exhaustive]` and have dozens of fields, so a seed plus field assignment is
//! far shorter. Which fields exist at a version is not written down here a second time: [`Gen::set`]
//! tries each random value and keeps it only if the crate's encoder accepts it at that version
//! (the encoder refuses a non-default value in a field the version lacks). That way a version
//! mistake in a decoder cannot be mirrored by the same mistake in its test.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use uuid::Uuid;

use super::{api, decode_request, Request};

/// Random cases per API and version.
pub const CASES: u32 = 64;

/// splitmix64: tiny, and every seed gives a well-mixed stream.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.u64() % n
    }

    pub fn bool(&mut self) -> bool {
        self.u64() & 1 == 1
    }

    pub fn i8(&mut self) -> i8 {
        self.u64() as i8
    }

    pub fn i16(&mut self) -> i16 {
        self.u64() as i16
    }

    pub fn i32(&mut self) -> i32 {
        self.u64() as i32
    }

    pub fn i64(&mut self) -> i64 {
        self.u64() as i64
    }

    pub fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.u64(), self.u64())
    }

    /// 0–7 characters of mixed 1- to 4-byte UTF-8.
    pub fn string(&mut self) -> StrBytes {
        const CHARS: [char; 8] = ['a', 'Z', '0', '.', '-', 'é', '€', '🦀'];
        let len = self.below(8);
        let s: String = (0..len)
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize])
            .collect();
        StrBytes::from_string(s)
    }

    /// 0–39 random bytes.
    pub fn bytes(&mut self) -> Bytes {
        let len = self.below(40);
        (0..len).map(|_| self.u64() as u8).collect::<Vec<u8>>().into()
    }

    /// `None` one time in four.
    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Gen) -> T) -> Option<T> {
        (self.below(4) != 0).then(|| f(self))
    }

    /// 0–3 elements.
    pub fn vec<T>(&mut self, mut f: impl FnMut(&mut Gen) -> T) -> Vec<T> {
        let len = self.below(4);
        (0..len).map(|_| f(self)).collect()
    }

    /// 0–2 unknown tagged fields, numbered well above any tag the schemas define.
    pub fn tags(&mut self) -> BTreeMap<i32, Bytes> {
        let len = self.below(3);
        (0..len)
            .map(|_| (100 + self.below(1000) as i32, self.bytes()))
            .collect()
    }

    /// Applies `f` to a copy of `x` and keeps the copy if the crate can encode it at `version`.
    pub fn set<T: Encodable + Clone>(&mut self, x: &mut T, version: i16, f: impl FnOnce(&mut T, &mut Gen)) {
        let mut candidate = x.clone();
        f(&mut candidate, self);
        if candidate.encode(&mut BytesMut::new(), version).is_ok() {
            *x = candidate;
        }
    }
}

/// The inclusive version range the table of APIs serves for `api_key`.
pub fn supported_range(api_key: ApiKey) -> (i16, i16) {
    api(api_key)
        .map(|api| (api.min, api.max))
        .unwrap_or_else(|| panic!("{api_key:?} is not in the table of APIs"))
}

/// Encodes `header` + `body` with the crate at `version`; returns the frame and the header length.
pub fn encode_frame<T: Encodable>(header: &RequestHeader, body: &T, version: i16) -> (Bytes, usize) {
    let api_key = ApiKey::try_from(header.request_api_key).expect("test header has a known key");
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, api_key.request_header_version(version))
        .expect("crate encodes the header");
    let header_len = buf.len();
    body.encode(&mut buf, version).expect("crate encodes the body");
    (buf.freeze(), header_len)
}

/// A random header for `api_key` at `version`.
pub fn random_header(g: &mut Gen, api_key: ApiKey, version: i16) -> RequestHeader {
    let mut header = RequestHeader::default();
    header.request_api_key = api_key as i16;
    header.request_api_version = version;
    header.correlation_id = g.i32();
    header.client_id = g.opt(Gen::string);
    if api_key.request_header_version(version) >= 2 {
        header.unknown_tagged_fields = g.tags();
    }
    header
}

/// The property every API's tests check, for one seed at every supported version the crate can
/// encode (ListOffsets v0, below the crate's range, has a test of its own):
///
/// 1. a random request encoded by the crate decodes with ours to exactly what the crate's own
///    decoder reads from the same bytes (header included);
/// 2. every truncation of that frame is an error, never a panic;
/// 3. random byte mutations of it never panic.
pub fn check_api<T>(api_key: ApiKey, seed: u64, arbitrary: fn(&mut Gen, i16) -> T, wrap: fn(T) -> Request)
where
    T: Encodable + Decodable + Message,
{
    let (min, max) = supported_range(api_key);
    for version in min.max(T::VERSIONS.min)..=max {
        let mut g = Gen::new(seed ^ ((version as u64) << 56));
        let header = random_header(&mut g, api_key, version);
        let body = arbitrary(&mut g, version);
        let (frame, header_len) = encode_frame(&header, &body, version);

        let expected = T::decode(&mut frame.slice(header_len..), version).expect("the crate decodes what it encoded");
        let ours =
            decode_request(frame.clone()).unwrap_or_else(|e| panic!("{api_key:?} v{version}: {e}; frame {frame:02x?}"));
        assert_eq!(ours.header, header, "{api_key:?} v{version} header");
        assert_eq!(ours.request, wrap(expected), "{api_key:?} v{version} body");

        for len in 0..frame.len() {
            assert!(
                decode_request(frame.slice(..len)).is_err(),
                "{api_key:?} v{version} truncated to {len} of {} bytes decoded",
                frame.len()
            );
        }

        for _ in 0..16 {
            let mut mutated = frame.to_vec();
            for _ in 0..=g.below(3) {
                // Keep the api key and version so the body decoder is what gets exercised.
                let at = 4 + g.below(mutated.len() as u64 - 4) as usize;
                mutated[at] = g.u64() as u8;
            }
            let _ = decode_request(Bytes::from(mutated));
        }
    }
}

/// Declares the round-trip property test of one API (see [`check_api`]).
macro_rules! round_trip_test {
    ($api:ident, $arbitrary:path) => {
        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig {
                cases: $crate::codec::testkit::CASES,
                failure_persistence: None,
                ..Default::default()
            })]
            #[test]
            fn every_supported_version_round_trips_and_survives_damage(
                seed in proptest::prelude::any::<u64>()
            ) {
                $crate::codec::testkit::check_api(
                    kafka_protocol::messages::ApiKey::$api,
                    seed,
                    $arbitrary,
                    $crate::codec::Request::$api,
                );
            }
        }
    };
}
pub(crate) use round_trip_test;
