//! The broker's HTTP endpoint with a real client: librdkafka produces and consumes in a group,
//! and `/metrics` shows exactly that much; `/health` answers while the broker accepts.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::samples;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path`; (status code, body). The endpoint sends whole bodies with a content-length.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the HTTP endpoint accepts");
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_string())
}

/// Every sample of a scrape, `name{labels}` → value.
async fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    samples(&body)
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("{series} missing from {samples:#?}"))
}

/// Scrapes until `series` has `want` (group states are refreshed every few seconds).
async fn wait_for(addr: SocketAddr, series: &str, want: f64) {
    let mut got = None;
    let seen = support::poll::until_async(Duration::from_secs(20), Duration::from_millis(200), async || {
        got = scrape(addr).await.get(series).copied();
        got == Some(want)
    })
    .await;
    assert!(seen, "{series} is {got:?}, never {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_a_real_client_produced_and_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.groups.initial_rebalance_delay = Duration::ZERO;
    let broker = broker::start(config).await.unwrap();
    let http = broker.http_addr().expect("ephemeral brokers serve HTTP on a free port");
    assert_ne!(http.port(), 0);
    assert_eq!(get(http, "/health").await, (200, "ok\n".to_string()));
    broker.ensure_topic("metered", 2).unwrap();

    let before = scrape(http).await;
    assert_eq!(value(&before, "sluice_broker_partitions{topic=\"metered\"}"), 2.0);
    assert_eq!(
        value(&before, "sluice_broker_produced_records_total{topic=\"metered\"}"),
        0.0
    );
    assert_eq!(value(&before, "sluice_broker_consumer_groups{state=\"Stable\"}"), 0.0);

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    for i in 0..10 {
        let payload = format!("cpu,host=h{i} usage_idle=9{i}");
        producer
            .send(
                FutureRecord::to("metered").partition(i % 2).key("k").payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }

    let bootstrap = broker.bootstrap();
    let consumer = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "metered-readers")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "100")
            .create()
            .unwrap();
        consumer.subscribe(&["metered"]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut received = 0;
        while received < 10 {
            assert!(Instant::now() < deadline, "received {received} of 10");
            if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                m.expect("a message");
                received += 1;
            }
        }
        consumer
    })
    .await
    .unwrap();

    let after = scrape(http).await;
    let v = |s: &str| value(&after, s);
    assert_eq!(v("sluice_broker_produced_records_total{topic=\"metered\"}"), 10.0);
    assert_eq!(v("sluice_broker_fetched_records_total{topic=\"metered\"}"), 10.0);
    let produced_bytes = v("sluice_broker_produced_bytes_total{topic=\"metered\"}");
    assert!(produced_bytes > 10.0 * 61.0, "{produced_bytes}");
    // Batches are served as they were stored, each once.
    assert_eq!(
        v("sluice_broker_fetched_bytes_total{topic=\"metered\"}"),
        produced_bytes
    );
    let end = |p: i32| {
        v(&format!(
            "sluice_broker_log_end_offset{{partition=\"{p}\",topic=\"metered\"}}"
        ))
    };
    assert_eq!((end(0), end(1)), (5.0, 5.0));
    assert_eq!(
        v("sluice_broker_log_start_offset{partition=\"0\",topic=\"metered\"}"),
        0.0
    );
    assert!(v("sluice_broker_log_size_bytes{partition=\"0\",topic=\"metered\"}") >= produced_bytes / 2.0);
    let requests = |api: &str| v(&format!("sluice_broker_requests_total{{api=\"{api}\"}}"));
    assert!(requests("Produce") >= 10.0, "{}", requests("Produce"));
    for api in [
        "ApiVersions",
        "Metadata",
        "Fetch",
        "FindCoordinator",
        "JoinGroup",
        "SyncGroup",
    ] {
        assert!(requests(api) >= 1.0, "no {api} request counted");
    }
    assert!(v("sluice_broker_connections") >= 2.0);
    assert!(v("sluice_broker_connections_accepted_total") >= v("sluice_broker_connections"));
    assert_eq!(v("sluice_broker_bad_requests_total{reason=\"frame\"}"), 0.0);
    wait_for(http, "sluice_broker_consumer_groups{state=\"Stable\"}", 1.0).await;

    // A frame below the minimum size closes its connection and is counted.
    let mut bad = tokio::net::TcpStream::connect(broker.local_addr()).await.unwrap();
    bad.write_all(&3i32.to_be_bytes()).await.unwrap();
    let mut rest = Vec::new();
    let _ = bad.read_to_end(&mut rest).await;
    wait_for(http, "sluice_broker_bad_requests_total{reason=\"frame\"}", 1.0).await;

    drop(consumer);
    drop(producer);
    broker.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(http).await.is_err(),
        "the HTTP endpoint stops with the broker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_log_cleanings_are_counted() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.cleaner.backoff = Duration::from_millis(100);
    let broker = broker::start(config).await.unwrap();
    let http = broker.http_addr().unwrap();
    let before = scrape(http).await;
    for outcome in ["commit", "abort", "timeout", "fenced"] {
        let series = format!("sluice_broker_transactions_total{{outcome=\"{outcome}\"}}");
        assert_eq!(value(&before, &series), 0.0, "{series} is there from the start");
    }
    assert_eq!(value(&before, "sluice_broker_log_cleaner_cleanings_total"), 0.0);
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let topic = rdkafka::admin::NewTopic::new("latest", 1, rdkafka::admin::TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact")
        .set("segment.ms", "100")
        .set("min.cleanable.dirty.ratio", "0.01");
    let created = admin
        .create_topics(&[topic], &rdkafka::admin::AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let bootstrap = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("transactional.id", "metered")
            .create()
            .unwrap();
        let wait = Duration::from_secs(30);
        p.init_transactions(wait).unwrap();
        for commit in [true, false] {
            p.begin_transaction().unwrap();
            for _ in 0..3 {
                p.send(BaseRecord::<str, str>::to("latest").key("k").payload("v"))
                    .unwrap();
            }
            p.flush(wait).unwrap();
            match commit {
                true => p.commit_transaction(wait).unwrap(),
                false => p.abort_transaction(wait).unwrap(),
            }
            // Past segment.ms, so the next batch rolls the segment and the cleaner may clean.
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    wait_for(http, "sluice_broker_transactions_total{outcome=\"commit\"}", 1.0).await;
    wait_for(http, "sluice_broker_transactions_total{outcome=\"abort\"}", 1.0).await;
    let cleaned = support::poll::until_async(Duration::from_secs(20), Duration::from_millis(200), async || {
        scrape(http)
            .await
            .get("sluice_broker_log_cleaner_cleanings_total")
            .copied()
            >= Some(1.0)
    })
    .await;
    assert!(cleaned, "the compacted topic was cleaned");
    let after = scrape(http).await;
    assert!(
        value(&after, "sluice_broker_log_cleaner_records_removed_total") >= 2.0,
        "{after:#?}"
    );
    assert!(value(&after, "sluice_broker_log_cleaner_bytes_total{stage=\"read\"}") > 0.0);
    broker.shutdown().await;
}

#[tokio::test]
async fn an_empty_http_address_serves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.http_listen = None;
    let broker = broker::start(config).await.unwrap();
    assert_eq!(broker.http_addr(), None);
    broker.shutdown().await;
}

#[tokio::test]
async fn an_http_address_in_use_fails_start_up_naming_the_setting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = broker::BrokerConfig::ephemeral(dir.path());
    config.http_listen = Some(taken.local_addr().unwrap());
    let err = broker::start(config)
        .await
        .err()
        .expect("the port is taken")
        .to_string();
    assert!(err.contains("sluice.http.listen"), "{err}");
}
