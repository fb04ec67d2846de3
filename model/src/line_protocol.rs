//! Influx line protocol, as Telegraf's `influx` serializer writes it.
//!
//! ```text
//! cpu,cpu=cpu-total,host=h usage_idle=97.5,usage_user=1.25 1700000000000000000\n
//! └┬┘ └──────┬───────────┘ └───────────┬───────────────┘ └────────┬─────────┘
//! name   tags (sorted)           fields (sorted)          timestamp, nanoseconds
//! ```
//!
//! Escaping follows Telegraf: in the name `,` and space; in tag keys, tag values and field keys
//! also `=`; tab, newline, form feed and carriage return become `\t`, `\n`, `\f`, `\r`; a
//! trailing backslash is dropped (it would escape the separator). String field values escape
//! `\` and `"`, and the four control characters as above, so a metric is always one line. Tags with an empty key or value are left out, and so are float fields that are
//! NaN or infinite (line protocol has no spelling for them); a metric left with no field is not
//! written at all. Unsigned integers are written as signed (`42i`, capped at `i64::MAX`) unless
//! `uint_support` is on, as Telegraf's `influx_uint_support = false` default does.

use std::fmt::Write as _;

use crate::{FieldValue, Metric};

/// Encoder options (Telegraf's `influx_*` serializer settings).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Write unsigned integers with the `u` suffix (`influx_uint_support`).
    pub uint_support: bool,
}

/// Appends one line, newline included, to `out`. Returns false (and appends nothing) when the
/// metric has no field that line protocol can carry.
pub fn encode_into(metric: &Metric, options: Options, out: &mut String) -> bool {
    if !metric.fields.values().any(writable) {
        return false;
    }
    escape_into(&metric.name, NAME, out);
    for (k, v) in &metric.tags {
        if trimmed(k).is_empty() || trimmed(v).is_empty() {
            continue;
        }
        out.push(',');
        escape_into(k, KEY, out);
        out.push('=');
        escape_into(v, KEY, out);
    }
    let mut first = true;
    for (k, v) in metric
        .fields
        .iter()
        .filter(|(k, v)| !trimmed(k).is_empty() && writable(v))
    {
        out.push(if first { ' ' } else { ',' });
        first = false;
        escape_into(k, KEY, out);
        out.push('=');
        write_value(v, options, out);
    }
    // Writing into a String cannot fail.
    let _ = writeln!(out, " {}", metric.timestamp);
    true
}

/// One metric as a line (with its newline), or `None` when it has no writable field.
pub fn encode(metric: &Metric, options: Options) -> Option<String> {
    let mut out = String::with_capacity(256);
    encode_into(metric, options, &mut out).then_some(out)
}

fn writable(v: &FieldValue) -> bool {
    !matches!(v, FieldValue::Float(f) if !f.is_finite())
}

fn trimmed(s: &str) -> &str {
    s.trim_end_matches('\\')
}

/// Characters escaped with a backslash in names (`NAME`) and in keys and tag values (`KEY`).
const NAME: &[char] = &[',', ' '];
const KEY: &[char] = &[',', ' ', '='];

fn escape_into(s: &str, special: &[char], out: &mut String) {
    for c in trimmed(s).chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if special.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

fn write_value(v: &FieldValue, options: Options, out: &mut String) {
    // Writing into a String cannot fail.
    let _ = match v {
        // Rust's Display for f64 is the shortest string that reads back to the same value and
        // never uses an exponent, like Go's FormatFloat(v, 'f', -1, 64) that Telegraf uses.
        FieldValue::Float(f) => write!(out, "{f}"),
        FieldValue::Int(i) => write!(out, "{i}i"),
        FieldValue::UInt(u) if options.uint_support => write!(out, "{u}u"),
        FieldValue::UInt(u) => write!(out, "{}i", (*u).min(i64::MAX as u64)),
        FieldValue::Bool(b) => write!(out, "{b}"),
        FieldValue::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\x0c' => out.push_str("\\f"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
            out.push('"');
            Ok(())
        }
    };
}

/// Why a line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line protocol: {reason} at byte {at}")]
pub struct ParseError {
    pub reason: &'static str,
    pub at: usize,
}

/// Parses every non-empty line of `input` (comments starting with `#` are skipped).
pub fn parse(input: &str) -> Result<Vec<Metric>, ParseError> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(parse_line)
        .collect()
}

/// Parses one line. A line without a timestamp gets timestamp 0.
pub fn parse_line(line: &str) -> Result<Metric, ParseError> {
    let mut p = Parser {
        s: line.as_bytes(),
        at: 0,
    };
    let name = p.token(NAME)?;
    if name.is_empty() {
        return Err(p.error("empty measurement name"));
    }
    let mut metric = Metric::new(name, 0);
    while p.peek() == Some(b',') {
        p.at += 1;
        let key = p.token(KEY)?;
        p.expect(b'=', "expected `=` after a tag key")?;
        let value = p.token(KEY)?;
        metric.tags.insert(key, value);
    }
    p.expect(b' ', "expected a space before the fields")?;
    loop {
        let key = p.token(KEY)?;
        if key.is_empty() {
            return Err(p.error("empty field key"));
        }
        p.expect(b'=', "expected `=` after a field key")?;
        let value = p.field_value()?;
        metric.fields.insert(key, value);
        match p.peek() {
            Some(b',') => p.at += 1,
            _ => break,
        }
    }
    if p.peek() == Some(b' ') {
        p.at += 1;
        let rest = std::str::from_utf8(&p.s[p.at..]).map_err(|_| p.error("bad timestamp"))?;
        metric.timestamp = rest.trim_end().parse().map_err(|_| p.error("bad timestamp"))?;
    } else if p.peek().is_some() {
        return Err(p.error("unexpected character after the fields"));
    }
    Ok(metric)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn error(&self, reason: &'static str) -> ParseError {
        ParseError { reason, at: self.at }
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.peek() != Some(b) {
            return Err(self.error(reason));
        }
        self.at += 1;
        Ok(())
    }

    /// Reads up to the first unescaped `,`, space, or (for keys) `=`, undoing the escapes.
    fn token(&mut self, special: &[char]) -> Result<String, ParseError> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'\\' {
                match self.s.get(self.at + 1).copied() {
                    Some(n) if special.contains(&(n as char)) => out.push(n),
                    Some(b't') => out.push(b'\t'),
                    Some(b'n') => out.push(b'\n'),
                    Some(b'f') => out.push(b'\x0c'),
                    Some(b'r') => out.push(b'\r'),
                    _ => {
                        out.push(b'\\');
                        self.at += 1;
                        continue;
                    }
                }
                self.at += 2;
                continue;
            }
            if special.contains(&(b as char)) {
                break;
            }
            out.push(b);
            self.at += 1;
        }
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))
    }

    fn field_value(&mut self) -> Result<FieldValue, ParseError> {
        if self.peek() == Some(b'"') {
            self.at += 1;
            let mut out = Vec::new();
            loop {
                match self.peek() {
                    None => return Err(self.error("unterminated string field")),
                    Some(b'"') => {
                        self.at += 1;
                        break;
                    }
                    Some(b'\\') if self.at + 1 < self.s.len() => {
                        out.push(match self.s[self.at + 1] {
                            b't' => b'\t',
                            b'n' => b'\n',
                            b'f' => b'\x0c',
                            b'r' => b'\r',
                            b'"' | b'\\' => self.s[self.at + 1],
                            _ => return Err(self.error("unknown escape in a string field")),
                        });
                        self.at += 2;
                    }
                    Some(b) => {
                        out.push(b);
                        self.at += 1;
                    }
                }
            }
            return String::from_utf8(out)
                .map(FieldValue::String)
                .map_err(|_| self.error("invalid UTF-8"));
        }
        let start = self.at;
        while matches!(self.peek(), Some(b) if b != b',' && b != b' ') {
            self.at += 1;
        }
        let raw = std::str::from_utf8(&self.s[start..self.at]).map_err(|_| self.error("bad field value"))?;
        let bad = || ParseError {
            reason: "bad field value",
            at: start,
        };
        Ok(match raw {
            "t" | "T" | "true" | "True" | "TRUE" => FieldValue::Bool(true),
            "f" | "F" | "false" | "False" | "FALSE" => FieldValue::Bool(false),
            _ if raw.ends_with('i') => FieldValue::Int(raw[..raw.len() - 1].parse().map_err(|_| bad())?),
            _ if raw.ends_with('u') => FieldValue::UInt(raw[..raw.len() - 1].parse().map_err(|_| bad())?),
            _ => {
                let f: f64 = raw.parse().map_err(|_| bad())?;
                if !f.is_finite() {
                    return Err(bad());
                }
                FieldValue::Float(f)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cpu() -> Metric {
        Metric::new("cpu", 1_700_000_000_000_000_000)
            .tag("host", "h")
            .tag("cpu", "cpu-total")
            .field("usage_idle", 97.5)
            .field("usage_user", 1.0)
    }

    #[test]
    fn writes_what_telegraf_writes() {
        assert_eq!(
            encode(&cpu(), Options::default()).unwrap(),
            "cpu,cpu=cpu-total,host=h usage_idle=97.5,usage_user=1 1700000000000000000\n"
        );
    }

    #[test]
    fn integers_floats_bools_and_strings_are_told_apart() {
        let m = Metric::new("m", 5)
            .field("f", 2.0)
            .field("i", -3i64)
            .field("u", 7u64)
            .field("b", true)
            .field("s", String::from("a \"q\" \\ b"));
        let line = encode(&m, Options::default()).unwrap();
        assert_eq!(line, "m b=true,f=2,i=-3i,s=\"a \\\"q\\\" \\\\ b\",u=7i 5\n");
        let uint = encode(&m, Options { uint_support: true }).unwrap();
        assert!(uint.contains(",u=7u "), "{uint}");
        assert_eq!(parse_line(uint.trim_end()).unwrap(), m);
    }

    #[test]
    fn huge_unsigned_values_are_capped_without_uint_support() {
        let m = Metric::new("m", 0).field("u", u64::MAX);
        assert_eq!(
            encode(&m, Options::default()).unwrap(),
            format!("m u={}i 0\n", i64::MAX)
        );
    }

    #[test]
    fn names_tags_and_keys_are_escaped() {
        let m = Metric::new("my cpu,x=1", 1).tag("ta g", "v,a=l").field("f=k", 1i64);
        let line = encode(&m, Options::default()).unwrap();
        assert_eq!(line, "my\\ cpu\\,x=1,ta\\ g=v\\,a\\=l f\\=k=1i 1\n");
        assert_eq!(parse_line(line.trim_end()).unwrap(), m);
    }

    #[test]
    fn non_finite_floats_and_empty_tags_are_left_out() {
        let m = Metric::new("m", 1)
            .tag("empty", "")
            .field("nan", f64::NAN)
            .field("ok", 1.5);
        assert_eq!(encode(&m, Options::default()).unwrap(), "m ok=1.5 1\n");
        let none = Metric::new("m", 1).field("inf", f64::INFINITY);
        assert_eq!(encode(&none, Options::default()), None);
    }

    #[test]
    fn trailing_backslashes_are_dropped() {
        let m = Metric::new("m\\", 1).tag("k\\", "v\\\\").field("f", 1i64);
        assert_eq!(encode(&m, Options::default()).unwrap(), "m,k=v f=1i 1\n");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in ["", "m", "m f", "m f=", "m f=\"x", "m,t f=1", "m f=1 x", "m f=1i2i"] {
            assert!(parse_line(bad).is_err(), "{bad:?} parsed");
        }
    }

    /// Strings with every character the escaping rules care about, except a trailing backslash
    /// (dropped on purpose, tested above) and a backslash before t, n, f or r (which line
    /// protocol reads as an escape, in Telegraf as here).
    fn ident() -> impl Strategy<Value = String> {
        "[a-z ,=\"\\\\é_0-9\t\n]{1,12}".prop_filter("unambiguous backslashes", |s| {
            !s.ends_with('\\') && !["\\t", "\\n", "\\f", "\\r"].iter().any(|e| s.contains(e)) && !s.starts_with('#')
        })
    }

    fn value() -> impl Strategy<Value = FieldValue> {
        prop_oneof![
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(FieldValue::Float),
            any::<i64>().prop_map(FieldValue::Int),
            any::<u64>().prop_map(FieldValue::UInt),
            any::<bool>().prop_map(FieldValue::Bool),
            "[a-z \"\\\\,=\n]{0,12}".prop_map(FieldValue::String),
        ]
    }

    fn metric() -> impl Strategy<Value = Metric> {
        (
            ident(),
            prop::collection::btree_map(ident(), ident(), 0..4),
            prop::collection::btree_map(ident(), value(), 1..5),
            any::<i64>(),
        )
            .prop_map(|(name, tags, fields, timestamp)| Metric {
                name,
                tags,
                fields,
                timestamp,
            })
    }

    proptest! {
        #[test]
        fn every_metric_reads_back_unchanged(m in metric()) {
            let line = encode(&m, Options { uint_support: true }).unwrap();
            prop_assert_eq!(line.matches('\n').count(), 1, "one line: {:?}", line);
            prop_assert_eq!(parse_line(line.trim_end_matches('\n')).unwrap(), m);
        }

        #[test]
        fn timestamps_keep_the_configured_precision(m in metric(), p in prop::sample::select(vec![1_000i64, 1_000_000, 1_000_000_000])) {
            let mut m = m;
            m.timestamp = crate::round_timestamp(m.timestamp / 4, p);
            let line = encode(&m, Options::default()).unwrap();
            let ts: i64 = line.trim_end().rsplit(' ').next().unwrap().parse().unwrap();
            prop_assert_eq!(ts % p, 0);
            prop_assert_eq!(ts, m.timestamp);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,60}") {
            let _ = parse(&s);
        }
    }
}
