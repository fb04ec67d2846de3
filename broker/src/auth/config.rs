//! Security settings with Kafka's names: a listener's security protocol, TLS material as PEM
//! files, and the SASL mechanisms offered.

use std::path::PathBuf;

/// Kafka's four security protocols (`listener.security.protocol.map` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn from_name(name: &str) -> Option<SecurityProtocol> {
        Some(match name {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// The connection is wrapped in TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// A client must authenticate with SASL before anything but ApiVersions.
    pub fn sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

/// `ssl.client.auth`: whether TLS clients must present a certificate signed by the truststore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Requested,
    Required,
}

/// TLS material, Kafka's `ssl.keystore.*` / `ssl.truststore.*` with `type = PEM`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `ssl.keystore.location`: a PEM file with the broker's certificate chain and private key
    /// (or only the chain, with the key in `ssl.key.location`).
    pub keystore: Option<PathBuf>,
    /// `ssl.key.location`: the private key in its own PEM file (librdkafka's name).
    pub key: Option<PathBuf>,
    /// `ssl.truststore.location`: PEM certificates of the CAs that sign client certificates.
    pub truststore: Option<PathBuf>,
    pub client_auth: ClientAuth,
}

/// What `sasl.enabled.mechanisms` may list, in Kafka's names.
pub const SUPPORTED_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", super::oauthbearer::NAME];

/// What SaslHandshake offers when `sasl.enabled.mechanisms` is not set: all but OAUTHBEARER,
/// whose unsecured tokens prove nothing and are offered only when asked for.
pub const DEFAULT_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];
