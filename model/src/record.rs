//! A Kafka record's value back into metrics: Influx line protocol or JSON lines, as the agent
//! writes them (Telegraf's `data_format = "influx"` or `"json"`). The workers and `sluice up`'s
//! console read the metric topic with it.

use crate::{json, line_protocol, Metric};

/// Decodes a value; the error is the reason that goes into the dead-letter header.
pub fn decode(value: &[u8]) -> Result<Vec<Metric>, String> {
    let text = std::str::from_utf8(value).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut out = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let metric = if line.starts_with('{') {
            json::parse(line, None).map_err(|e| e.to_string())?
        } else {
            line_protocol::parse_line(line).map_err(|e| e.to_string())?
        };
        out.push(metric);
    }
    if out.is_empty() {
        return Err("empty record".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats_and_explains_garbage() {
        assert_eq!(decode(b"cpu usage_idle=1 1\n").unwrap().len(), 1);
        let json = br#"{"fields":{"used":1},"name":"mem","tags":{},"timestamp":1700000000}"#;
        assert_eq!(decode(json).unwrap()[0].timestamp, 1_700_000_000_000_000_000);
        assert!(decode(&[0xff, 0xfe, 0x00]).unwrap_err().contains("UTF-8"));
        assert!(decode(b"cpu no fields here").unwrap_err().contains("line protocol"));
        assert!(decode(b"").is_err());
    }
}
