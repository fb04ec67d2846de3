//! Consumer-group workers that fan the metric topic out to sinks, at least once.
//!
//! Empty until issue 5 lands; it is here so the workspace has its final shape.
