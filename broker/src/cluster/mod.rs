//! The broker's data as the handlers see it: the topic registry ([`topics`]), each partition with
//! its log, its idempotent producers, its open and aborted transactions and its group-committed
//! fsyncs ([`partition`], [`producer_state`], [`partition_txns`]), topic settings ([`topic_config`], [`topic_keys`]) and the counters a partition keeps for
//! `/metrics` ([`stats`]), and the ACL bindings clients create ([`acls`]).
//!
//! It stores through `crate::log` and knows batches through `crate::record`; it knows nothing of
//! requests, connections or consumer groups.

pub mod acls;
pub mod broker_configs;
pub mod partition;
pub mod partition_txns;
pub mod producer_state;
pub mod stats;
pub mod topic_config;
pub mod topic_keys;
pub mod topics;
