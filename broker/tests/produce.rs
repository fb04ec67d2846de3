//! Produce over raw sockets with hand-built v2 batches: every advertised version appends, an
//! idempotent producer's retry is answered with its first offset and stored once, a sequence gap
//! gets Kafka's error, and batches that break Kafka's rules are refused without moving the log.

mod common;

use common::*;
use kafka_protocol::messages::*;
use tokio::net::TcpStream;

const NONE: i16 = 0;
const CORRUPT_MESSAGE: i16 = 2;
const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_RECORD: i16 = 87;

/// `batch` with its records gzipped (attributes codec 1), resealed.
fn gzipped(batch: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&batch[61..]).unwrap();
    let mut b = batch[..61].to_vec();
    b[21..23].copy_from_slice(&1i16.to_be_bytes());
    b.extend_from_slice(&e.finish().unwrap());
    seal(&mut b);
    b
}

#[tokio::test]
async fn every_advertised_produce_version_appends_at_the_log_end() {
    let (broker, _dir, mut s) = start_with_topic("versions", 1).await;
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
    let (broker, _dir, mut s) = start_with_topic("idem", 1).await;
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
    let (broker, _dir, mut s) = start_with_topic("rules", 1).await;
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
    // The same for a gzip batch: its records are counted through the decompressor.
    for claim in [1, 3, i32::MAX] {
        let mut lying = gzipped(&good);
        claim_records(&mut lying, claim);
        assert_eq!(
            produce(&mut s, 9, "rules", 1, lying).await.0,
            INVALID_RECORD,
            "gzip claims {claim}"
        );
    }

    assert_eq!(log_end(&mut s, "rules").await, 0);
    assert_eq!(produce(&mut s, 9, "rules", -1, good.clone()).await, (NONE, 0));
    assert_eq!(produce(&mut s, 9, "rules", -1, gzipped(&good)).await, (NONE, 2));
    assert_eq!(log_end(&mut s, "rules").await, 4);
    broker.shutdown().await;
}

/// An acks=all Produce of `records` to partition 0 of `topic`.
fn acks_all(topic: &str, records: Vec<u8>) -> ProduceRequest {
    let mut request = ProduceRequest::default();
    request.acks = -1;
    request.timeout_ms = 5_000;
    let mut t = produce_request::TopicProduceData::default();
    t.name = topic_name_owned(topic);
    let mut p = produce_request::PartitionProduceData::default();
    p.records = Some(bytes::Bytes::from(records));
    t.partition_data = vec![p];
    request.topic_data = vec![t];
    request
}

/// `sluice_broker_log_fsyncs_total{topic}` from the broker's /metrics.
async fn fsyncs(broker: &broker::RunningBroker, topic: &str) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut http = TcpStream::connect(broker.http_addr().unwrap()).await.unwrap();
    http.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    http.read_to_string(&mut body).await.unwrap();
    let series = format!("sluice_broker_log_fsyncs_total{{topic=\"{topic}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map_or(0, |v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_all_is_answered_after_an_fsync_that_concurrent_producers_share() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("quick", 1).unwrap();
    broker.ensure_topic("durable", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    assert_eq!(produce(&mut s, 9, "quick", 1, batch(None, &[b"a"])).await, (NONE, 0));
    assert_eq!(fsyncs(&broker, "quick").await, 0, "acks=1 does not wait for the disk");
    assert_eq!(produce(&mut s, 9, "durable", -1, batch(None, &[b"a"])).await, (NONE, 0));
    assert_eq!(
        fsyncs(&broker, "durable").await,
        1,
        "acks=all was answered after one fsync"
    );

    // Sixteen producers' acks=all requests, all sent before any answer is read.
    let mut producers = Vec::new();
    for _ in 0..16 {
        producers.push(TcpStream::connect(broker.local_addr()).await.unwrap());
    }
    let request = acks_all("durable", batch(None, &[b"b"]));
    for conn in &mut producers {
        tokio::io::AsyncWriteExt::write_all(conn, &frame(ApiKey::Produce, 9, 7, &request))
            .await
            .unwrap();
    }
    let mut offsets = Vec::new();
    for conn in &mut producers {
        let mut body = response(conn, ApiKey::Produce, 9, 7).await;
        let resp = <ProduceResponse as kafka_protocol::protocol::Decodable>::decode(&mut body, 9).unwrap();
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, NONE);
        offsets.push(p.base_offset);
    }
    offsets.sort_unstable();
    assert_eq!(offsets, (1..=16).collect::<Vec<i64>>());
    let shared = fsyncs(&broker, "durable").await - 1;
    // Typically 2 (the first request's, then one for all that arrived during it); fewer than
    // 16 is what group commit promises.
    assert!((1..16).contains(&shared), "16 acks=all requests took {shared} fsyncs");
    eprintln!("16 concurrent acks=all requests were answered after {shared} fsyncs");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_producers_in_flight_acks_all_requests_share_fsyncs_and_are_answered_in_order() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("inflight", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    // Sixteen acks=all batches in flight on one connection, an ApiVersions after each: the
    // answers must come back in request order while the produces wait for the disk.
    let mut pipelined = bytes::BytesMut::new();
    for i in 0..16 {
        let request = acks_all("inflight", batch(None, &[b"x"]));
        pipelined.extend_from_slice(&frame(ApiKey::Produce, 9, 2 * i, &request));
        pipelined.extend_from_slice(&frame(
            ApiKey::ApiVersions,
            3,
            2 * i + 1,
            &ApiVersionsRequest::default(),
        ));
    }
    tokio::io::AsyncWriteExt::write_all(&mut s, &pipelined).await.unwrap();
    for i in 0..16 {
        let mut body = response(&mut s, ApiKey::Produce, 9, 2 * i).await;
        let resp = <ProduceResponse as kafka_protocol::protocol::Decodable>::decode(&mut body, 9).unwrap();
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (NONE, i64::from(i)));
        response(&mut s, ApiKey::ApiVersions, 3, 2 * i + 1).await;
    }
    let fsyncs = fsyncs(&broker, "inflight").await;
    // Handled one at a time they took 16; typically 2 now (the first batch's, then one for
    // the fifteen appended while it ran).
    assert!(
        (1..16).contains(&fsyncs),
        "16 in-flight acks=all requests took {fsyncs} fsyncs"
    );
    eprintln!("16 in-flight acks=all requests on one connection were answered after {fsyncs} fsyncs");
    broker.shutdown().await;
}

/// The stored bytes of partition 0 of `topic` from offset 0 (Fetch v12, up to 1 MiB).
async fn stored(s: &mut TcpStream, topic: &str) -> Vec<u8> {
    let mut p = fetch_request::FetchPartition::default();
    p.partition_max_bytes = 1 << 20;
    let mut t = fetch_request::FetchTopic::default();
    t.topic = topic_name_owned(topic);
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.max_bytes = 1 << 20;
    r.topics = vec![t];
    let resp: FetchResponse = call(s, ApiKey::Fetch, 12, &r).await;
    resp.responses[0].partitions[0].records.clone().unwrap().to_vec()
}

#[tokio::test]
async fn a_topic_with_a_compression_type_stores_every_batch_in_that_codec() {
    let (broker, _dir) = start_with(|c| c.log.compression = broker::config::compression_type("zstd").unwrap()).await;
    broker.ensure_topic("zstd", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let plain = batch(None, &[b"cpu usage_idle=97", b"mem used=1024i"]);
    assert_eq!(produce(&mut s, 9, "zstd", -1, plain.clone()).await, (NONE, 0));
    assert_eq!(produce(&mut s, 9, "zstd", -1, gzipped(&plain)).await, (NONE, 2));
    let log = stored(&mut s, "zstd").await;
    let mut at = 0;
    for base in [0i64, 2] {
        let len = 12 + i32::from_be_bytes(log[at + 8..at + 12].try_into().unwrap()) as usize;
        let b = &log[at..at + len];
        assert_eq!(i64::from_be_bytes(b[..8].try_into().unwrap()), base);
        assert_eq!(i16::from_be_bytes([b[21], b[22]]) & 7, 4, "zstd in attributes");
        assert_eq!(
            u32::from_be_bytes(b[17..21].try_into().unwrap()),
            crc32c::crc32c(&b[21..]),
            "resealed"
        );
        // Everything else of the header is the producer's; the records are the same bytes.
        assert_eq!(b[23..61], plain[23..61]);
        assert_eq!(zstd::decode_all(&b[61..]).unwrap(), plain[61..]);
        at += len;
    }
    assert_eq!(at, log.len());
}

/// `batch` with every record stamped `ts` (the records' deltas are 0), resealed.
fn stamped(mut b: Vec<u8>, ts: i64) -> Vec<u8> {
    b[27..35].copy_from_slice(&ts.to_be_bytes());
    b[35..43].copy_from_slice(&ts.to_be_bytes());
    seal(&mut b);
    b
}

#[tokio::test]
async fn create_time_records_too_far_from_the_brokers_clock_get_invalid_timestamp() {
    const INVALID_TIMESTAMP: i16 = 32;
    // Kafka 4's default allows an hour ahead and any time behind; behind is bounded here too.
    let (broker, _dir) = start_with(|c| c.log.timestamp_before_max_ms = 60_000).await;
    broker.ensure_topic("clock", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let two = batch(None, &[b"a", b"b"]);
    for (ts, compressed, expected) in [
        (now + 2 * 3_600_000, false, INVALID_TIMESTAMP),
        (now - 120_000, false, INVALID_TIMESTAMP),
        (now - 120_000, true, INVALID_TIMESTAMP),
        (now + 60_000, false, NONE),
        (now - 30_000, true, NONE),
        // No timestamps at all: nothing to check.
        (-1, false, NONE),
    ] {
        let b = stamped(two.clone(), ts);
        let b = if compressed { gzipped(&b) } else { b };
        let (code, _) = produce(&mut s, 9, "clock", -1, b).await;
        assert_eq!(code, expected, "timestamp {ts} (now {now}), compressed: {compressed}");
    }
    // Only the three accepted batches are in the log.
    assert_eq!(log_end(&mut s, "clock").await, 6);
}

#[tokio::test]
async fn a_compacted_topic_refuses_a_batch_with_a_record_without_a_key() {
    let (broker, _dir) = start().await;
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut config = create_topics_request::CreatableTopicConfig::default();
    config.name = kafka_protocol::protocol::StrBytes::from_static_str("cleanup.policy");
    config.value = Some(kafka_protocol::protocol::StrBytes::from_static_str("compact"));
    let mut t = create_topics_request::CreatableTopic::default();
    t.name = topic_name("compacted");
    (t.num_partitions, t.replication_factor) = (1, 1);
    t.configs = vec![config];
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    let created: CreateTopicsResponse = call(&mut s, ApiKey::CreateTopics, 5, &r).await;
    assert_eq!(created.topics[0].error_code, NONE, "{created:?}");
    let policy = created.topics[0]
        .configs
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.name.as_str() == "cleanup.policy");
    assert_eq!(policy.unwrap().value.as_deref(), Some("compact"));

    let keyed = keyed_batch(None, &[(Some(b"host-a"), b"cpu 1"), (Some(b"host-b"), b"cpu 2")]);
    assert_eq!(produce(&mut s, 9, "compacted", -1, keyed.clone()).await, (NONE, 0));
    // A record with a null key refuses its whole batch, compressed or not, and the answer names
    // each such record by its index in the batch (KIP-467), for the client to fail it alone.
    let mixed = keyed_batch(
        None,
        &[
            (Some(b"host-a"), b"cpu 3"),
            (None, b"cpu 4"),
            (Some(b"host-c"), b"cpu 5"),
            (None, b"cpu 6"),
        ],
    );
    for b in [mixed.clone(), gzipped(&mixed)] {
        let mut p = produce_request::PartitionProduceData::default();
        p.records = Some(bytes::Bytes::from(b));
        let mut t = produce_request::TopicProduceData::default();
        t.name = topic_name("compacted");
        t.partition_data = vec![p];
        let mut r = ProduceRequest::default();
        (r.acks, r.timeout_ms, r.topic_data) = (-1, 5_000, vec![t]);
        let resp: ProduceResponse = call(&mut s, ApiKey::Produce, 9, &r).await;
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, INVALID_RECORD);
        let named: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
        assert_eq!(named, [1, 3]);
    }
    assert_eq!(produce(&mut s, 9, "compacted", -1, gzipped(&keyed)).await, (NONE, 2));
    assert_eq!(
        log_end(&mut s, "compacted").await,
        4,
        "only the keyed batches are stored"
    );
}
