//! Topic ids (KIP-516) through librdkafka's `rd_kafka_DescribeTopics`. `sluice topics --describe` prints them in the `TopicId:` column, as
//! kafka-topics.sh does.
//!
//! librdkafka answers DescribeTopics from a Metadata request (v10 and later carry topic ids). It
//! renders an id in standard base64; Kafka's `Uuid.toString()`, which every Kafka tool prints,
//! uses the URL-safe alphabet without padding, so ids are converted to that.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka_sys as sys;

use super::{admin_options, cstr, next_event};

#[derive(Debug, thiserror::Error)]
pub enum TopicIdsError {
    #[error("topic name '{0}' contains a NUL byte")]
    BadName(String),
    #[error("describing topics: {0}")]
    Describe(String),
    #[error("no answer to DescribeTopics within {0:?}")]
    Timeout(Duration),
}

/// Each named topic's id; a topic the cluster does not know (or did not describe) is absent.
pub fn topic_ids<C: ClientContext>(
    client: &Client<C>,
    topics: &[&str],
    timeout: Duration,
) -> Result<BTreeMap<String, String>, TopicIdsError> {
    let names = topics
        .iter()
        .map(|t| CString::new(*t).map_err(|_| TopicIdsError::BadName(t.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pointers: Vec<*const std::os::raw::c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let rk = client.native_ptr();
    // SAFETY: `rk` lives as long as `client`, which outlives this call. The collection, options
    // and queue are created and destroyed here; librdkafka copies the names out of `pointers`
    // (which `names` keeps alive) when building the collection. The one result event is destroyed
    // after reading, and every string read from it is copied first.
    unsafe {
        let collection = sys::rd_kafka_TopicCollection_of_topic_names(pointers.as_mut_ptr(), pointers.len());
        let options = admin_options(rk, sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS, timeout);
        let queue = sys::rd_kafka_queue_new(rk);
        sys::rd_kafka_DescribeTopics(rk, collection, options, queue);
        let result = wait(queue, timeout);
        sys::rd_kafka_queue_destroy(queue);
        sys::rd_kafka_AdminOptions_destroy(options);
        sys::rd_kafka_TopicCollection_destroy(collection);
        result
    }
}

unsafe fn wait(
    queue: *mut sys::rd_kafka_queue_t,
    timeout: Duration,
) -> Result<BTreeMap<String, String>, TopicIdsError> {
    let event =
        next_event(queue, Instant::now() + timeout + Duration::from_secs(1)).ok_or(TopicIdsError::Timeout(timeout))?;
    let read = read(event);
    sys::rd_kafka_event_destroy(event);
    read
}

unsafe fn read(event: *mut sys::rd_kafka_event_t) -> Result<BTreeMap<String, String>, TopicIdsError> {
    let result = sys::rd_kafka_event_DescribeTopics_result(event);
    if result.is_null() || sys::rd_kafka_event_error(event) != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Err(TopicIdsError::Describe(cstr(sys::rd_kafka_event_error_string(event))));
    }
    let mut n = 0usize;
    let described = sys::rd_kafka_DescribeTopics_result_topics(result, &mut n);
    let mut ids = BTreeMap::new();
    for i in 0..n {
        let topic = *described.add(i);
        if !sys::rd_kafka_TopicDescription_error(topic).is_null() {
            continue;
        }
        let id = sys::rd_kafka_TopicDescription_topic_id(topic);
        if !id.is_null() {
            ids.insert(
                cstr(sys::rd_kafka_TopicDescription_name(topic)),
                url_safe(&cstr(sys::rd_kafka_Uuid_base64str(id))),
            );
        }
    }
    Ok(ids)
}

/// Standard base64 to Kafka's form of it (RFC 4648 §5, no padding).
fn url_safe(standard: &str) -> String {
    standard
        .chars()
        .filter(|c| *c != '=')
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_printed_in_kafkas_url_safe_base64() {
        assert_eq!(super::url_safe("NgEr1wDmRly9w6c/KIgSBg=="), "NgEr1wDmRly9w6c_KIgSBg");
        assert_eq!(super::url_safe("a+b/c"), "a-b_c");
    }
}
