//! One table's part of a batch, checked and converted before a byte goes to the server, then
//! written with one binary COPY.
//!
//! Everything that could refuse a row is found while planning, so a COPY is never abandoned
//! half-way by the sink; what the server refuses aborts the whole transaction.

use std::collections::{BTreeSet, HashMap};

use model::Metric;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::Transaction;

use super::cell::Cell;
use super::config::TagsAs;
use super::schema::{Column, Role, Table, TAGS, TIME};
use super::sql::{self, ColumnType};

/// Rows ready to COPY: the column list and every row's cells, row after row.
#[derive(Debug)]
pub struct Rows<'a> {
    names: Vec<&'a str>,
    types: Vec<Type>,
    cells: Vec<Cell<'a>>,
}

/// Why rows cannot be planned.
#[derive(Debug, PartialEq)]
pub enum PlanError {
    /// A value or key that can never go into this table as it is.
    Conflict(String),
    /// A column the table should have is not there: the sink's view of the table is stale.
    Missing(String),
}

impl<'a> Rows<'a> {
    /// The rows of `metrics` for `table`, whose columns must already include every key.
    pub fn plan(table: &Table, metrics: &[&'a Metric], tags_as: TagsAs) -> Result<Rows<'a>, PlanError> {
        let mut tag_keys = BTreeSet::new();
        let mut field_keys = BTreeSet::new();
        for m in metrics {
            if tags_as == TagsAs::Columns {
                tag_keys.extend(m.tags.keys().map(String::as_str));
            }
            field_keys.extend(m.fields.keys().map(String::as_str));
        }
        let mut names = vec![TIME];
        let mut columns = vec![column(table, TIME, Role::Time)?];
        if tags_as == TagsAs::Jsonb {
            names.push(TAGS);
            columns.push(column(table, TAGS, Role::Tags)?);
        }
        for (keys, role) in [(tag_keys, Role::Tag), (field_keys, Role::Field)] {
            for key in keys {
                names.push(key);
                columns.push(column(table, key, role)?);
            }
        }
        let index: HashMap<&str, (usize, ColumnType)> = names
            .iter()
            .zip(&columns)
            .enumerate()
            .map(|(i, (name, (_, ty)))| (*name, (i, *ty)))
            .collect();

        let mut cells = Vec::with_capacity(metrics.len() * names.len());
        for m in metrics {
            let row = cells.len();
            cells.resize(row + names.len(), Cell::Null);
            cells[row] = Cell::time(m.timestamp);
            match tags_as {
                TagsAs::Jsonb => {
                    let json = serde_json::to_string(&m.tags).map_err(|e| PlanError::Conflict(e.to_string()))?;
                    cells[row + 1] = Cell::Jsonb(json);
                }
                // `index` holds every key of `metrics` (collected above), so lookups cannot miss.
                TagsAs::Columns => {
                    for (key, value) in &m.tags {
                        cells[row + index[key.as_str()].0] = Cell::Text(value);
                    }
                }
            }
            for (key, value) in &m.fields {
                let (i, ty) = index[key.as_str()];
                cells[row + i] =
                    Cell::field(value, ty).map_err(|e| PlanError::Conflict(format!("field {key:?}: {e}")))?;
            }
        }
        let types = columns.iter().map(|(_, ty)| ty.pg_type()).collect();
        Ok(Rows { names, types, cells })
    }

    pub fn len(&self) -> usize {
        self.cells.len() / self.names.len()
    }

    /// COPYs the rows into `table` (qualified, quoted) inside `tx`.
    pub async fn copy(&self, tx: &Transaction<'_>, table: &str) -> Result<u64, tokio_postgres::Error> {
        let sink = tx.copy_in(&sql::copy_in(table, self.names.iter().copied())).await?;
        let writer = BinaryCopyInWriter::new(sink, &self.types);
        let mut writer = std::pin::pin!(writer);
        for row in self.cells.chunks_exact(self.names.len()) {
            writer.as_mut().write_raw(row).await?;
        }
        writer.finish().await
    }
}

/// The column `key` goes to, checked to play `role` and be of a type the sink writes.
fn column(table: &Table, key: &str, role: Role) -> Result<(Column, ColumnType), PlanError> {
    let Some(&column) = table.columns.get(key) else {
        return Err(PlanError::Missing(format!("column {key:?} is missing")));
    };
    let what = match role {
        Role::Tag => format!("tag {key:?}"),
        Role::Field => format!("field {key:?}"),
        Role::Time | Role::Tags => format!("column {key:?}"),
    };
    match column.ty {
        Some(ty) if column.role == role => Ok((column, ty)),
        _ => Err(PlanError::Conflict(format!(
            "{what} would go to column {key:?}, which is {}",
            column.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::FieldValue;

    fn table_for(metrics: &[&Metric], tags_as: TagsAs) -> Table {
        let mut t = Table::default();
        for c in t.missing(metrics, tags_as) {
            t.add(&c);
        }
        t
    }

    #[test]
    fn rows_have_every_column_of_the_table_part_and_nulls_where_a_key_is_absent() {
        let a = Metric::new("cpu", 946_684_800_000_001_000)
            .tag("host", "h")
            .field("idle", 1.5);
        let b = Metric::new("cpu", 946_684_800_000_002_000)
            .tag("cpu", "cpu0")
            .field("n", FieldValue::UInt(7));
        let t = table_for(&[&a, &b], TagsAs::Columns);
        let rows = Rows::plan(&t, &[&a, &b], TagsAs::Columns).unwrap();
        assert_eq!(rows.names, ["time", "cpu", "host", "idle", "n"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows.cells,
            [
                Cell::Time(1),
                Cell::Null,
                Cell::Text("h"),
                Cell::Double(1.5),
                Cell::Null,
                Cell::Time(2),
                Cell::Text("cpu0"),
                Cell::Null,
                Cell::Null,
                Cell::Numeric(7),
            ]
        );
    }

    #[test]
    fn jsonb_tags_are_one_json_object() {
        let a = Metric::new("cpu", 0)
            .tag("host", "h\"1")
            .tag("cpu", "0")
            .field("idle", 1.5);
        let t = table_for(&[&a], TagsAs::Jsonb);
        let rows = Rows::plan(&t, &[&a], TagsAs::Jsonb).unwrap();
        assert_eq!(rows.names, ["time", "tags", "idle"]);
        assert_eq!(rows.cells[1], Cell::Jsonb(r#"{"cpu":"0","host":"h\"1"}"#.into()));
    }

    #[test]
    fn keys_that_collide_with_other_roles_or_types_are_conflicts() {
        let first = Metric::new("m", 0).tag("host", "h").field("v", 1.5);
        let t = table_for(&[&first], TagsAs::Columns);
        let conflict = |m: Metric| match Rows::plan(&t, &[&m], TagsAs::Columns).unwrap_err() {
            PlanError::Conflict(e) => e,
            e => panic!("{e:?}"),
        };
        assert_eq!(
            conflict(Metric::new("m", 0).field("host", "x".to_string())),
            r#"field "host" would go to column "host", which is a tag column"#
        );
        assert!(conflict(Metric::new("m", 0).tag("v", "x").field("v", 1.0)).contains("tag \"v\""));
        assert!(conflict(Metric::new("m", 0).field("time", 1.0)).contains("the time column"));
        assert_eq!(
            conflict(Metric::new("m", 0).field("v", "x".to_string())),
            r#"field "v": a string cannot be stored in a double precision column"#
        );
        assert!(matches!(
            Rows::plan(&t, &[&Metric::new("m", 0).field("new", 1.0)], TagsAs::Columns),
            Err(PlanError::Missing(_))
        ));
    }
}
