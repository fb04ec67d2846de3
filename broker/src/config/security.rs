//! The security settings: `ssl.*` (PEM files only), `sasl.enabled.mechanisms`, and who may do
//! what (`super.users`, `[acls.<user>]`, `authorizer.class.name`,
//! `allow.everyone.if.no.acl.found`).

use std::path::PathBuf;

use super::reader::Reader;
use super::{BrokerConfig, ClientAuth, ConfigError, SUPPORTED_MECHANISMS};

/// The authorizer `authorizer.class.name` may name: Kafka's, whose decisions the broker makes.
const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const AUTHORIZERS: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer (Kafka's rules, \
                           which the broker applies) or \"\" for none";

impl Reader<'_> {
    /// `ssl.*` and `sasl.enabled.mechanisms`; TLS listeners need a certificate.
    pub(super) fn security(&mut self, c: &mut BrokerConfig) -> Result<(), ConfigError> {
        for key in ["ssl.keystore.type", "ssl.truststore.type"] {
            if let Some(t) = self.string(key)? {
                if !t.eq_ignore_ascii_case("PEM") {
                    return Err(self.bad(
                        key,
                        "PEM (JKS and PKCS12 stores are not read; convert with openssl)",
                        &t,
                    ));
                }
            }
        }
        for key in ["ssl.key.password", "ssl.keystore.password", "ssl.truststore.password"] {
            // The value is a secret: it is never echoed.
            if self.take(key).is_some() {
                return Err(self.bad(
                    key,
                    "no password: encrypted keys and password-protected stores are not read; \
                     give unencrypted PEM files readable only by the broker",
                    &"a password (not shown)",
                ));
            }
        }
        c.tls.keystore = self.string("ssl.keystore.location")?.map(PathBuf::from);
        c.tls.key = self.string("ssl.key.location")?.map(PathBuf::from);
        c.tls.truststore = self.string("ssl.truststore.location")?.map(PathBuf::from);
        if let Some(v) = self.string("ssl.client.auth")? {
            c.tls.client_auth = match v.as_str() {
                "none" => ClientAuth::None,
                "requested" => ClientAuth::Requested,
                "required" => ClientAuth::Required,
                _ => return Err(self.bad("ssl.client.auth", "none, requested or required", &v)),
            };
        }
        let expected = format!("a list of SASL mechanisms from {}", SUPPORTED_MECHANISMS.join(", "));
        let expected = expected.as_str();
        if let Some(mechanisms) = self.list("sasl.enabled.mechanisms", expected)? {
            if let Some(bad) = mechanisms.iter().find(|m| !SUPPORTED_MECHANISMS.contains(&m.as_str())) {
                return Err(self.bad("sasl.enabled.mechanisms", expected, &format!("`{bad}`")));
            }
            if mechanisms.is_empty() {
                return Err(self.bad("sasl.enabled.mechanisms", expected, &"an empty list"));
            }
            c.sasl_mechanisms = mechanisms;
        }
        let tls_listener = c.listeners.iter().find(|l| l.protocol.tls());
        if let (Some(l), None) = (tls_listener, &c.tls.keystore) {
            return Err(self.bad(
                "ssl.keystore.location",
                "a PEM file with the broker's certificate chain and private key",
                &format!("nothing, while listener {}://{} uses TLS", l.name, l.addr()),
            ));
        }
        if c.tls.client_auth != ClientAuth::None && c.tls.truststore.is_none() {
            return Err(self.bad(
                "ssl.truststore.location",
                "a PEM file with the CAs that sign client certificates (ssl.client.auth is on)",
                &"nothing",
            ));
        }
        Ok(())
    }

    /// `super.users` (a list, or Kafka's `"User:a;User:b"`), the `[acls.<user>]` tables,
    /// `authorizer.class.name` and `allow.everyone.if.no.acl.found`.
    pub(super) fn acls(&mut self, c: &mut BrokerConfig) -> Result<(), ConfigError> {
        let expected = "user names: [\"admin\"] or Kafka's \"User:admin;User:ops\"";
        if let Some(v) = self.take("super.users") {
            let names: Vec<&str> = match &v {
                toml::Value::String(s) => s.split(';').collect(),
                toml::Value::Array(a) => a.iter().map(|u| u.as_str().unwrap_or("")).collect(),
                _ => Vec::new(),
            };
            let names: Vec<String> = names
                .iter()
                .map(|n| n.trim().trim_start_matches("User:").to_string())
                .collect();
            if names.is_empty() || names.iter().any(String::is_empty) {
                return Err(self.bad("super.users", expected, &v));
            }
            c.acls.super_users = names;
            c.acls.enabled = true;
        }
        let keys: Vec<String> = self.flat.keys().filter(|k| k.starts_with("acls.")).cloned().collect();
        for key in keys {
            let Some(value) = self.take(&key) else { continue };
            let Some((user, permission)) = key["acls.".len()..].rsplit_once('.') else {
                return Err(self.bad(
                    &key,
                    "[acls.<user>] tables of produce, consume, groups, describe or admin",
                    &value,
                ));
            };
            crate::auth::grants::grant(&mut c.acls.bindings, user, permission, &value)
                .map_err(|expected| self.bad(&key, expected, &value))?;
            c.acls.enabled = true;
        }
        c.acls.bindings.sort();
        if let Some(v) = self.take("authorizer.class.name") {
            match v.as_str() {
                Some(STANDARD_AUTHORIZER) => c.acls.enabled = true,
                Some("") => {}
                _ => return Err(self.bad("authorizer.class.name", AUTHORIZERS, &v)),
            }
        }
        if let Some(v) = self.take("allow.everyone.if.no.acl.found") {
            c.acls.allow_if_no_acl = v
                .as_bool()
                .ok_or_else(|| self.bad("allow.everyone.if.no.acl.found", "true or false", &v))?;
        }
        Ok(())
    }
}
