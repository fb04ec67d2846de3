//! The lag exporter says when a group will lose records and counts those it lost, on the
//! bundled broker and on Apache Kafka alike: `kafka_consumergroup_retention_margin_seconds` from
//! the topic's `retention.ms` and the oldest unconsumed record's timestamp, and
//! `kafka_consumergroup_records_lost_total` as DeleteRecords moves the log start past the
//! group's committed offset.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lag_exporter::view::TopicLag;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use support::kafka::Kafka;
use support::scrape;

const TOPIC: &str = "lossy";
const GROUP: &str = "lossy-readers";
/// One hour, in ms.
const RETENTION_MS: i64 = 3_600_000;

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

async fn delete_records_before(admin: &AdminClient<DefaultClientContext>, offset: i64) {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Offset(offset)).unwrap();
    let done = admin.delete_records(&tpl, &AdminOptions::new()).await.unwrap();
    let e = done.elements_for_topic(TOPIC)[0].error();
    assert!(e.is_ok(), "DeleteRecords before {offset}: {e:?}");
}

fn commit(bootstrap: &str, offset: i64) {
    let consumer: BaseConsumer = client(bootstrap)
        .set("group.id", GROUP)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Offset(offset)).unwrap();
    // A fresh Kafka answers NOT_COORDINATOR until __consumer_offsets is ready.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
        assert!(Instant::now() < deadline, "commit of {offset}: {e}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The exporter's figures for the group on the topic once `ready` holds, within 30 s.
async fn until(
    exporter: &mut lag_exporter::RunningExporter,
    what: &str,
    ready: impl Fn(&TopicLag) -> bool,
) -> TopicLag {
    let deadline = Instant::now() + Duration::from_secs(30);
    let view = exporter.view();
    loop {
        let latest: Arc<lag_exporter::View> = view.borrow().clone();
        let found = latest
            .groups
            .iter()
            .filter(|g| g.group == GROUP)
            .flat_map(|g| g.topics.iter())
            .find(|t| t.topic == TOPIC);
        if let Some(t) = found.filter(|t| ready(t)) {
            return t.clone();
        }
        assert!(
            Instant::now() < deadline,
            "not within 30 s: {what}; last seen {found:?}"
        );
        exporter.next_collection().await;
    }
}

async fn margin_and_losses(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> = client(bootstrap).create().unwrap();
    let retention = RETENTION_MS.to_string();
    let topic = NewTopic::new(TOPIC, 1, TopicReplication::Fixed(1)).set("retention.ms", &retention);
    let created = admin.create_topics([&topic], &AdminOptions::new()).await.unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let producer: FutureProducer = client(bootstrap).set("linger.ms", "5").create().unwrap();
    let produced_at = Instant::now();
    for i in 0..100 {
        let value = i.to_string();
        producer
            .send(
                FutureRecord::<(), _>::to(TOPIC).partition(0).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    commit(bootstrap, 10);

    let mut exporter = lag_exporter::start(lag_exporter::Config {
        brokers: vec![bootstrap.to_string()],
        interval: Duration::from_millis(500),
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    // Nothing lost yet; the oldest unconsumed record (offset 10, written a moment ago) has
    // almost the whole hour left.
    let t = until(&mut exporter, "the group's figures", |t| t.records_lost == Some(0)).await;
    assert_eq!(t.records_lag_max, Some(90));
    let margin = t.retention_margin_seconds.expect("a margin for a finite retention.ms");
    let age = produced_at.elapsed().as_secs_f64();
    assert!(
        margin <= 3600.0 && margin >= 3600.0 - age - 2.0,
        "margin {margin} s, records written {age:.1} s ago"
    );
    let lag_seconds = t.lag_seconds.unwrap();
    assert!((margin + lag_seconds - 3600.0).abs() < 0.01, "{margin} + {lag_seconds}");

    // The log start moves past the committed offset: offsets 10..40 are lost to the group.
    delete_records_before(&admin, 40).await;
    until(&mut exporter, "30 records lost", |t| t.records_lost == Some(30)).await;
    // The group moves on to 60, and the log start to 70: 10 more, the first 30 not again.
    commit(bootstrap, 60);
    delete_records_before(&admin, 70).await;
    let t = until(&mut exporter, "40 records lost", |t| t.records_lost == Some(40)).await;
    // Lag still counts from the committed offset, as kafka-consumer-groups counts it.
    assert_eq!(t.records_lag_max, Some(40));

    let metrics = scrape(exporter.local_addr().port());
    assert!(
        metrics.contains("# TYPE kafka_consumergroup_records_lost_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "kafka_consumergroup_records_lost_total{{group=\"{GROUP}\",topic=\"{TOPIC}\"}} 40\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "kafka_consumergroup_retention_margin_seconds{{group=\"{GROUP}\",topic=\"{TOPIC}\"}}"
        )),
        "{metrics}"
    );
    exporter.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_bundled_broker_the_exporter_gives_the_retention_margin_and_counts_lost_records() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker::start(broker::BrokerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    margin_and_losses(&broker.bootstrap()).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_apache_kafka_the_exporter_gives_the_retention_margin_and_counts_lost_records() {
    let kafka = Kafka::start(1, &[]);
    margin_and_losses(&kafka.bootstrap).await;
}
