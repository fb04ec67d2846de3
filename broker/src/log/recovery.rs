//! Opening a partition directory after a clean or an unclean stop.
//!
//! Sealed segments were fsynced when they rolled, so they get a cheap check: indexes well
//! formed, and a header walk from the last index entry to the end of the file that must land
//! no further than the next segment's base offset. The last segment may hold a torn or
//! half-flushed tail, so every batch in it is read and checked (length within the file, magic 2,
//! CRC-32C, offsets contiguous from the segment base) and the file is cut at the first bad one. A
//! sealed segment that fails its check gets the same full scan; if it too is broken, it is cut
//! there and every later segment is deleted, because offsets must stay contiguous. Only in a log
//! the cleaner has compacted (it has a cleaner checkpoint) may a sealed segment's offsets skip:
//! compaction (`clean`) removes batches and keeps the others' offsets.
//! Before any of this, a compaction interrupted by the stop is finished or undone
//! (`clean::finish_swaps`).

use std::fs::File;
use std::path::Path;

use tracing::warn;

use super::error::LogError;
use super::index::{Entry, EntryFile};
use super::scan::{check_sealed, scan, Rebuilt};
use super::segment::{file_name, Segment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};

/// What `PartitionLog::open` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub segments: usize,
    /// Batches whose length, magic, CRC and offsets were checked.
    pub batches_checked: u64,
    /// Bytes cut from the log, including whole segments dropped after a broken one (with any
    /// zeros preallocated in them).
    pub truncated_bytes: u64,
    /// Zeros preallocated past the last batch or past a torn one (the broker stopped without
    /// cutting them), cut too but not counted in `truncated_bytes`: they are not log. After a
    /// torn batch this is the file's whole zero tail when at least a header long, so it may
    /// include that batch's own final zeros.
    pub zero_tail_bytes: u64,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// Why the log was cut, with the file and position; `None` when nothing was cut.
    pub reason: Option<String>,
    /// Segments whose `.index` / `.timeindex` were missing or stale and were rewritten.
    pub indexes_rebuilt: usize,
    /// Sealed segments that failed the quick check and were scanned batch by batch, and why.
    pub rescanned: Vec<String>,
}

impl RecoveryReport {
    /// Whether recovery had to change anything: cut the log, rescan a segment or rewrite indexes.
    pub fn repaired(&self) -> bool {
        self.reason.is_some() || self.indexes_rebuilt > 0 || !self.rescanned.is_empty()
    }

    /// One line says all that recovery did to a partition.
    pub fn log(&self, topic: &str, partition: i32) {
        let rescanned = self.rescanned.join("; ");
        match &self.reason {
            Some(reason) => tracing::warn!(
                topic = %topic, partition, truncated_bytes = self.truncated_bytes, log_end_offset = self.log_end_offset,
                indexes_rebuilt = self.indexes_rebuilt, %rescanned, %reason,
                "recovered partition: truncated a torn or corrupt tail"
            ),
            None => tracing::info!(
                topic = %topic, partition, segments = self.segments, log_start_offset = self.log_start_offset,
                log_end_offset = self.log_end_offset, indexes_rebuilt = self.indexes_rebuilt, %rescanned,
                zero_tail_bytes = self.zero_tail_bytes, "recovered partition"
            ),
        }
    }
}

/// Opens every segment in `dir`, oldest first, repairing as described above: the sealed
/// segments and the active (last) one. Creates segment 0 in an empty directory.
pub(crate) fn recover(dir: &Path, interval: u32) -> Result<(Vec<Segment>, Segment, RecoveryReport), LogError> {
    let gaps = super::clean::finish_swaps(dir)? > 0 || super::clean::was_compacted(dir);
    let bases = list_bases(dir)?;
    let mut report = RecoveryReport::default();
    let mut segments = Vec::with_capacity(bases.len().max(1));
    for (i, &base) in bases.iter().enumerate() {
        let mut segment = Segment::open(dir, base, interval)?;
        let next_base = bases.get(i + 1).copied();
        if let Some(next) = next_base {
            match check_sealed(&mut segment, next, gaps)? {
                Ok(()) => {
                    segments.push(segment);
                    continue;
                }
                Err(why) => report.rescanned.push(format!("{}: {why}", segment.log_path.display())),
            }
        }
        let (mut cut, rebuilt) = scan(&mut segment, interval, gaps && next_base.is_some(), &mut report)?;
        let ends_wrong = |end: i64, next: i64| end > next || (!gaps && end != next);
        if let Some(next) = next_base.filter(|&next| cut.is_none() && ends_wrong(segment.next_offset, next)) {
            cut = Some(format!(
                "{} ends at offset {} but the next segment starts at {next}",
                segment.log_path.display(),
                segment.next_offset
            ));
        }
        let sealed = next_base.is_some() && cut.is_none();
        if let Some(next) = next_base.filter(|_| sealed) {
            segment.next_offset = next;
        }
        rebuild_indexes_if_stale(&mut segment, rebuilt, sealed, &mut report)?;
        segments.push(segment);
        if let Some(reason) = cut {
            report.reason = Some(reason);
            for &later in &bases[i + 1..] {
                report.truncated_bytes += delete_segment_files(dir, later)?;
            }
            break;
        }
    }
    let active = match segments.pop() {
        Some(last) => last,
        None => {
            let first = Segment::create(dir, 0, interval)?;
            sync_dir(dir)?;
            first
        }
    };
    report.segments = segments.len() + 1;
    Ok((segments, active, report))
}

/// Base offsets of the `.log` files in `dir`, ascending. Other files are not ours to judge.
pub(crate) fn list_bases(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(LogError::io("list", dir))? {
        let name = entry.map_err(LogError::io("list", dir))?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        match stem.parse::<i64>() {
            Ok(base) if stem.len() == 20 && base >= 0 => bases.push(base),
            _ => {
                warn!(dir = %dir.display(), file = stem, "ignoring .log file without a 20-digit base offset name")
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Rewrites the indexes of a scanned segment unless they already hold exactly what appends
/// would have written. A sealed segment also gets its closing time entry.
fn rebuild_indexes_if_stale(
    segment: &mut Segment,
    mut rebuilt: Rebuilt,
    sealed: bool,
    report: &mut RecoveryReport,
) -> Result<(), LogError> {
    if sealed {
        rebuilt.times.extend(segment.cadence.seal_entry());
    }
    let offsets_stale = replace_if_stale(&mut segment.offset_index.file, rebuilt.offsets)?;
    let times_stale = replace_if_stale(&mut segment.time_index.file, rebuilt.times)?;
    if offsets_stale || times_stale {
        report.indexes_rebuilt += 1;
        segment.sync()?;
    }
    Ok(())
}

fn replace_if_stale<E: Entry>(file: &mut EntryFile<E>, expected: Vec<E>) -> Result<bool, LogError> {
    if !file.is_torn() && file.entries() == expected.as_slice() {
        return Ok(false);
    }
    file.replace(expected)?;
    Ok(true)
}

/// Removes a segment's three files; returns the size of its `.log`.
pub(crate) fn delete_segment_files(dir: &Path, base: i64) -> Result<u64, LogError> {
    let log = dir.join(file_name(base, LOG_SUFFIX));
    let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
        let path = dir.join(file_name(base, suffix));
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(LogError::io("delete", &path)(e)),
            _ => {}
        }
    }
    Ok(size)
}

/// Makes file creations and deletions in `dir` durable.
/// Writes `dir/name` so that a crash leaves either the old or the new content: a temporary
/// file, fsynced, renamed over the old one, then the directory fsynced.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), LogError> {
    use std::io::Write;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(LogError::io("create", &tmp))?;
    f.write_all(bytes).map_err(LogError::io("write", &tmp))?;
    f.sync_all().map_err(LogError::io("fsync", &tmp))?;
    std::fs::rename(&tmp, dir.join(name)).map_err(LogError::io("rename", &tmp))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LogError::io("fsync", dir))
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    use proptest::prelude::*;

    use super::*;
    use crate::log::test_log::{append_batches, open, small_config};
    use crate::log::{LogConfig, PartitionLog};
    use crate::record::test_batch::TestBatch;
    use crate::record::BatchHeader;

    /// (path, size) of every segment's `.log`, oldest first.
    fn layout(log: &PartitionLog) -> Vec<(PathBuf, u64)> {
        log.segments().map(|s| (s.log_path.clone(), s.size)).collect()
    }

    fn read_all(log: &PartitionLog) -> Vec<u8> {
        log.read(log.log_start_offset(), 1 << 24, true).unwrap().data.to_vec()
    }

    fn set_len(path: &Path, len: u64) {
        OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
    }

    fn copy_dir(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }

    #[test]
    fn truncated_tail_is_dropped_on_reopen() {
        let original = tempfile::tempdir().unwrap();
        let mut log = open(original.path(), small_config());
        let batches = append_batches(&mut log, 12, 3, 0);
        let (last_path, last_size) = layout(&log).pop().unwrap();
        let last_len = batches.last().unwrap().len() as u64;
        let last_start = last_size - last_len;
        let end_before_last = log.log_end_offset() - 3;
        drop(log);
        for cut in last_start..last_size {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(original.path(), dir.path());
            set_len(&dir.path().join(last_path.file_name().unwrap()), cut);
            let (mut log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
            assert_eq!(report.truncated_bytes, cut - last_start, "cut at {cut}");
            assert_eq!(report.reason.is_some(), cut > last_start, "cut at {cut}");
            assert_eq!(log.log_end_offset(), end_before_last);
            assert_eq!(read_all(&log), batches[..11].concat());
            let mut again = TestBatch::new(1, 0).build();
            assert_eq!(log.append(&mut again, 0).unwrap().base_offset, end_before_last);
        }
    }

    #[test]
    fn corrupted_byte_in_a_batch_of_the_last_segment_truncates_from_that_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batches = append_batches(&mut log, 5, 3, 0);
        let (path, size) = layout(&log).pop().unwrap();
        drop(log);
        let mut bytes = std::fs::read(&path).unwrap();
        let third = batches[0].len() + batches[1].len();
        bytes[third + 70] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (log, report) = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        let reason = report.reason.unwrap();
        assert!(
            reason.contains("crc") && reason.contains(&format!("position {third}")),
            "{reason}"
        );
        // The zeros at the end of the file (those preallocated after the last batch, and the
        // last batch's own final zeros) are cut but not counted as damage.
        let nonzero_end = bytes.iter().rposition(|b| *b != 0).unwrap() + 1;
        assert!(nonzero_end as u64 <= size);
        assert_eq!(report.truncated_bytes, (nonzero_end - third) as u64);
        assert_eq!(report.zero_tail_bytes, (bytes.len() - nonzero_end) as u64);
        assert_eq!(report.batches_checked, 2);
        assert_eq!(log.log_end_offset(), 6);
        assert_eq!(read_all(&log), batches[..2].concat());
    }

    #[test]
    fn garbage_appended_after_valid_data_is_dropped() {
        for garbage in [
            vec![0u8; 100],
            vec![0xab; 37],
            vec![0xff; 61],
            TestBatch::new(2, 0).build(),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut log = open(dir.path(), small_config());
            let batches = append_batches(&mut log, 10, 2, 0);
            let (path, _) = layout(&log).pop().unwrap();
            log.close().unwrap();
            drop(log);
            OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap()
                .write_all(&garbage)
                .unwrap();
            let (log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
            // Zeros are what preallocation leaves past the log end: cut, but not as damage.
            let len = garbage.len() as u64;
            let zeros = garbage.iter().all(|b| *b == 0);
            let expected = if zeros { (0, len) } else { (len, 0) };
            assert_eq!((report.truncated_bytes, report.zero_tail_bytes), expected);
            assert_eq!(report.reason.is_some(), !zeros);
            assert_eq!(log.log_end_offset(), 20);
            assert_eq!(read_all(&log), batches.concat());
        }
    }

    #[test]
    fn preallocated_zeros_left_by_a_crash_end_the_log_quietly() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batches = append_batches(&mut log, 5, 3, 0);
        let (path, size) = layout(&log).pop().unwrap();
        let (end, bytes) = (log.log_end_offset(), log.size_bytes());
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            on_disk,
            batches[0].len() as u64 + 61 + crate::log::segment::PREALLOC_MIN
        );
        drop(log); // a crash: nothing cuts the zeros
        let (mut log, report) = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!(report.reason, None);
        assert!(!report.repaired());
        assert_eq!((report.truncated_bytes, report.zero_tail_bytes), (0, on_disk - size));
        assert_eq!((log.log_end_offset(), log.size_bytes()), (end, bytes));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert_eq!(read_all(&log), batches.concat());
        let mut more = TestBatch::new(2, 0).build();
        assert_eq!(log.append(&mut more, 0).unwrap().base_offset, end);
        assert_eq!(read_all(&log), [batches.concat(), more].concat());
    }

    #[test]
    fn zeros_ahead_grow_with_the_segment_from_64_kib_to_4_mib() {
        use crate::log::segment::{PREALLOC_MAX, PREALLOC_MIN};
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let mut ahead = Vec::new();
        // 1 KiB batches up to 12 MiB: every fill is as large as the file was, within bounds.
        for _ in 0..12 * 1024 {
            let mut b = TestBatch::new(1, 0).value_len(1000).build();
            log.append(&mut b, 0).unwrap();
            let (path, size) = layout(&log).pop().unwrap();
            ahead.push(std::fs::metadata(&path).unwrap().len() - size);
        }
        assert!(ahead[0] >= PREALLOC_MIN && ahead[0] <= PREALLOC_MIN + 61);
        let most = *ahead.iter().max().unwrap();
        assert!(most > PREALLOC_MAX / 2 && most <= PREALLOC_MAX + 61 + 1100, "{most}");
        assert!(
            ahead.iter().all(|a| *a >= 61),
            "a header's worth of zeros always follows the data"
        );
    }

    #[test]
    fn data_past_preallocated_zeros_is_cut_as_damage() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batches = append_batches(&mut log, 5, 3, 0);
        let (path, size) = layout(&log).pop().unwrap();
        let on_disk = std::fs::metadata(&path).unwrap().len();
        drop(log);
        // A later batch reached the disk, the one before it did not.
        let stray = TestBatch::new(1, 0).build();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .write_all_at(&stray, size + 4096)
            .unwrap();
        let (log, report) = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        let reason = report.reason.unwrap();
        assert!(
            reason.contains("zeros followed by data") && reason.contains(&format!("position {size}")),
            "{reason}"
        );
        // The stray batch's own last bytes are zeros, which count with the tail.
        let stray_end = size + 4096 + stray.iter().rposition(|b| *b != 0).unwrap() as u64 + 1;
        assert_eq!(
            (report.truncated_bytes, report.zero_tail_bytes),
            (stray_end - size, on_disk - stray_end)
        );
        assert_eq!(log.log_end_offset(), 15);
        assert_eq!(read_all(&log), batches.concat());
    }

    #[test]
    fn torn_batch_in_preallocated_zeros_counts_only_its_own_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batches = append_batches(&mut log, 5, 3, 0);
        let (path, size) = layout(&log).pop().unwrap();
        let on_disk = std::fs::metadata(&path).unwrap().len();
        drop(log);
        let torn = &TestBatch::new(4, 0).build()[..70];
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(torn, size).unwrap();
        let (log, report) = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        assert!(report.reason.is_some());
        let cut = torn.iter().rposition(|b| *b != 0).unwrap() as u64 + 1;
        assert_eq!(
            (report.truncated_bytes, report.zero_tail_bytes),
            (cut, on_disk - size - cut)
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert_eq!(read_all(&log), batches.concat());
    }

    #[test]
    fn sealed_segments_and_a_closed_log_hold_no_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append_batches(&mut log, 20, 3, 0);
        let disk_len = |p: &Path| std::fs::metadata(p).unwrap().len();
        let files = layout(&log);
        let (active, rest) = files.split_last().unwrap();
        assert!(rest.len() >= 2);
        for (path, size) in rest {
            assert_eq!(disk_len(path), *size, "{}", path.display());
        }
        assert!(
            disk_len(&active.0) >= (active.1 + 61).max(1000),
            "preallocated up to segment.bytes"
        );
        log.close().unwrap();
        assert_eq!(disk_len(&active.0), active.1);
        drop(log);
        let (_, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert!(!report.repaired() && report.zero_tail_bytes == 0, "{report:?}");
    }

    #[test]
    fn missing_index_files_are_rebuilt_identically() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let batches = append_batches(&mut log, 30, 2, 0);
        let segments = log.segments().count();
        drop(log);
        let mut indexes = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e != "log") {
                indexes.push((path.clone(), std::fs::read(&path).unwrap()));
                std::fs::remove_file(&path).unwrap();
            }
        }
        assert_eq!(indexes.len(), 2 * segments);
        let (log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!(report.indexes_rebuilt, segments);
        assert_eq!(report.truncated_bytes, 0);
        assert_eq!(read_all(&log), batches.concat());
        assert_eq!(log.read(33, 1 << 20, true).unwrap().data, batches[16..].concat());
        drop(log);
        for (path, bytes) in indexes {
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
        }
    }

    #[test]
    fn corrupt_index_of_a_sealed_segment_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let batches = append_batches(&mut log, 30, 2, 0);
        let first = log.sealed[0].base_offset;
        drop(log);
        let index = dir.path().join(file_name(first, INDEX_SUFFIX));
        let time_index = dir.path().join(file_name(first, TIME_INDEX_SUFFIX));
        let (good_index, good_time) = (std::fs::read(&index).unwrap(), std::fs::read(&time_index).unwrap());
        let mut bad = good_index.clone();
        bad[12..16].copy_from_slice(&5u32.to_be_bytes()); // the second entry's position
        std::fs::write(&index, &bad).unwrap();
        set_len(&time_index, good_time.len() as u64 - 12);
        let (log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!(report.indexes_rebuilt, 1);
        assert_eq!(report.reason, None);
        assert_eq!(std::fs::read(&index).unwrap(), good_index);
        assert_eq!(std::fs::read(&time_index).unwrap(), good_time);
        assert_eq!(read_all(&log), batches.concat());
    }

    #[test]
    fn torn_sealed_segment_is_cut_and_later_segments_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let batches = append_batches(&mut log, 30, 2, 0);
        let files = layout(&log);
        assert!(files.len() >= 3);
        let kept_batches = (files[0].1 as usize - 10) / batches[0].len();
        log.close().unwrap(); // no preallocated zeros to count in `later`
        drop(log);
        set_len(&files[0].0, files[0].1 - 10);
        let (log, report) = PartitionLog::open(dir.path(), small_config()).unwrap();
        assert_eq!(report.segments, 1);
        let later: u64 = files[1..].iter().map(|f| f.1).sum();
        let torn = files[0].1 - 10 - (kept_batches * batches[0].len()) as u64;
        assert_eq!(report.truncated_bytes, torn + later);
        assert_eq!(log.log_end_offset(), 2 * kept_batches as i64);
        assert_eq!(read_all(&log), batches[..kept_batches].concat());
        assert!(files[1..].iter().all(|(path, _)| !path.exists()));
    }

    #[test]
    fn stray_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("leader-epoch-checkpoint"), b"0\n").unwrap();
        std::fs::write(dir.path().join("12.log"), b"not ours").unwrap();
        let (log, report) = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        assert_eq!((report.segments, log.log_end_offset()), (1, 0));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append {
            records: usize,
            value_len: usize,
        },
        Reopen,
        /// Cut the log at this fraction of its total bytes, as a crash (or a disk) might.
        Cut(f64),
        Garbage(Vec<u8>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (1usize..6, 0usize..200).prop_map(|(records, value_len)| Op::Append { records, value_len }),
            1 => Just(Op::Reopen),
            2 => (0.0f64..1.0).prop_map(Op::Cut),
            1 => proptest::collection::vec(any::<u8>(), 1..80).prop_map(Op::Garbage),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Every batch written wholly before the cut is present exactly once, in order, and
        /// nothing after the cut is.
        #[test]
        fn cut_log_keeps_exactly_the_batches_before_the_cut(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let config = LogConfig { segment_bytes: 600, index_interval_bytes: 100, ..small_config() };
            let mut log = open(dir.path(), config.clone());
            let mut model: Vec<Vec<u8>> = Vec::new();
            for op in ops {
                match op {
                    Op::Append { records, value_len } => {
                        let mut b = TestBatch::new(records, 0).value_len(value_len).build();
                        log.append(&mut b, 0).unwrap();
                        model.push(b);
                    }
                    Op::Reopen => {
                        log.flush().unwrap();
                        drop(log);
                        let (reopened, report) = PartitionLog::open(dir.path(), config.clone()).unwrap();
                        prop_assert_eq!(report.truncated_bytes, 0);
                        log = reopened;
                    }
                    Op::Cut(fraction) => {
                        let files = layout(&log);
                        drop(log);
                        let total: u64 = files.iter().map(|f| f.1).sum();
                        let mut cut = (total as f64 * fraction) as u64;
                        for (path, size) in files {
                            if cut < size {
                                set_len(&path, cut);
                                break;
                            }
                            cut -= size;
                        }
                        let mut end = 0;
                        let global_cut = (total as f64 * fraction) as u64;
                        model.retain(|b| { end += b.len() as u64; end <= global_cut });
                        log = open(dir.path(), config.clone());
                    }
                    Op::Garbage(bytes) => {
                        let (path, _) = layout(&log).pop().unwrap();
                        drop(log);
                        OpenOptions::new().append(true).open(&path).unwrap().write_all(&bytes).unwrap();
                        log = open(dir.path(), config.clone());
                    }
                }
                prop_assert_eq!(read_all(&log), model.concat());
                let end: i64 = model.last().map_or(0, |b| BatchHeader::parse(b).unwrap().last_offset() + 1);
                prop_assert_eq!(log.log_end_offset(), end);
            }
        }
    }
}
