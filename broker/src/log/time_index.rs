//! The time index (`.timeindex`): where in a segment the largest timestamp grew.
//!
//! ```text
//! .timeindex entry, 12 bytes, big-endian (Kafka's TimeIndex layout)
//! +-----------------------------------+---------------------------+
//! | 0..8  max timestamp so far i64    | 8..12 relative offset u32 |
//! |  the segment's largest batch      |  base offset of the first |
//! |  max_timestamp up to this point   |  batch that reached it,   |
//! |                                   |  minus the segment base   |
//! +-----------------------------------+---------------------------+
//! ```
//!
//! Timestamps strictly increase from entry to entry. Entry `(t, o)` therefore promises that every
//! batch before `o` has a max timestamp below `t`, which is what makes the lookup below sound.
//! Kafka stores the batch's last offset here; we store its base offset so the offset index
//! lookup lands on or before the batch itself.
//!
//! When a segment is sealed (rolled), a last entry records its overall max timestamp if the
//! cadence missed it, so a sealed segment's largest timestamp is its last entry.

use super::index::{Entry, EntryFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

impl Entry for TimeEntry {
    const SIZE: usize = 12;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }

    fn decode(b: &[u8]) -> TimeEntry {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            relative_offset: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
}

/// Sparse map from timestamp to the first batch that reached it, for one segment.
#[derive(Debug)]
pub struct TimeIndex {
    pub(crate) file: EntryFile<TimeEntry>,
}

impl TimeIndex {
    /// The relative offset to start scanning from for the first batch whose max timestamp is
    /// >= `timestamp`: the entry with the largest timestamp <= it, or 0 when there is none.
    pub fn lookup(&self, timestamp: i64) -> u32 {
        let entries = self.file.entries();
        let after = entries.partition_point(|e| e.timestamp <= timestamp);
        after.checked_sub(1).map_or(0, |i| entries[i].relative_offset)
    }

    pub fn entries(&self) -> &[TimeEntry] {
        self.file.entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(timestamp: i64, relative_offset: u32) -> TimeEntry {
        TimeEntry {
            timestamp,
            relative_offset,
        }
    }

    #[test]
    fn time_entry_bytes_are_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.timeindex");
        let mut f = EntryFile::create(path.clone()).unwrap();
        f.push(e(0x0102_0304_0506_0708, 0x0a0b_0c0d));
        f.push(e(-1, 1));
        f.sync().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [
                1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d, //
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1
            ]
        );
        let loaded = EntryFile::<TimeEntry>::open(path).unwrap();
        assert_eq!(loaded.entries(), &[e(0x0102_0304_0506_0708, 0x0a0b_0c0d), e(-1, 1)]);
    }

    #[test]
    fn lookup_starts_at_last_entry_not_after_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = EntryFile::create(dir.path().join("x.timeindex")).unwrap();
        for (t, o) in [(100, 0), (200, 7), (300, 15)] {
            f.push(e(t, o));
        }
        let idx = TimeIndex { file: f };
        assert_eq!(idx.lookup(50), 0);
        assert_eq!(idx.lookup(100), 0);
        assert_eq!(idx.lookup(199), 0);
        assert_eq!(idx.lookup(200), 7);
        assert_eq!(idx.lookup(1000), 15);
        assert_eq!(idx.entries().last(), Some(&e(300, 15)));
    }
}
