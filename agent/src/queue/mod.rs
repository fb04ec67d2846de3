//! Where samples wait for the broker: a bounded memory buffer, or an on-disk spool when
//! `[agent] spool_dir` is set. Both number records as they enter (`sluice-seq`), hand them out
//! oldest first, and forget them only when the broker has acknowledged them. When full, both
//! drop the oldest records and say how many, so the caller can count and log them.

mod buffer;
mod spool;

pub use buffer::Buffer;
pub use spool::{Spool, SpoolError};

use crate::record::Record;

/// Why records were dropped (the `reason` label of `sluice_agent_records_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The memory buffer held `metric_buffer_limit` records.
    BufferFull,
    /// The spool reached `spool_max_bytes`.
    SpoolFull,
    /// Records outlived `spool_max_age`.
    SpoolAge,
    /// The broker refused the record for its size.
    TooLarge,
    /// The agent stopped with records that only lived in memory.
    Shutdown,
}

impl DropReason {
    pub fn label(self) -> &'static str {
        match self {
            DropReason::BufferFull => "buffer_full",
            DropReason::SpoolFull => "spool_full",
            DropReason::SpoolAge => "spool_age",
            DropReason::TooLarge => "too_large",
            DropReason::Shutdown => "shutdown",
        }
    }
}

/// Records dropped by one operation.
pub type Dropped = Vec<(DropReason, u64)>;

pub enum Queue {
    Memory(Buffer),
    Spool(Spool),
}

impl Queue {
    /// Numbers `records` and appends them; returns what had to be dropped to make room.
    pub fn push(&mut self, records: Vec<Record>, now_ns: i64) -> Result<Dropped, SpoolError> {
        match self {
            Queue::Memory(b) => Ok(b.push(records)),
            Queue::Spool(s) => s.push(records, now_ns),
        }
    }

    /// Up to `n` of the oldest records not handed out yet.
    pub fn take(&mut self, n: usize) -> Result<Vec<Record>, SpoolError> {
        match self {
            Queue::Memory(b) => Ok(b.take(n)),
            Queue::Spool(s) => s.take(n),
        }
    }

    /// Every record up to `seq` reached the broker.
    pub fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        match self {
            Queue::Memory(_) => Ok(()),
            Queue::Spool(s) => s.ack(seq),
        }
    }

    /// Records waiting to be handed out.
    pub fn len(&self) -> usize {
        match self {
            Queue::Memory(b) => b.len(),
            Queue::Spool(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes on disk (0 for the memory buffer).
    pub fn bytes(&self) -> u64 {
        match self {
            Queue::Memory(_) => 0,
            Queue::Spool(s) => s.bytes(),
        }
    }
}
