//! `type = "stdout"`: every metric on standard output, one line each.

use std::io::Write;

use model::Metric;
use serde::Deserialize;

use super::{Format, Sink, SinkError, SinkFuture};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    pub name: String,
    #[serde(default)]
    pub format: Format,
}

pub struct StdoutSink {
    format: Format,
    buf: String,
}

impl StdoutSink {
    pub fn new(config: &StdoutConfig) -> Self {
        StdoutSink {
            format: config.format,
            buf: String::new(),
        }
    }
}

impl Sink for StdoutSink {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a> {
        self.buf.clear();
        self.format.encode(batch, &mut self.buf);
        let result = {
            let mut out = std::io::stdout().lock();
            out.write_all(self.buf.as_bytes()).and_then(|()| out.flush())
        };
        Box::pin(async move { result.map_err(|e| SinkError::Transient(format!("stdout: {e}"))) })
    }
}
