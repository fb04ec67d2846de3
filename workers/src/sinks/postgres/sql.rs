//! SQL text: quoted identifiers, the column types the sink writes, and its statements.
//!
//! Measurement, tag and field names come from agents, so they are untrusted: they only ever
//! reach SQL as double-quoted identifiers ([`ident`]), and values never reach SQL text at all
//! (they travel in binary COPY).

use model::FieldValue;
use tokio_postgres::types::Type;

/// PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; two long keys would silently
/// share a column, so longer names are refused instead.
pub const MAX_IDENT_BYTES: usize = 63;

/// `name` as a quoted identifier: `"` around, every `"` inside doubled (SQL's only escape in
/// a quoted identifier). Callers check names with [`check_ident`] first.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// Why `name` cannot be a PostgreSQL identifier, if it cannot.
pub fn check_ident(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("an empty name cannot be a PostgreSQL identifier".into())
    } else if name.contains('\0') {
        Err(format!(
            "{name:?} contains a NUL byte, which PostgreSQL identifiers cannot hold"
        ))
    } else if name.len() > MAX_IDENT_BYTES {
        Err(format!(
            "{name:?} is {} bytes long; PostgreSQL identifiers hold at most {MAX_IDENT_BYTES}",
            name.len()
        ))
    } else {
        Ok(())
    }
}

/// The column types the sink creates and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Timestamptz,
    Double,
    BigInt,
    Numeric,
    Boolean,
    Text,
    Jsonb,
}

impl ColumnType {
    /// The type a new field column gets from the first value seen. Unsigned integers go to
    /// `numeric`: PostgreSQL has no unsigned 64-bit type, and with `bigint` a counter above
    /// 2^63 - 1 could not be stored and would get its whole batch dead-lettered.
    pub fn of_field(value: &FieldValue) -> ColumnType {
        match value {
            FieldValue::Float(_) => ColumnType::Double,
            FieldValue::Int(_) => ColumnType::BigInt,
            FieldValue::UInt(_) => ColumnType::Numeric,
            FieldValue::Bool(_) => ColumnType::Boolean,
            FieldValue::String(_) => ColumnType::Text,
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::Double => "double precision",
            ColumnType::BigInt => "bigint",
            ColumnType::Numeric => "numeric",
            ColumnType::Boolean => "boolean",
            ColumnType::Text => "text",
            ColumnType::Jsonb => "jsonb",
        }
    }

    /// The type the binary COPY announces for the column.
    pub fn pg_type(self) -> Type {
        match self {
            ColumnType::Timestamptz => Type::TIMESTAMPTZ,
            ColumnType::Double => Type::FLOAT8,
            ColumnType::BigInt => Type::INT8,
            ColumnType::Numeric => Type::NUMERIC,
            ColumnType::Boolean => Type::BOOL,
            ColumnType::Text => Type::TEXT,
            ColumnType::Jsonb => Type::JSONB,
        }
    }

    /// The column type of an existing column; `None` for a type the sink does not write.
    pub fn from_oid(oid: u32) -> Option<ColumnType> {
        [
            ColumnType::Timestamptz,
            ColumnType::Double,
            ColumnType::BigInt,
            ColumnType::Numeric,
            ColumnType::Boolean,
            ColumnType::Text,
            ColumnType::Jsonb,
        ]
        .into_iter()
        .find(|t| t.pg_type().oid() == oid)
    }
}

/// The comment that marks a tag column (a `text` column is otherwise a string field).
pub const TAG_COMMENT: &str = "tag";

/// Every column of one table: name, type oid, comment. No row at all: no such table; one row
/// with a NULL name: a table without columns.
pub const LOAD_COLUMNS: &str = "SELECT a.attname::text, a.atttypid, col_description(c.oid, a.attnum) \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     WHERE n.nspname = $1 AND c.relname = $2";

/// Serializes the sink's schema changes to one table across workers until the transaction
/// ends, so two workers never race to create the same table or column.
pub const LOCK_TABLE: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";

pub fn create_table(table: &str, columns: &[(&str, ColumnType)]) -> String {
    let columns: Vec<String> = columns
        .iter()
        .map(|(name, ty)| {
            let not_null = if *ty == ColumnType::Timestamptz {
                " NOT NULL"
            } else {
                ""
            };
            format!("{} {}{not_null}", ident(name), ty.sql())
        })
        .collect();
    format!("CREATE TABLE IF NOT EXISTS {table} ({});", columns.join(", "))
}

pub fn add_column(table: &str, name: &str, ty: ColumnType) -> String {
    format!(
        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {} {};",
        ident(name),
        ty.sql()
    )
}

pub fn mark_tag(table: &str, name: &str) -> String {
    format!("COMMENT ON COLUMN {table}.{} IS '{TAG_COMMENT}';", ident(name))
}

pub fn copy_in<'a>(table: &str, columns: impl IntoIterator<Item = &'a str>) -> String {
    let columns: Vec<String> = columns.into_iter().map(ident).collect();
    format!("COPY {table} ({}) FROM STDIN (FORMAT binary)", columns.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_double_quoted_with_quotes_doubled() {
        assert_eq!(ident("cpu"), r#""cpu""#);
        assert_eq!(ident("Usage Idle"), r#""Usage Idle""#);
        assert_eq!(ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(ident(r#"x"; DROP TABLE t; --"#), r#""x""; DROP TABLE t; --""#);
        assert_eq!(ident("'"), r#""'""#);
        assert_eq!(qualified("public", "sluice_cpu"), r#""public"."sluice_cpu""#);
    }

    #[test]
    fn names_postgres_cannot_hold_are_refused() {
        assert!(check_ident("usage_idle").is_ok());
        assert!(check_ident(&"é".repeat(31)).is_ok(), "62 bytes");
        assert!(check_ident(&"é".repeat(32)).unwrap_err().contains("64 bytes"));
        assert!(check_ident("").is_err());
        assert!(check_ident("a\0b").unwrap_err().contains("NUL"));
    }

    #[test]
    fn field_types_follow_the_first_value() {
        assert_eq!(ColumnType::of_field(&FieldValue::Float(1.5)).sql(), "double precision");
        assert_eq!(ColumnType::of_field(&FieldValue::Int(-1)).sql(), "bigint");
        assert_eq!(ColumnType::of_field(&FieldValue::UInt(u64::MAX)).sql(), "numeric");
        assert_eq!(ColumnType::of_field(&FieldValue::Bool(true)).sql(), "boolean");
        assert_eq!(ColumnType::of_field(&FieldValue::String("x".into())).sql(), "text");
    }

    #[test]
    fn existing_columns_are_known_by_type_oid() {
        assert_eq!(ColumnType::from_oid(Type::FLOAT8.oid()), Some(ColumnType::Double));
        assert_eq!(
            ColumnType::from_oid(Type::TIMESTAMPTZ.oid()),
            Some(ColumnType::Timestamptz)
        );
        assert_eq!(ColumnType::from_oid(Type::INT4.oid()), None);
        assert_eq!(ColumnType::from_oid(Type::TIMESTAMP.oid()), None);
    }

    #[test]
    fn statements_quote_every_name() {
        let t = qualified("public", r#"my"cpu"#);
        assert_eq!(
            create_table(&t, &[("time", ColumnType::Timestamptz), ("tags", ColumnType::Jsonb)]),
            r#"CREATE TABLE IF NOT EXISTS "public"."my""cpu" ("time" timestamptz NOT NULL, "tags" jsonb);"#
        );
        assert_eq!(
            add_column(&t, "used percent", ColumnType::Double),
            r#"ALTER TABLE "public"."my""cpu" ADD COLUMN IF NOT EXISTS "used percent" double precision;"#
        );
        assert_eq!(
            mark_tag(&t, "host"),
            r#"COMMENT ON COLUMN "public"."my""cpu"."host" IS 'tag';"#
        );
        assert_eq!(
            copy_in(&t, ["time", "host"]),
            r#"COPY "public"."my""cpu" ("time", "host") FROM STDIN (FORMAT binary)"#
        );
    }
}
