//! The offsets table: each partition's next offset, written in the same transaction as the
//! batch's rows, so PostgreSQL holds exactly the records it says it holds (exactly-once).
//!
//! ```text
//! sluice_offsets (consumer_group text, topic text, partition integer, next_offset bigint,
//!                 PRIMARY KEY (consumer_group, topic, partition))
//! ```
//!
//! In a batch's transaction, before any row: the rows of the batch's partitions are locked
//! (made first if missing), and a record below its partition's stored `next_offset` is already
//! in the tables and is left out; after the rows, `next_offset` moves to the batch's end, never
//! back. When partitions are assigned, the consumer starts each at its stored `next_offset`
//! ([`PostgresOffsets`]); Kafka's committed offsets follow after the commit, for monitoring.

use std::collections::HashMap;

use tokio_postgres::error::SqlState;
use tokio_postgres::Transaction;

use super::config::PostgresConfig;
use super::error::{describe, Failure};
use super::sink::connect;
use super::sql;
use crate::sinks::{Origin, StoredOffsets};

/// The table's name, in the sink's schema.
pub const TABLE: &str = "sluice_offsets";

/// A row that a transaction made to lock it; never committed as such (the same transaction
/// sets the partition's real next offset).
const PLACEHOLDER: i64 = -1;

pub fn create_table(qualified: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {qualified} (consumer_group text NOT NULL, topic text NOT NULL, \
         partition integer NOT NULL, next_offset bigint NOT NULL, \
         PRIMARY KEY (consumer_group, topic, partition))"
    )
}

fn insert_missing(qualified: &str) -> String {
    format!(
        "INSERT INTO {qualified} (consumer_group, topic, partition, next_offset) \
         SELECT $1, $2, p, {PLACEHOLDER} FROM unnest($3::integer[]) AS p ORDER BY p ON CONFLICT DO NOTHING"
    )
}

fn lock_rows(qualified: &str) -> String {
    format!(
        "SELECT partition, next_offset FROM {qualified} \
         WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3) ORDER BY partition FOR UPDATE"
    )
}

fn advance(qualified: &str) -> String {
    format!(
        "UPDATE {qualified} AS o SET next_offset = greatest(o.next_offset, v.next_offset) \
         FROM unnest($3::integer[], $4::bigint[]) AS v(partition, next_offset) \
         WHERE o.consumer_group = $1 AND o.topic = $2 AND o.partition = v.partition"
    )
}

fn read(qualified: &str) -> String {
    format!(
        "SELECT partition, next_offset FROM {qualified} \
         WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3) AND next_offset >= 0"
    )
}

/// Creates the table if it is missing, under the lock schema changes take.
pub async fn ensure_table(tx: &Transaction<'_>, schema: &str) -> Result<(), Failure> {
    let qualified = sql::qualified(schema, TABLE);
    tx.execute(sql::LOCK_TABLE, &[&qualified])
        .await
        .map_err(|e| Failure::from_postgres(&e, &format!("locking {qualified}")))?;
    tx.batch_execute(&create_table(&qualified))
        .await
        .map_err(|e| Failure::from_postgres(&e, &format!("creating {qualified}")))
}

/// A batch's partitions, locked in the offsets table for the rest of the transaction.
pub struct Fence<'a> {
    origin: Origin<'a>,
    qualified: String,
    /// Each partition's stored next offset (`PLACEHOLDER` when none was stored).
    stored: HashMap<i32, i64>,
}

impl<'a> Fence<'a> {
    /// Locks the offsets rows of the batch's partitions. Another worker still writing one of them
    /// (one the group has since moved here) makes this wait for its commit, then shows its offset.
    pub async fn lock(tx: &Transaction<'_>, schema: &str, origin: Origin<'a>) -> Result<Fence<'a>, Failure> {
        let qualified = sql::qualified(schema, TABLE);
        let mut partitions: Vec<i32> = origin.records.iter().map(|(p, _)| *p).collect();
        partitions.sort_unstable();
        partitions.dedup();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&origin.group, &origin.topic, &partitions];
        tx.execute(&insert_missing(&qualified), &params)
            .await
            .map_err(|e| Failure::from_postgres(&e, &format!("adding rows to {qualified}")))?;
        let rows = tx
            .query(&lock_rows(&qualified), &params)
            .await
            .map_err(|e| Failure::from_postgres(&e, &format!("locking rows of {qualified}")))?;
        let mut stored = HashMap::with_capacity(rows.len());
        for row in rows {
            let failed = |e| Failure::from_postgres(&e, &format!("reading {qualified}"));
            stored.insert(row.try_get(0).map_err(failed)?, row.try_get(1).map_err(failed)?);
        }
        Ok(Fence {
            origin,
            qualified,
            stored,
        })
    }

    /// Whether the `i`th metric of the batch still has to be written: its record is at or past
    /// its partition's stored next offset.
    pub fn is_new(&self, i: usize) -> bool {
        let (partition, offset) = self.origin.records[i];
        offset >= self.stored.get(&partition).copied().unwrap_or(PLACEHOLDER)
    }

    /// Moves each partition's next offset past the batch's last record.
    pub async fn advance(self, tx: &Transaction<'_>) -> Result<(), Failure> {
        let mut next: HashMap<i32, i64> = HashMap::new();
        for (p, o) in self.origin.records {
            let n = next.entry(*p).or_insert(0);
            *n = (*n).max(o + 1);
        }
        let (partitions, offsets): (Vec<i32>, Vec<i64>) = next.into_iter().unzip();
        tx.execute(
            &advance(&self.qualified),
            &[&self.origin.group, &self.origin.topic, &partitions, &offsets],
        )
        .await
        .map_err(|e| Failure::from_postgres(&e, &format!("storing offsets in {}", self.qualified)))?;
        Ok(())
    }
}

/// Reads a group's stored offsets when partitions are assigned, on a connection of its own.
pub struct PostgresOffsets {
    config: PostgresConfig,
}

impl PostgresOffsets {
    pub fn new(config: &PostgresConfig) -> PostgresOffsets {
        PostgresOffsets { config: config.clone() }
    }

    async fn query(&self, group: &str, topic: &str, partitions: &[i32]) -> Result<HashMap<i32, i64>, String> {
        let session = connect(&self.config).await.map_err(Failure::into_message)?;
        let qualified = sql::qualified(&self.config.schema, TABLE);
        let partitions = partitions.to_vec();
        let rows = match session
            .client
            .query(&read(&qualified), &[&group, &topic, &partitions])
            .await
        {
            Ok(rows) => rows,
            // No table yet: nothing was ever written by this sink.
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(HashMap::new()),
            Err(e) => return Err(describe(&e, &format!("reading {qualified}"))),
        };
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|e| describe(&e, &format!("reading {qualified}")))
    }
}

impl StoredOffsets for PostgresOffsets {
    /// Runs the query on a thread and runtime of its own: the caller is librdkafka's rebalance
    /// callback, which may run on a thread of the worker's runtime, where nothing may block on
    /// that runtime's tasks.
    fn next_offsets(&self, group: &str, topic: &str, partitions: &[i32]) -> Result<HashMap<i32, i64>, String> {
        let limit = self.config.connect_timeout * 2;
        std::thread::scope(|s| {
            s.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("a runtime to read offsets: {e}"))?;
                runtime.block_on(async {
                    tokio::time::timeout(limit, self.query(group, topic, partitions))
                        .await
                        .map_err(|_| format!("no answer within {limit:?}"))?
                })
            })
            .join()
            .unwrap_or_else(|_| Err("reading the offsets panicked".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_the_table_quoted() {
        let q = sql::qualified("metrics", TABLE);
        assert_eq!(
            create_table(&q),
            r#"CREATE TABLE IF NOT EXISTS "metrics"."sluice_offsets" (consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL, PRIMARY KEY (consumer_group, topic, partition))"#
        );
        assert!(
            advance(&q).contains("greatest(o.next_offset, v.next_offset)"),
            "never back"
        );
        assert!(
            lock_rows(&q).ends_with("ORDER BY partition FOR UPDATE"),
            "one lock order"
        );
    }

    #[test]
    fn records_below_the_stored_offset_are_left_out() {
        let records = [(0, 9), (0, 10), (1, 3), (2, 0)];
        let fence = Fence {
            origin: Origin {
                group: "g",
                topic: "t",
                records: &records,
            },
            qualified: String::new(),
            stored: HashMap::from([(0, 10), (1, PLACEHOLDER)]),
        };
        let new: Vec<bool> = (0..records.len()).map(|i| fence.is_new(i)).collect();
        assert_eq!(new, [false, true, true, true]);
    }
}
