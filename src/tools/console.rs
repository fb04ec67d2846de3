//! `sluice produce` and `sluice consume`: Kafka's console producer and consumer.
//!
//! The producer sends one record per line of standard input; with `parse.key=true` the text
//! before `key.separator` (a tab by default) is the key. The consumer prints one record per line:
//! optional timestamp, partition and offset columns, then the key (with `print.key=true`) and
//! the value, each column followed by `key.separator` (a tab by default), as Kafka's default
//! message formatter does.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, Timestamp};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::{Cluster, ToolContext, TIMEOUT};

#[derive(Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// The topic to write to.
    #[arg(long)]
    topic: String,
    /// Reader properties: parse.key=true, key.separator=SEP.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// A librdkafka producer setting, KEY=VALUE (e.g. acks=1, compression.codec=zstd).
    #[arg(long = "producer-property", value_name = "KEY=VALUE")]
    producer_properties: Vec<String>,
}

#[derive(Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// The topic to read.
    #[arg(long)]
    topic: String,
    /// Start at the oldest record instead of the newest (without --group).
    #[arg(long)]
    from_beginning: bool,
    /// Read as a member of this consumer group, committing what was printed.
    #[arg(long)]
    group: Option<String>,
    /// Exit after printing this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Exit when no record arrives for this many milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Formatter properties: print.key, print.partition, print.offset, print.timestamp
    /// (true/false) and key.separator=SEP.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// A librdkafka consumer setting, KEY=VALUE.
    #[arg(long = "consumer-property", value_name = "KEY=VALUE")]
    consumer_properties: Vec<String>,
}

/// Parses `--property k=v` flags, refusing names the tool does not know.
fn properties(flags: &[String], known: &[&str]) -> anyhow::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for kv in flags {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--property {kv}: expected KEY=VALUE"))?;
        if !known.contains(&k) {
            bail!("--property {k}: unknown property (known: {})", known.join(", "));
        }
        out.insert(k.to_string(), unescape(v));
    }
    Ok(out)
}

/// `\t` and `\n` as typed on a command line.
fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

fn is_true(props: &HashMap<String, String>, key: &str) -> bool {
    props.get(key).is_some_and(|v| v == "true")
}

fn pass_through(config: &mut rdkafka::config::ClientConfig, flags: &[String], flag: &str) -> anyhow::Result<()> {
    for kv in flags {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("{flag} {kv}: expected KEY=VALUE"))?;
        config.set(k, v);
    }
    Ok(())
}

pub async fn produce(args: ProduceArgs) -> anyhow::Result<()> {
    let props = properties(&args.properties, &["parse.key", "key.separator"])?;
    let parse_key = is_true(&props, "parse.key");
    let separator = props.get("key.separator").cloned().unwrap_or_else(|| "\t".into());
    let mut config = args.cluster.client_config()?;
    config.set("message.timeout.ms", TIMEOUT.as_millis().to_string());
    pass_through(&mut config, &args.producer_properties, "--producer-property")?;
    let producer: FutureProducer<ToolContext> = config.create_with_context(args.cluster.context())?;
    let mut pending = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("reading standard input")?;
        let (key, value) = match line.split_once(separator.as_str()) {
            Some((k, v)) if parse_key => (Some(k.to_string()), v.to_string()),
            None if parse_key => bail!("line {}: no key separator {separator:?} (parse.key=true)", n + 1),
            _ => (None, line),
        };
        // Enqueued here, in input order (one partition keeps the order of the lines).
        let mut record = FutureRecord::<String, String>::to(&args.topic).payload(&value);
        if let Some(k) = &key {
            record = record.key(k);
        }
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                Err((e, _)) => bail!("line {}: not sent: {e}", n + 1),
            }
        }
    }
    for delivery in pending {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((e @ KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut), _))) => {
                return Err(args.cluster.error(e))
            }
            Ok(Err((e, _))) => bail!("a record was not delivered: {e}"),
            Err(_) => bail!("the producer stopped before every record was delivered"),
        }
    }
    producer.flush(TIMEOUT)?;
    Ok(())
}

pub async fn consume(args: ConsumeArgs) -> anyhow::Result<()> {
    let known = [
        "print.key",
        "print.partition",
        "print.offset",
        "print.timestamp",
        "key.separator",
    ];
    let props = properties(&args.properties, &known)?;
    let separator = props.get("key.separator").cloned().unwrap_or_else(|| "\t".into());
    let mut config = args.cluster.client_config()?;
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("console-consumer-{}", std::process::id()));
    config
        .set("group.id", &group)
        .set(
            "enable.auto.commit",
            if args.group.is_some() { "true" } else { "false" },
        )
        .set(
            "auto.offset.reset",
            if args.from_beginning { "earliest" } else { "latest" },
        );
    pass_through(&mut config, &args.consumer_properties, "--consumer-property")?;
    let consumer: StreamConsumer<ToolContext> = config.create_with_context(args.cluster.context())?;
    if args.group.is_some() {
        consumer.subscribe(&[&args.topic])?;
    } else {
        // Without a group the console consumer reads every partition itself; nothing is committed.
        let md = consumer
            .fetch_metadata(Some(&args.topic), TIMEOUT)
            .map_err(|e| args.cluster.error(e))?;
        let topic = md
            .topics()
            .first()
            .context("the cluster returned no metadata for the topic")?;
        if let Some(err) = topic.error() {
            bail!(
                "topic '{}': {}",
                args.topic,
                rdkafka::types::RDKafkaErrorCode::from(err)
            );
        }
        let start = if args.from_beginning {
            Offset::Beginning
        } else {
            Offset::End
        };
        let mut tpl = TopicPartitionList::new();
        for p in topic.partitions() {
            tpl.add_partition_offset(&args.topic, p.id(), start)?;
        }
        consumer.assign(&tpl)?;
    }
    let mut printed = 0u64;
    let stdout = std::io::stdout();
    let idle = args.timeout_ms.map(Duration::from_millis);
    while args.max_messages.is_none_or(|max| printed < max) {
        let next = consumer.recv();
        let message = tokio::select! {
            m = next => m,
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(idle.unwrap_or(Duration::MAX)), if idle.is_some() => break,
        };
        let m = message.context("consuming")?;
        let mut line = Vec::new();
        if is_true(&props, "print.timestamp") {
            match m.timestamp() {
                Timestamp::CreateTime(t) => write!(line, "CreateTime:{t}{separator}")?,
                Timestamp::LogAppendTime(t) => write!(line, "LogAppendTime:{t}{separator}")?,
                Timestamp::NotAvailable => write!(line, "NO_TIMESTAMP{separator}")?,
            }
        }
        if is_true(&props, "print.partition") {
            write!(line, "Partition:{}{separator}", m.partition())?;
        }
        if is_true(&props, "print.offset") {
            write!(line, "Offset:{}{separator}", m.offset())?;
        }
        if is_true(&props, "print.key") {
            line.extend_from_slice(m.key().unwrap_or(b"null"));
            line.extend_from_slice(separator.as_bytes());
        }
        line.extend_from_slice(m.payload().unwrap_or(b"null"));
        line.push(b'\n');
        stdout.lock().write_all(&line)?;
        printed += 1;
    }
    if args.group.is_some() && printed > 0 {
        // Kafka's console consumer commits on close; doing it here, synchronously, means the
        // group's offsets cover every printed record by the time the command exits.
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            eprintln!("warning: could not commit the group's offsets: {e}");
        }
    }
    eprintln!("Processed a total of {printed} messages");
    Ok(())
}
