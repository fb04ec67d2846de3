//! A Kafka client properties file, as `kafka-topics.sh --command-config` and the console
//! clients' `--consumer.config` / `--producer.config` read it, turned into librdkafka settings.
//!
//! Kafka's Java names that librdkafka spells differently are translated:
//! `sasl.mechanism` → `sasl.mechanisms`, `sasl.jaas.config` → `sasl.username` and
//! `sasl.password`, a PEM `ssl.truststore.location` → `ssl.ca.location`, a PEM
//! `ssl.keystore.location` → `ssl.certificate.location` and `ssl.key.location`, and an empty
//! `ssl.endpoint.identification.algorithm` → `none`. Every other key is passed to librdkafka as
//! it is (`security.protocol`, `client.id`, `ssl.ca.location`, …). `${VAR}` is expanded as in
//! the TOML files.

use std::path::{Path, PathBuf};

use rdkafka::ClientConfig;

use crate::env::{expand_env, EnvError, Expanded};

/// Settings read from a properties file, in librdkafka's names.
#[derive(Default)]
pub struct Properties {
    settings: Vec<(String, String)>,
    expanded: Expanded,
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys only: values may be passwords.
        f.debug_list().entries(self.settings.iter().map(|(k, _)| k)).finish()
    }
}

/// A line of the file that cannot work; never shows a value.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Env { path: PathBuf, source: EnvError },
    #[error("{path}: line {line}, {key}: expected {expected}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        expected: &'static str,
    },
}

impl Properties {
    /// Reads `path`, expanding `${VAR}` from the environment.
    pub fn load(path: &Path) -> Result<Self, PropertiesError> {
        let text = std::fs::read_to_string(path).map_err(|source| PropertiesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, |name| std::env::var(name).ok())
    }

    /// Parses `text` (from `path`, which errors name).
    pub fn parse(text: &str, path: &Path, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PropertiesError> {
        let expanded = expand_env(text, lookup).map_err(|source| PropertiesError::Env {
            path: path.to_path_buf(),
            source,
        })?;
        let mut settings = Vec::new();
        for (line, key, value) in entries(&expanded.text) {
            let invalid = |expected| PropertiesError::Invalid {
                path: path.to_path_buf(),
                line,
                key: key.clone(),
                expected,
            };
            match key.as_str() {
                "sasl.mechanism" => settings.push(("sasl.mechanisms".to_string(), value)),
                "sasl.jaas.config" => {
                    let (user, password) = jaas_credentials(&value)
                        .ok_or_else(|| invalid("a login module with username=\"…\" and password=\"…\""))?;
                    settings.push(("sasl.username".into(), user));
                    settings.push(("sasl.password".into(), password));
                }
                "ssl.truststore.location" => settings.push(("ssl.ca.location".into(), value)),
                "ssl.keystore.location" => {
                    settings.push(("ssl.certificate.location".into(), value.clone()));
                    settings.push(("ssl.key.location".into(), value));
                }
                "ssl.truststore.type" | "ssl.keystore.type" => {
                    if !value.eq_ignore_ascii_case("PEM") {
                        return Err(invalid(
                            "PEM (librdkafka reads PEM files; convert JKS or PKCS12 with keytool or openssl)",
                        ));
                    }
                }
                // A PEM trust store has no password; a PEM key store's is its key's.
                "ssl.truststore.password" => {}
                "ssl.keystore.password" => settings.push(("ssl.key.password".into(), value)),
                "ssl.endpoint.identification.algorithm" if value.is_empty() => {
                    settings.push((key.clone(), "none".into()))
                }
                _ => settings.push((key.clone(), value)),
            }
        }
        Ok(Properties { settings, expanded })
    }

    /// Sets every setting on `c`.
    pub fn apply(&self, c: &mut ClientConfig) {
        for (k, v) in &self.settings {
            c.set(k, v);
        }
    }

    /// `message` with every `${VAR}` value of the file put back as `${VAR}`: for librdkafka's
    /// errors about a setting, which quote its value.
    pub fn redact(&self, message: &str) -> String {
        let mut message = self.expanded.redact(message);
        for (k, v) in &self.settings {
            if k.ends_with("password") && !v.is_empty() {
                message = message.replace(v.as_str(), "***");
            }
        }
        message
    }
}

/// `(line number, key, value)` of each entry: `key=value` or `key: value`, `#` and `!`
/// comments, and a trailing `\` continuing the value on the next line.
fn entries(text: &str) -> Vec<(usize, String, String)> {
    let split = |start: usize, logical: &str| {
        let at = logical.find(['=', ':']).unwrap_or(logical.len());
        let value = logical.get(at + 1..).unwrap_or("").trim().to_string();
        (start, logical[..at].trim().to_string(), value)
    };
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let (start, mut logical) = match pending.take() {
            Some((start, so_far)) => (start, so_far + line),
            None if line.is_empty() || line.starts_with('#') || line.starts_with('!') => continue,
            None => (index + 1, line.to_string()),
        };
        if logical.ends_with('\\') && !logical.ends_with("\\\\") {
            logical.pop();
            pending = Some((start, logical));
            continue;
        }
        out.push(split(start, &logical));
    }
    // A continuation on the last line ends the entry there.
    out.extend(pending.map(|(start, logical)| split(start, &logical)));
    out
}

/// `username` and `password` of a JAAS line such as
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`.
fn jaas_credentials(jaas: &str) -> Option<(String, String)> {
    let mut user = None;
    let mut password = None;
    let mut rest = jaas;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim();
        let after = rest[eq + 1..].trim_start();
        let (value, remaining) = quoted(after)?;
        match name {
            "username" => user = Some(value),
            "password" => password = Some(value),
            _ => {}
        }
        rest = remaining;
    }
    Some((user?, password?))
}

/// A `"…"` string with `\` escapes at the start of `s`, and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &body[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Properties, PropertiesError> {
        Properties::parse(text, Path::new("client.properties"), |name| {
            (name == "PW").then(|| "pa\"ss-word".to_string())
        })
    }

    fn config(p: &Properties) -> ClientConfig {
        let mut c = ClientConfig::new();
        p.apply(&mut c);
        c
    }

    #[test]
    fn kafkas_java_names_become_librdkafkas() {
        let p = parse(
            "# a Kafka client file\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
             \x20   username=\"alice\" password=\"${PW}\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location=/etc/ca.pem\n\
             ssl.truststore.password=unused\n\
             ssl.endpoint.identification.algorithm=\n\
             client.id: tools\n",
        )
        .unwrap();
        let c = config(&p);
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(c.get("sasl.username"), Some("alice"));
        assert_eq!(c.get("sasl.password"), Some("pa\"ss-word"));
        assert_eq!(c.get("ssl.ca.location"), Some("/etc/ca.pem"));
        assert_eq!(c.get("ssl.truststore.password"), None);
        assert_eq!(c.get("ssl.endpoint.identification.algorithm"), Some("none"));
        assert_eq!(c.get("client.id"), Some("tools"));
        assert!(!format!("{p:?}").contains("pa\"ss"));
        assert_eq!(p.redact("bad value pa\"ss-word"), "bad value ${PW}");
        let literal = parse("sasl.username=u\nsasl.password=written-here\n").unwrap();
        assert_eq!(literal.redact("bad value written-here"), "bad value ***");
    }

    #[test]
    fn librdkafka_names_pass_through() {
        let p = parse("security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=PLAIN\nsasl.username=u\nsasl.password=p\n")
            .unwrap();
        let c = config(&p);
        assert_eq!(c.get("sasl.mechanisms"), Some("PLAIN"));
        assert_eq!(c.get("sasl.password"), Some("p"));
    }

    #[test]
    fn a_java_key_store_or_a_jaas_line_without_credentials_names_file_line_and_key() {
        let e = parse("security.protocol=SSL\nssl.truststore.type=JKS\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "client.properties: line 2, ssl.truststore.type: expected PEM (librdkafka reads PEM files; convert JKS or PKCS12 with keytool or openssl)"
        );
        let e = parse("sasl.jaas.config=PlainLoginModule required username=\"u\";\n").unwrap_err();
        assert!(e.to_string().contains("line 1, sasl.jaas.config"), "{e}");
        let e = parse("sasl.password=${NOT_SET}\n").unwrap_err();
        assert!(e.to_string().contains("NOT_SET is not set"), "{e}");
    }
}
