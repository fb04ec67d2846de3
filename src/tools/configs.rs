//! `sluice configs`: kafka-configs.sh's --describe and --alter for topics, brokers and groups, with its
//! options and its output, changing configs with IncrementalAlterConfigs (KIP-339) as Kafka 4's
//! tool does.

use anyhow::{bail, Context};
use clap::{ArgGroup, Args, ValueEnum};
use kafka_client::native::{self, Change, ConfigEntry, Resource};
use rdkafka::admin::AdminClient;

use super::{Cluster, ToolContext, TIMEOUT};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EntityType {
    Topics,
    Brokers,
    /// A consumer group's own configs (Kafka 4's group configs).
    Groups,
}

#[derive(Args)]
#[command(group(ArgGroup::new("action").required(true).args(["describe", "alter"])))]
pub struct ConfigsArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// List an entity's configs: those set on it (dynamic), or with --all every one.
    #[arg(long)]
    describe: bool,
    /// Change an entity's configs with --add-config and --delete-config.
    #[arg(long)]
    alter: bool,
    /// What the entity is.
    #[arg(long, value_enum)]
    entity_type: Option<EntityType>,
    /// The entity: a topic's name, a broker's id, a group's name.
    #[arg(long)]
    entity_name: Option<String>,
    /// Shorthand for --entity-type topics --entity-name TOPIC.
    #[arg(long, conflicts_with_all = ["entity_type", "entity_name", "broker", "group"])]
    topic: Option<String>,
    /// Shorthand for --entity-type brokers --entity-name ID.
    #[arg(long, conflicts_with_all = ["entity_type", "entity_name", "topic", "group"])]
    broker: Option<String>,
    /// Shorthand for --entity-type groups --entity-name GROUP.
    #[arg(long, conflicts_with_all = ["entity_type", "entity_name", "topic", "broker"])]
    group: Option<String>,
    /// With --describe: every config with its value, not only those set on the entity.
    #[arg(long)]
    all: bool,
    /// Configs to set, `k1=v1,k2=[v2,v3]` (a value with commas in brackets).
    #[arg(long, value_name = "K=V,…")]
    add_config: Option<String>,
    /// Configs to remove, back to their defaults: `k1,k2`.
    #[arg(long, value_name = "K,…")]
    delete_config: Option<String>,
}

/// The resource, its name as the broker knows it, and how Kafka's tool names it in its output.
struct Entity {
    resource: Resource,
    name: String,
    /// "topic notes" or "broker 0".
    label: String,
}

impl ConfigsArgs {
    fn entity(&self) -> anyhow::Result<Entity> {
        let (entity_type, name) = match (&self.topic, &self.broker, &self.group) {
            (Some(t), _, _) => (EntityType::Topics, Some(t.clone())),
            (_, Some(b), _) => (EntityType::Brokers, Some(b.clone())),
            (_, _, Some(g)) => (EntityType::Groups, Some(g.clone())),
            _ => (
                self.entity_type
                    .context("--entity-type is required (topics, brokers or groups)")?,
                self.entity_name.clone(),
            ),
        };
        match (entity_type, name) {
            (EntityType::Topics, Some(name)) => Ok(Entity {
                resource: Resource::Topic,
                label: format!("topic {name}"),
                name,
            }),
            (EntityType::Topics, None) => bail!("--entity-type topics needs --entity-name TOPIC"),
            // librdkafka sends a broker resource to that broker, so it must be an id; the
            // cluster-wide default (kafka-configs' --entity-default, an empty name) it cannot send.
            (EntityType::Brokers, Some(id)) if id.parse::<i32>().is_ok() => Ok(Entity {
                resource: Resource::Broker,
                label: format!("broker {id}"),
                name: id,
            }),
            (EntityType::Brokers, _) => bail!("--entity-type brokers needs --entity-name ID, a broker's id"),
            (EntityType::Groups, Some(name)) => Ok(Entity {
                resource: Resource::Group,
                label: format!("group {name}"),
                name,
            }),
            (EntityType::Groups, None) => bail!("--entity-type groups needs --entity-name GROUP"),
        }
    }
}

pub async fn run(args: ConfigsArgs) -> anyhow::Result<()> {
    let entity = args.entity()?;
    let admin: AdminClient<ToolContext> = args
        .cluster
        .client_config()?
        .create_with_context(args.cluster.context())?;
    if args.describe {
        let entries = tokio::task::block_in_place(|| {
            native::describe_configs(admin.inner(), entity.resource, &entity.name, TIMEOUT)
        })
        .map_err(|e| anyhow::anyhow!("cannot describe the configs of {}: {e}", entity.label))?;
        print!("{}", describe(&entity, &entries, args.all));
    } else {
        let mut changes = Vec::new();
        if let Some(add) = &args.add_config {
            for (k, v) in parse_add(add)? {
                changes.push(Change::Set(k, v));
            }
        }
        if let Some(delete) = &args.delete_config {
            changes.extend(
                delete
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(|k| Change::Delete(k.to_string())),
            );
        }
        if changes.is_empty() {
            bail!("--alter needs --add-config or --delete-config");
        }
        tokio::task::block_in_place(|| {
            native::incremental_alter_configs(admin.inner(), entity.resource, &entity.name, &changes, TIMEOUT)
        })
        .map_err(|e| anyhow::anyhow!("cannot alter the configs of {}: {e}", entity.label))?;
        println!("Completed updating config for {}.", entity.label);
    }
    Ok(())
}

/// kafka-configs' listing: a header, then `  name=value sensitive=… synonyms={SOURCE:name=value, …}`
/// for every config set on the entity (or every config, with `all`).
fn describe(entity: &Entity, entries: &[ConfigEntry], all: bool) -> String {
    let set_here = |e: &ConfigEntry| match entity.resource {
        Resource::Topic => e.source == "DYNAMIC_TOPIC_CONFIG",
        Resource::Broker => e.source == "DYNAMIC_BROKER_CONFIG",
        Resource::Group => e.source == "DYNAMIC_GROUP_CONFIG",
    };
    let label = &entity.label;
    let mut out = if all {
        format!("All configs for {label} are:\n")
    } else {
        format!("Dynamic configs for {label} are:\n")
    };
    let mut shown: Vec<&ConfigEntry> = entries.iter().filter(|e| all || set_here(e)).collect();
    shown.sort_by(|a, b| a.name.cmp(&b.name));
    for e in shown {
        let value = |v: &Option<String>, sensitive: bool| match v {
            _ if sensitive => "null".to_string(),
            Some(v) => v.clone(),
            None => "null".to_string(),
        };
        let synonyms: Vec<String> = e
            .synonyms
            .iter()
            .map(|(name, v, source)| format!("{source}:{name}={}", value(v, e.sensitive)))
            .collect();
        out += &format!(
            "  {}={} sensitive={} synonyms={{{}}}\n",
            e.name,
            value(&e.value, e.sensitive),
            e.sensitive,
            synonyms.join(", ")
        );
    }
    out
}

/// `k1=v1,k2=[a,b]` as pairs: a comma inside brackets belongs to the value, whose brackets go.
fn parse_add(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let (mut depth, mut start) = (0, 0);
    let mut items = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    for item in items.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
        let (k, v) = item
            .split_once('=')
            .with_context(|| format!("--add-config {item}: expected KEY=VALUE"))?;
        let v = v.trim();
        let v = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(v);
        pairs.push((k.trim().to_string(), v.to_string()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_configs_split_on_commas_outside_brackets() {
        let pairs = parse_add("retention.ms=1000, cleanup.policy=[compact,delete],x.y=").unwrap();
        assert_eq!(
            pairs,
            [
                ("retention.ms".to_string(), "1000".to_string()),
                ("cleanup.policy".into(), "compact,delete".into()),
                ("x.y".into(), "".into())
            ]
        );
        assert!(parse_add("retention.ms").is_err());
    }

    #[test]
    fn the_listing_is_kafka_configs_own() {
        let entity = Entity {
            resource: Resource::Topic,
            name: "notes".into(),
            label: "topic notes".into(),
        };
        let entry = |name: &str, value: &str, source: &str| ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source: source.into(),
            sensitive: false,
            read_only: false,
            synonyms: if source == "DEFAULT_CONFIG" {
                vec![]
            } else {
                vec![(name.into(), Some(value.into()), source.into())]
            },
        };
        let entries = [
            entry("segment.bytes", "1073741824", "DEFAULT_CONFIG"),
            entry("retention.ms", "60000", "DYNAMIC_TOPIC_CONFIG"),
        ];
        assert_eq!(
            describe(&entity, &entries, false),
            "Dynamic configs for topic notes are:\n  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000}\n"
        );
        assert!(describe(&entity, &entries, true).starts_with("All configs for topic notes are:\n  retention.ms="));
    }
}
