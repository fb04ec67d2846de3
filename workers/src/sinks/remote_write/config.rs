//! The `[[sinks]] type = "remote_write"` table. Authentication takes the names of Prometheus'
//! own `remote_write` configuration, so a block from `prometheus.yml` carries over:
//! `basic_auth = { username, password }`, `authorization = { type, credentials }`, or its older
//! shorthand `bearer_token`. Secrets come from the environment with `"${VAR}"`.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use kafka_client::Secret;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde::Deserialize;

use crate::sinks::config::SinkConfigError;
use crate::sinks::http::headers;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    pub name: String,
    /// The receiver's write endpoint: Prometheus' `/api/v1/write`, Mimir's `/api/v1/push`, …
    pub url: String,
    /// Connect plus the whole exchange; past it the attempt counts as a transient failure.
    /// Prometheus' `remote_timeout` defaults to 30s too.
    #[serde(default = "default_timeout", deserialize_with = "kafka_client::duration")]
    pub timeout: Duration,
    /// Extra request headers (a tenant's `X-Scope-OrgID` for Mimir, say).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// `authorization = { credentials = … }` in one key, as Prometheus before 2.26 named it.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default)]
    pub password: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme before the credentials.
    #[serde(rename = "type", default = "default_scheme")]
    pub scheme: String,
    pub credentials: Secret,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_scheme() -> String {
    "Bearer".into()
}

/// Headers the sink sets itself, which `headers` may not change (Prometheus refuses them in its
/// own `headers` too): the protocol's, and `Authorization`, which has its own keys.
const RESERVED: [&str; 5] = [
    "authorization",
    "content-encoding",
    "content-type",
    "user-agent",
    "x-prometheus-remote-write-version",
];

impl RemoteWriteConfig {
    /// Checks what can be checked before the first batch: the URL, headers and authentication.
    pub fn validate(&self) -> Result<(), SinkConfigError> {
        let bad = |key: &str, expected: &str, got: String| Err((key.to_string(), expected.to_string(), got));
        match reqwest::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => return bad("url", "an http:// or https:// URL", format!("{:?}", self.url)),
        }
        if let Some(k) = self
            .headers
            .keys()
            .find(|k| RESERVED.contains(&k.to_ascii_lowercase().as_str()))
        {
            let expected = "headers the sink does not set itself (authentication has its own keys)";
            return bad("headers", expected, format!("{k:?}"));
        }
        if let Err(e) = headers(&self.headers) {
            return bad("headers", "valid HTTP header names and values", e);
        }
        let given: Vec<&str> = [
            ("basic_auth", self.basic_auth.is_some()),
            ("authorization", self.authorization.is_some()),
            ("bearer_token", self.bearer_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        if let [_, second, ..] = given.as_slice() {
            let expected = "one of basic_auth, authorization or bearer_token, not several";
            return bad(second, expected, given.join(" and "));
        }
        if let Some(a) = &self.authorization {
            if a.scheme.is_empty() || a.scheme.contains(char::is_whitespace) {
                return bad(
                    "authorization.type",
                    "a scheme such as \"Bearer\"",
                    format!("{:?}", a.scheme),
                );
            }
        }
        if let Err(key) = self.request_headers() {
            // The value is a secret: only say where it is.
            return bad(
                &key,
                "a value that fits in an HTTP header",
                "a control character".into(),
            );
        }
        Ok(())
    }

    /// Every header the sink sends besides the protocol's: `headers`, then `Authorization`
    /// (marked sensitive, so it never shows in a log). The error is the key at fault.
    pub(super) fn request_headers(&self) -> Result<HeaderMap, String> {
        let mut map = headers(&self.headers).map_err(|_| "headers".to_string())?;
        let (key, value) = match (&self.basic_auth, &self.authorization, &self.bearer_token) {
            (Some(b), _, _) => {
                let pair = format!("{}:{}", b.username, b.password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                ("basic_auth", format!("Basic {encoded}"))
            }
            (None, Some(a), _) => (
                "authorization.credentials",
                format!("{} {}", a.scheme, a.credentials.expose()),
            ),
            (None, None, Some(token)) => ("bearer_token", format!("Bearer {}", token.expose())),
            (None, None, None) => return Ok(map),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| key.to_string())?;
        value.set_sensitive(true);
        map.insert(AUTHORIZATION, value);
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::SinkConfig;

    fn parse(extra: &str) -> RemoteWriteConfig {
        let text =
            format!("type = \"remote_write\"\nname = \"rw\"\nurl = \"http://127.0.0.1:9090/api/v1/write\"\n{extra}");
        match toml::from_str::<SinkConfig>(&text) {
            Ok(SinkConfig::RemoteWrite(c)) => c,
            other => panic!("{other:?}"),
        }
    }

    fn authorization(c: &RemoteWriteConfig) -> Option<String> {
        let map = c.request_headers().unwrap();
        map.get(AUTHORIZATION).map(|v| v.to_str().unwrap().to_string())
    }

    /// The example is commented out in `config/workers.toml` (it needs a receiver); uncommented,
    /// it must parse, validate and show the defaults.
    #[test]
    fn the_commented_example_parses_with_the_defaults() {
        let example = crate::sinks::config::commented_example("remote_write");
        let config = crate::Config::parse(&example).unwrap();
        config.validate().unwrap();
        let Some(SinkConfig::RemoteWrite(c)) = config.sinks.first() else {
            panic!("{example}");
        };
        let d = parse("");
        assert_eq!((c.timeout, &c.headers), (d.timeout, &d.headers));
        assert_eq!(c.url, "http://127.0.0.1:9090/api/v1/write");
        assert_eq!(c.basic_auth.as_ref().map(|b| b.username.as_str()), Some("sluice"));
        assert!(c.authorization.is_none() && c.bearer_token.is_none());
    }

    #[test]
    fn defaults_are_prometheus_ones_and_no_authorization() {
        let c = parse("");
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert!(c.validate().is_ok());
        assert_eq!(authorization(&c), None);
    }

    #[test]
    fn each_kind_of_authentication_makes_its_authorization_header() {
        let c = parse("basic_auth = { username = \"Aladdin\", password = \"open sesame\" }");
        // RFC 7617's own example.
        assert_eq!(authorization(&c).as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        let c = parse("authorization = { credentials = \"t0ken\" }");
        assert_eq!(authorization(&c).as_deref(), Some("Bearer t0ken"));
        let c = parse("authorization = { type = \"Token\", credentials = \"t0ken\" }");
        assert_eq!(authorization(&c).as_deref(), Some("Token t0ken"));
        let c = parse("bearer_token = \"t0ken\"\nheaders = { X-Scope-OrgID = \"tenant-1\" }");
        assert_eq!(authorization(&c).as_deref(), Some("Bearer t0ken"));
        assert_eq!(c.request_headers().unwrap()["x-scope-orgid"], "tenant-1");
        assert!(c.request_headers().unwrap()[AUTHORIZATION].is_sensitive());
        assert!(!format!("{c:?}").contains("t0ken"), "Debug hides secrets");
    }

    #[test]
    fn two_kinds_of_authentication_together_are_refused_naming_both() {
        let c = parse("basic_auth = { username = \"u\", password = \"p\" }\nbearer_token = \"t\"");
        let (key, expected, got) = c.validate().unwrap_err();
        assert_eq!(key, "bearer_token");
        assert!(expected.contains("not several"), "{expected}");
        assert_eq!(got, "basic_auth and bearer_token");
        let c = parse("basic_auth = { username = \"u\" }\nauthorization = { credentials = \"t\" }");
        assert_eq!(c.validate().unwrap_err().0, "authorization");
    }

    #[test]
    fn bad_urls_reserved_headers_and_unsendable_secrets_are_refused() {
        let key = |c: RemoteWriteConfig| c.validate().unwrap_err().0;
        let mut c = parse("");
        c.url = "ftp://x/".into();
        assert_eq!(key(c), "url");
        assert_eq!(key(parse("headers = { authorization = \"Bearer x\" }")), "headers");
        assert_eq!(key(parse("headers = { Content-Encoding = \"gzip\" }")), "headers");
        assert_eq!(key(parse("headers = { \"Bad Header\" = \"v\" }")), "headers");
        let e = parse("bearer_token = \"line\\nbreak\"").validate().unwrap_err();
        assert_eq!(e.0, "bearer_token");
        assert!(!e.2.contains("line"), "the secret is not shown: {e:?}");
        assert_eq!(
            key(parse("authorization = { type = \"\", credentials = \"t\" }")),
            "authorization.type"
        );
        assert!(toml::from_str::<SinkConfig>(
            "type = \"remote_write\"\nname = \"rw\"\nurl = \"http://x/\"\nremote_timeout = \"1s\""
        )
        .is_err());
    }
}
