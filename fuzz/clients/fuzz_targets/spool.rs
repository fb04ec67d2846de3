//! The agent's spool reader: the input is a segment file the agent finds in its spool directory
//! at startup (torn by a crash, or not its own). Opening scans it (frames, CRCs, truncation)
//! and every record it keeps is handed out and acknowledged. The input is read twice: as it is,
//! and with every frame's CRC made right, so the fuzzer gets past the CRC to the record inside.
#![no_main]

use std::time::Duration;

use agent::queue::Spool;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|segment: &[u8]| {
    read(segment);
    read(&resealed(segment));
});

fn read(segment: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary spool dir");
    std::fs::write(dir.path().join("00000000000000000000.spool"), segment).expect("the segment is written");
    let Ok((mut spool, _recovered)) = Spool::open(dir.path(), 64 << 20, Duration::from_secs(100 * 365 * 86_400)) else {
        return;
    };
    while let Ok(records) = spool.take(64) {
        let Some(last) = records.last() else {
            break;
        };
        if spool.ack(last.seq).is_err() {
            break;
        }
    }
}

/// `segment` with each frame's CRC (`| len u32 LE | crc32c u32 LE | body |`) set to its body's.
fn resealed(segment: &[u8]) -> Vec<u8> {
    let mut out = segment.to_vec();
    let mut at = 0;
    while let Some(len) = out.get(at..at + 4) {
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(body) = out.get(at + 8..at + 8 + len) else {
            break;
        };
        let crc = crc32c::crc32c(body);
        out[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        at += 8 + len;
    }
    out
}
