//! The postgres sink end to end against a real PostgreSQL: agent-style records → bundled
//! broker → worker → tables. Skipped, saying so, where PostgreSQL is not installed.

mod postgres_server;
mod support;
mod workers_support;

use std::time::{Duration, Instant};

use postgres_server::Postgres;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::eventually;
use workers_support::*;

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

/// Sends each value as one record with the agent's headers, in order, to partition 0.
async fn produce(producer: &FutureProducer, first_seq: u64, values: &[String]) {
    let mut sends = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let seq = (first_seq + i as u64).to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "sluice-agent",
                value: Some("test-host"),
            })
            .insert(Header {
                key: "sluice-seq",
                value: Some(&seq),
            });
        let record = FutureRecord::<(), str>::to("metrics")
            .payload(v)
            .partition(0)
            .headers(headers);
        sends.push(producer.send(record, Duration::from_secs(10)));
    }
    for sent in sends {
        sent.await.unwrap();
    }
}

fn postgres_sink(name: &str, pg: &Postgres, extra: &str) -> String {
    format!(
        "[[sinks]]\ntype = \"postgres\"\nname = \"{name}\"\nurl = \"{}\"\n{extra}\n",
        pg.url()
    )
}

/// Polls `sql` until it returns `want` or 20 s pass; returns the last answer.
async fn wait_for(pg: &Postgres, sql: &str, want: &str) -> String {
    let mut last = String::new();
    eventually(Duration::from_secs(20), || {
        last = pg.psql(sql).unwrap_or_else(|e| e);
        last == want
    })
    .await;
    last
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_land_with_their_tags_and_fields_and_new_keys_add_columns() {
    let pg = Postgres::start();
    let (b, _dir) = broker().await;
    let config = worker_config(
        &b.bootstrap(),
        &format!(
            "{}{}",
            postgres_sink("pg", &pg, "table_prefix = \"m_\""),
            postgres_sink("pgjson", &pg, "table_prefix = \"j_\"\ntags_as = \"jsonb\"")
        ),
    );
    let worker = workers::start(config).await.unwrap();
    let producer = producer(&b.bootstrap());
    produce(
        &producer,
        0,
        &lines(
            "cpu,cpu=cpu-total,host=h1 usage_idle=97.5,usage_user=1.25 1700000000000000000\n\
             cpu,cpu=cpu0,host=h1 usage_idle=95,usage_user=2.5 1700000000123456789\n\
             mem,host=h1 available=987654321i,total=18446744073709551615u,used_percent=12.5 1700000000000000000",
        ),
    )
    .await;
    let cpu = "SELECT time, cpu, host, usage_idle, usage_user FROM m_cpu ORDER BY time";
    assert_eq!(
        wait_for(
            &pg,
            cpu,
            "2023-11-14 22:13:20+00|cpu-total|h1|97.5|1.25\n2023-11-14 22:13:20.123456+00|cpu0|h1|95|2.5"
        )
        .await,
        "2023-11-14 22:13:20+00|cpu-total|h1|97.5|1.25\n2023-11-14 22:13:20.123456+00|cpu0|h1|95|2.5",
        "nanoseconds are truncated to PostgreSQL's microseconds"
    );
    assert_eq!(
        pg.query("SELECT * FROM m_mem"),
        "2023-11-14 22:13:20+00|h1|987654321|18446744073709551615|12.5"
    );
    assert_eq!(
        pg.query(
            "SELECT column_name, data_type, is_nullable, coalesce(col_description('m_mem'::regclass, ordinal_position), '') \
             FROM information_schema.columns WHERE table_name = 'm_mem' ORDER BY ordinal_position"
        ),
        "time|timestamp with time zone|NO|\nhost|text|YES|tag\navailable|bigint|YES|\n\
         total|numeric|YES|\nused_percent|double precision|YES|"
    );

    // New tag and field keys, and names that need quoting.
    produce(
        &producer,
        3,
        &lines(
            "cpu,cpu=cpu0,host=h2,region=eu online=true,state=\"ok\",usage_idle=50i 1700000001000000000\n\
             disk\\ \"io\",host=h1 a\"b=5i,x\";\\ DROP\\ TABLE\\ m_cpu;\\ --=1 1700000001000000000",
        ),
    )
    .await;
    let newest =
        "SELECT host, region, online, state, usage_idle, usage_user FROM m_cpu WHERE time = '2023-11-14 22:13:21+00'";
    assert_eq!(wait_for(&pg, newest, "h2|eu|t|ok|50|").await, "h2|eu|t|ok|50|");
    assert_eq!(
        pg.query("SELECT count(*), count(region) FROM m_cpu"),
        "3|1",
        "older rows have no region"
    );
    assert_eq!(
        wait_for(
            &pg,
            r#"SELECT host, "a""b", "x""; DROP TABLE m_cpu; --" FROM "m_disk ""io""""#,
            "h1|5|1"
        )
        .await,
        "h1|5|1"
    );

    // The same records with the tags as one jsonb column.
    let json = "SELECT tags, usage_idle, online FROM j_cpu ORDER BY time, tags->>'cpu'";
    let want = "{\"cpu\": \"cpu-total\", \"host\": \"h1\"}|97.5|\n{\"cpu\": \"cpu0\", \"host\": \"h1\"}|95|\n\
                {\"cpu\": \"cpu0\", \"host\": \"h2\", \"region\": \"eu\"}|50|t";
    assert_eq!(wait_for(&pg, json, want).await, want);
    assert_eq!(
        pg.query("SELECT tags->>'host', total FROM j_mem"),
        "h1|18446744073709551615"
    );

    let delivered = || worker.metrics().delivered.with_label_values(&["pg"]).get();
    assert!(
        eventually(Duration::from_secs(5), || delivered() == 5).await,
        "{}",
        delivered()
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_transaction_and_a_refused_batch_is_dead_lettered() {
    let pg = Postgres::start();
    // A table made by hand: the sink reads its columns (and which is a tag) from the catalog.
    pg.query(
        "CREATE TABLE temp (time timestamptz NOT NULL, host text, celsius double precision CHECK (celsius < 100)); \
         COMMENT ON COLUMN temp.host IS 'tag'",
    );
    let (b, _dir) = broker().await;
    let producer = producer(&b.bootstrap());
    // Produced before the worker starts, so that its first fetch makes them one batch: a new
    // table first (in name order), then a row the table refuses after one it takes.
    produce(
        &producer,
        0,
        &lines(
            "aaa,host=h1 v=1 1700000002000000000\n\
             temp,host=h1 celsius=20 1700000002000000000\n\
             temp,host=h1 celsius=150 1700000002100000000",
        ),
    )
    .await;
    let worker = workers::start(worker_config(&b.bootstrap(), &postgres_sink("pg", &pg, "")))
        .await
        .unwrap();
    let bootstrap = b.bootstrap();
    let dead = tokio::task::spawn_blocking(move || {
        read_topic(&bootstrap, "metrics-dead-letter", 1, 3, Duration::from_secs(20))
    })
    .await
    .unwrap();
    assert_eq!(dead.len(), 3, "the whole batch is dead-lettered");
    for (i, d) in dead.iter().enumerate() {
        assert_eq!(d.headers["sluice-dlq-offset"], i.to_string());
        let reason = &d.headers["sluice-dlq-reason"];
        assert!(
            reason.contains("check constraint") && reason.contains("23514"),
            "{reason}"
        );
    }
    assert_eq!(pg.query("SELECT count(*) FROM temp"), "0", "no row of the batch landed");
    assert_eq!(
        pg.query("SELECT to_regclass('aaa') IS NULL"),
        "t",
        "its CREATE TABLE rolled back too"
    );

    // The worker moved on: the next batch lands, in the table it created this time.
    produce(
        &producer,
        3,
        &lines("temp,host=h1 celsius=21 1700000003000000000\naaa,host=h2 v=2 1700000003000000000"),
    )
    .await;
    assert_eq!(wait_for(&pg, "SELECT host, celsius FROM temp", "h1|21").await, "h1|21");
    assert_eq!(wait_for(&pg, "SELECT host, v FROM aaa", "h2|2").await, "h2|2");
    let m = worker.metrics();
    assert_eq!(m.dead_letter.with_label_values(&["pg", "rejected"]).get(), 3);
    let delivered = || m.delivered.with_label_values(&["pg"]).get();
    assert!(
        eventually(Duration::from_secs(5), || delivered() == 2).await,
        "{}",
        delivered()
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopping_and_starting_mid_run_loses_nothing() {
    let pg = Postgres::start();
    let (b, _dir) = broker().await;
    const BATCH: usize = 50;
    let config = worker_config(
        &b.bootstrap(),
        &format!(
            "batch_size = {BATCH}\n{}",
            postgres_sink("pg", &pg, "connect_timeout = \"1s\"")
        ),
    );
    let worker = workers::start(config).await.unwrap();
    const N: u64 = 300;
    let producer = producer(&b.bootstrap());
    let producing = tokio::spawn(async move {
        for seq in 0..N {
            let line = format!(
                "load,host=h1 seq={seq}i {}",
                1_700_000_000_000_000_000 + seq as i64 * 1_000_000
            );
            produce(&producer, seq, &[line]).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert_eq!(
        wait_for(&pg, "SELECT count(*) > 0 FROM load", "t").await,
        "t",
        "rows arrive before the outage"
    );
    pg.stop();
    let down = Instant::now();
    let retries = || worker.metrics().retries.with_label_values(&["pg"]).get();
    assert!(
        eventually(Duration::from_secs(10), || retries() > 0).await,
        "the sink fails and retries"
    );
    std::thread::sleep(Duration::from_millis(1500).saturating_sub(down.elapsed()));
    pg.start_again();
    producing.await.unwrap();

    let all = format!("{N}|{}", N - 1);
    let got = wait_for(&pg, "SELECT count(DISTINCT seq), max(seq) FROM load", &all).await;
    assert_eq!(got, all, "every record arrived");
    let rows: usize = pg.query("SELECT count(*) FROM load").parse().unwrap();
    println!("{rows} rows for {N} records, {} retries", retries());
    assert!(
        rows - N as usize <= BATCH,
        "{} duplicates: more than one batch",
        rows - N as usize
    );
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}

/// Commits `offset` for partition 0 of `metrics` in `group`, as `kafka-consumer-groups
/// --reset-offsets` does for a group without members.
fn reset_kafka_offset(bootstrap: &str, group: &str, offset: i64) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("metrics", 0, rdkafka::Offset::Offset(offset))
        .unwrap();
    consumer.commit(&tpl, CommitMode::Sync).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offsets_in_postgres_win_over_a_kafka_reset_until_their_rows_are_deleted() {
    let pg = Postgres::start();
    let (b, _dir) = broker().await;
    let config = || worker_config(&b.bootstrap(), &postgres_sink("pg", &pg, ""));
    let producer = producer(&b.bootstrap());
    let values: Vec<String> = (0..3)
        .map(|seq| format!("load,host=h1 seq={seq}i {}", 1_700_000_000_000_000_000u64 + seq))
        .collect();
    produce(&producer, 0, &values).await;
    let worker = workers::start(config()).await.unwrap();
    assert_eq!(wait_for(&pg, "SELECT count(*) FROM load", "3").await, "3");
    assert_eq!(
        wait_for(
            &pg,
            "SELECT consumer_group, topic, partition, next_offset FROM sluice_offsets",
            "sluice-workers-pg|metrics|0|3"
        )
        .await,
        "sluice-workers-pg|metrics|0|3",
        "the next offset is stored with the rows"
    );
    worker.shutdown().await.unwrap();

    // Kafka's offset back to the start: the sink starts where PostgreSQL says, and writes
    // only what is new.
    let bootstrap = b.bootstrap();
    tokio::task::spawn_blocking(move || reset_kafka_offset(&bootstrap, "sluice-workers-pg", 0))
        .await
        .unwrap();
    let worker = workers::start(config()).await.unwrap();
    produce(&producer, 3, &["load,host=h1 seq=3i 1700000000000000003".to_string()]).await;
    assert_eq!(
        wait_for(&pg, "SELECT count(*), count(DISTINCT seq) FROM load", "4|4").await,
        "4|4"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pg.query("SELECT count(*) FROM load"), "4", "nothing read again");
    worker.shutdown().await.unwrap();

    // Without its row, the partition starts at Kafka's committed offset.
    pg.query("DELETE FROM sluice_offsets WHERE consumer_group = 'sluice-workers-pg'");
    let bootstrap = b.bootstrap();
    tokio::task::spawn_blocking(move || reset_kafka_offset(&bootstrap, "sluice-workers-pg", 0))
        .await
        .unwrap();
    let worker = workers::start(config()).await.unwrap();
    assert_eq!(
        wait_for(&pg, "SELECT count(*), count(DISTINCT seq) FROM load", "8|4").await,
        "8|4",
        "every record again, as the reset asked"
    );
    assert_eq!(wait_for(&pg, "SELECT next_offset FROM sluice_offsets", "4").await, "4");
    worker.shutdown().await.unwrap();
    b.shutdown().await;
}
