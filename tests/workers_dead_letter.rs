//! Poison records (garbage bytes, a line that does not parse) → the dead-letter topic.

mod support;
mod workers_support;

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::eventually;
use workers_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_go_to_the_dead_letter_topic_with_reasons() {
    let (b, dir) = broker().await;
    let path = dir.path().join("metrics.lp");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", b.bootstrap())
        .create()
        .unwrap();
    let good = "cpu,host=h usage_idle=97.5 1700000000000000000";
    let records: [&[u8]; 3] = [
        &[0xff, 0x00, 0xfe, 0x80],
        b"cpu this is not line protocol",
        good.as_bytes(),
    ];
    for value in records {
        producer
            .send(
                FutureRecord::<(), [u8]>::to("metrics").payload(value).partition(0),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let config = worker_config(
        &b.bootstrap(),
        &format!(
            "[[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n",
            path.display()
        ),
    );
    let worker = workers::start(config).await.unwrap();
    assert!(eventually(Duration::from_secs(30), || lines_of(&path) == [good]).await);

    let bootstrap = b.bootstrap();
    let dead = tokio::task::spawn_blocking(move || {
        read_topic(&bootstrap, "metrics-dead-letter", 1, 2, Duration::from_secs(20))
    })
    .await
    .unwrap();
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].value, records[0], "the original bytes");
    assert!(
        dead[0].headers["sluice-dlq-reason"].contains("not UTF-8"),
        "{:?}",
        dead[0].headers
    );
    assert!(
        dead[1].headers["sluice-dlq-reason"].contains("line protocol"),
        "{:?}",
        dead[1].headers
    );
    for (i, d) in dead.iter().enumerate() {
        assert_eq!(d.headers["sluice-dlq-sink"], "archive");
        assert_eq!(d.headers["sluice-dlq-topic"], "metrics");
        assert_eq!(d.headers["sluice-dlq-partition"], "0");
        assert_eq!(d.headers["sluice-dlq-offset"], i.to_string());
    }
    assert_eq!(
        worker
            .metrics()
            .dead_letter
            .with_label_values(&["archive", "decode"])
            .get(),
        2
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}
