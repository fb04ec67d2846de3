//! The selected groups read for one collection: each described with its state and members,
//! and its committed offsets, the groups split over the admin clients.
//!
//! Groups are described with librdkafka's DescribeConsumerGroups, not the DescribeGroups that
//! ListGroups is paired with: DescribeGroups answers a KIP-848 group (`group.protocol=consumer`)
//! as Dead with no members, as Apache Kafka 4 does, where DescribeConsumerGroups asks its
//! coordinator ConsumerGroupDescribe and falls back to DescribeGroups for a classic group. One
//! path serves both kinds.

use std::time::Duration;

use rdkafka::admin::AdminClient;

use crate::cluster::ClusterError;
use kafka_client::librdkafka_log::QuietContext;
use kafka_client::native::{
    describe_consumer_groups, list_group_offsets, Committed, GroupDescription, MemberDescription,
};

/// A consumer group, classic or KIP-848, as DescribeConsumerGroups and OffsetFetch describe it.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// librdkafka's state name; a KIP-848 group's `Assigning` and `Reconciling` are `Unknown`
    /// (see `kafka_client::native::describe_consumer_groups`).
    pub state: String,
    /// Members with what each owns (a group that never committed still lags on those topics).
    pub members: Vec<MemberDescription>,
    pub committed: Committed,
}

/// The groups `names`, in that order; a group the cluster could not describe fails the whole
/// read, as one whose offsets it could not fetch does.
pub fn read(
    admins: &[AdminClient<QuietContext>],
    names: &[String],
    timeout: Duration,
) -> Result<Vec<Group>, ClusterError> {
    let chunk = names.len().div_ceil(admins.len()).max(1);
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .zip(admins)
            .map(|(names, admin)| s.spawn(move || read_share(admin, names, timeout)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    });
    let mut out = Vec::with_capacity(names.len());
    for part in parts {
        out.extend(part.map_err(|_| ClusterError::Aborted)??);
    }
    Ok(out)
}

/// One admin client's share of the groups.
fn read_share(
    admin: &AdminClient<QuietContext>,
    names: &[String],
    timeout: Duration,
) -> Result<Vec<Group>, ClusterError> {
    let described = describe_consumer_groups(admin.inner(), names, timeout)?;
    let mut committed = list_group_offsets(admin.inner(), names, timeout)?;
    described
        .into_iter()
        .map(|d| {
            let committed = committed.remove(&d.group_id).unwrap_or_default();
            group(d, committed)
        })
        .collect()
}

fn group(d: GroupDescription, committed: Committed) -> Result<Group, ClusterError> {
    if let Some(source) = d.error {
        return Err(ClusterError::Group {
            group: d.group_id,
            source,
        });
    }
    Ok(Group {
        state: d.state,
        members: d.members,
        committed,
        name: d.group_id,
    })
}
