//! Every supported source layout through the same checks: layouts A (Twenty 0.43) and B
//! (1.16) are built from a generated layout C workspace by reversing the upgrade commands
//! (`twenty_migrate::fixture::layouts`), then inspected and migrated end to end.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use twenty_migrate::destination::{ApiKey, FindMany, Target, TargetConfig};
use twenty_migrate::fixture::layouts::{downgrade, Downgrade};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::pipeline::{self, BatchSize, DeletedPolicy, MigrateOptions};
use twenty_migrate::plan::UnmatchedMembers;
use twenty_migrate::twin::{Member, Twin, TwinConfig};
use uuid::Uuid;

use crate::inspect::run_cli;

mod detection;

const KEY: &str = "layouts-key";

/// Which source to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixture {
    A,
    B,
    C,
    /// noteTarget renamed by 1.17, taskTarget and attachment not.
    HalfUpgraded,
}

impl Fixture {
    /// The join column of noteTarget's link to a company in this source.
    fn note_company_column(self) -> &'static str {
        match self {
            Fixture::A | Fixture::B => "companyId",
            Fixture::C | Fixture::HalfUpgraded => "targetCompanyId",
        }
    }

    /// The join column of taskTarget's link to a person in this source.
    fn task_person_column(self) -> &'static str {
        match self {
            Fixture::C => "targetPersonId",
            _ => "personId",
        }
    }
}

struct World {
    db: TestDatabase,
    client: tokio_postgres::Client,
    spec: WorkspaceSpec,
    generated: fixture::generate::Generated,
    dir: tempfile::TempDir,
}

async fn world(kind: Fixture, records: usize) -> World {
    let db = test_database().await.expect("database");
    let client = db.connect().await.expect("connect");
    let spec = WorkspaceSpec::sample(2);
    fixture::load_instance(&client).await.expect("instance");
    fixture::load_workspace(&client, &spec)
        .await
        .expect("workspace");
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: 5,
            records,
            storage_dir: Some(storage.clone()),
            missing_files: 0,
        },
    )
    .await
    .expect("generate");
    let to = match kind {
        Fixture::A => Some(Downgrade::A),
        Fixture::B => Some(Downgrade::B),
        Fixture::HalfUpgraded => Some(Downgrade::HalfUpgraded(&["taskTarget", "attachment"])),
        Fixture::C => None,
    };
    if let Some(to) = to {
        downgrade(&client, &spec, to, Some(&storage))
            .await
            .expect("downgrade");
    }
    World {
        db,
        client,
        spec,
        generated,
        dir,
    }
}

impl World {
    fn members(&self) -> Vec<Member> {
        self.generated.twin_members()
    }

    fn options(&self) -> MigrateOptions {
        MigrateOptions {
            source_url: self.db.url.clone(),
            workspace: None,
            batch_size: BatchSize::Auto,
            unmatched: UnmatchedMembers::Stop,
            deleted: DeletedPolicy::Skip,
            rejects_path: self.dir.path().join("rejects.jsonl"),
            page_size: 50,
            requests_per_minute: 1_000_000,
            schema: twenty_migrate::schema_sync::SchemaOptions::default(),
            state_path: self.dir.path().join("state.sqlite"),
            // Each run starts over, so the rerun re-sends everything and must create nothing.
            restart: true,
            cancel: tokio_util::sync::CancellationToken::new(),
            max_in_flight: 4,
            source_jobs: 4,
            files: twenty_migrate::files::FileOptions {
                storage_dir: Some(self.storage()),
                ..Default::default()
            },
        }
    }

    fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    fn inspect(&self) -> Value {
        let storage = self.storage();
        let (code, stdout, stderr) = run_cli(&[
            "inspect",
            "--json",
            "--source",
            &self.db.url,
            "--storage-dir",
            storage.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "inspect failed: {stderr}");
        serde_json::from_str(&stdout).expect("inspect --json prints JSON")
    }
}

async fn twin_and_target(members: Vec<Member>) -> (Twin, Target) {
    let twin = TwinConfig::new(KEY)
        .members(members)
        .max_batch(200)
        .start()
        .await
        .expect("twin");
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(KEY));
    config.requests_per_minute = 1_000_000;
    let target = Target::new(config).expect("target client");
    (twin, target)
}

async fn read_back(target: &Target, plural: &str) -> HashMap<String, Value> {
    target
        .find_all(plural, &FindMany::default())
        .await
        .expect("read back")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect()
}

/// Live rows of a link table: (id, value of the link column), straight from SQL.
async fn links(w: &World, table: &str, column: &str) -> Vec<(Uuid, Option<Uuid>)> {
    let sql = format!(
        "SELECT id, \"{column}\" FROM \"{}\".\"{table}\" WHERE \"deletedAt\" IS NULL",
        w.spec.schema()
    );
    w.client
        .query(&sql, &[])
        .await
        .expect("links")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The one end-to-end body every layout runs.
async fn migrates_completely_and_a_rerun_creates_nothing(kind: Fixture) {
    let w = world(kind, 300).await;
    let (twin, target) = twin_and_target(w.members()).await;
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: migrate: {e}"));

    // Every object balances, nothing was rejected, every generated row was read.
    assert!(
        report.unbalanced().is_empty(),
        "{kind:?}\n{}",
        report.render_text()
    );
    assert_eq!(report.rejected(), 0, "{kind:?}\n{}", report.render_text());
    for o in &report.objects {
        let generated = &w.generated.objects[&o.object];
        assert_eq!(
            o.read,
            generated.live + generated.deleted,
            "{kind:?} {}",
            o.object
        );
    }
    // The activity links are mapped under their current names, whatever the layout calls
    // them, those to custom objects included (the schema sync creates the objects first).
    for object in ["noteTarget", "taskTarget", "pet", "vetVisit"] {
        assert!(
            report.objects.iter().any(|o| o.object == object),
            "{kind:?}: {object} not migrated\n{}",
            report.render_text()
        );
        assert!(
            !report.dropped_fields.contains_key(object),
            "{kind:?}: {object} dropped {:?}",
            report.dropped_fields[object]
        );
    }

    // Field by field through the API.
    let check = twenty_migrate::verify::verify(&w.options(), &target, 100)
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: verify: {e}"));
    assert!(check.is_clean(), "{kind:?}\n{}", check.render_text());
    let compared: u64 = check.objects.iter().map(|o| o.compared).sum();
    assert!(compared > 150, "{kind:?}: compared only {compared}");

    // Independently of the mapping: each link read from its layout's own column lands in the
    // current API's field.
    for (table, column, plural, key) in [
        (
            "noteTarget",
            kind.note_company_column(),
            "noteTargets",
            "targetCompanyId",
        ),
        (
            "taskTarget",
            kind.task_person_column(),
            "taskTargets",
            "targetPersonId",
        ),
    ] {
        let rows = links(&w, table, column).await;
        let got = read_back(&target, plural).await;
        let mut linked = 0;
        for (id, value) in &rows {
            let Some(record) = got.get(&id.to_string()) else {
                continue; // its parent was soft-deleted: skipped by rule
            };
            assert_eq!(
                record[key].as_str(),
                value.map(|v| v.to_string()).as_deref(),
                "{kind:?}: {table} {id}.{key}"
            );
            linked += usize::from(value.is_some());
        }
        assert!(
            linked > 0,
            "{kind:?}: no {table} row links through {column}"
        );
    }
    // Rich text arrives as the current composite.
    let notes = read_back(&target, "notes").await;
    assert!(
        notes.values().any(|n| n["bodyV2"]["markdown"]
            .as_str()
            .is_some_and(|m| !m.is_empty())),
        "{kind:?}: no note body arrived"
    );

    // Attachments arrive byte-identical, whichever key layout held them: every downloaded file
    // is, byte for byte, one of the files in the source's storage folder, and every live
    // attachment arrived.
    let mut stored = std::collections::HashSet::new();
    let mut pending = vec![w.storage()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read storage").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                stored.insert(std::fs::read(&path).expect("read a stored file"));
            }
        }
    }
    let attachments = read_back(&target, "attachments").await;
    let written = report
        .objects
        .iter()
        .find(|o| o.object == "attachment")
        .map(|o| o.written);
    assert_eq!(
        Some(attachments.len() as u64),
        written,
        "{kind:?}: attachments"
    );
    assert!(
        attachments.len() >= 5,
        "{kind:?}: too few attachments to tell"
    );
    for (id, a) in &attachments {
        let file_id = a["file"][0]["fileId"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind:?}: attachment {id} has no file: {a}"));
        let bytes = reqwest::Client::new()
            .get(format!("{}/files-field/{file_id}", twin.base_url()))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("download")
            .bytes()
            .await
            .expect("bytes")
            .to_vec();
        assert!(
            stored.contains(&bytes),
            "{kind:?}: attachment {id} arrived with bytes found nowhere in the source storage"
        );
    }

    // A rerun creates nothing.
    let created = twin.stats().records_created;
    let second = pipeline::migrate(&w.options(), &target)
        .await
        .expect("second run");
    assert_eq!(second.rejected(), 0);
    assert_eq!(
        twin.stats().records_created,
        created,
        "{kind:?}: the rerun created records"
    );
}

#[tokio::test]
async fn a_layout_a_workspace_migrates_completely_and_a_rerun_creates_nothing() {
    migrates_completely_and_a_rerun_creates_nothing(Fixture::A).await;
}

#[tokio::test]
async fn a_layout_b_workspace_migrates_completely_and_a_rerun_creates_nothing() {
    migrates_completely_and_a_rerun_creates_nothing(Fixture::B).await;
}

#[tokio::test]
async fn a_layout_c_workspace_migrates_completely_and_a_rerun_creates_nothing() {
    migrates_completely_and_a_rerun_creates_nothing(Fixture::C).await;
}

#[tokio::test]
async fn a_half_upgraded_workspace_migrates_completely_and_a_rerun_creates_nothing() {
    migrates_completely_and_a_rerun_creates_nothing(Fixture::HalfUpgraded).await;
}
