//! librdkafka (through rdkafka) against the bundled broker, started in-process on an ephemeral port.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

struct TestBroker {
    running: broker::RunningBroker,
    _dir: tempfile::TempDir,
}

async fn start_broker() -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    let config = broker::BrokerConfig::ephemeral(dir.path());
    let running = broker::start(config).await.expect("broker starts");
    TestBroker { running, _dir: dir }
}

impl TestBroker {
    fn bootstrap(&self) -> String {
        self.running.bootstrap()
    }

    fn producer(&self, extra: &[(&str, &str)]) -> FutureProducer {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.bootstrap()).set("linger.ms", "5");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        c.create().expect("producer")
    }

    fn consumer(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("group.id", "unused-assign-only")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "100")
            .create()
            .expect("consumer")
    }

    fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("admin")
    }

    async fn create_topic(&self, name: &str, partitions: i32) {
        let result = self
            .admin()
            .create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            )
            .await
            .expect("create_topics request");
        assert!(result[0].is_ok(), "{result:?}");
    }
}

/// A consumed record: partition, offset, key, value.
type Received = (i32, i64, Vec<u8>, Vec<u8>);

/// Key and value pairs of each partition, in log order.
type ByPartition = HashMap<i32, Vec<(Vec<u8>, Vec<u8>)>>;

/// Reads `count` messages from `topic` partitions, each assigned from the beginning.
fn consume(consumer: &BaseConsumer, topic: &str, partitions: i32, count: usize) -> Vec<Received> {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count && std::time::Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("fetch without error");
            out.push((
                m.partition(),
                m.offset(),
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acks_level_and_compression_round_trips_in_order() {
    let b = start_broker().await;
    for (acks, codec) in [
        ("0", "none"),
        ("1", "gzip"),
        ("all", "snappy"),
        ("1", "lz4"),
        ("all", "zstd"),
        ("all", "none"),
    ] {
        let topic = format!("t-acks{acks}-{codec}");
        b.create_topic(&topic, 3).await;
        let producer = b.producer(&[("acks", acks), ("compression.codec", codec)]);
        let mut sent = Vec::new();
        for i in 0..300 {
            let key = format!("host-{}", i % 7);
            let value = format!("cpu,host={key} usage_idle={i}");
            let record = FutureRecord::to(&topic).key(&key).payload(&value);
            let delivery = producer.send(record, Duration::from_secs(10)).await.expect("delivered");
            sent.push((
                delivery.partition,
                delivery.offset,
                key.into_bytes(),
                value.into_bytes(),
            ));
        }
        let mut got = consume(&b.consumer(), &topic, 3, sent.len());
        assert_eq!(got.len(), sent.len(), "acks={acks} codec={codec}");
        // acks=0 reports no offsets; compare content and per-partition order instead.
        let by_partition = |v: &[Received]| {
            let mut m = ByPartition::new();
            for (p, _, k, v) in v {
                m.entry(*p).or_default().push((k.clone(), v.clone()));
            }
            m
        };
        got.sort_by_key(|(p, o, _, _)| (*p, *o));
        assert_eq!(by_partition(&got), by_partition(&sent), "acks={acks} codec={codec}");
        if acks != "0" {
            let mut offsets: Vec<_> = sent.iter().map(|(p, o, _, _)| (*p, *o)).collect();
            offsets.sort();
            let consumed: Vec<_> = got.iter().map(|(p, o, _, _)| (*p, *o)).collect();
            assert_eq!(
                consumed, offsets,
                "offsets reported at produce time are where records are"
            );
        }
    }
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_keys_and_null_values_survive() {
    let b = start_broker().await;
    b.create_topic("h", 1).await;
    let producer = b.producer(&[]);
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "sluice-seq",
            value: Some("42"),
        })
        .insert(Header {
            key: "sluice-seq",
            value: Some("43"),
        });
    let record: FutureRecord<str, str> = FutureRecord::to("h").key("k").headers(headers);
    producer.send(record, Duration::from_secs(10)).await.unwrap();
    let consumer = b.consumer();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("h", 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let m = loop {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            break m.unwrap().detach();
        }
    };
    assert_eq!(m.key(), Some(&b"k"[..]));
    assert_eq!(m.payload(), None);
    let h = m.headers().unwrap();
    assert_eq!(h.count(), 2, "duplicate header keys are kept as sent");
    assert_eq!(h.get(1).value, Some(&b"43"[..]));
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_fetch_returns_as_soon_as_data_arrives() {
    let b = start_broker().await;
    b.create_topic("wait", 1).await;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", b.bootstrap())
        .set("group.id", "unused")
        .set("fetch.wait.max.ms", "5000")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("wait", 0, Offset::End).unwrap();
    consumer.assign(&tpl).unwrap();
    // Let the consumer reach the end and park its fetch on the broker.
    for _ in 0..10 {
        assert!(consumer.poll(Duration::from_millis(100)).is_none());
    }
    let producer = b.producer(&[("linger.ms", "0")]);
    let sent_at = std::time::Instant::now();
    producer
        .send(FutureRecord::to("wait").key("k").payload("v"), Duration::from_secs(5))
        .await
        .unwrap();
    let m = loop {
        if let Some(m) = consumer.poll(Duration::from_millis(10)) {
            break m.unwrap().detach();
        }
        assert!(
            sent_at.elapsed() < Duration::from_secs(4),
            "fetch did not wake on append"
        );
    };
    assert_eq!(m.payload(), Some(&b"v"[..]));
    // With max wait 5 s, only a fetch woken by the append can deliver this well before then.
    assert!(
        sent_at.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        sent_at.elapsed()
    );
    // Close the group member while its coordinator is still there; after the broker stops, a
    // closing consumer waits out its session timeout looking for it.
    drop(consumer);
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_for_times_finds_the_first_record_at_or_after_a_timestamp() {
    let b = start_broker().await;
    b.create_topic("times", 1).await;
    let producer = b.producer(&[("linger.ms", "0")]);
    for ts in [1_000i64, 2_000, 3_000, 4_000] {
        let r = FutureRecord::to("times").key("k").payload("v").timestamp(ts);
        producer.send(r, Duration::from_secs(5)).await.unwrap();
    }
    let consumer = b.consumer();
    for (ts, want) in [
        (0, Offset::Offset(0)),
        (2_000, Offset::Offset(1)),
        (2_500, Offset::Offset(2)),
        (4_000, Offset::Offset(3)),
        (9_000, Offset::End),
    ] {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("times", 0, Offset::Offset(ts)).unwrap();
        let found = consumer.offsets_for_times(tpl, Duration::from_secs(5)).unwrap();
        let got = found.find_partition("times", 0).unwrap().offset();
        assert_eq!(got, want, "timestamp {ts}");
    }
    let (low, high) = consumer.fetch_watermarks("times", 0, Duration::from_secs(5)).unwrap();
    assert_eq!((low, high), (0, 4));
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_admin_creates_grows_describes_and_deletes() {
    let b = start_broker().await;
    let admin = b.admin();
    let opts = AdminOptions::new();
    let topic = NewTopic::new("adm", 2, TopicReplication::Fixed(1)).set("retention.ms", "60000");
    assert!(admin.create_topics(&[topic], &opts).await.unwrap()[0].is_ok());
    let again = admin
        .create_topics(&[NewTopic::new("adm", 2, TopicReplication::Fixed(1))], &opts)
        .await
        .unwrap();
    assert!(
        matches!(
            &again[0],
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists))
        ),
        "{again:?}"
    );
    let bad = admin
        .create_topics(&[NewTopic::new("rf3", 1, TopicReplication::Fixed(3))], &opts)
        .await
        .unwrap();
    assert!(
        matches!(
            &bad[0],
            Err((_, rdkafka::types::RDKafkaErrorCode::InvalidReplicationFactor))
        ),
        "{bad:?}"
    );

    assert!(admin
        .create_partitions(&[NewPartitions::new("adm", 5)], &opts)
        .await
        .unwrap()[0]
        .is_ok());
    let metadata = b
        .consumer()
        .fetch_metadata(Some("adm"), Duration::from_secs(5))
        .unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 5);
    let shrink = admin
        .create_partitions(&[NewPartitions::new("adm", 3)], &opts)
        .await
        .unwrap();
    assert!(shrink[0].is_err());

    let configs = admin
        .describe_configs(&[ResourceSpecifier::Topic("adm")], &opts)
        .await
        .unwrap();
    let resource = configs[0].as_ref().unwrap();
    let retention = resource.get("retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("60000"));
    assert!(!retention.is_default);
    let broker_configs = admin
        .describe_configs(&[ResourceSpecifier::Broker(0)], &opts)
        .await
        .unwrap();
    assert!(broker_configs[0].as_ref().unwrap().get("log.segment.bytes").is_some());

    assert!(admin.delete_topics(&["adm"], &opts).await.unwrap()[0].is_ok());
    let gone = admin.delete_topics(&["adm"], &opts).await.unwrap();
    assert!(gone[0].is_err());
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_topics_with_num_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.num_partitions = 3;
    let b = TestBroker {
        running: broker::start(config).await.expect("broker starts"),
        _dir: dir,
    };
    let producer = b.producer(&[]);
    producer
        .send(
            FutureRecord::to("auto-made").key("k").payload("v"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let metadata = b
        .consumer()
        .fetch_metadata(Some("auto-made"), Duration::from_secs(5))
        .unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 3);
    assert_eq!(metadata.brokers()[0].port() as u16, b.running.local_addr().port());
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_producer_stores_each_record_once() {
    let b = start_broker().await;
    b.create_topic("idem", 2).await;
    let producer = b.producer(&[("enable.idempotence", "true"), ("acks", "all")]);
    let sends = (0..500).map(|i| {
        let value = i.to_string();
        let producer = producer.clone();
        async move {
            let key = (i % 2).to_string();
            producer
                .send(
                    FutureRecord::to("idem").key(&key).payload(&value),
                    Duration::from_secs(10),
                )
                .await
        }
    });
    for result in futures_join(sends).await {
        result.expect("delivered");
    }
    let got = consume(&b.consumer(), "idem", 2, 500);
    assert_eq!(got.len(), 500);
    let mut values: Vec<u32> = got
        .iter()
        .map(|(_, _, _, v)| std::str::from_utf8(v).unwrap().parse().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, (0..500).collect::<Vec<_>>());
    b.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_above_message_max_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.log.message_max_bytes = 10_000;
    let running = broker::start(config).await.unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", running.bootstrap())
        .set("message.max.bytes", "100000")
        .create()
        .unwrap();
    let big = vec![b'x'; 50_000];
    let result = producer
        .send(FutureRecord::to("big").key("k").payload(&big), Duration::from_secs(10))
        .await;
    let err = result.expect_err("too large").0;
    assert!(
        err.to_string().contains("too large") || err.to_string().contains("MessageSizeTooLarge"),
        "{err}"
    );
    running.shutdown().await;
}

/// Awaits futures concurrently without pulling in a futures crate.
async fn futures_join<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
