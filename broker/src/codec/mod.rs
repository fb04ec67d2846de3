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
//! - `apis`: the one table of the APIs served ([`APIS`]), and the [`Request`] enum it declares.
//! - `decode`: [`decode_request`], gated by the table.
//! - `response`: [`encode_response`], size prefix and response header.
//! - `error`: [`DecodeError`] (close the connection) and [`EncodeError`] (a broker bug).

mod apis;
mod decode;
mod error;
mod header;
mod list_offsets_v0;
mod reader;
mod requests;
mod response;
#[cfg(test)]
mod testkit;

pub(crate) use apis::with_apis;
pub use apis::{api, is_supported, Api, Request, APIS};
pub use decode::{decode_request, RequestFrame};
pub use error::{DecodeError, EncodeError};
pub use header::peek_header;
pub use list_offsets_v0::ListOffsetsAnswer;
pub use reader::Reader;
pub use response::encode_response;
