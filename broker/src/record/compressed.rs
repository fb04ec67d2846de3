//! Counting the records of a compressed client batch, as Kafka checks them before it stores the
//! batch (docs/kafka-protocol.md#batch-checks): the batch is stored as sent, but its header's
//! record count must be what its compressed records really hold, or the count could claim offsets
//! the bytes do not carry.
//!
//! The records are decompressed 32 KiB at a time and only their length prefixes are read
//! ([`RecordWalk`]); at most `limit` decompressed bytes are read, so a small batch that inflates
//! without end costs bounded time (the protocol crate's decoders have no bound: pitfall 8 in
//! docs/kafka-protocol.md#kafka-protocol-crate-pitfalls). A raw snappy block is decompressed
//! whole, after its announced size is checked against both `limit` and what its compressed bytes
//! can expand to.
//!
//! Kafka's codecs (attributes bits 0–2): 1 gzip, 2 snappy (raw, or Java's xerial framing: a
//! 16-byte header, then blocks each prefixed with its big-endian u32 length), 3 LZ4 frames,
//! 4 zstd.

use std::io::{self, Read};

use super::records::{MalformedRecords, RecordWalk};

const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;
/// Snappy's densest element, a 3-byte copy of 64 bytes, expands 21⅓ times.
const SNAPPY_MAX_EXPANSION: u64 = 22;
const TOO_LARGE: MalformedRecords = MalformedRecords("records decompress to more than the limit");

/// How many records the compressed `data` (the bytes after a batch header) holds under `codec`.
/// Stops with an error once more than `limit` bytes have been decompressed.
pub fn count_compressed_records(codec: u8, data: &[u8], limit: u64) -> Result<u64, MalformedRecords> {
    let mut walk = RecordWalk::default();
    match codec {
        // Java reads concatenated gzip members as one stream; so does this.
        1 => walk_stream(flate2::read::MultiGzDecoder::new(data), limit, &mut walk)?,
        2 if data.starts_with(XERIAL_MAGIC) => {
            let mut blocks = data
                .get(XERIAL_HEADER_LEN..)
                .ok_or(MalformedRecords("short snappy header"))?;
            let (mut budget, mut block) = (limit, Vec::new());
            while !blocks.is_empty() {
                let (len, after) = blocks
                    .split_first_chunk::<4>()
                    .ok_or(MalformedRecords("bad xerial snappy block"))?;
                let len = u32::from_be_bytes(*len) as usize;
                let compressed = after.get(..len).ok_or(MalformedRecords("bad xerial snappy block"))?;
                blocks = &after[len..];
                snappy_block(compressed, budget, &mut block)?;
                budget -= block.len() as u64;
                walk.feed(&block)?;
            }
        }
        2 => {
            let mut block = Vec::new();
            snappy_block(data, limit, &mut block)?;
            walk.feed(&block)?;
        }
        3 => walk_stream(lz4_flex::frame::FrameDecoder::new(data), limit, &mut walk)?,
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|_| MalformedRecords("zstd decoder could not start"))?;
            walk_stream(decoder, limit, &mut walk)?
        }
        _ => return Err(MalformedRecords("unknown compression codec")),
    }
    walk.finish()
}

/// Feeds everything `stream` decompresses to `walk`, 32 KiB at a time, up to `limit` bytes.
fn walk_stream(mut stream: impl Read, limit: u64, walk: &mut RecordWalk) -> Result<(), MalformedRecords> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut total = 0u64;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(MalformedRecords("records do not decompress")),
        };
        total += n as u64;
        if total > limit {
            return Err(TOO_LARGE);
        }
        walk.feed(&buf[..n])?;
    }
}

/// Decompresses one raw snappy block into `out`. Its announced size is checked against `limit`
/// and against what the block's bytes can expand to before anything is allocated.
fn snappy_block(block: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), MalformedRecords> {
    let len = snap::raw::decompress_len(block).map_err(|_| MalformedRecords("bad snappy block"))?;
    if len as u64 > limit {
        return Err(TOO_LARGE);
    }
    if len as u64 > (block.len() as u64).saturating_mul(SNAPPY_MAX_EXPANSION) {
        return Err(MalformedRecords("snappy block announces more than its bytes can hold"));
    }
    out.resize(len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(block, out)
        .map_err(|_| MalformedRecords("bad snappy block"))?;
    out.truncate(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::record::test_batch::TestBatch;
    use crate::record::HEADER_LEN;

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
        // 70 MiB of the smallest possible record, repeated: kilobytes compressed.
        let bomb = compress(4, &[0x0c, 0, 0, 0, 0, 0, 0].repeat(10 << 20));
        assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
        assert_eq!(count_compressed_records(4, &bomb, 1 << 20), Err(TOO_LARGE));
        // A raw snappy block announcing 16 MiB in a few bytes is refused before any allocation.
        let mut liar = vec![0x80, 0x80, 0x80, 0x08];
        liar.extend_from_slice(&[0; 4]);
        assert!(count_compressed_records(2, &liar, 1 << 30).is_err());
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
