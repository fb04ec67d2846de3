//! The Kafka record headers the agent writes and the workers read: the contract that lets a
//! consumer count what an agent sent, spot gaps and duplicates, and know when a sample was taken
//! without parsing its value. Values are ASCII decimal.

/// The sending agent's id (its hostname unless configured).
pub const AGENT: &str = "sluice-agent";
/// The agent's sequence number for this record: 0, 1, 2, … with no gap, across restarts.
pub const SEQ: &str = "sluice-seq";
/// When the sample was taken, in nanoseconds since the Unix epoch.
pub const TIME: &str = "sluice-time";
