//! The librdkafka calls rdkafka 0.39 does not wrap, each behind a safe function: the only
//! `unsafe` of sluice's Kafka clients lives here.
//!
//! - [`list_group_offsets`]: many groups' committed offsets through one admin client
//!   (`rd_kafka_ListConsumerGroupOffsets`), for the lag exporter.
//! - [`describe_consumer_groups`]: groups' state, type, assignor and members with their
//!   assignments, KIP-848 groups (`group.protocol=consumer`) as well as classic ones
//!   (`rd_kafka_DescribeConsumerGroups`), for the lag exporter and `sluice groups`.
//! - [`topic_ids`]: topics' ids (`rd_kafka_DescribeTopics`), for `sluice topics --describe`.
//! - [`describe_configs`] with synonyms and [`incremental_alter_configs`]
//!   (`rd_kafka_DescribeConfigs`, `rd_kafka_IncrementalAlterConfigs`), for `sluice configs`.
//! - [`cached_watermarks`]: a partition's high watermark from librdkafka's cache
//!   (`rd_kafka_get_watermark_offsets`), for the workers' `records-lag-max`.
//!
//! The admin calls share the helpers below: options with a request timeout, a wait for the
//! next event on a queue, and copying a C string.

mod configs;
mod consumer_groups;
mod group_offsets;
mod topic_ids;
mod watermarks;

pub use configs::{describe_configs, incremental_alter_configs, Change, ConfigEntry, ConfigsError, Resource};
pub use consumer_groups::{
    describe_consumer_groups, DescribeGroupsError, GroupDescription, GroupError, GroupType, MemberDescription,
};
pub use group_offsets::{list_group_offsets, Committed, OffsetsError};
pub use topic_ids::{topic_ids, TopicIdsError};
pub use watermarks::cached_watermarks;

use std::ffi::CStr;
use std::os::raw::c_char;
use std::time::{Duration, Instant};

use rdkafka_sys as sys;

/// Admin options for `op` with `timeout` as the request timeout; the caller destroys them.
///
/// # Safety
/// `rk` must be a live client handle.
unsafe fn admin_options(
    rk: *mut sys::rd_kafka_t,
    op: sys::rd_kafka_admin_op_t,
    timeout: Duration,
) -> *mut sys::rd_kafka_AdminOptions_t {
    let options = sys::rd_kafka_AdminOptions_new(rk, op);
    let mut errstr = [0 as c_char; 256];
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    sys::rd_kafka_AdminOptions_set_request_timeout(options, ms, errstr.as_mut_ptr(), errstr.len());
    options
}

/// The next event on `queue`, waiting until `deadline`; None once it has passed. The caller
/// destroys the event.
///
/// # Safety
/// `queue` must be a live queue.
unsafe fn next_event(queue: *mut sys::rd_kafka_queue_t, deadline: Instant) -> Option<*mut sys::rd_kafka_event_t> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let event = sys::rd_kafka_queue_poll(queue, left.as_millis().min(1000) as i32);
        if !event.is_null() {
            return Some(event);
        }
    }
}

/// A copy of the C string at `p` ("" for null).
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string.
unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}
