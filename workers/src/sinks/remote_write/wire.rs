//! The bytes of a remote write 1.0 request body: Prometheus' `prometheus.WriteRequest` protobuf
//! message (`prompb/remote.proto` and `prompb/types.proto`), compressed as one snappy block.
//! Spec: <https://prometheus.io/docs/specs/prw/remote_write_spec/>.
//!
//! Only the fields a sender of samples fills are declared; a receiver skips what it does not
//! know, and the sink sends no metadata (field 3), exemplars or histograms.
//!
//! ```text
//! WriteRequest { repeated TimeSeries timeseries = 1; }
//! TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//! Label        { string name = 1; string value = 2; }
//! Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: ms since the epoch
//! ```

/// The message the receiver decodes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series: labels sorted by name, `__name__` among them, and its samples in time order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Why a body could not be made or read back.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("snappy: {0}")]
    Snappy(#[from] snap::Error),
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

impl WriteRequest {
    /// The HTTP body: the message, then snappy's block format over it (the spec forbids the
    /// framed format).
    pub fn to_body(&self, snappy: &mut snap::raw::Encoder) -> Result<Vec<u8>, WireError> {
        Ok(snappy.compress_vec(&prost::Message::encode_to_vec(self))?)
    }

    /// A body read back, as a receiver reads it (the tests' servers).
    pub fn from_body(body: &[u8]) -> Result<WriteRequest, WireError> {
        let bytes = snap::raw::Decoder::new().decompress_vec(body)?;
        Ok(<WriteRequest as prost::Message>::decode(bytes.as_slice())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up_at_one_second() -> WriteRequest {
        WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 1000,
                }],
            }],
        }
    }

    /// Protobuf keys are `field << 3 | wire type` (2: length-delimited, 1: 64-bit, 0: varint).
    ///
    /// ```text
    /// 0a 1e                         WriteRequest.timeseries, 30 bytes
    ///   0a 0e                       TimeSeries.labels, 14 bytes
    ///     0a 08 "__name__"          Label.name
    ///     12 02 "up"                Label.value
    ///   12 0c                       TimeSeries.samples, 12 bytes
    ///     09 00 00 00 00 00 00 f0 3f   Sample.value, 1.0 as a little-endian double
    ///     10 e8 07                  Sample.timestamp, 1000 as a varint
    /// ```
    #[test]
    fn a_write_request_encodes_to_the_bytes_prompb_defines() {
        let mut expected = vec![0x0a, 0x1e, 0x0a, 0x0e, 0x0a, 0x08];
        expected.extend_from_slice(b"__name__");
        expected.extend_from_slice(&[0x12, 0x02]);
        expected.extend_from_slice(b"up");
        expected.extend_from_slice(&[0x12, 0x0c, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0xe8, 0x07]);
        assert_eq!(prost::Message::encode_to_vec(&up_at_one_second()), expected);
    }

    #[test]
    fn the_body_is_one_snappy_block_that_reads_back_to_the_request() {
        let request = up_at_one_second();
        let body = request.to_body(&mut snap::raw::Encoder::new()).unwrap();
        // A snappy block starts with the uncompressed length as a varint (32); the framed
        // format would start with its stream identifier chunk (ff 06 00 00 "sNaPpY").
        assert_eq!(body[0], 32);
        assert_ne!(body[0], 0xff);
        assert_eq!(WriteRequest::from_body(&body).unwrap(), request);
    }

    #[test]
    fn a_body_that_is_not_snappy_is_an_error_not_a_panic() {
        assert!(matches!(
            WriteRequest::from_body(b"\xff\x06\x00\x00sNaPpY"),
            Err(WireError::Snappy(_))
        ));
    }
}
