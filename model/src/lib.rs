//! The metric data model and its wire formats (Influx line protocol, JSON). No I/O.
//!
//! Empty until the agent lands (issue 4); it is here so the workspace has its final shape.
