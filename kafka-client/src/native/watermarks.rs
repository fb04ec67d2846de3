//! The high watermark librdkafka has cached for a partition from its latest fetch response.

use std::ffi::CString;

use rdkafka::client::{Client, ClientContext};
use rdkafka_sys as sys;

/// `(log start, high watermark)` as last fetched, without a request to the broker; `None` for a
/// partition this client has not fetched from (or a topic name with a NUL byte).
pub fn cached_watermarks<C: ClientContext>(client: &Client<C>, topic: &str, partition: i32) -> Option<(i64, i64)> {
    let topic = CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer lives as long as `client`; `topic` is a valid C string for the
    // call and `low`/`high` are valid out-pointers. The call only reads librdkafka's cached
    // offsets under its own lock.
    let err = unsafe {
        sys::rd_kafka_get_watermark_offsets(client.native_ptr(), topic.as_ptr(), partition, &mut low, &mut high)
    };
    (err == sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some((low, high))
}
