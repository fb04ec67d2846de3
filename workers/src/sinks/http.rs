//! `type = "http"`: each batch as one POST of line protocol or JSON, the way Telegraf's `http`
//! output sends it, so the InfluxDB v2 write API (`/api/v2/write?org=…&bucket=…`) and any
//! webhook take it.
//!
//! What an answer means:
//!
//! | answer | outcome |
//! |---|---|
//! | 2xx | acknowledged |
//! | connection refused or reset, timeout, 5xx, 408, 429 | transient: retried with backoff |
//! | any other 4xx (bad line, auth, too large, …) | rejected: the batch goes to the dead-letter topic |

use std::collections::BTreeMap;
use std::time::Duration;

use model::Metric;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Method, StatusCode};
use serde::Deserialize;

use super::{Format, Sink, SinkError, SinkFuture};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub name: String,
    /// Where batches are sent, `http://` or `https://`.
    pub url: String,
    /// `POST` (the default) or `PUT`.
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub format: Format,
    /// Connect plus the whole exchange; past it the attempt counts as a transient failure.
    #[serde(default = "default_timeout", deserialize_with = "kafka_client::duration")]
    pub timeout: Duration,
    /// Extra request headers, e.g. `Authorization = "Token …"` for InfluxDB.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_method() -> String {
    "POST".into()
}
fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

impl HttpConfig {
    /// Checks what can be checked before the first batch: the URL, method and header syntax.
    pub fn validate(&self) -> Result<(), super::config::SinkConfigError> {
        let bad = |key: &str, expected: &str, got: &str| Err((key.to_string(), expected.to_string(), got.to_string()));
        match reqwest::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => return bad("url", "an http:// or https:// URL", &format!("{:?}", self.url)),
        }
        if !matches!(self.method.as_str(), "POST" | "PUT") {
            return bad("method", "\"POST\" or \"PUT\"", &format!("{:?}", self.method));
        }
        if let Err(e) = headers(&self.headers) {
            return bad("headers", "valid HTTP header names and values", &e);
        }
        Ok(())
    }
}

pub(super) fn headers(configured: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (k, v) in configured {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("{k:?} is not a header name"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("the value of {k:?} is not a header value"))?;
        map.insert(name, value);
    }
    Ok(map)
}

pub struct HttpSink {
    client: Result<Client, String>,
    url: String,
    method: Method,
    format: Format,
    body: String,
}

impl HttpSink {
    pub fn new(config: &HttpConfig) -> Self {
        // rustls needs one process-wide crypto provider; a second install is a no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = headers(&config.headers).and_then(|headers| {
            Client::builder()
                .timeout(config.timeout)
                .default_headers(headers)
                .build()
                .map_err(|e| e.to_string())
        });
        HttpSink {
            client,
            url: config.url.clone(),
            method: if config.method == "PUT" {
                Method::PUT
            } else {
                Method::POST
            },
            format: config.format,
            body: String::new(),
        }
    }
}

impl Sink for HttpSink {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a> {
        Box::pin(async move {
            let client = self.client.as_ref().map_err(|e| SinkError::Transient(e.clone()))?;
            self.body.clear();
            let content_type = match self.format {
                Format::Influx => {
                    self.format.encode(batch, &mut self.body);
                    "text/plain; charset=utf-8"
                }
                Format::Json => {
                    // Telegraf's batch format: {"metrics":[…]}.
                    self.body.push_str("{\"metrics\":[");
                    for (i, m) in batch.iter().enumerate() {
                        if i > 0 {
                            self.body.push(',');
                        }
                        self.body.push_str(&model::json::encode(m, 1));
                    }
                    self.body.push_str("]}");
                    "application/json"
                }
            };
            let request = client
                .request(self.method.clone(), &self.url)
                .header(CONTENT_TYPE, content_type)
                .body(self.body.clone());
            send(request, &self.url, classify).await
        })
    }
}

/// Sends `request`: a 2xx acknowledges; a failure to send is transient; any other answer is
/// what `classify` makes of its status and the server's explanation (InfluxDB names the bad
/// line, Prometheus the refused sample), kept short for logs and dead-letter headers.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    url: &str,
    classify: fn(StatusCode, String) -> SinkError,
) -> Result<(), SinkError> {
    let response = request.send().await.map_err(|e| SinkError::Transient(describe(&e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let reason = format!("{url} {status}: {}", text.trim().chars().take(300).collect::<String>());
    Err(classify(status, reason))
}

/// 5xx, 408 and 429 may pass on their own; any other 4xx is the batch's fault.
fn classify(status: StatusCode, reason: String) -> SinkError {
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS {
        SinkError::Transient(reason)
    } else {
        SinkError::Rejected(reason)
    }
}

/// reqwest's Display hides the cause ("error sending request"); the chain says what happened.
pub(super) fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> HttpConfig {
        HttpConfig {
            name: "h".into(),
            url: url.into(),
            method: default_method(),
            format: Format::Influx,
            timeout: default_timeout(),
            headers: BTreeMap::new(),
        }
    }

    #[test]
    fn status_codes_are_classified_as_influxdb_and_webhooks_mean_them() {
        let kind = |code: u16| match classify(StatusCode::from_u16(code).unwrap(), String::new()) {
            SinkError::Transient(_) => "transient",
            SinkError::Rejected(_) => "rejected",
        };
        for code in [500, 502, 503, 504, 408, 429] {
            assert_eq!(kind(code), "transient", "{code}");
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert_eq!(kind(code), "rejected", "{code}");
        }
    }

    #[test]
    fn bad_urls_methods_and_headers_are_refused_before_the_first_batch() {
        let key = |c: HttpConfig| c.validate().unwrap_err().0;
        assert!(config("http://127.0.0.1:8086/api/v2/write?bucket=b").validate().is_ok());
        assert_eq!(key(config("ftp://x/")), "url");
        assert_eq!(key(config("not a url")), "url");
        let mut c = config("http://x/");
        c.method = "GET".into();
        assert_eq!(key(c), "method");
        let mut c = config("http://x/");
        c.headers.insert("Bad Header".into(), "v".into());
        let e = c.validate().unwrap_err();
        assert_eq!(e.0, "headers");
        assert!(e.2.contains("Bad Header"), "{e:?}");
    }
}
