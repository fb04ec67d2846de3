//! The v2 record batch, Kafka's unit of storage and of the wire: its fixed 61-byte header (one
//! table of offsets, in `batch`), the zigzag varints of its records, the walk over records that
//! counts them or finds one by time, the decompressors that let Produce count compressed
//! records, and the compaction of a batch (`compact`: the records a log cleaner keeps). Produce validation, the log, the group store and the tests all read and write
//! batches through here.
//!
//! This layer imports nothing else of the crate: it knows bytes, not partitions, files or
//! requests.

mod batch;
mod compact;
mod compressed;
mod control;
mod records;
pub mod varint;

#[cfg(test)]
pub(crate) mod test_batch;

pub(crate) use batch::stamp;
pub use batch::{
    crc_ok, reseal, set_log_append_time, BatchError, BatchHeader, Codec, HEADER_LEN, LOG_OVERHEAD, TRANSACTIONAL_BIT,
};
pub use compact::{compact_batch, for_each_record, Compacted, Record, DELETE_HORIZON_BIT};
pub use compressed::{compress, count_compressed_records, recompress, MAX_DECOMPRESSED_BYTES};
pub use control::{control_type, marker_batch, marker_coordinator_epoch, ControlType};
pub(crate) use records::first_record_at_or_after;
pub use records::{count_records, first_record_where, keyless_records, MalformedRecords, RecordWalk};
