//! Partition storage: segments, offset and time indexes, recovery, retention.
