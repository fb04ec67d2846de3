//! The librdkafka calls rdkafka 0.39 does not wrap, each behind a safe function: the only
//! `unsafe` of sluice's Kafka clients lives here.
//!
//! - [`list_group_offsets`]: many groups' committed offsets through one admin client
//!   (`rd_kafka_ListConsumerGroupOffsets`), for the lag exporter.
//! - [`topic_ids`]: topics' ids (`rd_kafka_DescribeTopics`), for `sluice topics --describe`.
//! - [`cached_watermarks`]: a partition's high watermark from librdkafka's cache
//!   (`rd_kafka_get_watermark_offsets`), for the workers' `records-lag-max`.

mod group_offsets;
mod topic_ids;
mod watermarks;

pub use group_offsets::{list_group_offsets, Committed, OffsetsError};
pub use topic_ids::{topic_ids, TopicIdsError};
pub use watermarks::cached_watermarks;
