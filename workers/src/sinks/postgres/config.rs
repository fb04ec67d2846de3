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
    #[serde(default = "default_connect_timeout", deserialize_with = "kafka_client::duration")]
    pub connect_timeout: Duration,
}

/// A connection string tokio-postgres understands, checked when the config is read. The
/// error leaves the string out: it may hold a password.
fn connection_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    match s.parse::<tokio_postgres::Config>() {
        Ok(_) => Ok(s),
        Err(e) => Err(serde::de::Error::custom(format!(
            "invalid connection string ({}): expected \"host=… user=… dbname=…\" or \"postgres://user@host/db\"",
            std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)
        ))),
    }
}

impl PostgresConfig {
    /// Where this sink's tables are: the server, the database, the schema and the prefix. Two
    /// sinks are two consumer groups, and each stores its own offsets, so two sinks with the
    /// same place would each write every record once: one sink's tables per group.
    pub fn tables_place(&self) -> String {
        let place = match self.url.parse::<tokio_postgres::Config>() {
            Ok(c) => {
                let hosts: Vec<String> = c
                    .get_hosts()
                    .iter()
                    .map(|h| match h {
                        tokio_postgres::config::Host::Tcp(name) => name.clone(),
                        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                // libpq's defaults: port 5432, the database named as the user.
                let ports = match c.get_ports() {
                    [] => vec![5432],
                    p => p.to_vec(),
                };
                format!("{hosts:?} {ports:?} {:?}", c.get_dbname().or(c.get_user()))
            }
            Err(_) => self.url.clone(),
        };
        format!("{place} {:?} {:?}", self.schema, self.table_prefix)
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

#[cfg(test)]
mod tests {

    use crate::sinks::SinkConfig;
    use crate::Config;

    /// The example is commented out in `config/workers.toml` (it needs a server); uncommented,
    /// it must parse and show every key with its default.
    #[test]
    fn the_commented_example_parses_with_the_defaults() {
        let example = crate::sinks::config::commented_example("postgres");
        let config = Config::parse(&example).unwrap();
        let Some(SinkConfig::Postgres(c)) = config.sinks.first() else {
            panic!("{example}");
        };
        let defaults = Config::parse("[[sinks]]\ntype = \"postgres\"\nname = \"x\"\nurl = \"host=h\"\n").unwrap();
        let Some(SinkConfig::Postgres(d)) = defaults.sinks.first() else {
            panic!("defaults");
        };
        assert_eq!(
            (&c.schema, c.tags_as, &c.table_prefix, c.connect_timeout),
            (&d.schema, d.tags_as, &d.table_prefix, d.connect_timeout)
        );
        assert_eq!(c.url, "host=127.0.0.1 user=sluice dbname=metrics");
    }

    #[test]
    fn two_sinks_writing_the_same_tables_are_refused() {
        let sinks = |a: &str, b: &str| {
            Config::parse(&format!(
                "[[sinks]]\ntype = \"postgres\"\nname = \"a\"\n{a}\n\
                 [[sinks]]\ntype = \"postgres\"\nname = \"b\"\n{b}\n"
            ))
            .unwrap()
            .validate()
        };
        let e = sinks("url = \"host=db user=u dbname=m\"", "url = \"postgres://u@db/m\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sinks.b.table_prefix") && e.contains("one sink's tables per group"),
            "{e}"
        );
        sinks(
            "url = \"host=db dbname=m\"",
            "url = \"host=db dbname=m\"\ntable_prefix = \"b_\"",
        )
        .unwrap();
        sinks("url = \"host=db dbname=m\"", "url = \"host=db dbname=n\"").unwrap();
        sinks(
            "url = \"host=db dbname=m\"",
            "url = \"host=db dbname=m\"\nschema = \"b\"",
        )
        .unwrap();
    }

    #[test]
    fn a_connection_string_that_does_not_parse_is_a_config_error() {
        let e = Config::parse(
            "[[sinks]]\ntype = \"postgres\"\nname = \"x\"\nurl = \"host=h port=notaport password=s3cret\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("invalid connection string") && e.contains("port"), "{e}");
        assert!(!e.contains("s3cret"), "the password stays out of the message: {e}");
    }
}
