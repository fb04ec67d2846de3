//! TLS and SASL for a Kafka client, with the option names of Telegraf's Kafka plugins.
//!
//! | option | librdkafka setting |
//! |---|---|
//! | `enable_tls` (on when any `tls_*` is set) | `security.protocol` = `SSL` / `SASL_SSL` |
//! | `tls_ca` | `ssl.ca.location` (unset: the system's CA store) |
//! | `tls_cert`, `tls_key` | `ssl.certificate.location`, `ssl.key.location` |
//! | `insecure_skip_verify` | `enable.ssl.certificate.verification=false`, no host name check |
//! | `sasl_username`, `sasl_password` | `sasl.username`, `sasl.password`; SASL on |
//! | `sasl_mechanism` (default `PLAIN`) | `sasl.mechanisms` |

use std::fmt;
use std::path::PathBuf;

use rdkafka::ClientConfig;
use serde::Deserialize;

use crate::config_file::ConfigError;

/// A password: read from a config file, handed to librdkafka, and never printed (`Debug` shows
/// `"***"`).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Plaintext => "PLAINTEXT",
            Protocol::Ssl => "SSL",
            Protocol::SaslPlaintext => "SASL_PLAINTEXT",
            Protocol::SaslSsl => "SASL_SSL",
        }
    }
}

/// The SASL mechanisms sluice's clients and broker both speak.
pub const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// A client's TLS and SASL options. Each config file declares these fields under its own
/// table and builds this from them, so the names and checks are the same everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    pub enable_tls: Option<bool>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<Secret>,
}

/// An option that cannot work, named by its key; `got` never holds a password.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` expects {expected}, got {got}")]
pub struct SecurityError {
    pub key: &'static str,
    pub expected: String,
    pub got: String,
}

impl Security {
    /// Whether the connection is encrypted.
    pub fn tls(&self) -> bool {
        self.enable_tls.unwrap_or(
            self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_key.is_some() || self.insecure_skip_verify,
        )
    }

    pub fn sasl(&self) -> bool {
        self.sasl_username.is_some()
    }

    pub fn protocol(&self) -> Protocol {
        match (self.tls(), self.sasl()) {
            (false, false) => Protocol::Plaintext,
            (true, false) => Protocol::Ssl,
            (false, true) => Protocol::SaslPlaintext,
            (true, true) => Protocol::SaslSsl,
        }
    }

    /// The mechanism in librdkafka's spelling.
    pub fn mechanism(&self) -> &str {
        self.sasl_mechanism.as_deref().unwrap_or("PLAIN")
    }

    /// Checks what the types cannot: a known mechanism, a username with its password, a key
    /// with its certificate, and files that can be read.
    pub fn check(&self) -> Result<(), SecurityError> {
        let err = |key, expected: &str, got: String| SecurityError {
            key,
            expected: expected.to_string(),
            got,
        };
        if let Some(m) = &self.sasl_mechanism {
            if !MECHANISMS.contains(&m.to_ascii_uppercase().as_str()) {
                return Err(err(
                    "sasl_mechanism",
                    "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
                    format!("{m:?}"),
                ));
            }
            if self.sasl_username.is_none() {
                return Err(err(
                    "sasl_username",
                    "a user name when sasl_mechanism is set",
                    "none".into(),
                ));
            }
        }
        match (&self.sasl_username, &self.sasl_password) {
            (Some(u), _) if u.is_empty() => {
                return Err(err("sasl_username", "a user name", "\"\"".into()));
            }
            (Some(_), None) => {
                return Err(err(
                    "sasl_password",
                    "the password of sasl_username (write \"${VAR}\" to read it from the environment)",
                    "none".into(),
                ));
            }
            (None, Some(_)) => return Err(err("sasl_username", "the user sasl_password belongs to", "none".into())),
            _ => {}
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err(err("tls_key", "the private key of tls_cert", "none".into())),
            (None, Some(_)) => return Err(err("tls_cert", "the certificate of tls_key", "none".into())),
            _ => {}
        }
        if self.enable_tls == Some(false) && (self.tls_ca.is_some() || self.tls_cert.is_some()) {
            return Err(err(
                "enable_tls",
                "true or unset when tls_ca or tls_cert is given",
                "false".into(),
            ));
        }
        for (key, path) in [
            ("tls_ca", &self.tls_ca),
            ("tls_cert", &self.tls_cert),
            ("tls_key", &self.tls_key),
        ] {
            if let Some(p) = path {
                if let Err(e) = std::fs::File::open(p) {
                    return Err(err(key, "a readable PEM file", format!("{} ({e})", p.display())));
                }
            }
        }
        Ok(())
    }

    /// [`Security::check`] for a config file whose options sit under `table` (`"outputs.kafka."`
    /// or `""`), and a refusal of any key of its `librdkafka` table that an option sets.
    pub fn validate<'a>(
        &self,
        table: &str,
        librdkafka: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), ConfigError> {
        self.check()
            .map_err(|e| ConfigError::invalid(format!("{table}{}", e.key), e.expected, e.got))?;
        let keys = self.librdkafka_keys();
        match librdkafka.into_iter().find(|k| keys.contains(&k.as_str())) {
            Some(key) => Err(ConfigError::invalid(
                format!("{table}librdkafka.\"{key}\""),
                "to be left to the tls_* and sasl_* options, which set it",
                "a conflicting librdkafka setting",
            )),
            None => Ok(()),
        }
    }

    /// The librdkafka settings this sets, so a config can refuse a raw setting that clashes.
    pub fn librdkafka_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.protocol() != Protocol::Plaintext {
            keys.push("security.protocol");
        }
        if self.tls() {
            keys.extend([
                "ssl.ca.location",
                "ssl.certificate.location",
                "ssl.key.location",
                "enable.ssl.certificate.verification",
                "ssl.endpoint.identification.algorithm",
            ]);
        }
        if self.sasl() {
            keys.extend(["sasl.mechanisms", "sasl.mechanism", "sasl.username", "sasl.password"]);
        }
        keys
    }

    /// Sets librdkafka's settings; a plaintext connection sets nothing, so a raw
    /// `security.protocol` in a `librdkafka` table still works as before.
    pub fn apply(&self, c: &mut ClientConfig) {
        if self.protocol() == Protocol::Plaintext {
            return;
        }
        c.set("security.protocol", self.protocol().name());
        if self.tls() {
            // Without tls_ca, librdkafka looks for the system's CA bundle in the usual places.
            let ca = self
                .tls_ca
                .as_ref()
                .map_or("probe".to_string(), |p| p.display().to_string());
            c.set("ssl.ca.location", ca);
            if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
                c.set("ssl.certificate.location", cert.display().to_string())
                    .set("ssl.key.location", key.display().to_string());
            }
            if self.insecure_skip_verify {
                c.set("enable.ssl.certificate.verification", "false")
                    .set("ssl.endpoint.identification.algorithm", "none");
            }
        }
        if let (Some(user), Some(password)) = (&self.sasl_username, &self.sasl_password) {
            c.set("sasl.mechanisms", self.mechanism().to_ascii_uppercase())
                .set("sasl.username", user)
                .set("sasl.password", password.expose());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl_ssl(ca: PathBuf) -> Security {
        Security {
            tls_ca: Some(ca),
            sasl_mechanism: Some("scram-sha-256".into()),
            sasl_username: Some("agent".into()),
            sasl_password: Some(Secret::new("hunter2-pw")),
            ..Security::default()
        }
    }

    #[test]
    fn no_options_is_plaintext_and_sets_nothing() {
        let mut c = ClientConfig::new();
        Security::default().apply(&mut c);
        assert_eq!(Security::default().protocol(), Protocol::Plaintext);
        assert!(c.config_map().is_empty());
        assert!(Security::default().librdkafka_keys().is_empty());
    }

    #[test]
    fn tls_ca_and_a_user_make_sasl_ssl_with_librdkafka_names() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let s = sasl_ssl(ca.path().to_path_buf());
        s.check().unwrap();
        let mut c = ClientConfig::new();
        s.apply(&mut c);
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-256"));
        assert_eq!(c.get("sasl.username"), Some("agent"));
        assert_eq!(c.get("sasl.password"), Some("hunter2-pw"));
        assert_eq!(c.get("ssl.ca.location"), Some(ca.path().to_str().unwrap()));
        assert_eq!(c.get("enable.ssl.certificate.verification"), None);
    }

    #[test]
    fn each_half_of_tls_and_sasl_alone_picks_its_protocol() {
        let tls = Security {
            enable_tls: Some(true),
            ..Security::default()
        };
        assert_eq!(tls.protocol(), Protocol::Ssl);
        let mut c = ClientConfig::new();
        tls.apply(&mut c);
        assert_eq!(c.get("ssl.ca.location"), Some("probe"));
        let sasl = Security {
            sasl_username: Some("u".into()),
            sasl_password: Some(Secret::new("p")),
            ..Security::default()
        };
        assert_eq!(sasl.protocol(), Protocol::SaslPlaintext);
        assert_eq!(sasl.mechanism(), "PLAIN");
        let skip = Security {
            insecure_skip_verify: true,
            ..Security::default()
        };
        let mut c = ClientConfig::new();
        skip.apply(&mut c);
        assert_eq!(c.get("security.protocol"), Some("SSL"));
        assert_eq!(c.get("enable.ssl.certificate.verification"), Some("false"));
    }

    #[test]
    fn inconsistent_options_name_the_key_and_never_the_password() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let cases: Vec<(Security, &str)> = vec![
            (
                Security {
                    sasl_mechanism: Some("GSSAPI".into()),
                    ..sasl_ssl(ca.path().into())
                },
                "sasl_mechanism",
            ),
            (
                Security {
                    sasl_password: None,
                    ..sasl_ssl(ca.path().into())
                },
                "sasl_password",
            ),
            (
                Security {
                    sasl_username: None,
                    sasl_mechanism: None,
                    ..sasl_ssl(ca.path().into())
                },
                "sasl_username",
            ),
            (
                Security {
                    tls_cert: Some(ca.path().into()),
                    ..sasl_ssl(ca.path().into())
                },
                "tls_key",
            ),
            (sasl_ssl("/nonexistent/ca.pem".into()), "tls_ca"),
            (
                Security {
                    enable_tls: Some(false),
                    ..sasl_ssl(ca.path().into())
                },
                "enable_tls",
            ),
        ];
        for (s, key) in cases {
            let e = s.check().unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let s = sasl_ssl("/ca.pem".into());
        let shown = format!("{s:?}");
        assert!(shown.contains("\"***\"") && !shown.contains("hunter2"), "{shown}");
    }
}
