//! Committed offsets of many groups through one admin client: librdkafka's
//! `rd_kafka_ListConsumerGroupOffsets` (KIP-222/KIP-709), which rdkafka 0.39 does not wrap.
//!
//! Why FFI: rdkafka's only way is `committed_offsets` on a consumer whose `group.id` is the
//! group — one librdkafka client (threads, connections, a coordinator lookup) per group. Here
//! one admin client sends one OffsetFetch per group, all in flight at once, each answered on one
//! queue; with `partitions = NULL` the coordinator answers every partition the group committed,
//! so no topic list is needed. It is the call `kafka-consumer-groups.sh --describe` makes, and
//! every Kafka cluster answers it.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka_sys as sys;

use super::{admin_options, cstr, next_event};

/// A group's committed offsets: (topic, partition) → offset. Partitions the group never
/// committed are absent.
pub type Committed = BTreeMap<(String, i32), i64>;

#[derive(Debug, thiserror::Error)]
pub enum OffsetsError {
    #[error("group '{group}': {message}")]
    Group { group: String, message: String },
    #[error("no answer for {missing} group(s) within {timeout:?}")]
    Timeout { missing: usize, timeout: Duration },
    #[error("group name '{0}' contains a NUL byte")]
    BadName(String),
}

/// Fetches the committed offsets of every group in `groups`.
pub fn list_group_offsets<C: ClientContext>(
    client: &Client<C>,
    groups: &[String],
    timeout: Duration,
) -> Result<BTreeMap<String, Committed>, OffsetsError> {
    let rk = client.native_ptr();
    let names = groups
        .iter()
        .map(|g| CString::new(g.as_str()).map_err(|_| OffsetsError::BadName(g.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    // SAFETY: `rk` lives as long as `client`, which outlives this function; the queue, options
    // and requests are created and destroyed here; every event is destroyed after being read,
    // and nothing read from it outlives it (strings are copied).
    unsafe {
        let queue = sys::rd_kafka_queue_new(rk);
        let options = admin_options(
            rk,
            sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
            timeout,
        );
        // librdkafka takes exactly one group per call; the calls run concurrently.
        for name in &names {
            let mut request = sys::rd_kafka_ListConsumerGroupOffsets_new(name.as_ptr(), std::ptr::null());
            sys::rd_kafka_ListConsumerGroupOffsets(rk, &mut request, 1, options, queue);
            sys::rd_kafka_ListConsumerGroupOffsets_destroy(request);
        }
        let result = collect(queue, names.len(), timeout);
        sys::rd_kafka_AdminOptions_destroy(options);
        sys::rd_kafka_queue_destroy(queue);
        result
    }
}

/// Reads `expected` result events from `queue`.
unsafe fn collect(
    queue: *mut sys::rd_kafka_queue_t,
    expected: usize,
    timeout: Duration,
) -> Result<BTreeMap<String, Committed>, OffsetsError> {
    let deadline = Instant::now() + timeout + Duration::from_secs(1);
    let mut out = BTreeMap::new();
    let mut first_error = None;
    let mut answered = 0;
    while answered < expected {
        let Some(event) = next_event(queue, deadline) else {
            return Err(OffsetsError::Timeout {
                missing: expected - answered,
                timeout,
            });
        };
        answered += 1;
        if let Err(e) = read_event(event, &mut out) {
            first_error.get_or_insert(e);
        }
        sys::rd_kafka_event_destroy(event);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

unsafe fn read_event(
    event: *mut sys::rd_kafka_event_t,
    out: &mut BTreeMap<String, Committed>,
) -> Result<(), OffsetsError> {
    let result = sys::rd_kafka_event_ListConsumerGroupOffsets_result(event);
    if result.is_null() || sys::rd_kafka_event_error(event) != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(OffsetsError::Group {
            group: "?".into(),
            message: cstr(sys::rd_kafka_event_error_string(event)),
        });
    }
    let mut n = 0usize;
    let groups = sys::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut n);
    for i in 0..n {
        let g = *groups.add(i);
        let name = cstr(sys::rd_kafka_group_result_name(g));
        let error = sys::rd_kafka_group_result_error(g);
        if !error.is_null() {
            return Err(OffsetsError::Group {
                group: name,
                message: cstr(sys::rd_kafka_error_string(error)),
            });
        }
        let mut committed = Committed::new();
        let list = sys::rd_kafka_group_result_partitions(g);
        if !list.is_null() {
            for j in 0..(*list).cnt.max(0) as usize {
                let p = &*(*list).elems.add(j);
                // No commit is answered as offset -1 (librdkafka: RD_KAFKA_OFFSET_INVALID).
                if p.offset >= 0 && p.err == sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    committed.insert((cstr(p.topic), p.partition), p.offset);
                }
            }
        }
        out.insert(name, committed);
    }
    Ok(())
}
