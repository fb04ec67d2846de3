//! One value of one row in PostgreSQL's binary format, and which field value fits which
//! column type.
//!
//! Conversions that lose nothing, or that a float column implies, are made (an integer into a
//! `double precision` column, a signed into a `numeric` one, an unsigned up to 2^63 - 1 into a
//! `bigint` one); anything else is a type conflict, as InfluxDB calls it, and refused.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use model::FieldValue;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use super::sql::ColumnType;

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 00:00:00 UTC.
const POSTGRES_EPOCH_US: i64 = 946_684_800_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    /// Microseconds since 2000-01-01 UTC (`timestamptz`).
    Time(i64),
    Double(f64),
    BigInt(i64),
    Numeric(i128),
    Bool(bool),
    Text(&'a str),
    /// JSON text (`jsonb`).
    Jsonb(String),
}

impl<'a> Cell<'a> {
    /// A metric timestamp (ns since the Unix epoch). PostgreSQL keeps microseconds: the
    /// nanoseconds are truncated toward the past.
    pub fn time(ns: i64) -> Cell<'a> {
        Cell::Time(ns.div_euclid(1_000) - POSTGRES_EPOCH_US)
    }

    /// `value` for a column of type `ty`, or why it does not fit.
    pub fn field(value: &'a FieldValue, ty: ColumnType) -> Result<Cell<'a>, String> {
        let cell = match (value, ty) {
            (FieldValue::Float(v), ColumnType::Double) => Some(Cell::Double(*v)),
            (FieldValue::Int(v), ColumnType::Double) => Some(Cell::Double(*v as f64)),
            (FieldValue::UInt(v), ColumnType::Double) => Some(Cell::Double(*v as f64)),
            (FieldValue::Int(v), ColumnType::BigInt) => Some(Cell::BigInt(*v)),
            (FieldValue::UInt(v), ColumnType::BigInt) => i64::try_from(*v).ok().map(Cell::BigInt),
            (FieldValue::Int(v), ColumnType::Numeric) => Some(Cell::Numeric((*v).into())),
            (FieldValue::UInt(v), ColumnType::Numeric) => Some(Cell::Numeric((*v).into())),
            (FieldValue::Bool(v), ColumnType::Boolean) => Some(Cell::Bool(*v)),
            (FieldValue::String(v), ColumnType::Text) => Some(Cell::Text(v)),
            _ => None,
        };
        cell.ok_or_else(|| format!("{} cannot be stored in a {} column", describe(value), ty.sql()))
    }
}

fn describe(value: &FieldValue) -> String {
    match value {
        FieldValue::Float(v) => format!("the float {v}"),
        FieldValue::Int(v) => format!("the integer {v}"),
        FieldValue::UInt(v) => format!("the unsigned integer {v}"),
        FieldValue::Bool(v) => format!("the boolean {v}"),
        FieldValue::String(_) => "a string".into(),
    }
}

impl ToSql for Cell<'_> {
    /// The planner pairs every cell with its column's type, so `ty` is not consulted.
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Cell::Null => return Ok(IsNull::Yes),
            Cell::Time(v) | Cell::BigInt(v) => out.put_i64(*v),
            Cell::Double(v) => out.put_f64(*v),
            Cell::Numeric(v) => put_numeric(*v, out),
            Cell::Bool(v) => out.put_u8(u8::from(*v)),
            Cell::Text(s) => out.put_slice(s.as_bytes()),
            Cell::Jsonb(json) => {
                out.put_u8(1); // jsonb's binary format version
                out.put_slice(json.as_bytes());
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An integer in `numeric`'s binary format (`numeric_recv` in PostgreSQL's numeric.c):
///
/// ```text
/// ┌─────────┬────────┬──────────────────────┬────────┬─────────────────────────────┐
/// │ ndigits │ weight │ sign                 │ dscale │ ndigits × digit             │
/// │ i16     │ i16    │ 0 (+) or 0x4000 (−)  │ i16: 0 │ i16 each, base 10000, most  │
/// │         │        │                      │        │ significant first           │
/// └─────────┴────────┴──────────────────────┴────────┴─────────────────────────────┘
/// ```
///
/// `weight` is the power of 10000 of the first digit; trailing zero digits are left out.
fn put_numeric(v: i128, out: &mut BytesMut) {
    let mut digits = [0i16; 10]; // 2^127 has 39 decimal digits: 10 base-10000 digits
    let mut n = 0;
    let mut rest = v.unsigned_abs();
    while rest > 0 {
        digits[n] = (rest % 10_000) as i16;
        rest /= 10_000;
        n += 1;
    }
    let weight = n.saturating_sub(1) as i16;
    let trailing_zeros = digits[..n].iter().take_while(|d| **d == 0).count();
    out.put_i16((n - trailing_zeros) as i16);
    out.put_i16(weight);
    out.put_u16(if v < 0 { 0x4000 } else { 0 });
    out.put_i16(0);
    for d in digits[trailing_zeros..n].iter().rev() {
        out.put_i16(*d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(v: i128) -> Vec<i16> {
        let mut out = BytesMut::new();
        put_numeric(v, &mut out);
        out.chunks(2).map(|c| i16::from_be_bytes([c[0], c[1]])).collect()
    }

    #[test]
    fn numeric_layout_is_pinned() {
        assert_eq!(numeric(0), [0, 0, 0, 0]);
        assert_eq!(numeric(7), [1, 0, 0, 0, 7]);
        assert_eq!(numeric(-12_345), [2, 1, 0x4000, 0, 1, 2345]);
        assert_eq!(numeric(10_000), [1, 1, 0, 0, 1], "trailing zero digit left out");
        assert_eq!(numeric(100_000_002), [3, 2, 0, 0, 1, 0, 2]);
        // 18446744073709551615
        assert_eq!(numeric(u64::MAX.into()), [5, 4, 0, 0, 1844, 6744, 737, 955, 1615]);
        assert_eq!(numeric(i64::MIN.into())[..4], [5, 4, 0x4000, 0]);
    }

    #[test]
    fn timestamps_become_microseconds_since_2000() {
        assert_eq!(Cell::time(946_684_800_000_000_000), Cell::Time(0));
        assert_eq!(Cell::time(1_700_000_000_123_456_789), Cell::Time(753_315_200_123_456));
        assert_eq!(Cell::time(-1), Cell::Time(-1 - POSTGRES_EPOCH_US), "toward the past");
        assert!(matches!(Cell::time(i64::MIN), Cell::Time(_)));
    }

    #[test]
    fn values_fit_columns_of_their_kind_and_conflicts_are_refused() {
        use ColumnType::*;
        let ok = |v: FieldValue, ty| Cell::field(&v, ty).map(|c| format!("{c:?}"));
        assert_eq!(ok(FieldValue::Float(1.5), Double).unwrap(), "Double(1.5)");
        assert_eq!(ok(FieldValue::Int(-2), Double).unwrap(), "Double(-2.0)");
        assert_eq!(ok(FieldValue::UInt(3), BigInt).unwrap(), "BigInt(3)");
        assert_eq!(ok(FieldValue::Int(-4), Numeric).unwrap(), "Numeric(-4)");
        assert_eq!(
            ok(FieldValue::UInt(u64::MAX), Numeric).unwrap(),
            "Numeric(18446744073709551615)"
        );
        assert_eq!(ok(FieldValue::Bool(true), Boolean).unwrap(), "Bool(true)");
        assert_eq!(ok(FieldValue::String("x".into()), Text).unwrap(), "Text(\"x\")");

        let refused = |v: FieldValue, ty| Cell::field(&v, ty).unwrap_err();
        assert_eq!(
            refused(FieldValue::UInt(u64::MAX), BigInt),
            "the unsigned integer 18446744073709551615 cannot be stored in a bigint column"
        );
        assert!(refused(FieldValue::Float(1.5), BigInt).contains("float 1.5"));
        assert!(refused(FieldValue::Float(2.0), Numeric).contains("numeric"));
        assert!(refused(FieldValue::String("x".into()), Double).contains("a string"));
        assert!(refused(FieldValue::Int(1), Boolean).contains("boolean column"));
        assert!(refused(FieldValue::Bool(false), Text).contains("text column"));
        assert!(refused(FieldValue::Int(1), Timestamptz).contains("timestamptz"));
    }
}
