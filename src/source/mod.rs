//! The self-hosted Postgres side: a read-only session, workspace discovery, layout detection,
//! the metadata model, the workspace configuration ([`config`]: views, roles, webhooks…) and
//! the storage that holds attachment bytes.
//!
//! Everything here reads; the session is opened with `default_transaction_read_only = on` and
//! every query runs in one `REPEATABLE READ READ ONLY` transaction, so the numbers a command
//! shows are consistent with each other while the source keeps running.

pub mod config;
mod config_agents;
mod config_rls;
mod config_views;
pub mod counts;
pub mod details;
pub mod discover;
pub mod duplicates;
pub mod file_store;
pub mod go_live;
pub mod layout;
pub mod legacy;
pub mod members;
pub mod metadata;
pub mod parents;
pub mod records;
pub mod server_files;
pub mod signing_key;
pub mod snapshot;
pub mod storage;
pub mod storage_check;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::{Client, NoTls};

pub use discover::WorkspaceInfo;
pub use layout::{Layout, LayoutReport};
pub use snapshot::SnapshotPool;

/// Makes a session read-only and names it, so that the source's `pg_stat_activity` shows who
/// reads; run on the coordinator and on every read job's session.
pub(crate) const READ_ONLY_SESSION: &str =
    "SET default_transaction_read_only = on; SET application_name = 'twenty-migrate'";

/// Why the source could not be read. Each message is one sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No URL given.
    #[error(
        "no source database given: pass --source or set TWENTY_SOURCE_URL to a postgres:// URL"
    )]
    MissingUrl,
    /// The URL does not parse.
    #[error("the source URL is not a valid Postgres URL ({0})")]
    BadUrl(String),
    /// The server cannot be reached or refused the login.
    #[error("cannot connect to the source database {target}: {reason}")]
    Connect {
        /// Host, port and database, without credentials.
        target: String,
        /// The driver's reason.
        reason: String,
    },
    /// The database holds no Twenty schema.
    #[error("the source database has no Twenty schema (neither core.workspace nor metadata.\"objectMetadata\" exists); is this the Twenty database?")]
    NotTwenty,
    /// The instance holds no workspace.
    #[error("the source instance has no workspace")]
    NoWorkspace,
    /// Several workspaces and none chosen.
    #[error("the source instance holds {count} workspaces ({names}); choose one with --workspace <id|subdomain|name>")]
    WorkspaceAmbiguous {
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// The chosen workspace does not exist.
    #[error("no workspace matches --workspace {0:?} (use an id, subdomain or display name that `inspect` lists)")]
    WorkspaceNotFound(String),
    /// The layout is one this tool does not read.
    #[error("workspace {workspace} has an unknown database layout: {detail}")]
    UnknownLayout {
        /// The workspace.
        workspace: String,
        /// What was found.
        detail: String,
    },
    /// The metadata is inconsistent with the tables.
    #[error("workspace metadata is inconsistent: {0}")]
    Inconsistent(String),
    /// A read job was asked for after the snapshot it shares had been closed.
    #[error("the source snapshot is not open: read jobs share the snapshot of an open transaction (begin_snapshot)")]
    SnapshotClosed,
    /// A query failed.
    #[error("source query failed while {during}: {source}")]
    Query {
        /// What the reader was doing.
        during: String,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Builds a `map_err` closure that wraps a driver error with what the reader was doing.
pub(crate) fn during(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> SourceError {
    let during = what.into();
    move |source| SourceError::Query { during, source }
}

/// A read-only connection to the source database: the coordinator of the read jobs.
pub struct Source {
    client: Client,
    target: String,
    config: tokio_postgres::Config,
    jobs: usize,
    /// Whether `begin_snapshot`'s transaction is open (a snapshot can be exported).
    in_snapshot: AtomicBool,
    /// The read jobs, built on first use inside the snapshot.
    pool: tokio::sync::OnceCell<SnapshotPool>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("target", &self.target)
            .field("jobs", &self.jobs)
            .finish()
    }
}

impl Source {
    /// Connects and makes the session read-only.
    pub async fn connect(url: &str) -> Result<Self, SourceError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| SourceError::BadUrl(e.to_string()))?;
        let target = describe(&config);
        let (client, connection) =
            config
                .connect(NoTls)
                .await
                .map_err(|e| SourceError::Connect {
                    target: target.clone(),
                    reason: error_reason(&e),
                })?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::warn!(error = %err, "source connection closed");
            }
        });
        // Never write to the source: every transaction of this session is read-only.
        client
            .batch_execute(READ_ONLY_SESSION)
            .await
            .map_err(during("making the session read-only"))?;
        Ok(Self {
            client,
            target,
            config,
            jobs: snapshot::DEFAULT_JOBS,
            in_snapshot: AtomicBool::new(false),
            pool: tokio::sync::OnceCell::new(),
        })
    }

    /// Sets how many sessions [`Self::snapshot_pool`] reads with (at least 1).
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Opens the consistent read-only snapshot every later query of this session, and of its
    /// read jobs, uses.
    pub async fn begin_snapshot(&self) -> Result<(), SourceError> {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(during("opening a read-only snapshot"))?;
        self.in_snapshot.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The source's clock at the start of the open snapshot (`now()` inside it): a delta pass
    /// reads everything committed before it, so it is the next delta's starting point.
    pub async fn snapshot_time(&self) -> Result<chrono::DateTime<chrono::Utc>, SourceError> {
        let row = self
            .client
            .query_one("SELECT now()", &[])
            .await
            .map_err(during("reading the snapshot's time"))?;
        Ok(row.get(0))
    }

    /// Ends the snapshot; the read jobs take no new work after it.
    pub async fn end_snapshot(&self) -> Result<(), SourceError> {
        self.in_snapshot.store(false, Ordering::SeqCst);
        if let Some(pool) = self.pool.get() {
            pool.close();
        }
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(during("closing the snapshot"))
    }

    /// The read jobs: a pool of read-only sessions that import this session's snapshot. The
    /// first call exports the snapshot; sessions connect on first use. Needs an open
    /// [`Self::begin_snapshot`].
    pub async fn snapshot_pool(&self) -> Result<&SnapshotPool, SourceError> {
        if !self.in_snapshot.load(Ordering::SeqCst) {
            return Err(SourceError::SnapshotClosed);
        }
        let pool = self
            .pool
            .get_or_try_init(|| {
                SnapshotPool::export(&self.client, &self.config, &self.target, self.jobs)
            })
            .await?;
        // A pool exported in an earlier snapshot of this session imports nothing any more.
        if pool.is_closed() {
            return Err(SourceError::SnapshotClosed);
        }
        Ok(pool)
    }

    /// The underlying client (read-only session).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Host, port and database, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Lists the workspaces of the instance with their detected layout.
    pub async fn workspaces(&self) -> Result<Vec<WorkspaceInfo>, SourceError> {
        discover::workspaces(&self.client).await
    }

    /// Picks the workspace named by `selector` (id, subdomain or display name), or the only one.
    pub async fn choose_workspace(
        &self,
        selector: Option<&str>,
    ) -> Result<WorkspaceInfo, SourceError> {
        let all = self.workspaces().await?;
        discover::choose(all, selector)
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{db}")
}

/// The most specific reason in a driver error chain (e.g. "Connection refused").
fn error_reason(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_owned();
    }
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    reason
}

/// Checks whether a relation (table or view) exists, e.g. `core."objectMetadata"`.
pub(crate) async fn relation_exists(client: &Client, qualified: &str) -> Result<bool, SourceError> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
        .await
        .map_err(during(format!("checking whether {qualified} exists")))?;
    Ok(row.get(0))
}

/// The columns of a table, in ordinal order.
pub(crate) async fn table_columns(
    client: &Client,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, SourceError> {
    // The catalogs, not `information_schema.columns` (the same columns in the same order,
    // without the privilege checks): a few milliseconds less per call, and discovery makes
    // one call per activity table.
    let rows = client
        .query(
            "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&schema, &table],
        )
        .await
        .map_err(during(format!("listing the columns of {schema}.{table}")))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
