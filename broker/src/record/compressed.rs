//! Compressed records: counting those of a client batch, as Kafka checks them before it stores
//! the batch (docs/kafka-protocol.md#batch-checks): the batch is stored as sent, but its header's
//! record count must be what its compressed records really hold, or the count could claim offsets
//! the bytes do not carry. And recompressing a batch for a topic whose `compression.type` names a
//! codec ([`recompress`]), as Kafka's broker does.
//!
//! To count, the records are decompressed 32 KiB at a time and only their length prefixes are
//! read ([`RecordWalk`]); at most `limit` decompressed bytes are read, so a small batch that inflates
//! without end costs bounded time (the protocol crate's decoders have no bound: pitfall 8 in
//! docs/kafka-protocol.md#kafka-protocol-crate-pitfalls). A raw snappy block is decompressed
//! whole, after its announced size is checked against both `limit` and what its compressed bytes
//! can expand to.
//!
//! Kafka's codecs (attributes bits 0–2): 1 gzip, 2 snappy (raw, or Java's xerial framing: a
//! 16-byte header, then blocks each prefixed with its big-endian u32 length), 3 LZ4 frames,
//! 4 zstd.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use super::batch::{BatchHeader, Codec, COMPRESSION_MASK, HEADER_LEN};
use super::records::{MalformedRecords, RecordWalk};

const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;
/// Snappy's densest element, a 3-byte copy of 64 bytes, expands 21⅓ times.
const SNAPPY_MAX_EXPANSION: u64 = 22;
/// The most a compressed batch may decompress to: far above what real records compress from
/// (a ratio of 64 for a full 1 MiB batch), and a bound on the time a batch that inflates
/// without end can take (pitfall 8 in docs/kafka-protocol.md#kafka-protocol-crate-pitfalls).
/// Produce refuses a batch past it; the log never meets one.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 << 20;

const TOO_LARGE: MalformedRecords = MalformedRecords("records decompress to more than the limit");

/// How many records the compressed `data` (the bytes after a batch header) holds under `codec`.
/// Stops with an error once more than `limit` bytes have been decompressed.
pub fn count_compressed_records(codec: u8, data: &[u8], limit: u64) -> Result<u64, MalformedRecords> {
    let mut walk = RecordWalk::default();
    decompress(codec, data, limit, |bytes| walk.feed(bytes))?;
    walk.finish()
}

/// The batch with its records under `target` instead of the codec they came in, as a broker
/// stores a batch for a topic whose `compression.type` names a codec. Every other header field
/// is kept; the length and the CRC are recomputed. At most `limit` bytes are decompressed.
pub fn recompress(batch: &[u8], header: &BatchHeader, target: Codec, limit: u64) -> Result<Vec<u8>, MalformedRecords> {
    let raw = decompressed(batch, header, limit)?;
    let mut h = *header;
    h.attributes = (h.attributes & !COMPRESSION_MASK) | target as i16;
    Ok(h.encode(&compress(target, &raw)?))
}

/// The records section of `batch`, decompressed if its codec says so (at most `limit` bytes).
pub fn decompressed<'a>(batch: &'a [u8], header: &BatchHeader, limit: u64) -> Result<Cow<'a, [u8]>, MalformedRecords> {
    let data = usize::try_from(header.total_len())
        .ok()
        .and_then(|end| batch.get(HEADER_LEN..end))
        .ok_or(MalformedRecords("batch shorter than its length"))?;
    match header.compression() {
        0 => Ok(Cow::Borrowed(data)),
        codec => {
            let mut raw = Vec::new();
            decompress(codec, data, limit, |piece| {
                raw.extend_from_slice(piece);
                Ok(())
            })?;
            Ok(Cow::Owned(raw))
        }
    }
}

/// `records` under `codec`, as Kafka's Java client and broker write them: gzip at deflate's
/// default level, snappy in Java's xerial framing (blocks of 32 KiB of input), LZ4 frames, and
/// zstd at level 3, Kafka's default levels.
pub fn compress(codec: Codec, records: &[u8]) -> Result<Vec<u8>, MalformedRecords> {
    const FAILED: MalformedRecords = MalformedRecords("records could not be compressed");
    const XERIAL_BLOCK: usize = 32 * 1024;
    let written = |r: io::Result<Vec<u8>>| r.map_err(|_| FAILED);
    match codec {
        Codec::None => Ok(records.to_vec()),
        Codec::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(records).map_err(|_| FAILED)?;
            written(e.finish())
        }
        Codec::Snappy => {
            // Magic, then the framing's version and the oldest version that can read it: 1, 1.
            let mut out = XERIAL_MAGIC.to_vec();
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
            let mut encoder = snap::raw::Encoder::new();
            for chunk in records.chunks(XERIAL_BLOCK) {
                let block = encoder.compress_vec(chunk).map_err(|_| FAILED)?;
                out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        Codec::Lz4 => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(records).map_err(|_| FAILED)?;
            e.finish().map_err(|_| FAILED)
        }
        Codec::Zstd => written(zstd::stream::encode_all(records, 3)),
    }
}

/// Hands what `codec` decompresses from `data` to `sink`, piece by piece, up to `limit` bytes.
fn decompress(
    codec: u8,
    data: &[u8],
    limit: u64,
    mut sink: impl FnMut(&[u8]) -> Result<(), MalformedRecords>,
) -> Result<(), MalformedRecords> {
    let walk = &mut sink;
    match codec {
        // Java reads concatenated gzip members as one stream; so does this.
        1 => walk_stream(flate2::read::MultiGzDecoder::new(data), limit, walk)?,
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
                walk(&block)?;
            }
        }
        2 => {
            let mut block = Vec::new();
            snappy_block(data, limit, &mut block)?;
            walk(&block)?;
        }
        3 => walk_stream(lz4_flex::frame::FrameDecoder::new(data), limit, walk)?,
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|_| MalformedRecords("zstd decoder could not start"))?;
            walk_stream(decoder, limit, walk)?
        }
        _ => return Err(MalformedRecords("unknown compression codec")),
    }
    Ok(())
}

/// Feeds everything `stream` decompresses to `walk`, 32 KiB at a time, up to `limit` bytes.
fn walk_stream(
    mut stream: impl Read,
    limit: u64,
    walk: &mut impl FnMut(&[u8]) -> Result<(), MalformedRecords>,
) -> Result<(), MalformedRecords> {
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
        walk(&buf[..n])?;
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

    fn client_compressed(codec: u8, raw: &[u8]) -> Vec<u8> {
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
    fn recompressing_changes_only_the_codec_and_keeps_every_record() {
        use crate::record::crc_ok;
        let plain = TestBatch::new(5, 0).value_len(40).build();
        let codecs = [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];
        for from in codecs {
            let header = BatchHeader::parse(&plain).unwrap();
            let sent = recompress(&plain, &header, from, 1 << 20).unwrap();
            let sent_header = BatchHeader::parse(&sent).unwrap();
            for to in codecs {
                let stored = recompress(&sent, &sent_header, to, 1 << 20).unwrap();
                let h = BatchHeader::parse(&stored).unwrap();
                assert!(crc_ok(&stored), "{from:?} -> {to:?}");
                assert_eq!(h.compression(), to as u8);
                assert_eq!(h.total_len(), stored.len() as u64);
                let unchanged = |h: &BatchHeader| {
                    (
                        h.attributes & !COMPRESSION_MASK,
                        h.record_count,
                        h.last_offset_delta,
                        h.max_timestamp,
                        h.base_sequence,
                    )
                };
                assert_eq!(unchanged(&h), unchanged(&header), "{from:?} -> {to:?}");
                // Back to none, the records are the bytes they started as.
                let back = recompress(&stored, &h, Codec::None, 1 << 20).unwrap();
                assert_eq!(back, plain, "{from:?} -> {to:?} -> None");
            }
        }
    }

    #[test]
    fn every_codec_counts_the_records_it_holds() {
        let raw = records();
        for codec in 1..=4 {
            assert_eq!(
                count_compressed_records(codec, &client_compressed(codec, &raw), 1 << 20),
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
            let good = client_compressed(codec, &raw);
            // A cut stream fails or yields the records before the cut (an LZ4 frame cut in its
            // end mark still holds all 5), never more.
            for cut in [1, good.len() / 2, good.len() - 1] {
                let r = count_compressed_records(codec, &good[..cut], 1 << 20);
                assert!(r.is_err() || r.unwrap() <= 5, "codec {codec} cut at {cut}");
            }
            assert!(count_compressed_records(codec, &good[..good.len() / 2], 1 << 20) != Ok(5));
            let mut trailing = raw.clone();
            trailing.push(0);
            assert!(count_compressed_records(codec, &client_compressed(codec, &trailing), 1 << 20).is_err());
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
        let bomb = client_compressed(4, &[0x0c, 0, 0, 0, 0, 0, 0].repeat(10 << 20));
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
            let mut data = client_compressed(codec, &records());
            let i = at % data.len();
            data[i] ^= flip;
            data.truncate(data.len() - cut % data.len());
            let _ = count_compressed_records(codec, &data, 1 << 16);
        }
    }
}
