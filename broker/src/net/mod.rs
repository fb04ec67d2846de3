//! The network edge: listeners accept connections, TLS is completed where a listener asks for
//! it, and each connection's loop reads requests, hands them to `crate::api` and writes the
//! answers in order ([`server`]), within Kafka's connection limits ([`limits`]).

pub mod limits;
pub mod server;
