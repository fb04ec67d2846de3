//! `type = "postgres"`: a table per measurement, created and widened as metrics need, each
//! batch written in one transaction with binary COPY, together with each partition's next
//! offset, so that every record lands exactly once.
//!
//! - `config`: the `[[sinks]]` keys.
//! - `sql`: quoted identifiers, column types, statement text.
//! - `schema`: a table's columns and roles (time, tag, tags, field), and what a batch lacks.
//! - `rows`: a table's part of a batch as binary cells, and the COPY.
//! - `cell`: one value in PostgreSQL's binary format; which value fits which column.
//! - `error`: SQLSTATE → retry, reconnect, reload or reject.
//! - `offsets`: the offsets table, written in each batch's transaction and read when partitions
//!   are assigned (exactly-once).
//! - `sink`: the session, the transaction, the cache of tables.

mod cell;
mod config;
mod error;
mod offsets;
mod rows;
mod schema;
mod sink;
mod sql;

pub use config::{PostgresConfig, TagsAs};
pub use offsets::PostgresOffsets;
pub use sink::PostgresSink;
