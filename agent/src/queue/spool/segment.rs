//! A segment file of the spool: the range of seqs it holds, and the scan that learns that range
//! on open and truncates a torn or corrupt tail.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::frame::read_frame;
use super::{io_err, SpoolError};

#[derive(Debug)]
pub(super) struct Segment {
    pub(super) path: PathBuf,
    pub(super) first_seq: u64,
    pub(super) last_seq: u64,
    pub(super) bytes: u64,
    pub(super) newest: i64,
}

/// Reads a segment's records to learn its range; truncates a torn or corrupt tail. Returns
/// `None` for a segment with no valid record.
pub(super) fn scan(path: &Path) -> Result<(Option<Segment>, u64), SpoolError> {
    let file = File::open(path).map_err(io_err(path))?;
    let size = file.metadata().map_err(io_err(path))?.len();
    let mut reader = io::BufReader::new(file);
    let mut valid = 0u64;
    let mut seg: Option<Segment> = None;
    while let Some((r, len)) = read_frame(&mut reader).map_err(io_err(path))? {
        valid += len;
        let s = seg.get_or_insert(Segment {
            path: path.to_path_buf(),
            first_seq: r.seq,
            last_seq: r.seq,
            bytes: 0,
            newest: i64::MIN,
        });
        s.last_seq = r.seq;
        s.newest = s.newest.max(r.timestamp);
    }
    if valid < size {
        let f = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
        f.set_len(valid).map_err(io_err(path))?;
    }
    if let Some(s) = seg.as_mut() {
        s.bytes = valid;
    }
    Ok((seg, size - valid))
}
