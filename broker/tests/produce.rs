//! Produce over raw sockets with hand-built v2 batches: every advertised version appends, an
//! idempotent producer's retry is answered with its first offset and stored once, a sequence gap
//! gets Kafka's error, and batches that break Kafka's rules are refused without moving the log.

mod common;

use bytes::{BufMut, Bytes};
use common::*;
use kafka_protocol::messages::*;
use tokio::net::TcpStream;

const NONE: i16 = 0;
const CORRUPT_MESSAGE: i16 = 2;
const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_RECORD: i16 = 87;

fn put_varint(b: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        b.push((z as u8) | 0x80);
        z >>= 7;
    }
    b.push(z as u8);
}

/// An uncompressed v2 batch of `values` as a producer sends it (base offset 0).
fn batch(producer: Option<(i64, i16, i32)>, values: &[&[u8]]) -> Vec<u8> {
    let mut records = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut r = vec![0u8]; // attributes
        put_varint(&mut r, 0); // timestamp delta
        put_varint(&mut r, i as i64); // offset delta
        put_varint(&mut r, -1); // null key
        put_varint(&mut r, v.len() as i64);
        r.extend_from_slice(v);
        put_varint(&mut r, 0); // no headers
        put_varint(&mut records, r.len() as i64);
        records.extend_from_slice(&r);
    }
    let (id, epoch, sequence) = producer.unwrap_or((-1, -1, -1));
    let mut b = Vec::new();
    b.put_i64(0);
    b.put_i32(0); // length, set by seal
    b.put_i32(-1);
    b.put_i8(2);
    b.put_u32(0); // CRC, set by seal
    b.put_i16(0);
    b.put_i32(values.len() as i32 - 1);
    b.put_i64(1_700_000_000_000);
    b.put_i64(1_700_000_000_000);
    b.put_i64(id);
    b.put_i16(epoch);
    b.put_i32(sequence);
    b.put_i32(values.len() as i32);
    b.extend_from_slice(&records);
    seal(&mut b);
    b
}

/// Sets the batch length and the CRC-32C (attributes to the end) for the bytes as they are.
fn seal(b: &mut [u8]) {
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Sets the header's record count and last offset delta, then reseals.
fn claim_records(b: &mut [u8], count: i32) {
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    seal(b);
}

/// (error code, base offset) of a Produce of `records` to partition 0 of `topic`.
async fn produce(s: &mut TcpStream, version: i16, topic: &str, acks: i16, records: Vec<u8>) -> (i16, i64) {
    let mut p = produce_request::PartitionProduceData::default();
    p.records = Some(Bytes::from(records));
    let mut t = produce_request::TopicProduceData::default();
    t.name = topic_name_owned(topic);
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = acks;
    r.timeout_ms = 5_000;
    r.topic_data = vec![t];
    let resp: ProduceResponse = call(s, ApiKey::Produce, version, &r).await;
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn log_end(s: &mut TcpStream, topic: &str) -> i64 {
    let mut p = list_offsets_request::ListOffsetsPartition::default();
    p.timestamp = -1;
    let mut t = list_offsets_request::ListOffsetsTopic::default();
    t.name = topic_name_owned(topic);
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.topics = vec![t];
    let resp: ListOffsetsResponse = call(s, ApiKey::ListOffsets, 7, &r).await;
    resp.topics[0].partitions[0].offset
}

fn topic_name_owned(topic: &str) -> TopicName {
    TopicName(kafka_protocol::protocol::StrBytes::from_string(topic.to_string()))
}

#[tokio::test]
async fn every_advertised_produce_version_appends_at_the_log_end() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("versions", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut expected = 0;
    for version in 3..=9 {
        let values: Vec<Vec<u8>> = (0..=version).map(|i| format!("v{version}-{i}").into_bytes()).collect();
        let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        for acks in [1, -1] {
            assert_eq!(
                produce(&mut s, version, "versions", acks, batch(None, &values)).await,
                (NONE, expected),
                "Produce v{version} acks={acks}"
            );
            expected += values.len() as i64;
        }
    }
    assert_eq!(log_end(&mut s, "versions").await, expected);
    broker.shutdown().await;
}

#[tokio::test]
async fn an_idempotent_retry_gets_its_first_offset_and_a_gap_gets_out_of_order_sequence() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("idem", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut init = InitProducerIdRequest::default();
    init.transactional_id = None;
    init.producer_id = ProducerId(-1);
    init.producer_epoch = -1;
    let id: InitProducerIdResponse = call(&mut s, ApiKey::InitProducerId, 4, &init).await;
    assert_eq!(id.error_code, NONE);
    let me = |sequence| Some((id.producer_id.0, id.producer_epoch, sequence));

    let first = batch(me(0), &[b"a", b"b", b"c"]);
    let second = batch(me(3), &[b"d", b"e"]);
    assert_eq!(produce(&mut s, 9, "idem", -1, first.clone()).await, (NONE, 0));
    assert_eq!(produce(&mut s, 9, "idem", -1, second.clone()).await, (NONE, 3));
    // Retries of either (the answer was lost, say) are answered as the first try was.
    assert_eq!(produce(&mut s, 9, "idem", -1, first).await, (NONE, 0));
    assert_eq!(produce(&mut s, 9, "idem", 1, second).await, (NONE, 3));
    assert_eq!(log_end(&mut s, "idem").await, 5, "retries stored nothing");

    // Sequence 5 is next; 7 leaves a gap.
    let (code, _) = produce(&mut s, 9, "idem", -1, batch(me(7), &[b"x"])).await;
    assert_eq!(code, OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(log_end(&mut s, "idem").await, 5);
    assert_eq!(produce(&mut s, 9, "idem", -1, batch(me(5), &[b"f"])).await, (NONE, 5));
    broker.shutdown().await;
}

#[tokio::test]
async fn batches_breaking_kafkas_rules_are_refused_and_move_nothing() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("rules", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let good = batch(None, &[b"one", b"two"]);

    let mut two_batches = good.clone();
    two_batches.extend_from_slice(&good);
    assert_eq!(produce(&mut s, 9, "rules", 1, two_batches).await.0, INVALID_RECORD);

    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 0xff;
    assert_eq!(produce(&mut s, 9, "rules", 1, flipped).await.0, CORRUPT_MESSAGE);

    // Counts that agree with each other and the CRC but not with the records: Kafka refuses
    // them, and a claim of 2^31 records must not move the log end by 2^31 offsets.
    for claim in [1, 3, i32::MAX] {
        let mut lying = good.clone();
        claim_records(&mut lying, claim);
        assert_eq!(
            produce(&mut s, 9, "rules", 1, lying).await.0,
            INVALID_RECORD,
            "claims {claim}"
        );
    }
    let mut trailing = good.clone();
    trailing.push(0);
    seal(&mut trailing);
    assert_eq!(produce(&mut s, 9, "rules", 1, trailing).await.0, INVALID_RECORD);

    assert_eq!(log_end(&mut s, "rules").await, 0);
    assert_eq!(produce(&mut s, 9, "rules", -1, good).await, (NONE, 0));
    assert_eq!(log_end(&mut s, "rules").await, 2);
    broker.shutdown().await;
}
