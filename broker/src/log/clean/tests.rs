//! The cleaner's rules, its crash safety and its bounds, on small segments.

use super::*;
use crate::log::test_log::{open, small_config};
use crate::log::LogConfig;
use crate::record::test_batch::TestBatch;
use crate::record::{for_each_record, BatchHeader};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// No transaction open or aborted.
fn stable() -> Transactions {
    Transactions {
        first_unstable_offset: i64::MAX,
        aborted: Vec::new(),
    }
}

fn compacted() -> LogConfig {
    LogConfig {
        compaction: Some(Compaction {
            min_cleanable_dirty_ratio: 0.0,
            ..Compaction::default()
        }),
        ..small_config()
    }
}

fn put(log: &mut PartitionLog, entries: &[(&str, Option<&str>)], ts: i64) -> i64 {
    let mut b = TestBatch::keyed(entries, ts).build();
    log.append(&mut b, ts).unwrap().base_offset
}

/// (offset, key, value or None) of every record a reader gets from the log start.
fn contents(log: &PartitionLog) -> Vec<(i64, String, Option<String>)> {
    let data = log.read(log.log_start_offset(), usize::MAX >> 1, true).unwrap().data;
    let mut out = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        let h = BatchHeader::parse(rest).unwrap();
        let batch = &rest[..h.total_len() as usize];
        assert!(crate::record::crc_ok(batch));
        let mut values = Vec::new();
        // The value is what follows the key; decode it from the record through a second walk.
        for_each_record(batch, &h, u64::MAX, |r| {
            values.push((
                r.offset,
                String::from_utf8_lossy(r.key.unwrap()).into_owned(),
                r.tombstone,
            ))
        })
        .unwrap();
        out.extend(
            values
                .into_iter()
                .map(|(o, k, tomb)| (o, k, (!tomb).then(|| format!("v{o}")))),
        );
        rest = &rest[h.total_len() as usize..];
    }
    out
}

/// Writes key `k{i % keys}` with value `v<offset>` for `n` records, 4 to a batch, then rolls.
fn fill(log: &mut PartitionLog, n: usize, keys: usize, ts: i64) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(4) {
        let base = log.log_end_offset();
        let owned: Vec<(String, String)> = chunk
            .iter()
            .enumerate()
            .map(|(j, i)| (format!("k{}", i % keys), format!("v{}", base + j as i64)))
            .collect();
        let entries: Vec<(&str, Option<&str>)> = owned.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect();
        put(log, &entries, ts);
    }
    log.roll_active().unwrap();
}

fn clean(log: &mut PartitionLog, now: i64) -> Option<CleanStats> {
    let job = log.clean_job(now, 1 << 20, stable())?;
    Some(log.install(job.run().unwrap()).unwrap())
}

#[test]
fn keeps_the_latest_record_of_each_key_at_its_offset_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compacted());
    fill(&mut log, 120, 10, 1000);
    let before = log.sealed.len();
    assert!(before > 3, "{before} segments");
    put(&mut log, &[("k1", Some("active"))], 1000);
    let end = log.log_end_offset();
    let stats = clean(&mut log, 5000).expect("dirty");
    assert_eq!((stats.first_dirty, stats.cleaned_to, stats.keys), (0, 120, 10));
    assert_eq!((stats.records_read, stats.records_removed), (120, 110));
    assert_eq!(
        log.sealed.len(),
        before,
        "segments are grouped by their size before cleaning"
    );
    let expected: Vec<_> = (110..120)
        .map(|o| (o, format!("k{}", o % 10), Some(format!("v{o}"))))
        .chain([(120, "k1".to_string(), Some("v120".to_string()))])
        .collect();
    assert_eq!(contents(&log), expected, "the active segment is never cleaned");
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, end));
    assert!(clean(&mut log, 5000).is_none(), "nothing dirty is left");
    drop(log);
    let (log, report) = PartitionLog::open(dir.path(), compacted()).unwrap();
    assert_eq!((report.truncated_bytes, report.reason.as_deref()), (0, None));
    assert!(report.rescanned.is_empty() && report.indexes_rebuilt == 0, "{report:?}");
    assert_eq!(contents(&log), expected);
    assert_eq!(log.cleaner.first_dirty, 120, "the checkpoint survives");
    // Reads from inside a gap start at the next batch kept.
    let r = log.read(3, 1 << 20, true).unwrap();
    assert_eq!(BatchHeader::parse(&r.data).unwrap().base_offset, 108);
    let mut log = log;
    fill(&mut log, 4, 10, 1000);
    clean(&mut log, 5000).expect("dirty again");
    assert!(
        log.sealed.len() < before,
        "small cleaned segments merge: {}",
        log.sealed.len()
    );
    assert_eq!(contents(&log).len(), 10, "one record per key: k0..k9");
}

#[test]
fn only_dirty_logs_past_the_ratio_and_the_lag_are_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = compacted();
    let c = config.compaction.as_mut().unwrap();
    c.min_cleanable_dirty_ratio = 0.5;
    c.min_compaction_lag_ms = 10_000;
    let mut log = open(dir.path(), config);
    assert!(log.clean_job(0, 1 << 20, stable()).is_none(), "empty");
    fill(&mut log, 40, 40, 1000);
    assert!(
        log.clean_job(5000, 1 << 20, stable()).is_none(),
        "records younger than the lag"
    );
    let stats = clean(&mut log, 20_000).expect("old enough and all dirty");
    assert_eq!((stats.records_read, stats.records_removed), (40, 0));
    fill(&mut log, 4, 4, 1000);
    assert!(
        log.clean_job(20_000, 1 << 20, stable()).is_none(),
        "a little dirt on a cleaned log stays below the ratio"
    );
    let mut config = log.config().clone();
    config.compaction.as_mut().unwrap().max_compaction_lag_ms = 1000;
    log.set_config(config);
    let job = log.clean_job(20_000, 1 << 20, stable()).expect("overdue");
    assert!(job.reason.contains("max.compaction.lag.ms"), "{}", job.reason);
}

#[test]
fn tombstones_stay_until_their_delete_horizon_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compacted());
    put(&mut log, &[("a", Some("1")), ("b", Some("2"))], 0);
    put(&mut log, &[("a", None), ("c", Some("4"))], 0);
    log.roll_active().unwrap();
    put(&mut log, &[("z", Some("5"))], 0);
    let now = 1_000_000;
    clean(&mut log, now).unwrap();
    let keys = |log: &PartitionLog| -> Vec<(i64, String, bool)> {
        contents(log).into_iter().map(|(o, k, v)| (o, k, v.is_none())).collect()
    };
    assert_eq!(
        keys(&log),
        vec![
            (1, "b".into(), false),
            (2, "a".into(), true),
            (3, "c".into(), false),
            (4, "z".into(), false)
        ]
    );
    let horizon = now + DAY;
    assert_eq!(log.cleaner.next_horizon, Some(horizon));
    assert!(log.clean_job(horizon, 1 << 20, stable()).is_none(), "not yet");
    let job = log.clean_job(horizon + 1, 1 << 20, stable()).expect("horizon passed");
    assert!(job.reason.contains("horizon"));
    log.install(job.run().unwrap()).unwrap();
    assert_eq!(
        keys(&log),
        vec![(1, "b".into(), false), (3, "c".into(), false), (4, "z".into(), false)]
    );
    assert_eq!(log.cleaner.next_horizon, None);
}

#[test]
fn a_producers_last_batch_keeps_its_header_when_its_records_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compacted());
    for (i, pid) in [(0, 7), (1, 7), (2, 8)] {
        let mut b = TestBatch::keyed(&[("k", Some("x"))], 0).producer(pid, 0, i).build();
        log.append(&mut b, 0).unwrap();
    }
    log.roll_active().unwrap();
    clean(&mut log, 1).unwrap();
    let headers = log.batch_headers_from(0).unwrap();
    let seen: Vec<_> = headers
        .iter()
        .map(|h| (h.base_offset, h.producer_id, h.record_count))
        .collect();
    assert_eq!(
        seen,
        vec![(1, 7, 0), (2, 8, 1)],
        "producer 7's first batch goes, its last stays empty"
    );
}

#[test]
fn a_cleaning_interrupted_before_its_swap_is_undone_and_after_it_completed() {
    for committed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compacted());
        fill(&mut log, 80, 5, 0);
        let original = contents(&log);
        let job = log.clean_job(1, 1 << 20, stable()).unwrap();
        let cleaned = job.run().unwrap();
        let base = cleaned.groups[0].base;
        if committed {
            // The stop came right after the commit point: the swap is named, nothing else done.
            let log_name = file_name(base, LOG_SUFFIX);
            std::fs::rename(
                dir.path().join(cleaned_name(base)),
                dir.path().join(format!("{log_name}.{SWAP}")),
            )
            .unwrap();
        }
        drop(log);
        let (log, report) = PartitionLog::open(dir.path(), compacted()).unwrap();
        assert_eq!((report.truncated_bytes, report.reason.as_deref()), (0, None));
        let after = contents(&log);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            !names.iter().any(|n| n.ends_with(CLEANED) || n.ends_with(SWAP)),
            "{names:?}"
        );
        if committed {
            let latest: std::collections::BTreeMap<String, i64> =
                original.iter().map(|(o, k, _)| (k.clone(), *o)).collect();
            let kept: Vec<_> = original.into_iter().filter(|(o, k, _)| latest[k] == *o).collect();
            // The first group's segments are replaced; any later group was never swapped in.
            assert!(after.len() < 80 && kept.iter().all(|r| after.contains(r)), "{after:?}");
            let offsets: Vec<i64> = after.iter().map(|r| r.0).collect();
            assert!(offsets.windows(2).all(|w| w[0] < w[1]));
        } else {
            assert_eq!(after, original);
        }
    }
}

#[test]
fn a_cleaning_whose_segments_were_deleted_meanwhile_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compacted());
    fill(&mut log, 80, 5, 0);
    let job = log.clean_job(1, 1 << 20, stable()).unwrap();
    let second = log.sealed[1].base_offset;
    log.delete_records_before(second).unwrap();
    let before = contents(&log);
    let stats = log.install(job.run().unwrap()).unwrap();
    assert!(stats.abandoned);
    assert_eq!(contents(&log), before);
    assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(CLEANED)));
    assert!(clean(&mut log, 2).is_some(), "the next look cleans what is left");
}

#[test]
fn the_key_map_stops_at_a_segment_boundary_when_full_and_the_rest_waits() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compacted());
    // Every key distinct: the map fills one segment's worth at a time.
    fill(&mut log, 200, 200, 0);
    let job = log.clean_job(1, 1, stable()).unwrap();
    let cleaned = job.run().unwrap();
    let to = cleaned.stats.cleaned_to;
    assert!(to > 0 && to < 200, "stopped at {to}");
    assert_eq!(cleaned.stats.records_removed, 0);
    log.install(cleaned).unwrap();
    assert_eq!(log.cleaner.first_dirty, to);
    assert_eq!(contents(&log).len(), 200);
}

#[test]
fn aborted_transactions_go_whole_supersede_nothing_and_open_ones_are_not_cleaned() {
    use crate::record::{marker_batch, ControlType};
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compacted());
    put(&mut log, &[("a", Some("committed")), ("b", Some("kept"))], 0);
    // Producer 7 writes a newer "a" and aborts: its batch goes, and the old "a" stays.
    let mut aborted = TestBatch::keyed(&[("a", Some("aborted"))], 0)
        .producer(7, 0, 0)
        .transactional()
        .build();
    let first = log.append(&mut aborted, 0).unwrap().base_offset;
    let mut marker = marker_batch(7, 0, 0, ControlType::Abort, 0);
    let last = log.append(&mut marker, 0).unwrap().base_offset;
    put(&mut log, &[("b", Some("newer"))], 0);
    log.roll_active().unwrap();
    // Producer 8's transaction is still open in the next segment: not cleanable yet.
    let mut open_txn = TestBatch::keyed(&[("b", Some("open"))], 0)
        .producer(8, 0, 0)
        .transactional()
        .build();
    let open_at = log.append(&mut open_txn, 0).unwrap().base_offset;
    put(&mut log, &[("c", Some("after"))], 0);
    log.roll_active().unwrap();
    let txns = Transactions {
        first_unstable_offset: open_at,
        aborted: vec![AbortedRange {
            producer_id: 7,
            first_offset: first,
            last_offset: last,
        }],
    };
    let job = log.clean_job(1, 1 << 20, txns).expect("dirty");
    let stats = log.install(job.run().unwrap()).unwrap();
    assert_eq!(
        (stats.cleaned_to, stats.records_removed),
        (open_at, 2),
        "the aborted a and the old b"
    );
    let kept: Vec<(i64, String)> = log
        .batch_headers_from(0)
        .unwrap()
        .iter()
        .map(|h| {
            (
                h.base_offset,
                if h.is_control() {
                    "marker".into()
                } else {
                    format!("{} records", h.record_count)
                },
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![
            (0, "1 records".to_string()),
            (last, "marker".to_string()),
            (last + 1, "1 records".to_string()),
            (open_at, "1 records".to_string()),
            (open_at + 1, "1 records".to_string()),
        ]
    );
    let values: Vec<_> = contents(&log).into_iter().map(|(o, k, _)| (o, k)).collect();
    assert_eq!(
        values[0],
        (0, "a".to_string()),
        "the committed a survives the aborted one"
    );
}
