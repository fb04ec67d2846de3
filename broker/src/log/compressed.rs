//! Counting the records of a compressed client batch, as Kafka checks them before it stores the
//! batch (KAFKA-NOTES §4.2): the batch is stored as sent, but its header's record count must be
//! what its compressed records really hold, or the count could claim offsets the bytes do not
//! carry.
//!
//! The records are decompressed as a stream and only their length prefixes are read, so memory
//! stays constant; at most `limit` decompressed bytes are read, so a small batch that inflates
//! without end costs bounded time (KAFKA-NOTES §9.3: the protocol crate's decoders have no bound).
//!
//! Kafka's codecs (attributes bits 0–2): 1 gzip, 2 snappy (raw, or Java's xerial framing: a
//! 16-byte header, then blocks each prefixed with its big-endian u32 length), 3 LZ4 frames,
//! 4 zstd.

use std::io::{self, BufRead, BufReader, Read};

use super::records::MalformedRecords;

const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

/// How many records the compressed `data` (the bytes after a batch header) holds under `codec`.
/// Stops with an error once more than `limit` bytes have been decompressed.
pub fn count_compressed_records(codec: u8, data: &[u8], limit: u64) -> Result<u64, MalformedRecords> {
    match codec {
        1 => count_stream(flate2::read::GzDecoder::new(data), limit),
        2 if data.starts_with(XERIAL_MAGIC) => {
            let blocks = data
                .get(XERIAL_HEADER_LEN..)
                .ok_or(MalformedRecords("short snappy header"))?;
            count_stream(XerialBlocks::new(blocks, limit), limit)
        }
        2 => {
            let raw = snappy_block(data, limit)?;
            count_stream(&raw[..], limit)
        }
        3 => count_stream(lz4_flex::frame::FrameDecoder::new(data), limit),
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|_| MalformedRecords("zstd decoder could not start"))?;
            count_stream(decoder, limit)
        }
        _ => Err(MalformedRecords("unknown compression codec")),
    }
}

/// Walks the record length prefixes of an uncompressed record stream.
fn count_stream(stream: impl Read, limit: u64) -> Result<u64, MalformedRecords> {
    // One more byte than the limit is read, to tell "exactly the limit" from "more".
    let mut stream = BufReader::with_capacity(32 * 1024, stream.take(limit.saturating_add(1)));
    let mut count = 0u64;
    let mut read = 0u64;
    loop {
        let at_end = stream
            .fill_buf()
            .map_err(|_| MalformedRecords("records do not decompress"))?
            .is_empty();
        if at_end {
            return Ok(count);
        }
        let (len, prefix) = read_varint(&mut stream)?;
        let len = u64::try_from(len)
            .ok()
            .filter(|&l| l > 0)
            .ok_or(MalformedRecords("record length not positive"))?;
        let skipped = io::copy(&mut (&mut stream).take(len), &mut io::sink())
            .map_err(|_| MalformedRecords("records do not decompress"))?;
        if skipped != len {
            return Err(MalformedRecords("record length past end of batch"));
        }
        read += prefix + len;
        if read > limit {
            return Err(MalformedRecords("records decompress to more than the limit"));
        }
        count += 1;
    }
}

/// One zigzag varint of up to 64 bits, and how many bytes it took.
fn read_varint(stream: &mut impl Read) -> Result<(i64, u64), MalformedRecords> {
    let mut raw: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8];
        stream
            .read_exact(&mut byte)
            .map_err(|_| MalformedRecords("truncated varint"))?;
        raw |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(((raw >> 1) as i64 ^ -((raw & 1) as i64), i + 1));
        }
    }
    Err(MalformedRecords("overlong varint"))
}

/// One raw snappy block, decompressed; its announced length is checked against `limit` before
/// anything is allocated.
fn snappy_block(block: &[u8], limit: u64) -> Result<Vec<u8>, MalformedRecords> {
    let len = snap::raw::decompress_len(block).map_err(|_| MalformedRecords("bad snappy block"))?;
    if len as u64 > limit {
        return Err(MalformedRecords("records decompress to more than the limit"));
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|_| MalformedRecords("bad snappy block"))
}

/// The concatenated contents of xerial-framed snappy blocks, one block at a time.
struct XerialBlocks<'a> {
    rest: &'a [u8],
    block: Vec<u8>,
    at: usize,
    /// Decompressed bytes still allowed; a block beyond it is refused before it is allocated.
    budget: u64,
}

impl<'a> XerialBlocks<'a> {
    fn new(rest: &'a [u8], limit: u64) -> XerialBlocks<'a> {
        XerialBlocks {
            rest,
            block: Vec::new(),
            at: 0,
            budget: limit.saturating_add(1),
        }
    }
}

impl Read for XerialBlocks<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if self.rest.is_empty() {
                return Ok(0);
            }
            let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad xerial snappy block");
            let (len, after) = self.rest.split_first_chunk::<4>().ok_or_else(bad)?;
            let len = u32::from_be_bytes(*len) as usize;
            let compressed = after.get(..len).ok_or_else(bad)?;
            self.rest = &after[len..];
            self.block = snappy_block(compressed, self.budget).map_err(|_| bad())?;
            self.budget -= self.block.len() as u64;
            self.at = 0;
        }
        let n = out.len().min(self.block.len() - self.at);
        out[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::log::test_batch::TestBatch;
    use crate::log::HEADER_LEN;

    /// The records of a 5-record test batch, and the same bytes under each codec.
    fn records() -> Vec<u8> {
        TestBatch::new(5, 0).value_len(40).build()[HEADER_LEN..].to_vec()
    }

    fn compress(codec: u8, raw: &[u8]) -> Vec<u8> {
        match codec {
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(raw).unwrap();
                e.finish().unwrap()
            }
            2 => snap::raw::Encoder::new().compress_vec(raw).unwrap(),
            3 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(raw).unwrap();
                e.finish().unwrap()
            }
            4 => zstd::stream::encode_all(raw, 3).unwrap(),
            _ => unreachable!(),
        }
    }

    fn xerial(raw: &[u8], block: usize) -> Vec<u8> {
        let mut out = XERIAL_MAGIC.to_vec();
        out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        for chunk in raw.chunks(block) {
            let c = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            out.extend_from_slice(&(c.len() as u32).to_be_bytes());
            out.extend_from_slice(&c);
        }
        out
    }

    #[test]
    fn every_codec_counts_the_records_it_holds() {
        let raw = records();
        for codec in 1..=4 {
            assert_eq!(
                count_compressed_records(codec, &compress(codec, &raw), 1 << 20),
                Ok(5),
                "codec {codec}"
            );
        }
        // Java's framing, with blocks that cut records in two.
        assert_eq!(count_compressed_records(2, &xerial(&raw, 7), 1 << 20), Ok(5));
    }

    #[test]
    fn damage_and_excess_are_refused_not_panicked_on() {
        let raw = records();
        for codec in 1..=4 {
            let good = compress(codec, &raw);
            // A cut stream fails or yields the records before the cut (an LZ4 frame cut in its
            // end mark still holds all 5), never more.
            for cut in [1, good.len() / 2, good.len() - 1] {
                let r = count_compressed_records(codec, &good[..cut], 1 << 20);
                assert!(r.is_err() || r.unwrap() <= 5, "codec {codec} cut at {cut}");
            }
            assert!(count_compressed_records(codec, &good[..good.len() / 2], 1 << 20) != Ok(5));
            let mut trailing = raw.clone();
            trailing.push(0);
            assert!(count_compressed_records(codec, &compress(codec, &trailing), 1 << 20).is_err());
            // More decompressed bytes than allowed.
            assert!(count_compressed_records(codec, &good, raw.len() as u64 - 1).is_err());
            assert_eq!(count_compressed_records(codec, &good, raw.len() as u64), Ok(5));
        }
        assert!(count_compressed_records(2, &xerial(&raw, 7), raw.len() as u64 - 1).is_err());
        assert!(count_compressed_records(5, &raw, 1 << 20).is_err());
    }

    #[test]
    fn a_small_batch_that_inflates_without_end_stops_at_the_limit() {
        // 64 MiB of one record length prefix repeated: kilobytes compressed.
        let bomb = compress(4, &vec![0x02; 64 << 20]);
        assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
        assert!(count_compressed_records(4, &bomb, 1 << 20).is_err());
    }

    proptest::proptest! {
        /// Any bytes under any codec: an answer or an error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(codec in 0u8..8, data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = count_compressed_records(codec, &data, 1 << 16);
            let mut framed = XERIAL_MAGIC.to_vec();
            framed.extend_from_slice(&[0; 8]);
            framed.extend_from_slice(&data);
            let _ = count_compressed_records(2, &framed, 1 << 16);
        }

        /// Valid streams with one byte changed and the end cut anywhere: never a panic.
        #[test]
        fn damaged_streams_never_panic(codec in 1u8..=4, at in proptest::num::usize::ANY, flip in 1u8..=255, cut in proptest::num::usize::ANY) {
            let mut data = compress(codec, &records());
            let i = at % data.len();
            data[i] ^= flip;
            data.truncate(data.len() - cut % data.len());
            let _ = count_compressed_records(codec, &data, 1 << 16);
        }
    }
}
