//! One record on disk: a frame with its length and a CRC, as the spool's segment files hold them
//! back to back.
//!
//! ```text
//! | len u32 LE | crc32c u32 LE | seq u64 LE | timestamp i64 LE | key_len u16 LE | key | value |
//!                              └───────────── len bytes, covered by the CRC ──────────────┘
//! ```

use std::io::{self, Read};

use crate::record::Record;

const HEADER: usize = 8;
const FIXED: usize = 8 + 8 + 2;
/// A frame longer than this is corruption, not a record (records are at most a few KiB).
const MAX_FRAME: usize = 16 << 20;

pub(super) fn encode_frame(r: &Record, out: &mut Vec<u8>) {
    let key = r.key.as_deref().unwrap_or("").as_bytes();
    let key = &key[..key.len().min(u16::MAX as usize)];
    let len = FIXED + key.len() + r.value.len();
    out.extend_from_slice(&(len as u32).to_le_bytes());
    let crc_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body = out.len();
    out.extend_from_slice(&r.seq.to_le_bytes());
    out.extend_from_slice(&r.timestamp.to_le_bytes());
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&r.value);
    let crc = crc32c::crc32c(&out[body..]);
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The next frame and its size on disk; `None` at the end or at a torn or corrupt frame.
pub(super) fn read_frame(r: &mut impl Read) -> io::Result<Option<(Record, u64)>> {
    let mut header = [0u8; HEADER];
    if !read_full(r, &mut header)? {
        return Ok(None);
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if !(FIXED..=MAX_FRAME).contains(&len) {
        return Ok(None);
    }
    let mut body = vec![0u8; len];
    if !read_full(r, &mut body)? || crc32c::crc32c(&body) != crc {
        return Ok(None);
    }
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&body[i..i + 8]);
        b
    };
    let seq = u64::from_le_bytes(u64_at(0));
    // The agent numbers records from 0 and never reaches u64::MAX; a frame that says so is not
    // ours, and the reader's `seq + 1` would wrap to 0 and read the segment forever.
    if seq == u64::MAX {
        return Ok(None);
    }
    let timestamp = i64::from_le_bytes(u64_at(8));
    let key_len = u16::from_le_bytes([body[16], body[17]]) as usize;
    if FIXED + key_len > len {
        return Ok(None);
    }
    let key = std::str::from_utf8(&body[FIXED..FIXED + key_len])
        .ok()
        .map(str::to_string);
    let record = Record {
        seq,
        timestamp,
        key: key.filter(|k| !k.is_empty()),
        value: body[FIXED + key_len..].to_vec(),
    };
    Ok(Some((record, (HEADER + len) as u64)))
}

/// Fills `buf`; false if the input ended first (a torn frame, or the clean end).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
