//! Consumer groups of both kinds described with their members: librdkafka's
//! `rd_kafka_DescribeConsumerGroups`, which rdkafka 0.39 does not wrap.
//!
//! Why FFI: rdkafka's `fetch_group_list` is DescribeGroups, the classic API, which answers a
//! KIP-848 group (`group.protocol=consumer`) as `Dead` with no members, as Apache Kafka 4 does.
//! librdkafka 2.12's DescribeConsumerGroups asks ConsumerGroupDescribe (KIP-848) first and, for a
//! group the coordinator does not know as a consumer group (GROUP_ID_NOT_FOUND) or a broker
//! without that API, falls back to DescribeGroups: one call describes both kinds, as Kafka's
//! admin client does. It sends one request per group (two for a classic group on a Kafka 4
//! broker), all in flight at once, answered together on one queue.
//!
//! librdkafka knows the classic group states only: a KIP-848 group that is `Assigning` or
//! `Reconciling` is answered as `Unknown` (its `Empty`, `Stable` and `Dead` keep their names).

use std::collections::HashSet;
use std::ffi::CString;
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka_sys as sys;

use super::{admin_options, cstr, next_event};

/// One group as its coordinator described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    /// Why the group could not be described; the other fields are then empty.
    pub error: Option<GroupError>,
    /// librdkafka's name of the state: `Empty`, `PreparingRebalance`, `CompletingRebalance`,
    /// `Stable`, `Dead` or `Unknown` (see the module's notes). A group that does not exist is
    /// `Dead`, as DescribeGroups answers it.
    pub state: String,
    pub group_type: GroupType,
    /// The classic group's protocol (`range`, `cooperative-sticky`, …) or the KIP-848 group's
    /// server-side assignor (`uniform`, `range`).
    pub partition_assignor: String,
    pub members: Vec<MemberDescription>,
}

/// Kafka's `GroupType` of a consumer group, named as Kafka's tools print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    /// JoinGroup/SyncGroup, client-side assignment.
    Classic,
    /// KIP-848: ConsumerGroupHeartbeat, server-side assignment.
    Consumer,
    Unknown,
}

impl GroupType {
    pub fn name(self) -> &'static str {
        match self {
            GroupType::Classic => "Classic",
            GroupType::Consumer => "Consumer",
            GroupType::Unknown => "Unknown",
        }
    }
}

/// A Kafka error code (or one of librdkafka's own) answered for a group, with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct GroupError {
    pub code: RDKafkaErrorCode,
    pub message: String,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id (librdkafka's and Kafka's admin client's "consumer id").
    pub member_id: String,
    /// A static member's `group.instance.id` (KIP-345).
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// The partitions the member owns now.
    pub assignment: Vec<(String, i32)>,
    /// A KIP-848 member's target assignment (what it will own once reconciled); None in a
    /// classic group, which has no such thing.
    pub target_assignment: Option<Vec<(String, i32)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DescribeGroupsError {
    #[error("group name '{0}' contains a NUL byte")]
    BadName(String),
    #[error("describing consumer groups: {0}")]
    Describe(String),
    #[error("no answer to DescribeConsumerGroups within {0:?}")]
    Timeout(Duration),
}

/// Describes each group in `groups` (a name given twice is described once), in the order given.
/// A group that could not be described has its `error` set; `Err` is for the call as a whole.
pub fn describe_consumer_groups<C: ClientContext>(
    client: &Client<C>,
    groups: &[String],
    timeout: Duration,
) -> Result<Vec<GroupDescription>, DescribeGroupsError> {
    let mut seen = HashSet::new();
    let names = groups
        .iter()
        .filter(|g| seen.insert(g.as_str()))
        .map(|g| CString::new(g.as_str()).map_err(|_| DescribeGroupsError::BadName(g.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    // librdkafka refuses an empty list (and duplicates, removed above).
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut pointers: Vec<*const std::os::raw::c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let rk = client.native_ptr();
    // SAFETY: `rk` lives as long as `client`, which outlives this call. librdkafka copies the
    // names out of `pointers` (which `names` keeps alive) before returning. The options and
    // queue are created and destroyed here; the one result event is destroyed after reading,
    // and everything read from it is copied first.
    unsafe {
        let options = admin_options(
            rk,
            sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
            timeout,
        );
        let queue = sys::rd_kafka_queue_new(rk);
        sys::rd_kafka_DescribeConsumerGroups(rk, pointers.as_mut_ptr(), pointers.len(), options, queue);
        let result = match next_event(queue, Instant::now() + timeout + Duration::from_secs(1)) {
            Some(event) => {
                let read = read(event);
                sys::rd_kafka_event_destroy(event);
                read
            }
            None => Err(DescribeGroupsError::Timeout(timeout)),
        };
        sys::rd_kafka_queue_destroy(queue);
        sys::rd_kafka_AdminOptions_destroy(options);
        result
    }
}

unsafe fn read(event: *mut sys::rd_kafka_event_t) -> Result<Vec<GroupDescription>, DescribeGroupsError> {
    let result = sys::rd_kafka_event_DescribeConsumerGroups_result(event);
    if result.is_null() || sys::rd_kafka_event_error(event) != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(DescribeGroupsError::Describe(cstr(sys::rd_kafka_event_error_string(
            event,
        ))));
    }
    let mut n = 0usize;
    let groups = sys::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut n);
    Ok((0..n).map(|i| group(*groups.add(i))).collect())
}

unsafe fn group(g: *const sys::rd_kafka_ConsumerGroupDescription_t) -> GroupDescription {
    let error = sys::rd_kafka_ConsumerGroupDescription_error(g);
    let error = (!error.is_null()).then(|| GroupError {
        code: sys::rd_kafka_error_code(error).into(),
        message: cstr(sys::rd_kafka_error_string(error)),
    });
    GroupDescription {
        group_id: cstr(sys::rd_kafka_ConsumerGroupDescription_group_id(g)),
        error,
        state: cstr(sys::rd_kafka_consumer_group_state_name(
            sys::rd_kafka_ConsumerGroupDescription_state(g),
        )),
        group_type: match sys::rd_kafka_ConsumerGroupDescription_type(g) {
            sys::rd_kafka_consumer_group_type_t::RD_KAFKA_CONSUMER_GROUP_TYPE_CLASSIC => GroupType::Classic,
            sys::rd_kafka_consumer_group_type_t::RD_KAFKA_CONSUMER_GROUP_TYPE_CONSUMER => GroupType::Consumer,
            _ => GroupType::Unknown,
        },
        partition_assignor: cstr(sys::rd_kafka_ConsumerGroupDescription_partition_assignor(g)),
        members: (0..sys::rd_kafka_ConsumerGroupDescription_member_count(g))
            .map(|i| sys::rd_kafka_ConsumerGroupDescription_member(g, i))
            .filter(|m| !m.is_null())
            .map(|m| member(m))
            .collect(),
    }
}

unsafe fn member(m: *const sys::rd_kafka_MemberDescription_t) -> MemberDescription {
    let instance = sys::rd_kafka_MemberDescription_group_instance_id(m);
    let target = sys::rd_kafka_MemberDescription_target_assignment(m);
    MemberDescription {
        member_id: cstr(sys::rd_kafka_MemberDescription_consumer_id(m)),
        group_instance_id: (!instance.is_null()).then(|| cstr(instance)),
        client_id: cstr(sys::rd_kafka_MemberDescription_client_id(m)),
        host: cstr(sys::rd_kafka_MemberDescription_host(m)),
        assignment: partitions(sys::rd_kafka_MemberDescription_assignment(m)),
        target_assignment: (!target.is_null()).then(|| partitions(target)),
    }
}

/// The (topic, partition) pairs of an assignment; none for a null one.
unsafe fn partitions(assignment: *const sys::rd_kafka_MemberAssignment_t) -> Vec<(String, i32)> {
    if assignment.is_null() {
        return Vec::new();
    }
    let list = sys::rd_kafka_MemberAssignment_partitions(assignment);
    if list.is_null() {
        return Vec::new();
    }
    (0..(*list).cnt.max(0) as usize)
        .map(|i| {
            let p = &*(*list).elems.add(i);
            (cstr(p.topic), p.partition)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::ClientConfig;

    use super::{describe_consumer_groups, DescribeGroupsError};

    #[test]
    fn no_groups_need_no_request_and_a_nul_byte_is_refused() {
        // Nothing listens on port 1: neither call may wait for a broker.
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .create()
            .unwrap();
        let started = std::time::Instant::now();
        let none = describe_consumer_groups(client.client(), &[], Duration::from_secs(5)).unwrap();
        assert!(none.is_empty());
        let bad = describe_consumer_groups(client.client(), &["a\0b".to_string()], Duration::from_secs(5));
        assert!(matches!(bad, Err(DescribeGroupsError::BadName(name)) if name == "a\0b"));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
