//! Consumer-group lag collection and its Prometheus endpoint.
//!
//! Empty until issue 6 lands; it is here so the workspace has its final shape.
