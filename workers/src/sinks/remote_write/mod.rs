//! `type = "remote_write"`: batches pushed to a Prometheus remote write 1.0 receiver.
//!
//! `wire` holds the message and its bytes.

pub mod wire;
