//! Raw-socket helpers shared by the broker's API tests: start a broker on an ephemeral port,
//! frame requests with the protocol crate's client encoders, read and check answers.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn start() -> (broker::RunningBroker, tempfile::TempDir) {
    start_with(|_| {}).await
}

/// A broker with `topic` of `partitions` partitions, and a connection to it.
pub async fn start_with_topic(topic: &str, partitions: i32) -> (broker::RunningBroker, tempfile::TempDir, TcpStream) {
    let (broker, dir) = start().await;
    broker.ensure_topic(topic, partitions).unwrap();
    let s = TcpStream::connect(broker.local_addr()).await.unwrap();
    (broker, dir, s)
}

/// A broker on 127.0.0.1:0 over a temporary directory; `configure` adjusts the config first.
pub async fn start_with(
    configure: impl FnOnce(&mut broker::BrokerConfig),
) -> (broker::RunningBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.socket_request_max_bytes = 1 << 20;
    // Groups complete their first rebalance at once instead of after 3 s.
    config.groups.initial_rebalance_delay = Duration::ZERO;
    configure(&mut config);
    (broker::start(config).await.unwrap(), dir)
}

pub fn frame<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &R) -> Bytes {
    let mut encoded = BytesMut::new();
    body.encode(&mut encoded, version).unwrap();
    raw_frame(key, version, correlation_id, &encoded)
}

/// A request frame around a body encoded by hand (for versions the crate does not encode).
pub fn raw_frame(key: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Bytes {
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str("protocol-test"));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, key.request_header_version(version)).unwrap();
    buf.put_slice(body);
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

/// Reads one response frame and checks its correlation id; returns the body.
pub async fn response(stream: &mut TcpStream, key: ApiKey, version: i16, correlation_id: i32) -> Bytes {
    let size = stream.read_i32().await.expect("a response");
    let mut buf = vec![0; size as usize];
    stream.read_exact(&mut buf).await.unwrap();
    let mut buf = Bytes::from(buf);
    let header = ResponseHeader::decode(&mut buf, key.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, correlation_id);
    buf
}

pub async fn call<Req: Encodable, Resp: Decodable>(
    stream: &mut TcpStream,
    key: ApiKey,
    version: i16,
    req: &Req,
) -> Resp {
    stream.write_all(&frame(key, version, 7, req)).await.unwrap();
    let mut body = response(stream, key, version, 7).await;
    let decoded = Resp::decode(&mut body, version).unwrap_or_else(|e| panic!("{key:?} v{version}: {e}"));
    assert!(
        !body.has_remaining(),
        "{key:?} v{version}: trailing bytes in the response"
    );
    decoded
}

pub fn join_request(group: &str, member_id: &str) -> JoinGroupRequest {
    let mut r = JoinGroupRequest::default();
    r.group_id = GroupId(StrBytes::from_string(group.to_string()));
    r.member_id = StrBytes::from_string(member_id.to_string());
    r.session_timeout_ms = 10_000;
    r.rebalance_timeout_ms = 10_000;
    r.protocol_type = StrBytes::from_static_str("consumer");
    let mut p = join_group_request::JoinGroupRequestProtocol::default();
    p.name = StrBytes::from_static_str("range");
    p.metadata = Bytes::from_static(b"subscription");
    r.protocols = vec![p];
    r
}

/// Joins `group` alone (JoinGroup v3: no member-id handshake); returns (member id, generation).
pub async fn joined(s: &mut TcpStream, group: &str) -> (String, i32) {
    let resp: JoinGroupResponse = call(s, ApiKey::JoinGroup, 3, &join_request(group, "")).await;
    assert_eq!(resp.error_code, 0);
    (resp.member_id.to_string(), resp.generation_id)
}

/// Joins and syncs `group` alone, assigning it "assignment".
pub async fn stable(s: &mut TcpStream, group: &str) -> (String, i32) {
    let (member_id, generation) = joined(s, group).await;
    let mut r = SyncGroupRequest::default();
    r.group_id = GroupId(StrBytes::from_string(group.to_string()));
    r.generation_id = generation;
    r.member_id = StrBytes::from_string(member_id.clone());
    let mut a = sync_group_request::SyncGroupRequestAssignment::default();
    a.member_id = StrBytes::from_string(member_id.clone());
    a.assignment = Bytes::from_static(b"assignment");
    r.assignments = vec![a];
    let resp: SyncGroupResponse = call(s, ApiKey::SyncGroup, 3, &r).await;
    assert_eq!(resp.error_code, 0);
    (member_id, generation)
}

/// A commit without a member (manual assignment) of `offset` for `meta` partition 0.
pub fn commit_request(group: &str, offset: i64) -> OffsetCommitRequest {
    let mut r = OffsetCommitRequest::default();
    r.group_id = GroupId(StrBytes::from_string(group.to_string()));
    r.generation_id_or_member_epoch = -1;
    let mut t = offset_commit_request::OffsetCommitRequestTopic::default();
    t.name = topic_name("meta");
    let mut p = offset_commit_request::OffsetCommitRequestPartition::default();
    p.committed_offset = offset;
    t.partitions = vec![p];
    r.topics = vec![t];
    r
}

pub fn topic_name(s: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(s))
}

/// Sends `bytes` on a fresh connection and expects the broker to close it without answering.
pub async fn expect_closed(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let _ = s.shutdown().await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(
        matches!(n, Ok(0) | Err(_)),
        "expected close, got {n:?} for {:?}",
        &bytes[..bytes.len().min(16)]
    );
}

// Hand-built v2 batches and the Produce and ListOffsets calls that go with them.

fn put_varint(b: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        b.push((z as u8) | 0x80);
        z >>= 7;
    }
    b.push(z as u8);
}

/// An uncompressed v2 batch of `values` as a producer sends it (base offset 0), without keys.
pub fn batch(producer: Option<(i64, i16, i32)>, values: &[&[u8]]) -> Vec<u8> {
    let keyless: Vec<(Option<&[u8]>, &[u8])> = values.iter().map(|v| (None, *v)).collect();
    keyed_batch(producer, &keyless)
}

/// An uncompressed v2 batch of (key, value) records (a `None` key is a null key).
pub fn keyed_batch(producer: Option<(i64, i16, i32)>, records_in: &[(Option<&[u8]>, &[u8])]) -> Vec<u8> {
    let mut records = Vec::new();
    let values: Vec<&[u8]> = records_in.iter().map(|(_, v)| *v).collect();
    for (i, (key, v)) in records_in.iter().enumerate() {
        let mut r = vec![0u8]; // attributes
        put_varint(&mut r, 0); // timestamp delta
        put_varint(&mut r, i as i64); // offset delta
        match key {
            Some(k) => {
                put_varint(&mut r, k.len() as i64);
                r.extend_from_slice(k);
            }
            None => put_varint(&mut r, -1),
        }
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
    // Now: records days old would roll the segment and fall to retention at once, as in Kafka.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    b.put_i64(now);
    b.put_i64(now);
    b.put_i64(id);
    b.put_i16(epoch);
    b.put_i32(sequence);
    b.put_i32(values.len() as i32);
    b.extend_from_slice(&records);
    seal(&mut b);
    b
}

/// Sets the batch length and the CRC-32C (attributes to the end) for the bytes as they are.
pub fn seal(b: &mut [u8]) {
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Sets the header's record count and last offset delta, then reseals.
pub fn claim_records(b: &mut [u8], count: i32) {
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    seal(b);
}

/// (error code, base offset) of a Produce of `records` to partition 0 of `topic`.
pub async fn produce(s: &mut TcpStream, version: i16, topic: &str, acks: i16, records: Vec<u8>) -> (i16, i64) {
    produce_to(s, version, topic, 0, acks, records).await
}

/// (error code, base offset) of a Produce of `records` to `partition` of `topic`.
pub async fn produce_to(
    s: &mut TcpStream,
    version: i16,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Vec<u8>,
) -> (i16, i64) {
    let mut p = produce_request::PartitionProduceData::default();
    p.index = partition;
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

/// The log end offset of partition 0 of `topic` (ListOffsets latest).
pub async fn log_end(s: &mut TcpStream, topic: &str) -> i64 {
    list_offset(s, topic, -1).await
}

/// ListOffsets v7 for partition 0 of `topic`: -1 latest, -2 earliest, or a timestamp.
pub async fn list_offset(s: &mut TcpStream, topic: &str, timestamp: i64) -> i64 {
    let mut p = list_offsets_request::ListOffsetsPartition::default();
    p.timestamp = timestamp;
    let mut t = list_offsets_request::ListOffsetsTopic::default();
    t.name = topic_name_owned(topic);
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.topics = vec![t];
    let resp: ListOffsetsResponse = call(s, ApiKey::ListOffsets, 7, &r).await;
    resp.topics[0].partitions[0].offset
}

pub fn topic_name_owned(topic: &str) -> TopicName {
    TopicName(kafka_protocol::protocol::StrBytes::from_string(topic.to_string()))
}
