//! JSON as Telegraf's `json` serializer writes it: one object per metric,
//! `{"fields":{…},"name":"cpu","tags":{…},"timestamp":1700000000}`, keys sorted, the timestamp an
//! integer in `json_timestamp_units` (seconds by default, truncated as Telegraf truncates).
//! NaN and infinite floats are left out (JSON has no spelling for them).

use serde_json::{Map, Value};

use crate::{FieldValue, Metric};

/// Encodes one metric; `timestamp_units_ns` is `json_timestamp_units` in nanoseconds.
pub fn encode(metric: &Metric, timestamp_units_ns: i64) -> String {
    let fields: Map<String, Value> = metric
        .fields
        .iter()
        .filter_map(|(k, v)| {
            let v = match v {
                FieldValue::Float(f) => Value::from(serde_json::Number::from_f64(*f)?),
                FieldValue::Int(i) => Value::from(*i),
                FieldValue::UInt(u) => Value::from(*u),
                FieldValue::Bool(b) => Value::from(*b),
                FieldValue::String(s) => Value::from(s.as_str()),
            };
            Some((k.clone(), v))
        })
        .collect();
    let tags: Map<String, Value> = metric
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let mut object = Map::new();
    object.insert("fields".into(), Value::Object(fields));
    object.insert("name".into(), Value::from(metric.name.as_str()));
    object.insert("tags".into(), Value::Object(tags));
    object.insert(
        "timestamp".into(),
        Value::from(metric.timestamp / timestamp_units_ns.max(1)),
    );
    Value::Object(object).to_string()
}

/// Why a JSON metric could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("json: {0}")]
pub struct ParseError(pub String);

/// Parses one object as [`encode`] writes it. `timestamp_units_ns` is the writer's
/// `json_timestamp_units`; `None` guesses it from the magnitude (a sample from after 2001 in
/// seconds has 10 digits, in ms 13, in µs 16, in ns 19), which is what a reader that does not
/// know the agent's setting can do.
pub fn parse(text: &str, timestamp_units_ns: Option<i64>) -> Result<Metric, ParseError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ParseError(e.to_string()))?;
    let name = v["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ParseError("no \"name\" string".into()))?;
    let ts = v["timestamp"]
        .as_i64()
        .ok_or_else(|| ParseError("no integer \"timestamp\"".into()))?;
    let units = timestamp_units_ns.unwrap_or_else(|| guess_units(ts));
    let mut metric = Metric::new(name, ts.saturating_mul(units));
    if let Some(tags) = v["tags"].as_object() {
        for (k, t) in tags {
            let t = t
                .as_str()
                .ok_or_else(|| ParseError(format!("tag {k:?} is not a string")))?;
            metric.tags.insert(k.clone(), t.to_string());
        }
    }
    let fields = v["fields"]
        .as_object()
        .ok_or_else(|| ParseError("no \"fields\" object".into()))?;
    for (k, f) in fields {
        let value = match f {
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::String(s) => FieldValue::String(s.clone()),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => FieldValue::Int(i),
                (None, Some(u), _) => FieldValue::UInt(u),
                (_, _, Some(f)) => FieldValue::Float(f),
                _ => return Err(ParseError(format!("field {k:?} is not a number Influx can hold"))),
            },
            _ => return Err(ParseError(format!("field {k:?} is not a number, string or bool"))),
        };
        metric.fields.insert(k.clone(), value);
    }
    if metric.fields.is_empty() {
        return Err(ParseError("no field".into()));
    }
    Ok(metric)
}

fn guess_units(ts: i64) -> i64 {
    match ts.unsigned_abs() {
        t if t >= 100_000_000_000_000_000 => 1,
        t if t >= 100_000_000_000_000 => 1_000,
        t if t >= 100_000_000_000 => 1_000_000,
        _ => 1_000_000_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_with_guessed_units() {
        let m = Metric::new("cpu", 1_700_000_000_000_000_000)
            .tag("host", "h")
            .field("usage_idle", 97.5)
            .field("n", 3i64)
            .field("ok", true);
        for units in [1, 1_000, 1_000_000, 1_000_000_000] {
            assert_eq!(parse(&encode(&m, units), None).unwrap(), m, "units {units}");
        }
        assert!(parse("{\"name\":\"cpu\"}", None).is_err());
        assert!(parse("not json", None).is_err());
    }
    use proptest::prelude::*;

    #[test]
    fn writes_what_telegraf_writes() {
        let m = Metric::new("cpu", 1_700_000_000_900_000_000)
            .tag("cpu", "cpu-total")
            .tag("host", "h")
            .field("usage_idle", 97.5)
            .field("total", 8u64);
        assert_eq!(
            encode(&m, 1_000_000_000),
            r#"{"fields":{"total":8,"usage_idle":97.5},"name":"cpu","tags":{"cpu":"cpu-total","host":"h"},"timestamp":1700000000}"#
        );
    }

    #[test]
    fn floats_at_the_edges_read_back_bit_for_bit() {
        // 2.23732973201962e-309 is the subnormal proptest found the default parser misreads.
        for f in [
            2.23732973201962e-309,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            0.1 + 0.2,
        ] {
            let m = Metric {
                name: "m".into(),
                tags: Default::default(),
                fields: Default::default(),
                timestamp: 0,
            }
            .field("f", f);
            let v: Value = serde_json::from_str(&encode(&m, 1)).unwrap();
            assert_eq!(v["fields"]["f"].as_f64().unwrap().to_bits(), f.to_bits(), "{f:e}");
        }
    }

    proptest! {
        #[test]
        fn json_reads_back_with_types_and_units(
            name in "\\PC{1,10}",
            tags in prop::collection::btree_map("\\PC{1,6}", "\\PC{0,6}", 0..4),
            i in any::<i64>(), u in any::<u64>(), f in any::<f64>(), s in "\\PC{0,10}",
            ts in any::<i64>(),
            units in prop::sample::select(vec![1i64, 1_000, 1_000_000, 1_000_000_000]),
        ) {
            let m = Metric { name: name.clone(), tags: tags.clone(), fields: Default::default(), timestamp: ts }
                .field("i", i).field("u", u).field("f", f).field("s", s.clone());
            let v: Value = serde_json::from_str(&encode(&m, units)).unwrap();
            prop_assert_eq!(v["name"].as_str().unwrap(), name.as_str());
            prop_assert_eq!(v["timestamp"].as_i64().unwrap(), ts / units);
            prop_assert_eq!(v["fields"]["i"].as_i64().unwrap(), i);
            prop_assert_eq!(v["fields"]["u"].as_u64().unwrap(), u);
            prop_assert_eq!(v["fields"]["s"].as_str().unwrap(), s.as_str());
            if f.is_finite() {
                // Exact: the writer prints the shortest round-tripping form, and serde_json's
                // float_roundtrip parser reads it back bit for bit (subnormals included).
                let back = v["fields"]["f"].as_f64().unwrap();
                prop_assert_eq!(back.to_bits(), f.to_bits(), "{} vs {}", back, f);
            } else {
                prop_assert!(v["fields"].get("f").is_none());
            }
            for (k, t) in &tags {
                prop_assert_eq!(v["tags"][k].as_str().unwrap(), t.as_str());
            }
        }
    }
}
