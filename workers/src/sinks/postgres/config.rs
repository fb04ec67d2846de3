//! The `[[sinks]] type = "postgres"` table.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    pub name: String,
    /// A libpq connection string (`host=… user=… dbname=…`) or a `postgres://` URL.
    #[serde(deserialize_with = "connection_string")]
    pub url: String,
    /// Where the tables go; it must exist (the sink creates tables, never schemas).
    #[serde(default = "default_schema")]
    pub schema: String,
    #[serde(default)]
    pub tags_as: TagsAs,
    /// Put before every measurement name to make the table name.
    #[serde(default)]
    pub table_prefix: String,
    /// Longest a connection attempt (TCP, startup, authentication) may take.
    #[serde(default = "default_connect_timeout", deserialize_with = "crate::config::duration")]
    pub connect_timeout: Duration,
}

/// A connection string tokio-postgres understands, checked when the config is read. The
/// error leaves the string out: it may hold a password.
fn connection_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    match s.parse::<tokio_postgres::Config>() {
        Ok(_) => Ok(s),
        Err(e) => Err(serde::de::Error::custom(format!(
            "invalid connection string ({e}): expected \"host=… user=… dbname=…\" or \"postgres://user@host/db\""
        ))),
    }
}

fn default_schema() -> String {
    "public".into()
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Where a metric's tags go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagsAs {
    /// One `text` column per tag key, marked with the column comment `tag`.
    #[default]
    Columns,
    /// One `tags jsonb` column holding every tag.
    Jsonb,
}
