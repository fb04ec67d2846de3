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
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str("protocol-test"));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, key.request_header_version(version)).unwrap();
    body.encode(&mut buf, version).unwrap();
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
