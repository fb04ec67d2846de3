//! The on-disk spool: unsent records in append-only segment files, so they survive a restart
//! of the agent (and a crash of it: every push is written to the OS before it returns; a power
//! cut may lose what the OS had not written yet).
//!
//! ```text
//! spool_dir/00000000000000000042.spool     a segment, named by the seq of its first record
//! spool_dir/acked                          the highest seq the broker acknowledged (decimal)
//! ```
//!
//! A segment is records in frames, one after another (`frame` has their layout; `segment` the
//! scan of a file).
//!
//! On open every segment is scanned; a frame that is short or fails its CRC ends the segment
//! and the file is truncated there (a torn tail from a crash). Records at or below `acked` are
//! skipped; the rest are handed out again in order. Bounds drop whole segments, oldest first:
//! beyond `spool_max_bytes`, and when a segment's newest record is older than `spool_max_age`
//! (so a record can outlive the age bound by at most one segment's time span).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{DropReason, Dropped};
use crate::record::Record;

mod frame;
mod segment;

use frame::{encode_frame, read_frame};
use segment::{scan, Segment};

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    max_age_ns: i64,
    segment_bytes: u64,
    /// Oldest first; the last one is appended to.
    segments: VecDeque<Segment>,
    writer: Option<File>,
    /// The next record to hand out: its seq, and where it is (segment by first seq, offset).
    read_seq: u64,
    read_segment: u64,
    read_offset: u64,
    next_seq: u64,
    acked: Option<u64>,
}

/// What opening the spool found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub records: u64,
    pub truncated_bytes: u64,
}

impl Spool {
    pub fn open(dir: &Path, max_bytes: u64, max_age: std::time::Duration) -> Result<(Spool, Recovered), SpoolError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let acked_path = dir.join("acked");
        let acked = match fs::read_to_string(&acked_path) {
            Ok(s) => s.trim().parse::<u64>().ok(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&acked_path)(e)),
        };
        let mut names: Vec<(u64, PathBuf)> = fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                let seq = p.file_name()?.to_str()?.strip_suffix(".spool")?.parse().ok()?;
                Some((seq, p))
            })
            .collect();
        names.sort();
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            max_age_ns: max_age.as_nanos().min(i64::MAX as u128) as i64,
            segment_bytes: (max_bytes / 8).clamp(64 << 10, 16 << 20),
            segments: VecDeque::new(),
            writer: None,
            read_seq: 0,
            read_segment: 0,
            read_offset: 0,
            next_seq: acked.map_or(0, |a| a + 1),
            acked,
        };
        let mut recovered = Recovered::default();
        for (_, path) in names {
            let (seg, truncated) = scan(&path)?;
            recovered.truncated_bytes += truncated;
            match seg {
                Some(seg) if acked.is_none_or(|a| seg.last_seq > a) => {
                    spool.next_seq = spool.next_seq.max(seg.last_seq + 1);
                    spool.segments.push_back(seg);
                }
                _ => fs::remove_file(&path).map_err(io_err(&path))?,
            }
        }
        spool.rewind()?;
        recovered.records = spool.len() as u64;
        Ok((spool, recovered))
    }

    /// Points the reader at the first unacknowledged record.
    fn rewind(&mut self) -> Result<(), SpoolError> {
        let first_wanted = self.acked.map_or(0, |a| a + 1);
        self.read_seq = first_wanted.max(self.segments.front().map_or(self.next_seq, |s| s.first_seq));
        self.read_offset = 0;
        if let Some(seg) = self.segments.front() {
            self.read_segment = seg.first_seq;
            let mut f = File::open(&seg.path).map_err(io_err(&seg.path))?;
            while let Some((r, len)) = read_frame(&mut f).map_err(io_err(&seg.path))? {
                if r.seq >= self.read_seq {
                    break;
                }
                self.read_offset += len;
            }
        }
        Ok(())
    }

    pub fn push(&mut self, records: Vec<Record>, now_ns: i64) -> Result<Dropped, SpoolError> {
        let mut buf = Vec::new();
        for mut r in records {
            r.seq = self.next_seq;
            self.next_seq += 1;
            if self.writer.is_none() || self.segments.back().is_some_and(|s| s.bytes >= self.segment_bytes) {
                self.write(&mut buf)?;
                self.roll(r.seq)?;
            }
            let start = buf.len();
            encode_frame(&r, &mut buf);
            if let Some(seg) = self.segments.back_mut() {
                seg.last_seq = r.seq;
                seg.bytes += (buf.len() - start) as u64;
                seg.newest = seg.newest.max(r.timestamp);
            }
        }
        self.write(&mut buf)?;
        self.enforce_bounds(now_ns)
    }

    fn write(&mut self, buf: &mut Vec<u8>) -> Result<(), SpoolError> {
        if let (Some(w), Some(seg)) = (self.writer.as_mut(), self.segments.back()) {
            w.write_all(buf).map_err(io_err(&seg.path))?;
        }
        buf.clear();
        Ok(())
    }

    fn roll(&mut self, first_seq: u64) -> Result<(), SpoolError> {
        if let (Some(w), Some(seg)) = (self.writer.take(), self.segments.back()) {
            w.sync_data().map_err(io_err(&seg.path))?;
        }
        let path = self.dir.join(format!("{first_seq:020}.spool"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let bytes = file.metadata().map_err(io_err(&path))?.len();
        self.writer = Some(file);
        self.segments.push_back(Segment {
            path,
            first_seq,
            last_seq: first_seq,
            bytes,
            newest: i64::MIN,
        });
        Ok(())
    }

    fn enforce_bounds(&mut self, now_ns: i64) -> Result<Dropped, SpoolError> {
        let mut dropped = vec![];
        while self.segments.len() > 1 {
            let front = &self.segments[0];
            let reason = if self.bytes() > self.max_bytes {
                DropReason::SpoolFull
            } else if front.newest < now_ns.saturating_sub(self.max_age_ns) {
                DropReason::SpoolAge
            } else {
                break;
            };
            let n = self.remove_front()?;
            if n > 0 {
                dropped.push((reason, n));
            }
        }
        Ok(dropped)
    }

    /// Deletes the oldest segment; returns how many records in it had not been handed out.
    fn remove_front(&mut self) -> Result<u64, SpoolError> {
        let Some(seg) = self.segments.pop_front() else {
            return Ok(0);
        };
        if self.segments.is_empty() {
            self.writer = None;
        }
        fs::remove_file(&seg.path).map_err(io_err(&seg.path))?;
        let unread = if self.read_seq <= seg.last_seq {
            seg.last_seq + 1 - self.read_seq.max(seg.first_seq)
        } else {
            0
        };
        if self.read_seq <= seg.last_seq {
            self.read_seq = self.segments.front().map_or(self.next_seq, |s| s.first_seq);
            self.read_offset = 0;
        }
        Ok(unread)
    }

    pub fn take(&mut self, n: usize) -> Result<Vec<Record>, SpoolError> {
        let mut out = Vec::new();
        while out.len() < n {
            let Some(i) = self.segments.iter().position(|s| s.last_seq >= self.read_seq) else {
                break;
            };
            let seg = &self.segments[i];
            if seg.first_seq != self.read_segment {
                // The reader was at the end of the previous segment (or it was dropped).
                self.read_segment = seg.first_seq;
                self.read_seq = self.read_seq.max(seg.first_seq);
                self.read_offset = 0;
            }
            let mut f = File::open(&seg.path).map_err(io_err(&seg.path))?;
            f.seek(SeekFrom::Start(self.read_offset)).map_err(io_err(&seg.path))?;
            let mut reader = io::BufReader::new(f);
            let before = out.len();
            while out.len() < n {
                match read_frame(&mut reader).map_err(io_err(&seg.path))? {
                    Some((r, len)) => {
                        self.read_offset += len;
                        self.read_seq = r.seq + 1;
                        out.push(r);
                    }
                    None => break,
                }
            }
            if out.len() == before {
                // Nothing readable where the index said there was more: skip the segment.
                self.read_seq = seg.last_seq + 1;
                self.read_offset = 0;
            }
        }
        Ok(out)
    }

    pub fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        self.acked = Some(seq);
        let path = self.dir.join("acked");
        let tmp = self.dir.join("acked.tmp");
        fs::write(&tmp, format!("{seq}\n")).map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        while self
            .segments
            .front()
            .is_some_and(|s| s.last_seq <= seq && s.last_seq < self.read_seq)
        {
            self.remove_front()?;
        }
        Ok(())
    }

    /// Records not handed out yet.
    pub fn len(&self) -> usize {
        if self.segments.is_empty() {
            return 0;
        }
        self.next_seq.saturating_sub(self.read_seq) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

#[cfg(test)]
mod tests;
