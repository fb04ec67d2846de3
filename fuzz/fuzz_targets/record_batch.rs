//! The v2 record batch: the header, the CRC, the walk over records (plain and after each
//! codec's decompressor) and compaction, as Produce, the log and the cleaner run them on a batch
//! a client sent.
#![no_main]

use broker::record::{self, BatchHeader, Codec};
use libfuzzer_sys::fuzz_target;

/// Smaller than Produce's 64 MiB so a decompression bomb costs milliseconds, not seconds.
const LIMIT: u64 = 1 << 20;

fuzz_target!(|batch: &[u8]| {
    let Ok(header) = BatchHeader::parse(batch) else {
        return;
    };
    let _ = record::crc_ok(batch);
    let mut records = 0u64;
    let walked = record::for_each_record(batch, &header, LIMIT, |_| records += 1).is_ok();
    if let Some(data) = batch.get(record::HEADER_LEN..) {
        let _ = record::count_compressed_records(header.compression(), data, LIMIT);
        let _ = record::count_records(data);
    }
    let _ = record::keyless_records(batch, &header);
    let _ = record::first_record_where(batch, &header, |ts| ts >= 0);
    let _ = record::control_type(batch, &header);
    let _ = record::compact_batch(batch, &header, LIMIT, 0, false, |r| r.key.is_some());
    let recompressed = record::recompress(batch, &header, Codec::Lz4, LIMIT);
    if let (true, Ok(recompressed)) = (walked, recompressed) {
        // A batch whose records walk reads back, once recompressed, with the same records (what
        // Produce stores for a topic with a compression.type).
        let header = BatchHeader::parse(&recompressed).expect("a recompressed batch parses");
        let mut again = 0u64;
        record::for_each_record(&recompressed, &header, LIMIT, |_| again += 1).expect("a recompressed batch walks");
        assert_eq!(again, records, "recompression changed the number of records");
    }
});
