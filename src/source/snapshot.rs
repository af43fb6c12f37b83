//! Parallel reads of the source from one consistent view, as `pg_dump --jobs` does.
//!
//! The coordinator (the [`Source`](super::Source) session, inside its `REPEATABLE READ READ ONLY`
//! transaction) exports its snapshot with `pg_export_snapshot()`. A pool of read-only sessions
//! imports it: each checkout opens `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` and
//! `SET TRANSACTION SNAPSHOT '<id>'`, so every job sees exactly the rows the coordinator sees,
//! whatever the source does meanwhile. An import works only while the exporting transaction is
//! open, which is why the pool belongs to the `Source` and is closed by `end_snapshot`.
//!
//! Two ways to read: [`SnapshotPool::pages`] spawns one job that sends one object's pages
//! through a small bounded channel (reading overlaps the consumer's work, memory stays at a
//! few pages), and [`SnapshotPool::read_objects`] reads several objects with up to
//! [`SnapshotPool::jobs`] jobs at once.

use std::sync::Arc;

use deadpool_postgres::{HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

use super::records::{ReadColumn, RecordReader, RowFilter, SourceRow};
use super::{during, error_reason, SourceError, READ_ONLY_SESSION};
use crate::model::Object;

/// Pages a job reads ahead of its consumer: enough to overlap reading and consuming, few
/// enough that memory stays flat whatever the table size.
pub const PAGES_AHEAD: usize = 2;

/// The default number of read jobs (`--source-jobs`): on two cores, four jobs keep both busy
/// while each waits for its server process half of the time; each job is one connection.
pub const DEFAULT_JOBS: usize = 4;

/// A pool of read-only sessions that all read the coordinator's exported snapshot.
#[derive(Clone)]
pub struct SnapshotPool {
    pool: Pool,
    snapshot: Arc<str>,
    jobs: usize,
    target: Arc<str>,
}

impl std::fmt::Debug for SnapshotPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotPool")
            .field("snapshot", &self.snapshot)
            .field("jobs", &self.jobs)
            .finish()
    }
}

impl SnapshotPool {
    /// Exports the snapshot of `coordinator`'s open transaction and builds a pool of `jobs`
    /// sessions (connected lazily, on first checkout) that import it.
    pub(crate) async fn export(
        coordinator: &Client,
        config: &tokio_postgres::Config,
        target: &str,
        jobs: usize,
    ) -> Result<Self, SourceError> {
        let snapshot: String = coordinator
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(during("exporting the snapshot for the read jobs"))?
            .get(0);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let jobs = jobs.max(1);
        let pool = Pool::builder(manager)
            .max_size(jobs)
            // Never write to the source: every transaction of every job session is read-only.
            .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                Box::pin(async move {
                    client
                        .batch_execute(READ_ONLY_SESSION)
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| SourceError::Connect {
                target: target.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pool,
            snapshot: snapshot.into(),
            jobs,
            target: target.into(),
        })
    }

    /// How many sessions read at once.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// The exported snapshot's identifier (as `pg_export_snapshot()` returned it).
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot
    }

    /// Refuses further checkouts (the exporting transaction is about to end); sessions in use
    /// keep their snapshot and are closed when returned.
    pub(crate) fn close(&self) {
        self.pool.close();
    }

    /// Whether [`Self::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// A session inside a transaction that reads the exported snapshot; waits while all
    /// [`Self::jobs`] sessions are in use. End it with [`SnapshotConn::finish`].
    pub async fn get(&self) -> Result<SnapshotConn, SourceError> {
        let object = self.pool.get().await.map_err(|e| self.pool_error(e))?;
        let conn = SnapshotConn {
            object: Some(object),
        };
        // The id comes from the server (`0000000A-0000001B-1`); quoted all the same.
        conn.client()
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
                self.snapshot.replace('\'', "''")
            ))
            .await
            .map_err(during("importing the snapshot into a read job"))?;
        Ok(conn)
    }

    fn pool_error(&self, err: PoolError) -> SourceError {
        let reason = match err {
            PoolError::Closed => return SourceError::SnapshotClosed,
            PoolError::Backend(e) | PoolError::PostCreateHook(HookError::Backend(e)) => {
                error_reason(&e)
            }
            other => other.to_string(),
        };
        SourceError::Connect {
            target: self.target.to_string(),
            reason,
        }
    }

    /// Runs `f` on each item with up to [`Self::jobs`] sessions at once, each in the shared
    /// snapshot; results come back in the items' order. For queries whose work is on the
    /// server (counts, checks): everything runs on the caller's task.
    pub async fn map<T, R>(
        &self,
        items: &[T],
        f: impl AsyncFn(&Client, &T) -> Result<R, SourceError>,
    ) -> Result<Vec<R>, SourceError> {
        let f = &f;
        futures_util::stream::iter(items)
            .map(|item| async move {
                let conn = self.get().await?;
                let out = f(conn.client(), item).await?;
                conn.finish().await?;
                Ok::<_, SourceError>(out)
            })
            .buffered(self.jobs)
            .try_collect()
            .await
    }

    /// Spawns one job that reads `object`'s rows page by page (after `resume_after`, an id
    /// already handled) and sends them ahead through a channel of [`PAGES_AHEAD`] pages.
    pub async fn pages(
        &self,
        schema: &str,
        object: &Object,
        filter: RowFilter,
        page_size: usize,
        resume_after: Option<Uuid>,
    ) -> Result<Pages, SourceError> {
        let conn = self.get().await?;
        let mut reader =
            RecordReader::new(conn.client(), schema, object, filter, page_size).await?;
        reader.resume_after(resume_after);
        Ok(Pages::spawn(conn, reader))
    }

    /// Reads every row of `objects` with up to [`Self::jobs`] jobs at once, in the shared
    /// snapshot. Objects start in the given order (largest first balances the jobs best);
    /// pages of different objects interleave, pages of one object come in id order.
    pub fn read_objects(
        &self,
        schema: &str,
        objects: &[&Object],
        filter: RowFilter,
        page_size: usize,
    ) -> ObjectPages {
        // Each job's channel holds a few pages, so memory is bounded by jobs × PAGES_AHEAD.
        let (tx, rx) = mpsc::channel(self.jobs * PAGES_AHEAD);
        let mut tasks = JoinSet::new();
        for (index, object) in objects.iter().enumerate() {
            let (pool, tx, schema, object) = (
                self.clone(),
                tx.clone(),
                schema.to_owned(),
                (*object).clone(),
            );
            // Every task is spawned at once; the pool's queue (first come, first served)
            // holds all but `jobs` of them until a session is free.
            tasks.spawn(async move {
                let read = async {
                    let conn = pool.get().await?;
                    let mut reader =
                        RecordReader::new(conn.client(), &schema, &object, filter, page_size)
                            .await?;
                    loop {
                        let page = reader.next_page(conn.client()).await?;
                        if page.is_empty() {
                            break;
                        }
                        if tx.send(Ok(ObjectPage { index, rows: page })).await.is_err() {
                            break; // the consumer stopped
                        }
                    }
                    conn.finish().await
                };
                if let Err(e) = read.await {
                    let _ = tx.send(Err(e)).await;
                }
            });
        }
        ObjectPages { rx, tasks }
    }
}

/// A pooled session inside a transaction that reads the exported snapshot.
///
/// [`Self::finish`] ends the transaction and returns the session to the pool; dropped without
/// it (an error, a cancelled read), the session is closed instead, which ends the transaction
/// on the server and keeps a half-read session out of the pool.
pub struct SnapshotConn {
    object: Option<deadpool_postgres::Object>,
}

impl std::fmt::Debug for SnapshotConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotConn").finish_non_exhaustive()
    }
}

impl SnapshotConn {
    /// The session's client.
    pub fn client(&self) -> &Client {
        self.object
            .as_ref()
            .expect("a SnapshotConn holds its session until finished")
    }

    /// Ends the read-only transaction and returns the session to the pool.
    pub async fn finish(mut self) -> Result<(), SourceError> {
        let object = self
            .object
            .take()
            .expect("a SnapshotConn holds its session until finished");
        object
            .batch_execute("COMMIT")
            .await
            .map_err(during("ending a read job's transaction"))?;
        drop(object); // back to the pool
        Ok(())
    }
}

impl Drop for SnapshotConn {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            // Detached from the pool and dropped: the connection closes, the server rolls
            // the transaction back.
            drop(deadpool_postgres::Object::take(object));
        }
    }
}

/// One object's pages, read ahead by a spawned job on its own session.
///
/// The job stops when this is dropped (its session closed, not pooled).
pub struct Pages {
    rx: mpsc::Receiver<Result<Vec<SourceRow>, SourceError>>,
    columns: Vec<ReadColumn>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("columns", &self.columns.len())
            .finish_non_exhaustive()
    }
}

impl Pages {
    /// Spawns a job that reads `reader`'s pages (from its cursor on) on `conn`, the session
    /// `reader` was prepared on, and finishes `conn` at the end.
    pub fn spawn(conn: SnapshotConn, mut reader: RecordReader) -> Self {
        let columns = reader.columns().to_vec();
        let (tx, rx) = mpsc::channel(PAGES_AHEAD);
        let task = tokio::spawn(async move {
            let read = async {
                loop {
                    let page = reader.next_page(conn.client()).await?;
                    if page.is_empty() {
                        break;
                    }
                    if tx.send(Ok(page)).await.is_err() {
                        return Ok(()); // the consumer stopped: `conn` is dropped, not pooled
                    }
                }
                conn.finish().await
            };
            if let Err(e) = read.await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Self { rx, columns, task }
    }

    /// The columns, in cell order (as [`RecordReader::columns`]).
    pub fn columns(&self) -> &[ReadColumn] {
        &self.columns
    }

    /// The next page; an empty vector means the end (as [`RecordReader::next_page`]).
    pub async fn next_page(&mut self) -> Result<Vec<SourceRow>, SourceError> {
        match self.rx.recv().await {
            Some(page) => page,
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A page of one of the objects given to [`SnapshotPool::read_objects`].
#[derive(Debug)]
pub struct ObjectPage {
    /// The object's position in the list given.
    pub index: usize,
    /// The rows, in id order within the object.
    pub rows: Vec<SourceRow>,
}

/// The pages of several objects read in parallel; the jobs stop when this is dropped.
#[derive(Debug)]
pub struct ObjectPages {
    rx: mpsc::Receiver<Result<ObjectPage, SourceError>>,
    tasks: JoinSet<()>,
}

impl ObjectPages {
    /// The next page of any object, `None` once every object has been read.
    pub async fn next(&mut self) -> Option<Result<ObjectPage, SourceError>> {
        match self.rx.recv().await {
            Some(page) => Some(page),
            None => {
                // Every sender is gone: the jobs ended; a panic in one surfaces here.
                while let Some(done) = self.tasks.join_next().await {
                    if let Err(e) = done {
                        if e.is_panic() {
                            std::panic::resume_unwind(e.into_panic());
                        }
                    }
                }
                None
            }
        }
    }
}
