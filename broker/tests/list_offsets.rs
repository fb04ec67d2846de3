//! ListOffsets over raw sockets with batches whose timestamps differ: each kind of question
//! (latest, earliest, max timestamp, first at or after a time) answers with the offset and the
//! timestamp Kafka gives, each in its own field.

mod common;

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::net::TcpStream;

/// A batch of `count` records all stamped `timestamp` (first and max timestamp of the header).
fn stamped(count: usize, timestamp: i64) -> Vec<u8> {
    let values = vec![&b"v"[..]; count];
    let mut b = batch(None, &values);
    b[27..35].copy_from_slice(&timestamp.to_be_bytes());
    b[35..43].copy_from_slice(&timestamp.to_be_bytes());
    seal(&mut b);
    b
}

/// (offset, timestamp) that ListOffsets `version` gives for partition 0 of `topic`.
async fn ask(s: &mut TcpStream, version: i16, topic: &str, timestamp: i64) -> (i64, i64) {
    let mut p = list_offsets_request::ListOffsetsPartition::default();
    p.timestamp = timestamp;
    let mut t = list_offsets_request::ListOffsetsTopic::default();
    t.name = TopicName(StrBytes::from_string(topic.to_string()));
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.topics = vec![t];
    let resp: ListOffsetsResponse = call(s, ApiKey::ListOffsets, version, &r).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0, "ListOffsets v{version} for {timestamp}");
    (p.offset, p.timestamp)
}

#[tokio::test]
async fn max_timestamp_and_time_lookups_answer_offset_and_timestamp_each_in_its_place() {
    let (_broker, _dir, mut s) = start_with_topic("times", 1).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Offsets 0-1 at now-3s, 2-4 at now (the largest), 5 at now-2s.
    for (count, ts) in [(2, now - 3_000), (3, now), (1, now - 2_000)] {
        assert_eq!(produce(&mut s, 9, "times", -1, stamped(count, ts)).await.0, 0);
    }
    // The first record with the largest timestamp (KIP-734, v7).
    assert_eq!(ask(&mut s, 7, "times", -3).await, (2, now));
    for version in 1..=7 {
        assert_eq!(ask(&mut s, version, "times", -1).await, (6, -1), "v{version}");
        assert_eq!(ask(&mut s, version, "times", -2).await, (0, -1), "v{version}");
        // The first batch whose max timestamp reaches the time asked for.
        assert_eq!(ask(&mut s, version, "times", now - 2_500).await, (2, now), "v{version}");
        assert_eq!(
            ask(&mut s, version, "times", now - 3_000).await,
            (0, now - 3_000),
            "v{version}"
        );
        assert_eq!(ask(&mut s, version, "times", now + 1).await, (-1, -1), "v{version}");
    }
}
