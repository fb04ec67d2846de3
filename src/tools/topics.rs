//! `sluice topics`: kafka-topics.sh's --list, --describe, --create, --alter and --delete.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args};
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::MetadataTopic;

use super::{Cluster, ToolContext, TIMEOUT};

#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["list", "describe", "create", "alter", "delete"])))]
pub struct TopicsArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// List topic names.
    #[arg(long)]
    list: bool,
    /// Describe topics: partitions, leaders, replicas and non-default configs.
    #[arg(long)]
    describe: bool,
    /// Create a topic.
    #[arg(long)]
    create: bool,
    /// Change a topic's partition count (it can only grow), or with --config its configs.
    #[arg(long)]
    alter: bool,
    /// Delete a topic.
    #[arg(long)]
    delete: bool,
    /// The topic to act on (with --describe: only this one).
    #[arg(long)]
    topic: Option<String>,
    /// Number of partitions (--create; defaults to the broker's num.partitions; --alter: the new count).
    #[arg(long)]
    partitions: Option<i32>,
    /// Replication factor (--create; 1 on a single-node broker).
    #[arg(long)]
    replication_factor: Option<i32>,
    /// A topic config override, KEY=VALUE; repeat for more (--create, and --alter).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    configs: Vec<String>,
    /// Leave out internal topics such as __consumer_offsets.
    #[arg(long)]
    exclude_internal: bool,
}

pub async fn run(args: TopicsArgs) -> anyhow::Result<()> {
    if args.list {
        for t in metadata(&args.cluster, None)? {
            if !(args.exclude_internal && t.0.starts_with("__")) {
                println!("{}", t.0);
            }
        }
    } else if args.describe {
        describe(&args).await?;
    } else if args.create {
        create(&args).await?;
    } else if args.alter {
        alter(&args).await?;
    } else {
        let topic = required_topic(&args)?;
        let results = admin(&args.cluster)?.delete_topics(&[topic], &options()).await?;
        for r in results {
            r.map_err(|(t, e)| anyhow::anyhow!("cannot delete topic '{t}': {e}"))?;
        }
    }
    Ok(())
}

fn required_topic(args: &TopicsArgs) -> anyhow::Result<&str> {
    args.topic.as_deref().context("--topic is required for this action")
}

fn admin(cluster: &Cluster) -> anyhow::Result<AdminClient<ToolContext>> {
    Ok(cluster.client_config()?.create_with_context(cluster.context())?)
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(TIMEOUT))
        .operation_timeout(Some(TIMEOUT))
}

/// (name, partitions as (id, leader, replicas, isr)) for every topic, or one, sorted by name.
type TopicLayout = (String, Vec<(i32, i32, Vec<i32>, Vec<i32>)>);

fn metadata(cluster: &Cluster, topic: Option<&str>) -> anyhow::Result<Vec<TopicLayout>> {
    let consumer: BaseConsumer<ToolContext> = cluster.client_config()?.create_with_context(cluster.context())?;
    let md = consumer
        .fetch_metadata(topic, TIMEOUT)
        .map_err(|e| cluster.failed(&consumer, e))?;
    let mut topics: Vec<TopicLayout> = Vec::new();
    for t in md.topics() {
        if let Some(err) = t.error() {
            bail!("topic '{}': {}", t.name(), rdkafka::types::RDKafkaErrorCode::from(err));
        }
        topics.push((t.name().to_string(), partitions(t)));
    }
    topics.sort();
    Ok(topics)
}

fn partitions(t: &MetadataTopic) -> Vec<(i32, i32, Vec<i32>, Vec<i32>)> {
    let mut p: Vec<_> = t
        .partitions()
        .iter()
        .map(|p| (p.id(), p.leader(), p.replicas().to_vec(), p.isr().to_vec()))
        .collect();
    p.sort();
    p
}

fn node_list(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

async fn describe(args: &TopicsArgs) -> anyhow::Result<()> {
    let topics = metadata(&args.cluster, args.topic.as_deref())?;
    let admin = admin(&args.cluster)?;
    let names: Vec<&str> = topics.iter().map(|t| t.0.as_str()).collect();
    let ids = kafka_client::native::topic_ids(admin.inner(), &names, TIMEOUT)?;
    for (name, parts) in topics {
        if args.exclude_internal && name.starts_with("__") {
            continue;
        }
        let resource = ResourceSpecifier::Topic(&name);
        let described = admin.describe_configs([&resource], &options()).await?;
        // Like kafka-topics, list every config not at its default: set on the topic, or for
        // the whole broker or cluster.
        let configs = match described.into_iter().next() {
            Some(Ok(r)) => r
                .entries
                .into_iter()
                .filter(|e| e.source != ConfigSource::Default)
                .filter_map(|e| e.value.map(|v| format!("{}={v}", e.name)))
                .collect::<Vec<_>>()
                .join(","),
            _ => String::new(),
        };
        let replication = parts.first().map_or(0, |p| p.2.len());
        let topic_id = ids.get(&name).map(|id| format!("TopicId: {id}\t")).unwrap_or_default();
        println!(
            "Topic: {name}\t{topic_id}PartitionCount: {}\tReplicationFactor: {replication}\tConfigs: {configs}",
            parts.len()
        );
        // Eligible leader replicas (KIP-966) come only with DescribeTopicPartitions, which
        // librdkafka does not send; kafka-topics prints N/A when it has none either.
        for (id, leader, replicas, isr) in parts {
            println!(
                "\tTopic: {name}\tPartition: {id}\tLeader: {leader}\tReplicas: {}\tIsr: {}\tElr: N/A\tLastKnownElr: N/A",
                node_list(&replicas),
                node_list(&isr)
            );
        }
    }
    Ok(())
}

async fn create(args: &TopicsArgs) -> anyhow::Result<()> {
    let topic = required_topic(args)?;
    let configs: BTreeMap<String, String> = config_pairs(&args.configs)?.into_iter().collect();
    let replication = TopicReplication::Fixed(args.replication_factor.unwrap_or(-1));
    let mut new = NewTopic::new(topic, args.partitions.unwrap_or(-1), replication);
    for (k, v) in &configs {
        new = new.set(k, v);
    }
    let results = admin(&args.cluster)?.create_topics(&[new], &options()).await?;
    for r in results {
        r.map_err(|(t, e)| anyhow::anyhow!("cannot create topic '{t}': {e}"))?;
    }
    println!("Created topic {topic}.");
    Ok(())
}

/// Grows the partition count, and (beyond kafka-topics, which sends this to kafka-configs) sets
/// topic configs with IncrementalAlterConfigs.
async fn alter(args: &TopicsArgs) -> anyhow::Result<()> {
    let topic = required_topic(args)?;
    if args.partitions.is_none() && args.configs.is_empty() {
        bail!("--alter needs --partitions N or --config KEY=VALUE");
    }
    let admin = admin(&args.cluster)?;
    if !args.configs.is_empty() {
        let changes = config_pairs(&args.configs)?
            .into_iter()
            .map(|(k, v)| kafka_client::native::Change::Set(k, v))
            .collect::<Vec<_>>();
        let resource = kafka_client::native::Resource::Topic;
        tokio::task::block_in_place(|| {
            kafka_client::native::incremental_alter_configs(admin.inner(), resource, topic, &changes, TIMEOUT)
        })
        .map_err(|e| anyhow::anyhow!("cannot change the configs of '{topic}': {e}"))?;
    }
    if let Some(count) = args.partitions {
        let results = admin
            .create_partitions(&[NewPartitions::new(topic, count as usize)], &options())
            .await?;
        for r in results {
            r.map_err(|(t, e)| anyhow::anyhow!("cannot change the partitions of '{t}': {e}"))?;
        }
    }
    Ok(())
}

/// `--config KEY=VALUE` options as pairs, in the order given.
fn config_pairs(configs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    configs
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--config {kv}: expected KEY=VALUE"))
        })
        .collect()
}
