//! The self-hosted Postgres side: a read-only session, workspace discovery, layout detection,
//! the metadata model and the storage that holds attachment bytes.
//!
//! Everything here reads; the session is opened with `default_transaction_read_only = on` and
//! every query runs in one `REPEATABLE READ READ ONLY` transaction, so the numbers a command
//! shows are consistent with each other while the source keeps running.

pub mod counts;
pub mod details;
pub mod discover;
pub mod duplicates;
pub mod file_store;
pub mod layout;
pub mod legacy;
pub mod members;
pub mod metadata;
pub mod parents;
pub mod records;
pub mod server_files;
pub mod signing_key;
pub mod storage;
pub mod storage_check;

use tokio_postgres::{Client, NoTls};

pub use discover::WorkspaceInfo;
pub use layout::{Layout, LayoutReport};

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

/// A read-only connection to the source database.
pub struct Source {
    client: Client,
    target: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("target", &self.target)
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
            .batch_execute(
                "SET default_transaction_read_only = on; SET application_name = 'twenty-migrate'",
            )
            .await
            .map_err(during("making the session read-only"))?;
        Ok(Self { client, target })
    }

    /// Opens the consistent read-only snapshot every later query of this session uses.
    pub async fn begin_snapshot(&self) -> Result<(), SourceError> {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(during("opening a read-only snapshot"))
    }

    /// Ends the snapshot.
    pub async fn end_snapshot(&self) -> Result<(), SourceError> {
        self.client
            .batch_execute("COMMIT")
            .await
            .map_err(during("closing the snapshot"))
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
    let rows = client
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&schema, &table],
        )
        .await
        .map_err(during(format!("listing the columns of {schema}.{table}")))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
