//! Who may talk to the broker: TLS on SSL and SASL_SSL listeners, SASL (PLAIN, SCRAM-SHA-256,
//! SCRAM-SHA-512, and OAUTHBEARER's unsecured tokens where enabled) on SASL_PLAINTEXT and
//! SASL_SSL listeners, and the users file PLAIN and SCRAM check against.
//!
//! A connection's path: accept → TLS handshake (TLS listeners) → ApiVersions → SaslHandshake →
//! SaslAuthenticate until `sasl::SaslSession` says authenticated (SASL listeners) → every other
//! API, each request checked against `acl` (Kafka's authorizer over broker.toml's grants and
//! the bindings clients created). Nothing here knows topics, logs or groups.

pub mod acl;
pub mod config;
pub mod grants;
pub mod oauthbearer;
pub mod sasl;
pub mod scram;
pub mod tls;
pub mod users;

/// One connection's state beyond its socket: who it is and how far it has authenticated. The
/// connection loop (`net`) owns it; the SASL handlers advance it and every handler reads who
/// the client is from it.
pub struct Session {
    pub peer: std::net::SocketAddr,
    pub sasl: sasl::SaslSession,
    /// Which of `listeners` the connection came in on (an index into the advertised listeners).
    pub listener: usize,
}
