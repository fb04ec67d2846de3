//! The metric data model and its wire formats. No I/O.
//!
//! A [`Metric`] is what Telegraf calls a metric: a measurement name, tags, fields and a
//! timestamp, with field values typed as Influx types them ([`FieldValue`]). The agent builds
//! metrics, encodes them with [`line_protocol`] (the default `data_format`, `influx`) or [`json`]
//! (Telegraf's json serializer), and the workers and the console decode a record of either
//! kind with [`record::decode`]. Both encoders follow Telegraf's serializers byte for byte where
//! Telegraf is specific, so whatever reads Telegraf's output reads ours. [`headers`] names the
//! record headers that travel beside each sample from the agent to the workers.

pub mod headers;
pub mod json;
pub mod line_protocol;
pub mod record;

use std::collections::BTreeMap;

/// One sample: `cpu,cpu=cpu-total,host=h usage_idle=97.5 1700000000000000000`.
///
/// Tags and fields are kept sorted by key (Telegraf sorts tags; sorting fields too makes the
/// output deterministic, which tests and diffs like).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub fields: BTreeMap<String, FieldValue>,
    /// Nanoseconds since the Unix epoch.
    pub timestamp: i64,
}

/// A field value, with Influx's five types.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Float(f64),
    Int(i64),
    UInt(u64),
    Bool(bool),
    String(String),
}

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::Float(v)
    }
}

impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::Int(v)
    }
}

impl From<u64> for FieldValue {
    fn from(v: u64) -> Self {
        FieldValue::UInt(v)
    }
}

impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}

impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        FieldValue::String(v)
    }
}

impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue::String(v.to_string())
    }
}

impl Metric {
    /// A metric with no tags or fields yet.
    pub fn new(name: impl Into<String>, timestamp: i64) -> Self {
        Metric {
            name: name.into(),
            tags: BTreeMap::new(),
            fields: BTreeMap::new(),
            timestamp,
        }
    }

    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    pub fn field(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }
}

/// Rounds a timestamp to a multiple of `precision_ns`, halves away from zero, as Go's
/// `time.Round` does for Telegraf's `[agent] precision`. A precision of 0 or 1 leaves it alone.
pub fn round_timestamp(timestamp: i64, precision_ns: i64) -> i64 {
    if precision_ns <= 1 {
        return timestamp;
    }
    let rem = timestamp.rem_euclid(precision_ns);
    let down = timestamp - rem;
    // Go rounds halfway values away from zero.
    let round_up = if timestamp >= 0 {
        rem * 2 >= precision_ns
    } else {
        rem * 2 > precision_ns
    };
    if round_up {
        down.saturating_add(precision_ns)
    } else {
        down
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_halves_go_away_from_zero() {
        assert_eq!(round_timestamp(1_500_000_000, 1_000_000_000), 2_000_000_000);
        assert_eq!(round_timestamp(1_499_999_999, 1_000_000_000), 1_000_000_000);
        assert_eq!(round_timestamp(-1_500_000_000, 1_000_000_000), -2_000_000_000);
        assert_eq!(round_timestamp(123, 0), 123);
    }

    proptest! {
        #[test]
        fn rounded_timestamps_are_multiples_within_half_a_step(ts in 0i64..i64::MAX / 2, p in prop::sample::select(vec![1i64, 1_000, 1_000_000, 1_000_000_000, 10_000_000_000])) {
            let r = round_timestamp(ts, p);
            prop_assert_eq!(r % p, 0);
            prop_assert!((r - ts).abs() * 2 <= p);
        }
    }
}
