//! The postgres sink: one session, one transaction per batch, one binary COPY per table.
//!
//! ```text
//! deliver_from ─▶ connect if needed ─▶ BEGIN ─▶ lock the batch's offsets rows, leave out
//!                                               records already written (`offsets`)
//!                                        ─▶ per table, by name:
//!                                               columns known? else read the catalog
//!                                               new keys? lock, re-read, CREATE/ALTER
//!                                               plan rows (refuse conflicts) ─▶ COPY … BINARY
//!                                        ─▶ next offsets ─▶ COMMIT ─▶ Ok
//! ```
//!
//! Tables are visited in name order, so two workers take their locks in the same order. What
//! the sink learns of tables is kept only once the transaction commits: a rolled-back batch
//! also rolls back its `ALTER TABLE`s. `deliver`, without the records' offsets (benchmarks,
//! tests), writes the rows alone.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use model::Metric;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls, Transaction};

use super::config::PostgresConfig;
use super::error::{describe, Failure};
use super::offsets::{self, Fence};
use super::rows::{PlanError, Rows};
use super::schema::{Role, Table};
use super::sql;
use crate::sinks::{Origin, Sink, SinkFuture};

pub struct PostgresSink {
    config: PostgresConfig,
    session: Option<Session>,
    /// Columns of the tables written so far, by table name (prefix included).
    tables: HashMap<String, Table>,
    /// The offsets table is known to exist.
    offsets_table: bool,
}

/// A connected client and the task that drives its socket.
pub(super) struct Session {
    pub client: Client,
    driver: JoinHandle<()>,
}

impl Drop for Session {
    /// The driver ends by itself once the client is gone, unless the socket is stuck; it must
    /// not outlive the sink either way.
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl PostgresSink {
    pub fn new(config: &PostgresConfig) -> Self {
        PostgresSink {
            config: config.clone(),
            session: None,
            tables: HashMap::new(),
            offsets_table: false,
        }
    }

    /// Writes `batch` in one transaction; with its `origin`, the offsets too, leaving out the
    /// records that are already in the tables.
    async fn write(&mut self, batch: &[Metric], origin: Option<Origin<'_>>) -> Result<(), Failure> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.session.as_ref().is_some_and(|s| s.client.is_closed()) {
            self.session = None;
        }
        let session = match self.session.take() {
            Some(s) => s,
            None => connect(&self.config).await?,
        };
        let session = self.session.insert(session);
        let tx = session
            .client
            .transaction()
            .await
            .map_err(|e| Failure::from_postgres(&e, "BEGIN"))?;
        let fence = match origin {
            Some(origin) => {
                if !self.offsets_table {
                    offsets::ensure_table(&tx, &self.config.schema).await?;
                }
                Some(Fence::lock(&tx, &self.config.schema, origin).await?)
            }
            None => None,
        };
        let mut by_measurement: BTreeMap<&str, Vec<&Metric>> = BTreeMap::new();
        let mut written = 0;
        for (i, m) in batch.iter().enumerate() {
            if fence.as_ref().is_none_or(|f| f.is_new(i)) {
                by_measurement.entry(m.name.as_str()).or_default().push(m);
                written += 1;
            }
        }
        if written < batch.len() {
            tracing::info!(
                sink = %self.config.name,
                metrics = batch.len() - written,
                "leaving out metrics whose records are already in PostgreSQL (the offsets table is past them)"
            );
        }
        let mut learned = Vec::new();
        for (measurement, metrics) in by_measurement {
            let name = format!("{}{measurement}", self.config.table_prefix);
            if name == offsets::TABLE {
                return Err(Failure::Reject(format!(
                    "table {name:?} is where the sink keeps its offsets; give the sink a table_prefix"
                )));
            }
            let cached = self.tables.get(&name);
            if let Some(table) = write_table(&tx, &self.config, cached, &name, &metrics).await? {
                learned.push((name, table));
            }
        }
        if let Some(fence) = fence {
            fence.advance(&tx).await?;
        }
        tx.commit().await.map_err(|e| Failure::from_postgres(&e, "COMMIT"))?;
        self.tables.extend(learned);
        self.offsets_table |= origin.is_some();
        Ok(())
    }

    async fn attempt(&mut self, batch: &[Metric], origin: Option<Origin<'_>>) -> Result<(), crate::sinks::SinkError> {
        let failure = match self.write(batch, origin).await {
            Ok(()) => return Ok(()),
            Err(f) => f,
        };
        match &failure {
            Failure::Reconnect(_) => self.session = None,
            Failure::Reload(_) => {
                self.tables.clear();
                self.offsets_table = false;
            }
            Failure::Retry(_) | Failure::Reject(_) => {}
        }
        Err(failure.into())
    }
}

impl Sink for PostgresSink {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a> {
        Box::pin(self.attempt(batch, None))
    }

    fn deliver_from<'a>(&'a mut self, batch: &'a [Metric], origin: Origin<'a>) -> SinkFuture<'a> {
        Box::pin(self.attempt(batch, Some(origin)))
    }
}

pub(super) async fn connect(config: &PostgresConfig) -> Result<Session, Failure> {
    let mut pg: tokio_postgres::Config = config
        .url
        .parse()
        .map_err(|e| Failure::Reconnect(format!("url: {e}")))?;
    pg.connect_timeout(config.connect_timeout);
    if pg.get_application_name().is_none() {
        pg.application_name("sluice-worker");
    }
    // connect_timeout bounds each TCP connect; this bounds startup and authentication too.
    let (client, connection) = tokio::time::timeout(config.connect_timeout, pg.connect(NoTls))
        .await
        .map_err(|_| Failure::Reconnect(format!("connecting: no session within {:?}", config.connect_timeout)))?
        // Whatever the server says while we connect, the batch itself is not at fault.
        .map_err(|e| Failure::Reconnect(describe(&e, "connecting")))?;
    let sink = config.name.clone();
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(%sink, error = %e, "postgres connection ended");
        }
    });
    tracing::info!(sink = %config.name, "connected to PostgreSQL");
    Ok(Session { client, driver })
}

/// Writes one table's metrics inside `tx`; returns the table's columns when they are news to
/// the cache (read from the catalog or changed), to be kept once `tx` commits.
async fn write_table(
    tx: &Transaction<'_>,
    config: &PostgresConfig,
    cached: Option<&Table>,
    name: &str,
    metrics: &[&Metric],
) -> Result<Option<Table>, Failure> {
    let mut table = match cached {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(load(tx, &config.schema, name).await?.unwrap_or_default()),
    };
    if !table.missing(metrics, config.tags_as).is_empty() {
        table = Cow::Owned(change_schema(tx, config, name, metrics).await?);
    }
    let rows = Rows::plan(&table, metrics, config.tags_as).map_err(|e| match e {
        PlanError::Conflict(e) => Failure::Reject(format!("table {name:?}: {e}")),
        PlanError::Missing(e) => Failure::Reload(format!("table {name:?}: {e}")),
    })?;
    let qualified = sql::qualified(&config.schema, name);
    rows.copy(tx, &qualified)
        .await
        .map_err(|e| Failure::from_postgres(&e, &format!("COPY {} rows into {qualified}", rows.len())))?;
    Ok(match table {
        Cow::Owned(t) => Some(t),
        Cow::Borrowed(_) => None,
    })
}

/// Creates the table or adds the columns `metrics` need, under a lock that makes other
/// workers wait for this transaction; returns the table as it then is.
async fn change_schema(
    tx: &Transaction<'_>,
    config: &PostgresConfig,
    name: &str,
    metrics: &[&Metric],
) -> Result<Table, Failure> {
    sql::check_ident(name).map_err(|e| Failure::Reject(format!("table name: {e}")))?;
    let qualified = sql::qualified(&config.schema, name);
    tx.execute(sql::LOCK_TABLE, &[&qualified])
        .await
        .map_err(|e| Failure::from_postgres(&e, &format!("locking {qualified}")))?;
    // Another worker may have changed the table while this one waited.
    let existing = load(tx, &config.schema, name).await?;
    let mut table = existing.clone().unwrap_or_default();
    let new = table.missing(metrics, config.tags_as);
    for c in &new {
        sql::check_ident(c.name).map_err(|e| Failure::Reject(format!("table {name:?}: column name: {e}")))?;
    }
    let mut ddl = if existing.is_none() {
        let columns: Vec<_> = new.iter().map(|c| (c.name, c.ty)).collect();
        sql::create_table(&qualified, &columns)
    } else {
        new.iter().map(|c| sql::add_column(&qualified, c.name, c.ty)).collect()
    };
    for c in new.iter().filter(|c| c.role == Role::Tag) {
        ddl.push_str(&sql::mark_tag(&qualified, c.name));
    }
    if !new.is_empty() {
        tx.batch_execute(&ddl)
            .await
            .map_err(|e| Failure::from_postgres(&e, &format!("changing {qualified}")))?;
        let columns: Vec<&str> = new.iter().map(|c| c.name).collect();
        let created = existing.is_none();
        tracing::info!(sink = %config.name, table = %qualified, ?columns, created, "table schema changed");
    }
    for c in &new {
        table.add(c);
    }
    Ok(table)
}

/// The table's columns from the catalog; `None` when there is no such table.
async fn load(tx: &Transaction<'_>, schema: &str, name: &str) -> Result<Option<Table>, Failure> {
    let failed = |e: tokio_postgres::Error| {
        Failure::from_postgres(&e, &format!("reading the columns of {}", sql::qualified(schema, name)))
    };
    let rows = tx.query(sql::LOAD_COLUMNS, &[&schema, &name]).await.map_err(failed)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        // A table without columns has one row of NULLs.
        if let Some(column) = row.try_get::<_, Option<String>>(0).map_err(failed)? {
            columns.push((column, row.try_get(1).map_err(failed)?, row.try_get(2).map_err(failed)?));
        }
    }
    Ok(Some(Table::from_catalog(columns)))
}
