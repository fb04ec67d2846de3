//! The collector: inputs (cpu, mem) → batches → Kafka output, with a spool for broker outages.
//!
//! Empty until issue 4 lands; it is here so the workspace has its final shape.
