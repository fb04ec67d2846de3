//! Retention runs on its own every `log.retention.check.interval.ms` and advances the log start
//! offset that clients see, without touching the log end.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::net::TcpStream;

async fn log_start(s: &mut TcpStream, topic: &str) -> i64 {
    list_offset(s, topic, -2).await
}

/// A broker whose segments hold one 10-record batch each and whose partitions keep about two
/// of them (`log.retention.bytes`), with six batches in partition 0 of `kept`.
async fn six_segments(check_interval: Duration) -> (broker::RunningBroker, tempfile::TempDir, TcpStream) {
    let (broker, dir) = start_with(|c| {
        c.log.segment_bytes = 1_500;
        c.log.retention_bytes = Some(3_000);
        c.retention_check_interval = check_interval;
    })
    .await;
    broker.ensure_topic("kept", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    for tag in 0..6u8 {
        let value = [tag; 100];
        assert_eq!(produce(&mut s, 9, "kept", 1, batch(None, &[&value[..]; 10])).await.0, 0);
    }
    // Not the log start: with a short interval, retention may already have run.
    assert_eq!(log_end(&mut s, "kept").await, 60);
    (broker, dir, s)
}

#[tokio::test]
async fn retention_runs_every_check_interval_and_advances_the_log_start() {
    let (broker, _dir, mut s) = six_segments(Duration::from_millis(100)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while log_start(&mut s, "kept").await == 0 {
        assert!(Instant::now() < deadline, "retention never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let start = log_start(&mut s, "kept").await;
    assert!(
        start % 10 == 0 && (30..60).contains(&start),
        "whole segments dropped: {start}"
    );
    assert_eq!(log_end(&mut s, "kept").await, 60);
    broker.shutdown().await;

    // The same log with an hour between checks: nothing is deleted in the meantime.
    let (broker, _dir, mut s) = six_segments(Duration::from_secs(3600)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(log_start(&mut s, "kept").await, 0);
    broker.shutdown().await;
}
