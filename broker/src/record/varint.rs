//! Zigzag varints, as record fields are written (Kafka's `ByteUtils.writeVarlong`): the signed
//! value zigzag-mapped to unsigned, then seven bits a byte, least significant group first, the
//! top bit set on every byte but the last (docs/kafka-protocol.md#records-and-varints).

/// The most bytes a 64-bit varint takes.
pub const MAX_LEN: usize = 10;

/// Appends `v`.
pub fn put(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Reads one varint and advances `buf` past it; `None` if it is cut short or longer than
/// [`MAX_LEN`] bytes.
pub fn read(buf: &mut &[u8]) -> Option<i64> {
    let mut raw: u64 = 0;
    for (i, byte) in buf.iter().enumerate().take(MAX_LEN) {
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Some(unzigzag(raw));
        }
    }
    None
}

/// The signed value of a zigzag-encoded unsigned one.
pub fn unzigzag(raw: u64) -> i64 {
    (raw >> 1) as i64 ^ -((raw & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_including_extremes() {
        for v in [0, 1, -1, 63, -64, 64, 300, -300, i32::MAX as i64, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put(&mut out, v);
            assert!(out.len() <= MAX_LEN);
            let mut slice = out.as_slice();
            assert_eq!(read(&mut slice), Some(v));
            assert!(slice.is_empty());
        }
    }

    #[test]
    fn small_values_take_one_byte_zigzagged() {
        let mut out = Vec::new();
        for v in [0, -1, 1, -2, 2] {
            put(&mut out, v);
        }
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn cut_or_overlong_input_is_refused() {
        assert_eq!(read(&mut &[0x80u8][..]), None);
        assert_eq!(read(&mut &[0xffu8; 11][..]), None);
        assert_eq!(read(&mut &[][..]), None);
    }
}
