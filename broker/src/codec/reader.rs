//! A bounds-checked reader over one request frame.
//!
//! Every length and count in a request is a number the client wrote, so nothing here sizes an
//! allocation from one before checking it against the bytes actually present: a string or bytes
//! field is sliced only after its length is checked, and an array is refused when its count exceeds
//! the remaining bytes (each element takes at least one byte). Byte and string fields are
//! zero-copy slices of the frame's `Bytes`.
//!
//! Classic and compact forms (docs/kafka-protocol.md#flexible-versions):
//!
//! ```text
//!                 classic (non-flexible)          compact (flexible)
//! string          i16 length, -1 = null           uvarint length + 1, 0 = null
//! bytes           i32 length, -1 = null           uvarint length + 1, 0 = null
//! array           i32 count,  -1 = null           uvarint count + 1,  0 = null
//! tagged fields   (none)                          uvarint n, n x {uvarint tag, uvarint size, size bytes}
//! ```

use std::collections::BTreeMap;

use bytes::{Buf, Bytes};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::error::DecodeError;

type Result<T> = std::result::Result<T, DecodeError>;

/// The most elements an array pre-allocates for. The count is already known to fit in the
/// remaining bytes, but an element in memory can be far larger than its one-byte minimum on the
/// wire, so beyond this the vector grows only as elements actually decode.
const MAX_PREALLOC: usize = 1024;

/// Reads Kafka primitive types from the front of a frame.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    pub fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next `n` bytes as a slice of the frame.
    pub fn take(&mut self, n: usize) -> Result<Bytes> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    fn need(&self, n: usize) -> Result<()> {
        if n > self.buf.len() {
            return Err(DecodeError::NotEnoughBytes {
                needed: n,
                had: self.buf.len(),
            });
        }
        Ok(())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.need(N)?;
        let mut out = [0; N];
        // Cannot panic: `need` checked that N bytes are present.
        self.buf.copy_to_slice(&mut out);
        Ok(out)
    }

    pub fn i8(&mut self) -> Result<i8> {
        Ok(i8::from_be_bytes(self.fixed()?))
    }

    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.fixed()?))
    }

    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.fixed()?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.fixed()?))
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.fixed()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.fixed()?))
    }

    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_be_bytes(self.fixed()?))
    }

    /// Any non-zero byte is true, as in Kafka's `readByte() != 0`.
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.i8()? != 0)
    }

    pub fn uuid(&mut self) -> Result<Uuid> {
        Ok(Uuid::from_bytes(self.fixed()?))
    }

    /// An unsigned LEB128 varint of at most 5 bytes holding a u32.
    pub fn uvarint(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let [b] = self.fixed()?;
            // The fifth byte may carry only the top 4 bits of a u32 and no continuation.
            if i == 4 && b > 0x0f {
                return Err(DecodeError::VarintTooLong);
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        // Unreachable in practice: the fifth byte either returned or was rejected above.
        Err(DecodeError::VarintTooLong)
    }

    /// A length prefix: classic `i16`/`i32` with -1 for null, or compact uvarint with 0 for null.
    /// Returns `None` for null.
    fn length(&mut self, flex: bool, classic_i16: bool, what: &'static str) -> Result<Option<usize>> {
        if flex {
            return Ok(self.uvarint()?.checked_sub(1).map(|n| n as usize));
        }
        let n = if classic_i16 {
            i32::from(self.i16()?)
        } else {
            self.i32()?
        };
        match n {
            -1 => Ok(None),
            n if n >= 0 => Ok(Some(n as usize)),
            n => Err(DecodeError::NegativeLength {
                len: i64::from(n),
                what,
            }),
        }
    }

    pub fn nullable_string(&mut self, flex: bool) -> Result<Option<StrBytes>> {
        let Some(len) = self.length(flex, true, "nullable string")? else {
            return Ok(None);
        };
        let raw = self.take(len)?;
        StrBytes::from_utf8(raw)
            .map(Some)
            .map_err(|e| DecodeError::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            })
    }

    pub fn string(&mut self, flex: bool) -> Result<StrBytes> {
        not_null(self.nullable_string(flex)?, "non-nullable string")
    }

    pub fn nullable_bytes(&mut self, flex: bool) -> Result<Option<Bytes>> {
        match self.length(flex, false, "nullable bytes")? {
            None => Ok(None),
            Some(len) => self.take(len).map(Some),
        }
    }

    pub fn bytes(&mut self, flex: bool) -> Result<Bytes> {
        not_null(self.nullable_bytes(flex)?, "non-nullable bytes")
    }

    /// An array whose elements `elem` decodes; `None` for a null array.
    pub fn nullable_array<T>(
        &mut self,
        flex: bool,
        mut elem: impl FnMut(&mut Reader) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(count) = self.length(flex, false, "nullable array")? else {
            return Ok(None);
        };
        if count > self.remaining() {
            return Err(DecodeError::CountTooLarge {
                count,
                remaining: self.remaining(),
            });
        }
        let mut out = Vec::with_capacity(count.min(MAX_PREALLOC));
        for _ in 0..count {
            out.push(elem(self)?);
        }
        Ok(Some(out))
    }

    pub fn array<T>(&mut self, flex: bool, elem: impl FnMut(&mut Reader) -> Result<T>) -> Result<Vec<T>> {
        not_null(self.nullable_array(flex, elem)?, "non-nullable array")
    }

    /// Reads a tagged-field section. `known` is offered each tag with a reader over exactly its
    /// value; it returns `Ok(true)` after decoding a tag it owns (which must use the whole value),
    /// or `Ok(false)` to keep the raw value in the returned unknown-field map.
    ///
    /// Tags are accepted in any order and a repeated unknown tag keeps its last value, as Kafka's
    /// and the protocol crate's readers do.
    pub fn tagged_fields(
        &mut self,
        mut known: impl FnMut(u32, &mut Reader) -> Result<bool>,
    ) -> Result<BTreeMap<i32, Bytes>> {
        let mut unknown = BTreeMap::new();
        // No allocation depends on `count`; each round consumes at least two bytes or fails.
        let count = self.uvarint()?;
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let value = self.take(size)?;
            let mut field = Reader::new(value.clone());
            if known(tag, &mut field)? {
                if field.remaining() != 0 {
                    return Err(DecodeError::TaggedFieldSize {
                        tag,
                        declared: size,
                        used: size - field.remaining(),
                    });
                }
            } else {
                let key = i32::try_from(tag).map_err(|_| DecodeError::TagTooLarge { tag })?;
                unknown.insert(key, value);
            }
        }
        Ok(unknown)
    }

    /// A tagged-field section of a struct that defines no tags of its own.
    pub fn unknown_tagged_fields(&mut self) -> Result<BTreeMap<i32, Bytes>> {
        self.tagged_fields(|_, _| Ok(false))
    }
}

fn not_null<T>(value: Option<T>, what: &'static str) -> Result<T> {
    value.ok_or(DecodeError::NegativeLength { len: -1, what })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn fixed_width_integers_are_big_endian() {
        let mut r = reader(&[0xff, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x80]);
        assert_eq!(r.i8(), Ok(-1));
        assert_eq!(r.i16(), Ok(1));
        assert_eq!(r.i32(), Ok(0x0000_0100));
        assert_eq!(r.u16(), Err(DecodeError::NotEnoughBytes { needed: 2, had: 1 }));
        assert_eq!(r.u16(), Err(DecodeError::NotEnoughBytes { needed: 2, had: 1 }));
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn short_read_reports_needed_and_had() {
        let err = reader(&[1]).i32().unwrap_err();
        assert_eq!(err.to_string(), "not enough bytes: needed 4, had 1");
    }

    #[test]
    fn uvarint_decodes_one_to_five_bytes() {
        assert_eq!(reader(&[0x00]).uvarint(), Ok(0));
        assert_eq!(reader(&[0x7f]).uvarint(), Ok(127));
        assert_eq!(reader(&[0x80, 0x01]).uvarint(), Ok(128));
        assert_eq!(reader(&[0xff, 0xff, 0xff, 0xff, 0x0f]).uvarint(), Ok(u32::MAX));
    }

    #[test]
    fn uvarint_longer_than_five_bytes_or_above_u32_is_refused() {
        assert_eq!(
            reader(&[0xff, 0xff, 0xff, 0xff, 0x1f]).uvarint(),
            Err(DecodeError::VarintTooLong)
        );
        assert_eq!(
            reader(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).uvarint(),
            Err(DecodeError::VarintTooLong)
        );
        assert!(matches!(
            reader(&[0x80, 0x80]).uvarint(),
            Err(DecodeError::NotEnoughBytes { .. })
        ));
    }

    #[test]
    fn classic_and_compact_strings_share_null_and_length_rules() {
        assert_eq!(reader(&[0xff, 0xff]).nullable_string(false), Ok(None));
        assert_eq!(reader(&[0x00]).nullable_string(true), Ok(None));
        let s = reader(&[0x00, 0x02, b'h', b'i']).string(false).unwrap();
        assert_eq!(s.as_str(), "hi");
        let s = reader(&[0x03, b'h', b'i']).string(true).unwrap();
        assert_eq!(s.as_str(), "hi");
    }

    #[test]
    fn null_is_refused_where_the_field_is_not_nullable() {
        let err = reader(&[0xff, 0xff]).string(false).unwrap_err();
        assert_eq!(err.to_string(), "negative length -1 for non-nullable string");
        assert!(reader(&[0x00]).string(true).is_err());
        assert!(reader(&[0xff, 0xff, 0xff, 0xff]).bytes(false).is_err());
        assert!(reader(&[0x00]).array(true, |r| r.i8()).is_err());
    }

    #[test]
    fn negative_lengths_other_than_minus_one_are_refused() {
        let err = reader(&[0xff, 0xf9]).nullable_string(false).unwrap_err();
        assert_eq!(err.to_string(), "negative length -7 for nullable string");
        assert!(matches!(
            reader(&[0x80, 0, 0, 0]).nullable_bytes(false),
            Err(DecodeError::NegativeLength { len: -2147483648, .. })
        ));
        assert!(matches!(
            reader(&[0xff, 0xff, 0xff, 0xfe]).nullable_array(false, |r| r.i8()),
            Err(DecodeError::NegativeLength { len: -2, .. })
        ));
    }

    #[test]
    fn string_longer_than_the_frame_is_refused_before_slicing() {
        let err = reader(&[0x7f, 0xff, b'a', b'b', b'c']).string(false).unwrap_err();
        assert_eq!(err, DecodeError::NotEnoughBytes { needed: 32767, had: 3 });
    }

    #[test]
    fn bytes_length_of_i32_max_is_refused_before_slicing() {
        let err = reader(&[0x7f, 0xff, 0xff, 0xff, 1, 2]).bytes(false).unwrap_err();
        assert_eq!(
            err,
            DecodeError::NotEnoughBytes {
                needed: i32::MAX as usize,
                had: 2
            }
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let err = reader(&[0x00, 0x02, b'a', 0xff]).string(false).unwrap_err();
        assert_eq!(err, DecodeError::InvalidUtf8 { valid_up_to: 1 });
    }

    #[test]
    fn byte_fields_are_slices_of_the_frame() {
        let frame = Bytes::from_static(&[0x00, 0x00, 0x00, 0x02, 7, 8]);
        let mut r = Reader::new(frame.clone());
        let b = r.bytes(false).unwrap();
        assert_eq!(&b[..], &[7, 8]);
        assert_eq!(b.as_ptr(), frame[4..].as_ptr());
    }

    #[test]
    fn array_count_beyond_the_remaining_bytes_is_refused_without_allocating() {
        let err = reader(&[0x7f, 0xff, 0xff, 0xff]).array(false, |r| r.i32()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::CountTooLarge {
                count: i32::MAX as usize,
                remaining: 0
            }
        );
        // Compact count u32::MAX - 1 elements.
        let err = reader(&[0xff, 0xff, 0xff, 0xff, 0x0f, 1])
            .array(true, |r| r.i8())
            .unwrap_err();
        assert!(matches!(err, DecodeError::CountTooLarge { remaining: 1, .. }));
    }

    #[test]
    fn arrays_decode_each_element_in_order() {
        let mut r = reader(&[0x03, 0x00, 0x01, 0x00, 0x02]);
        assert_eq!(r.array(true, |r| r.i16()), Ok(vec![1, 2]));
        let mut r = reader(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.nullable_array(false, |r| r.i16()), Ok(None));
    }

    #[test]
    fn unknown_tags_are_kept_and_known_tags_are_decoded() {
        // Two fields: tag 0 (known, an i16) and tag 5 (unknown, two bytes).
        let mut r = reader(&[0x02, 0x00, 0x02, 0x01, 0x02, 0x05, 0x02, 0xaa, 0xbb]);
        let mut seen = None;
        let unknown = r
            .tagged_fields(|tag, field| match tag {
                0 => {
                    seen = Some(field.i16()?);
                    Ok(true)
                }
                _ => Ok(false),
            })
            .unwrap();
        assert_eq!(seen, Some(0x0102));
        assert_eq!(unknown.len(), 1);
        assert_eq!(&unknown[&5][..], &[0xaa, 0xbb]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn known_tag_must_fill_its_declared_size() {
        let mut r = reader(&[0x01, 0x00, 0x03, 0x01, 0x02, 0x03]);
        let err = r.tagged_fields(|_, f| f.i16().map(|_| true)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TaggedFieldSize {
                tag: 0,
                declared: 3,
                used: 2
            }
        );
    }

    #[test]
    fn huge_tag_count_fails_on_the_missing_bytes() {
        let mut r = reader(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00]);
        assert!(matches!(
            r.unknown_tagged_fields(),
            Err(DecodeError::NotEnoughBytes { .. })
        ));
    }

    #[test]
    fn tag_above_i32_max_is_refused() {
        let mut r = reader(&[0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
        assert_eq!(
            r.unknown_tagged_fields(),
            Err(DecodeError::TagTooLarge { tag: u32::MAX })
        );
    }
}
