//! One POST per batch to the receiver, and what its answer means for the batch.

use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
use reqwest::{Client, StatusCode};

use model::Metric;

use super::request::write_request;
use super::RemoteWriteConfig;
use crate::sinks::http::send;
use crate::sinks::{Sink, SinkError, SinkFuture};

/// The version header remote write 1.0 asks every request to carry.
const VERSION: &str = "0.1.0";

pub struct RemoteWriteSink {
    client: Result<Client, String>,
    url: String,
    snappy: snap::raw::Encoder,
}

impl RemoteWriteSink {
    pub fn new(config: &RemoteWriteConfig) -> Self {
        // rustls needs one process-wide crypto provider; a second install is a no-op error.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = config
            .request_headers()
            .map_err(|key| format!("`{key}` cannot be sent as a header"))
            .and_then(|mut headers| {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"));
                headers.insert("x-prometheus-remote-write-version", HeaderValue::from_static(VERSION));
                headers.insert(
                    USER_AGENT,
                    HeaderValue::from_static(concat!("sluice/", env!("CARGO_PKG_VERSION"))),
                );
                Client::builder()
                    .timeout(config.timeout)
                    .default_headers(headers)
                    .build()
                    .map_err(|e| e.to_string())
            });
        RemoteWriteSink {
            client,
            url: config.url.clone(),
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl Sink for RemoteWriteSink {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a> {
        Box::pin(async move {
            let client = self.client.as_ref().map_err(|e| SinkError::Transient(e.clone()))?;
            let request = write_request(batch);
            if request.timeseries.is_empty() {
                // Only string fields: nothing a time-series database can take, nothing to send.
                return Ok(());
            }
            // Only a body past snappy's 4 GiB limit fails here, and it always would.
            let body = request
                .to_body(&mut self.snappy)
                .map_err(|e| SinkError::Rejected(e.to_string()))?;
            send(client.post(&self.url).body(body), &self.url, classify).await
        })
    }
}

/// The spec: retry 5xx with backoff, and 429; never retry another 4xx, which would only fail
/// again (unlike the http sink, 408 is not retried: the spec names only 429).
fn classify(status: StatusCode, reason: String) -> SinkError {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        SinkError::Transient(reason)
    } else {
        SinkError::Rejected(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_hundreds_and_429_are_retried_other_answers_rejected() {
        let kind = |code: u16| match classify(StatusCode::from_u16(code).unwrap(), String::new()) {
            SinkError::Transient(_) => "transient",
            SinkError::Rejected(_) => "rejected",
        };
        for code in [500, 502, 503, 504, 429] {
            assert_eq!(kind(code), "transient", "{code}");
        }
        for code in [400, 401, 403, 404, 408, 413, 422, 302] {
            assert_eq!(kind(code), "rejected", "{code}");
        }
    }
}
