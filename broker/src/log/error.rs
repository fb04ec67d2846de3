//! The one error type of the storage engine. Every variant carries the file or offset it is
//! about, so a log line alone says which partition and where.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::record::BatchError;

#[derive(Debug, Error)]
pub enum LogError {
    /// A system call on a log file failed; `op` says which ("write", "fsync", ...).
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Kafka's OFFSET_OUT_OF_RANGE: the offset is below the log start or past the log end.
    #[error("offset {offset} is outside the log [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    /// The caller handed `append` something that is not one v2 batch.
    #[error("cannot append batch of {len} bytes: {reason}")]
    InvalidBatch { len: usize, reason: String },
    /// Data the log itself wrote no longer reads back as batches (changed under us on disk).
    #[error("corrupt segment {} at position {position}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },
}

impl LogError {
    pub(crate) fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LogError + 'a {
        move |source| LogError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(path: &Path, position: u64, reason: impl Into<String>) -> LogError {
        LogError::Corrupt {
            path: path.to_path_buf(),
            position,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_batch(len: usize, err: BatchError) -> LogError {
        LogError::InvalidBatch {
            len,
            reason: err.to_string(),
        }
    }
}
