//! The two encodings a text sink writes: Influx line protocol and JSON lines.

use model::{json, line_protocol, Metric};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Influx line protocol, nanosecond timestamps (what InfluxDB's write API takes).
    #[default]
    Influx,
    /// Telegraf's JSON, one object per line, nanosecond timestamps.
    Json,
}

impl Format {
    /// Appends one line per metric (newline included).
    pub fn encode(self, batch: &[Metric], out: &mut String) {
        for m in batch {
            match self {
                Format::Influx => {
                    line_protocol::encode_into(m, line_protocol::Options::default(), out);
                }
                Format::Json => {
                    out.push_str(&json::encode(m, 1));
                    out.push('\n');
                }
            }
        }
    }
}
