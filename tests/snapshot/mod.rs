//! Read jobs: several read-only sessions that import the coordinator's exported snapshot.

use std::collections::BTreeMap;

use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::model::{Model, Object};
use twenty_migrate::source::records::{RecordReader, RowFilter, SourceRow};
use twenty_migrate::source::{Source, SourceError, WorkspaceInfo};

/// A generated layout C workspace; `client` may write (it is the fixture's own session).
struct World {
    db: TestDatabase,
    client: tokio_postgres::Client,
}

async fn world(records: usize) -> World {
    let db = test_database().await.expect("database");
    let client = db.connect().await.expect("connect");
    let spec = WorkspaceSpec::sample(1);
    fixture::load_instance(&client).await.expect("instance");
    fixture::load_workspace(&client, &spec)
        .await
        .expect("workspace");
    fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: 5,
            records,
            storage_dir: None,
            missing_files: 0,
        },
    )
    .await
    .expect("generate");
    World { db, client }
}

/// A source session with `jobs` read jobs, inside its snapshot, and what it read first.
async fn open(url: &str, jobs: usize) -> (Source, WorkspaceInfo, Model) {
    let source = Source::connect(url).await.unwrap().with_jobs(jobs);
    source.begin_snapshot().await.unwrap();
    let ws = source.choose_workspace(None).await.unwrap();
    let model = twenty_migrate::source::metadata::read_model(source.client(), &ws)
        .await
        .unwrap();
    (source, ws, model)
}

fn tables(model: &Model) -> Vec<&Object> {
    model.objects.iter().filter(|o| o.table_exists).collect()
}

/// Every row of `objects`, object by object, on the coordinator's own session.
async fn read_sequentially(
    source: &Source,
    schema: &str,
    objects: &[&Object],
    page_size: usize,
) -> BTreeMap<String, Vec<SourceRow>> {
    let mut out = BTreeMap::new();
    for object in objects {
        let mut reader =
            RecordReader::new(source.client(), schema, object, RowFilter::All, page_size)
                .await
                .unwrap();
        let mut rows = Vec::new();
        loop {
            let page = reader.next_page(source.client()).await.unwrap();
            if page.is_empty() {
                break;
            }
            rows.extend(page);
        }
        out.insert(object.name_singular.clone(), rows);
    }
    out
}

/// Every row of `objects` through the read jobs, in parallel.
async fn read_in_parallel(
    source: &Source,
    schema: &str,
    objects: &[&Object],
    page_size: usize,
) -> BTreeMap<String, Vec<SourceRow>> {
    let pool = source.snapshot_pool().await.unwrap();
    let mut pages = pool.read_objects(schema, objects, RowFilter::All, page_size);
    let mut out: BTreeMap<String, Vec<SourceRow>> = objects
        .iter()
        .map(|o| (o.name_singular.clone(), Vec::new()))
        .collect();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        let rows = out
            .get_mut(&objects[page.index].name_singular)
            .expect("an object of the list");
        rows.extend(page.rows);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_read_of_several_objects_returns_exactly_the_rows_of_a_sequential_read() {
    let w = world(400).await;
    let (source, ws, model) = open(&w.db.url, 3).await;
    let objects = tables(&model);
    assert!(objects.len() > 3, "more objects than jobs");
    // Small pages, so that every object takes several and the jobs interleave.
    let sequential = read_sequentially(&source, &ws.schema, &objects, 17).await;
    let parallel = read_in_parallel(&source, &ws.schema, &objects, 17).await;
    assert!(sequential.values().map(Vec::len).sum::<usize>() > 400);
    for (name, rows) in &sequential {
        assert_eq!(
            parallel[name].len(),
            rows.len(),
            "{name}: as many rows in parallel as in a row"
        );
        assert!(
            parallel[name] == *rows,
            "{name}: the same rows, in id order"
        );
    }
    source.end_snapshot().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_jobs_see_the_exported_snapshot_not_rows_written_after_it() {
    let w = world(200).await;
    let (source, ws, model) = open(&w.db.url, 4).await;
    let pool = source.snapshot_pool().await.unwrap();
    let schema = &ws.schema;
    let note_target = model.object("noteTarget").expect("noteTarget");
    let (live_before, deleted_before) =
        twenty_migrate::source::counts::count_rows(source.client(), schema, note_target)
            .await
            .unwrap();

    // Another session commits an insert, a delete and an update after the export.
    let deleted: uuid::Uuid = w
        .client
        .query_one(
            &format!("DELETE FROM \"{schema}\".\"noteTarget\" WHERE id = (SELECT id FROM \"{schema}\".\"noteTarget\" ORDER BY id LIMIT 1) RETURNING id"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let inserted: Vec<uuid::Uuid> = w
        .client
        .query(
            &format!("INSERT INTO \"{schema}\".\"noteTarget\" SELECT FROM generate_series(1, 5) RETURNING id"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    w.client
        .batch_execute(&format!(
            "UPDATE \"{schema}\".company SET name = 'renamed after the snapshot'"
        ))
        .await
        .unwrap();

    // Counted by every job at once: the numbers of the snapshot.
    let counts = twenty_migrate::source::counts::count_all(pool, schema, &model.objects)
        .await
        .unwrap();
    assert_eq!(counts["noteTarget"], (live_before, deleted_before));

    // Read by the jobs: the deleted row is there, the inserted ones are not, names unchanged.
    let objects = tables(&model);
    let parallel = read_in_parallel(&source, schema, &objects, 10).await;
    let ids: Vec<uuid::Uuid> = parallel["noteTarget"].iter().map(|r| r.id).collect();
    assert_eq!(ids.len() as u64, live_before + deleted_before);
    assert!(ids.contains(&deleted), "a row deleted after the export");
    assert!(
        inserted.iter().all(|id| !ids.contains(id)),
        "rows inserted after the export"
    );
    let companies = format!("{:?}", parallel["company"]);
    assert!(!parallel["company"].is_empty());
    assert!(!companies.contains("renamed after the snapshot"));
    // The coordinator reads the same view.
    assert!(read_sequentially(&source, schema, &objects, 10).await == parallel);
    source.end_snapshot().await.unwrap();

    // The writes did happen: a new snapshot sees them.
    let (later, ws, _) = open(&w.db.url, 1).await;
    let (live_after, deleted_after) =
        twenty_migrate::source::counts::count_rows(later.client(), &ws.schema, note_target)
            .await
            .unwrap();
    assert_eq!(live_after + deleted_after, live_before + deleted_before + 4);
}

#[tokio::test]
async fn a_read_job_refuses_writes() {
    let w = world(20).await;
    let (source, ws, _) = open(&w.db.url, 2).await;
    let pool = source.snapshot_pool().await.unwrap();
    for _ in 0..2 {
        // The second checkout reuses the pooled session: still read-only.
        let conn = pool.get().await.unwrap();
        let err = conn
            .client()
            .batch_execute(&format!(
                "UPDATE \"{}\".company SET name = 'written by a job'",
                ws.schema
            ))
            .await
            .unwrap_err();
        assert!(
            err.as_db_error()
                .is_some_and(|e| e.message().contains("read-only transaction")),
            "{err}"
        );
        drop(conn); // the failed transaction is closed with its session, not pooled
    }
    // Even a transaction of its own, after the snapshot's, is read-only by default.
    let conn = pool.get().await.unwrap();
    let row = conn
        .client()
        .query_one(
            "SELECT current_setting('default_transaction_read_only'), current_setting('application_name')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "on");
    assert_eq!(row.get::<_, String>(1), "twenty-migrate");
    conn.finish().await.unwrap();
    source.end_snapshot().await.unwrap();
}

#[tokio::test]
async fn read_jobs_are_refused_once_the_snapshot_is_closed() {
    let w = world(20).await;
    let (source, _, _) = open(&w.db.url, 2).await;
    let pool = source.snapshot_pool().await.unwrap().clone();
    pool.get().await.unwrap().finish().await.unwrap();
    source.end_snapshot().await.unwrap();
    assert!(matches!(pool.get().await, Err(SourceError::SnapshotClosed)));
    assert!(matches!(
        source.snapshot_pool().await,
        Err(SourceError::SnapshotClosed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_one_object_resume_after_a_cursor_and_end_with_an_empty_page() {
    let w = world(300).await;
    let (source, ws, model) = open(&w.db.url, 2).await;
    let person = model.object("person").expect("person");
    let all = read_sequentially(&source, &ws.schema, &[person], 1000).await["person"].clone();
    assert!(all.len() > 20);
    let cursor = all[9].id;
    let pool = source.snapshot_pool().await.unwrap();
    let mut pages = pool
        .pages(&ws.schema, person, RowFilter::All, 7, Some(cursor))
        .await
        .unwrap();
    assert!(pages.columns().iter().any(|c| c.name == "id"));
    let mut rows = Vec::new();
    loop {
        let page = pages.next_page().await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        rows.extend(page);
    }
    assert!(rows == all[10..], "the rows after the cursor, in order");
    assert!(
        pages.next_page().await.unwrap().is_empty(),
        "ended stays ended"
    );
    source.end_snapshot().await.unwrap();
}
