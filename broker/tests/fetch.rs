//! Fetch over raw sockets: per-partition and whole-response limits, the first batch whole,
//! every requested partition answered, and `min_bytes` / `max_wait_ms` long polling.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::*;
use tokio::net::TcpStream;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// A batch of 10 records of 100 bytes: 1,000 bytes of values plus framing.
fn hundred_byte_batch(tag: u8) -> Vec<u8> {
    let value = [tag; 100];
    batch(None, &[&value[..]; 10])
}

/// One Fetch v12 from offset 0 of each (topic, partition), `partition_max` bytes each.
fn request(
    wanted: &[(&str, i32)],
    partition_max: i32,
    max_bytes: i32,
    min_bytes: i32,
    max_wait_ms: i32,
) -> FetchRequest {
    let mut r = FetchRequest::default();
    r.max_bytes = max_bytes;
    r.min_bytes = min_bytes;
    r.max_wait_ms = max_wait_ms;
    for (topic, partition) in wanted {
        let mut p = fetch_request::FetchPartition::default();
        p.partition = *partition;
        p.partition_max_bytes = partition_max;
        match r.topics.iter_mut().find(|t| t.topic.0.as_str() == *topic) {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = fetch_request::FetchTopic::default();
                t.topic = topic_name_owned(topic);
                t.partitions = vec![p];
                r.topics.push(t);
            }
        }
    }
    r
}

/// (topic, partition, error, records bytes, whole batches in them) for every answered partition.
fn answered(resp: &FetchResponse) -> Vec<(String, i32, i16, usize, usize)> {
    resp.responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                let records = p.records.clone().unwrap_or_default();
                (
                    t.topic.0.to_string(),
                    p.partition_index,
                    p.error_code,
                    records.len(),
                    whole_batches(&records),
                )
            })
        })
        .collect()
}

/// How many complete batches `records` holds, checking each batch's length field.
fn whole_batches(records: &Bytes) -> usize {
    let (mut at, mut n) = (0, 0);
    while at + 12 <= records.len() {
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().unwrap()) as usize;
        assert!(at + 12 + len <= records.len(), "a partial batch was served");
        at += 12 + len;
        n += 1;
    }
    assert_eq!(at, records.len(), "trailing bytes after the last batch");
    n
}

#[tokio::test]
async fn limits_are_kept_and_every_requested_partition_is_answered() {
    let (broker, _dir, mut s) = start_with_topic("limits", 2).await;
    for partition in 0..2 {
        for tag in 0..3 {
            assert_eq!(
                produce_to(&mut s, 9, "limits", partition, 1, hundred_byte_batch(tag))
                    .await
                    .0,
                0
            );
        }
    }
    let size = hundred_byte_batch(0).len();

    // Per partition: as many whole batches as fit, and the first one even when it does not.
    for (partition_max, batches) in [(1 << 20, 3), (2 * size + 10, 2), (size, 1), (10, 1)] {
        let r = request(&[("limits", 0)], partition_max as i32, 1 << 20, 1, 0);
        let resp: FetchResponse = call(&mut s, ApiKey::Fetch, 12, &r).await;
        let a = answered(&resp);
        assert_eq!(a[0].4, batches, "partition_max_bytes {partition_max}: {a:?}");
        assert!(
            a[0].3 <= partition_max.max(size),
            "partition_max_bytes {partition_max}: {} bytes",
            a[0].3
        );
    }

    // The whole response: once the first batch is in, nothing past max_bytes; the partition
    // that gets nothing is still answered.
    let r = request(&[("limits", 0), ("limits", 1)], 1 << 20, (2 * size + 10) as i32, 1, 0);
    let resp: FetchResponse = call(&mut s, ApiKey::Fetch, 12, &r).await;
    let a = answered(&resp);
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].4, a[1].4), (2, 0), "{a:?}");
    assert_eq!(a[1].2, 0);
    let r = request(&[("limits", 0), ("limits", 1)], 1 << 20, 10, 1, 0);
    let resp: FetchResponse = call(&mut s, ApiKey::Fetch, 12, &r).await;
    assert_eq!(
        answered(&resp).iter().map(|a| a.4).collect::<Vec<_>>(),
        [1, 0],
        "the first batch whole"
    );

    // Known, unknown partition and unknown topic in one request: each gets its own answer.
    let r = request(&[("limits", 1), ("limits", 7), ("nope", 0)], 1 << 20, 1 << 20, 1, 0);
    let resp: FetchResponse = call(&mut s, ApiKey::Fetch, 12, &r).await;
    let a = answered(&resp);
    let codes: Vec<(&str, i32, i16)> = a.iter().map(|(t, p, e, _, _)| (t.as_str(), *p, *e)).collect();
    assert_eq!(
        codes,
        [
            ("limits", 1, 0),
            ("limits", 7, UNKNOWN_TOPIC_OR_PARTITION),
            ("nope", 0, UNKNOWN_TOPIC_OR_PARTITION)
        ]
    );
    assert_eq!(a[0].4, 3);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_fetch_waits_for_min_bytes_or_max_wait() {
    let (broker, _dir, mut s) = start_with_topic("wait", 1).await;
    let size = hundred_byte_batch(0).len() as i32;
    assert_eq!(produce(&mut s, 9, "wait", 1, hundred_byte_batch(1)).await.0, 0);

    // Enough data already: answered without waiting out max_wait_ms (10 s).
    let started = Instant::now();
    let r = request(&[("wait", 0)], 1 << 20, 1 << 20, size, 10_000);
    let resp: FetchResponse = call(&mut s, ApiKey::Fetch, 12, &r).await;
    assert_eq!(answered(&resp)[0].4, 1);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    // One batch short of min_bytes: the fetch waits, and a second batch arriving completes it.
    let mut waiting = TcpStream::connect(broker.local_addr()).await.unwrap();
    let started = Instant::now();
    let fetch = tokio::spawn(async move {
        let r = request(&[("wait", 0)], 1 << 20, 1 << 20, 2 * size, 10_000);
        let resp: FetchResponse = call(&mut waiting, ApiKey::Fetch, 12, &r).await;
        (answered(&resp)[0].4, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!fetch.is_finished(), "answered with {size} of {} min_bytes", 2 * size);
    assert_eq!(produce(&mut s, 9, "wait", 1, hundred_byte_batch(2)).await.0, 0);
    let (batches, waited) = fetch.await.unwrap();
    assert_eq!(batches, 2);
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );

    // Never enough: answered with what there is once max_wait_ms has passed.
    let started = Instant::now();
    let r = request(&[("wait", 0)], 1 << 20, 1 << 20, 100 * size, 400);
    let resp: FetchResponse = call(&mut s, ApiKey::Fetch, 12, &r).await;
    assert_eq!(answered(&resp)[0].4, 2);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    broker.shutdown().await;
}
