//! The codec's two error types: one for requests a client sent us, one for responses we build.

use kafka_protocol::messages::ApiKey;

/// Why a request frame could not be decoded.
///
/// Every variant means "this client sent something we will not parse": the caller closes the
/// connection, as Kafka does for an unparseable request
/// (docs/kafka-protocol.md#unsupported-versions-and-malformed-requests). The one exception the
/// caller must tell apart is [`DecodeError::UnsupportedVersion`] for ApiVersions, which Kafka
/// answers with a v0 `UNSUPPORTED_VERSION` response so the client can retry lower.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A field ran past the end of the frame.
    #[error("not enough bytes: needed {needed}, had {had}")]
    NotEnoughBytes { needed: usize, had: usize },

    /// A length or count below -1, or -1 where null is not allowed.
    #[error("negative length {len} for {what}")]
    NegativeLength { len: i64, what: &'static str },

    /// An array count that cannot fit in what is left of the frame (every element takes at
    /// least one byte). Kafka's generated readers reject the same case.
    #[error("array count {count} exceeds the {remaining} bytes remaining")]
    CountTooLarge { count: usize, remaining: usize },

    /// An unsigned varint whose fifth byte still has bits beyond 32 or a continuation bit.
    #[error("unsigned varint longer than 5 bytes or above u32::MAX")]
    VarintTooLong,

    /// A string that is not UTF-8.
    #[error("invalid utf-8 in string after {valid_up_to} valid bytes")]
    InvalidUtf8 { valid_up_to: usize },

    /// A tag number that does not fit the `i32` keys of `unknown_tagged_fields`.
    #[error("tag {tag} does not fit in an i32")]
    TagTooLarge { tag: u32 },

    /// A known tag sent in a version where the schema does not define it.
    #[error("tagged field {tag} of {what} is not valid at version {version}")]
    TagNotInVersion { tag: u32, what: &'static str, version: i16 },

    /// A known tagged field whose value did not use exactly the size its header declared.
    #[error("tagged field {tag} declared {declared} bytes but its value took {used}")]
    TaggedFieldSize { tag: u32, declared: usize, used: usize },

    /// Fewer than the 8 bytes every request header starts with (api key, version, correlation id).
    #[error("frame of {len} bytes is shorter than the 8-byte request header prefix")]
    FrameTooShort { len: usize },

    /// An api key this build of the protocol crate does not know.
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),

    /// A known api key at a version outside the table of APIs ([`crate::codec::APIS`]) (or an api we do not
    /// serve at all, reported with its requested version).
    #[error("unsupported version {version} for {api_key:?}")]
    UnsupportedVersion { api_key: ApiKey, version: i16 },
}

/// Why a response could not be encoded. This is our own data, so any of these is a broker bug,
/// not a client's fault.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The protocol crate refused the header or body (typically a field set that does not exist
    /// in the negotiated version; pitfall 3 in
    /// docs/kafka-protocol.md#kafka-protocol-crate-pitfalls).
    #[error("encoding {api_key:?} v{version} response: {message}")]
    Crate {
        api_key: ApiKey,
        version: i16,
        message: String,
    },

    /// The encoded response does not fit the i32 size prefix.
    #[error("{api_key:?} v{version} response of {len} bytes does not fit an i32 size prefix")]
    TooLarge { api_key: ApiKey, version: i16, len: usize },
}
