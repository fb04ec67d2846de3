//! What the sink knows of one table's columns, and which columns a batch needs added.
//!
//! A table is `time timestamptz NOT NULL`, then the tags (one `text` column per key, each
//! commented `tag`, or one `tags jsonb` column) and one column per field, typed from the first
//! value seen ([`ColumnType::of_field`]). A column's role is read back from the catalog by name,
//! type and comment, so a restarted worker knows which `text` columns are tags.

use std::collections::{HashMap, HashSet};

use model::Metric;

use super::config::TagsAs;
use super::sql::{ColumnType, TAG_COMMENT};

pub const TIME: &str = "time";
pub const TAGS: &str = "tags";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Time,
    /// One tag key (`tags_as = "columns"`).
    Tag,
    /// Every tag as jsonb (`tags_as = "jsonb"`).
    Tags,
    Field,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub role: Role,
    /// `None`: a type the sink does not write (a column someone else made).
    pub ty: Option<ColumnType>,
}

impl Column {
    /// What the column is, for an error message.
    pub fn describe(&self) -> String {
        let ty = self.ty.map(ColumnType::sql).unwrap_or("another type");
        match self.role {
            Role::Time => format!("the time column ({ty})"),
            Role::Tag => "a tag column".into(),
            Role::Tags => format!("the tags column ({ty})"),
            Role::Field => format!("a field column ({ty})"),
        }
    }
}

/// A column the batch needs and the table lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewColumn<'a> {
    pub name: &'a str,
    pub role: Role,
    pub ty: ColumnType,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: HashMap<String, Column>,
}

impl Table {
    /// A table from its catalog rows: (name, type oid, comment).
    pub fn from_catalog(rows: impl IntoIterator<Item = (String, u32, Option<String>)>) -> Table {
        let columns = rows
            .into_iter()
            .map(|(name, oid, comment)| {
                let ty = ColumnType::from_oid(oid);
                let role = match (name.as_str(), ty) {
                    (TIME, Some(ColumnType::Timestamptz)) => Role::Time,
                    (TAGS, Some(ColumnType::Jsonb)) => Role::Tags,
                    (_, Some(ColumnType::Text)) if comment.as_deref() == Some(TAG_COMMENT) => Role::Tag,
                    _ => Role::Field,
                };
                (name, Column { role, ty })
            })
            .collect();
        Table { columns }
    }

    /// The columns `metrics` need that the table lacks, in a stable order: time, tags, then
    /// each new key as first met. A key's first value decides its column's type; conflicts
    /// with what already exists are left for [`super::rows::Rows::plan`] to report.
    pub fn missing<'m>(&self, metrics: &[&'m Metric], tags_as: TagsAs) -> Vec<NewColumn<'m>> {
        let mut new = Vec::new();
        let mut seen = HashSet::new();
        let mut want = |name: &'m str, role, ty| {
            if !self.columns.contains_key(name) && seen.insert(name) {
                new.push(NewColumn { name, role, ty });
            }
        };
        want(TIME, Role::Time, ColumnType::Timestamptz);
        if tags_as == TagsAs::Jsonb {
            want(TAGS, Role::Tags, ColumnType::Jsonb);
        }
        for m in metrics {
            if tags_as == TagsAs::Columns {
                for key in m.tags.keys() {
                    want(key, Role::Tag, ColumnType::Text);
                }
            }
            for (key, value) in &m.fields {
                want(key, Role::Field, ColumnType::of_field(value));
            }
        }
        new
    }

    pub fn add(&mut self, new: &NewColumn) {
        self.columns.insert(
            new.name.to_string(),
            Column {
                role: new.role,
                ty: Some(new.ty),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::FieldValue;

    fn names<'a>(new: &[NewColumn<'a>]) -> Vec<(&'a str, &'static str)> {
        new.iter().map(|c| (c.name, c.ty.sql())).collect()
    }

    #[test]
    fn a_new_table_needs_time_tags_and_fields_typed_by_first_value() {
        let a = Metric::new("cpu", 1)
            .tag("host", "h")
            .field("idle", 1.5)
            .field("n", FieldValue::Int(2));
        let b = Metric::new("cpu", 2)
            .tag("cpu", "cpu0")
            .field("idle", FieldValue::Int(3))
            .field("up", true);
        let t = Table::default();
        assert_eq!(
            names(&t.missing(&[&a, &b], TagsAs::Columns)),
            [
                ("time", "timestamptz"),
                ("host", "text"),
                ("idle", "double precision"),
                ("n", "bigint"),
                ("cpu", "text"),
                ("up", "boolean"),
            ]
        );
        assert_eq!(
            names(&t.missing(&[&a], TagsAs::Jsonb)),
            [
                ("time", "timestamptz"),
                ("tags", "jsonb"),
                ("idle", "double precision"),
                ("n", "bigint")
            ]
        );
    }

    #[test]
    fn roles_are_read_back_from_name_type_and_comment() {
        use tokio_postgres::types::Type;
        let t = Table::from_catalog([
            ("time".to_string(), Type::TIMESTAMPTZ.oid(), None),
            ("host".to_string(), Type::TEXT.oid(), Some("tag".to_string())),
            ("state".to_string(), Type::TEXT.oid(), None),
            ("tags".to_string(), Type::JSONB.oid(), None),
            ("n".to_string(), Type::INT4.oid(), None),
        ]);
        let role = |n: &str| (t.columns[n].role, t.columns[n].ty.map(ColumnType::sql));
        assert_eq!(role("time"), (Role::Time, Some("timestamptz")));
        assert_eq!(role("host"), (Role::Tag, Some("text")));
        assert_eq!(role("state"), (Role::Field, Some("text")));
        assert_eq!(role("tags"), (Role::Tags, Some("jsonb")));
        assert_eq!(role("n"), (Role::Field, None));

        let m = Metric::new("cpu", 1)
            .tag("host", "h")
            .tag("region", "eu")
            .field("n", 1.0);
        assert_eq!(names(&t.missing(&[&m], TagsAs::Columns)), [("region", "text")]);
    }
}
