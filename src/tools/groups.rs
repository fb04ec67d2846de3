//! `sluice groups`: kafka-consumer-groups.sh's --list, --describe, --reset-offsets and --delete.
//! Groups of both kinds, classic and KIP-848 (`group.protocol=consumer`), are described with
//! their members, as Kafka's tool describes them.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args};
use kafka_client::native::{self, DescribeGroupsError, GroupDescription, MemberDescription};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::{Cluster, ToolContext, TIMEOUT};

#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["list", "describe", "reset_offsets", "delete"])))]
#[command(group(ArgGroup::new("target").args(["to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by"])))]
pub struct GroupsArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// List consumer groups.
    #[arg(long)]
    list: bool,
    /// Show a group's committed offsets, log-end offsets, lag and members.
    #[arg(long)]
    describe: bool,
    /// Move a group's committed offsets (the group must have no active members).
    #[arg(long)]
    reset_offsets: bool,
    /// Delete a group and its committed offsets (the group must have no active members).
    #[arg(long)]
    delete: bool,
    /// The group to act on.
    #[arg(long)]
    group: Option<String>,
    /// With --reset-offsets: TOPIC (every partition) or TOPIC:P[,P…].
    #[arg(long, value_name = "TOPIC[:P,…]")]
    topic: Vec<String>,
    /// Reset to the oldest offset still in the log.
    #[arg(long)]
    to_earliest: bool,
    /// Reset to the log-end offset (skip everything not yet consumed).
    #[arg(long)]
    to_latest: bool,
    /// Reset to this offset (clamped to the log's range).
    #[arg(long, value_name = "N")]
    to_offset: Option<i64>,
    /// Reset to the first record at or after this time (RFC 3339; no zone means UTC).
    #[arg(long, value_name = "YYYY-MM-DDTHH:MM:SS")]
    to_datetime: Option<String>,
    /// Move each committed offset by N (negative goes back), clamped to the log's range.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    shift_by: Option<i64>,
    /// Print the new offsets without committing them (the default).
    #[arg(long)]
    dry_run: bool,
    /// Commit the new offsets.
    #[arg(long, conflicts_with = "dry_run")]
    execute: bool,
}

pub async fn run(args: GroupsArgs) -> anyhow::Result<()> {
    if args.list {
        for name in list(&args.cluster)? {
            println!("{name}");
        }
        return Ok(());
    }
    let group = args.group.as_deref().context("--group is required for this action")?;
    if args.describe {
        describe(&args.cluster, group)
    } else if args.reset_offsets {
        reset(&args, group)
    } else {
        let admin: AdminClient<ToolContext> = args
            .cluster
            .client_config()?
            .create_with_context(args.cluster.context())?;
        let opts = AdminOptions::new().request_timeout(Some(TIMEOUT));
        for r in admin.delete_groups(&[group], &opts).await? {
            r.map_err(|(g, e)| anyhow::anyhow!("cannot delete group '{g}': {e}"))?;
        }
        println!("Deletion of requested consumer groups ('{group}') was successful.");
        Ok(())
    }
}

/// Every group's name (ListGroups).
fn list(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let consumer: BaseConsumer<ToolContext> = cluster.client_config()?.create_with_context(cluster.context())?;
    let list = consumer
        .fetch_group_list(None, TIMEOUT)
        .map_err(|e| cluster.failed(&consumer, e))?;
    let mut names: Vec<String> = list.groups().iter().map(|g| g.name().to_string()).collect();
    names.sort();
    Ok(names)
}

/// One group with its state and members, classic or KIP-848: DescribeConsumerGroups, since
/// DescribeGroups (rdkafka's `fetch_group_list`) answers a KIP-848 group as Dead with no
/// members. A group that does not exist is Dead.
fn describe_group(cluster: &Cluster, name: &str) -> anyhow::Result<GroupDescription> {
    let consumer: BaseConsumer<ToolContext> = cluster.client_config()?.create_with_context(cluster.context())?;
    // librdkafka answers a cluster that does not answer as a timed-out request.
    let timed_out = || cluster.failed(&consumer, KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut));
    let described = match native::describe_consumer_groups(consumer.client(), &[name.to_string()], TIMEOUT) {
        Ok(described) => described,
        Err(DescribeGroupsError::Timeout(_)) => return Err(timed_out()),
        Err(e) => bail!("cannot describe group '{name}': {e}"),
    };
    let group = described.into_iter().next().context("no answer for the group")?;
    match &group.error {
        None => Ok(group),
        Some(e) if e.code == RDKafkaErrorCode::OperationTimedOut => Err(timed_out()),
        Some(e) => bail!("cannot describe group '{name}': {e}"),
    }
}

/// Every partition of every topic (internal ones left out), from metadata.
fn all_partitions(consumer: &BaseConsumer<ToolContext>, cluster: &Cluster) -> anyhow::Result<Vec<(String, i32)>> {
    let md = consumer
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| cluster.failed(consumer, e))?;
    Ok(md
        .topics()
        .iter()
        .filter(|t| !t.name().starts_with("__"))
        .flat_map(|t| t.partitions().iter().map(move |p| (t.name().to_string(), p.id())))
        .collect())
}

/// A consumer that speaks for `group` (committed offsets, commits) without joining it.
fn group_consumer(cluster: &Cluster, group: &str) -> anyhow::Result<BaseConsumer<ToolContext>> {
    Ok(cluster
        .client_config()?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create_with_context(cluster.context())?)
}

fn committed(
    consumer: &BaseConsumer<ToolContext>,
    partitions: &[(String, i32)],
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in partitions {
        tpl.add_partition(t, *p);
    }
    let committed = consumer
        .committed_offsets(tpl, TIMEOUT)
        .context("fetching committed offsets")?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(((e.topic().to_string(), e.partition()), o)),
            _ => None,
        })
        .collect())
}

fn describe(cluster: &Cluster, name: &str) -> anyhow::Result<()> {
    let group = describe_group(cluster, name)?;
    if group.state == "Dead" {
        bail!("consumer group '{name}' does not exist");
    }
    let consumer = group_consumer(cluster, name)?;
    let partitions = all_partitions(&consumer, cluster)?;
    let committed = committed(&consumer, &partitions)?;
    let owners: BTreeMap<(String, i32), &MemberDescription> = group
        .members
        .iter()
        .flat_map(|m| m.assignment.iter().map(move |tp| (tp.clone(), m)))
        .collect();
    let mut rows = Vec::new();
    for tp in partitions
        .iter()
        .filter(|tp| committed.contains_key(*tp) || owners.contains_key(*tp))
    {
        let (low, high) = consumer
            .fetch_watermarks(&tp.0, tp.1, TIMEOUT)
            .context("fetching log-end offsets")?;
        let _ = low;
        let current = committed.get(tp).copied();
        let lag = current.map_or("-".to_string(), |c| (high - c).max(0).to_string());
        let (id, host, client) = owners
            .get(tp)
            .map_or(("-", "-", "-"), |m| (&m.member_id, &m.host, &m.client_id));
        rows.push([
            name.to_string(),
            tp.0.clone(),
            tp.1.to_string(),
            current.map_or("-".into(), |c| c.to_string()),
            high.to_string(),
            lag,
            id.to_string(),
            host.to_string(),
            client.to_string(),
        ]);
    }
    let header = [
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ];
    use Width::{AtLeast, Exactly, Last};
    let widths = [
        AtLeast(15),
        AtLeast(15),
        Exactly(10),
        Exactly(15),
        Exactly(15),
        Exactly(15),
        AtLeast(15),
        AtLeast(15),
        Last,
    ];
    print_table(&header, &widths, &rows);
    // As kafka-consumer-groups does: the table on stdout, this remark on stderr.
    if group.members.is_empty() {
        eprintln!("\nConsumer group '{name}' has no active members.");
    }
    Ok(())
}

/// How wide kafka-consumer-groups pads a column: to a fixed width, or to at least a width and
/// more for a longer value (names and ids). Values are never cut.
#[derive(Clone, Copy)]
enum Width {
    Exactly(usize),
    AtLeast(usize),
    Last,
}

/// A table laid out byte for byte as kafka-consumer-groups prints it: a blank line, the header,
/// the rows, left-aligned columns one space apart, the last column unpadded.
fn print_table<const N: usize>(header: &[&str; N], widths: &[Width; N], rows: &[[String; N]]) {
    let widths: Vec<usize> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| match *w {
            Width::Exactly(n) => n,
            Width::AtLeast(n) => rows.iter().map(|r| r[i].len()).fold(n, usize::max),
            Width::Last => 0,
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join(" "));
    };
    println!();
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn reset(args: &GroupsArgs, name: &str) -> anyhow::Result<()> {
    let cluster = &args.cluster;
    let group = describe_group(cluster, name)?;
    if !group.members.is_empty() {
        bail!(
            "assignments can only be reset if the group '{name}' is inactive, but its state is {} with {} member(s)",
            group.state,
            group.members.len()
        );
    }
    if args.topic.is_empty() {
        bail!("--reset-offsets needs --topic TOPIC[:P,…]");
    }
    let consumer = group_consumer(cluster, name)?;
    let all = all_partitions(&consumer, cluster)?;
    let mut targets = Vec::new();
    for spec in &args.topic {
        let (topic, parts) = match spec.split_once(':') {
            Some((t, ps)) => {
                let ps: Result<Vec<i32>, _> = ps.split(',').map(str::parse).collect();
                (
                    t,
                    ps.with_context(|| format!("--topic {spec}: partitions must be numbers"))?,
                )
            }
            None => (
                spec.as_str(),
                all.iter().filter(|(t, _)| t == spec).map(|(_, p)| *p).collect(),
            ),
        };
        if parts.is_empty() || !parts.iter().all(|p| all.contains(&(topic.to_string(), *p))) {
            bail!("--topic {spec}: no such topic or partition");
        }
        targets.extend(parts.into_iter().map(|p| (topic.to_string(), p)));
    }
    let committed = committed(&consumer, &targets)?;
    let mut new = TopicPartitionList::new();
    let mut rows = Vec::new();
    for (topic, p) in &targets {
        let (low, high) = consumer
            .fetch_watermarks(topic, *p, TIMEOUT)
            .context("fetching the log's offsets")?;
        let current = committed.get(&(topic.clone(), *p)).copied();
        let offset = new_offset(args, &consumer, topic, *p, (low, high), current)?;
        new.add_partition_offset(topic, *p, Offset::Offset(offset))?;
        rows.push([name.to_string(), topic.clone(), p.to_string(), offset.to_string()]);
    }
    if args.execute {
        consumer
            .commit(&new, CommitMode::Sync)
            .context("committing the new offsets")?;
    }
    use Width::{AtLeast, Exactly};
    print_table(
        &["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
        &[AtLeast(15), AtLeast(15), Exactly(10), Width::Last],
        &rows,
    );
    Ok(())
}

fn new_offset(
    args: &GroupsArgs,
    consumer: &BaseConsumer<ToolContext>,
    topic: &str,
    partition: i32,
    (low, high): (i64, i64),
    current: Option<i64>,
) -> anyhow::Result<i64> {
    let clamp = |o: i64| o.clamp(low, high);
    if args.to_earliest {
        Ok(low)
    } else if args.to_latest {
        Ok(high)
    } else if let Some(o) = args.to_offset {
        Ok(clamp(o))
    } else if let Some(n) = args.shift_by {
        Ok(clamp(current.unwrap_or(low) + n))
    } else if let Some(ts) = &args.to_datetime {
        let time = humantime::parse_rfc3339_weak(ts)
            .with_context(|| format!("--to-datetime {ts}: expected YYYY-MM-DDTHH:MM:SS"))?;
        let ms = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(ms))?;
        let found = consumer
            .offsets_for_times(tpl, TIMEOUT)
            .context("looking up offsets by time")?;
        Ok(match found.find_partition(topic, partition).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => high,
        })
    } else {
        bail!("--reset-offsets needs one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
    }
}
