//! `inspect --json` on generated layout C workspaces, checked against what the generator wrote.

use std::collections::BTreeMap;

use serde_json::Value;
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::test_database;

use super::run_cli;

/// A database with one instance, the given workspaces loaded, and data generated into the first.
async fn loaded(
    specs: &[WorkspaceSpec],
    records: usize,
    storage: &std::path::Path,
    missing_files: usize,
) -> (
    twenty_migrate::local_pg::TestDatabase,
    tokio_postgres::Client,
    fixture::generate::Generated,
) {
    let db = test_database().await.expect("test database");
    let client = db.connect().await.expect("connect");
    fixture::load_instance(&client)
        .await
        .expect("load instance");
    for spec in specs {
        fixture::load_workspace(&client, spec)
            .await
            .expect("load workspace");
    }
    let generated = fixture::generate::generate(
        &client,
        &specs[0],
        &GenerateOptions {
            seed: 7,
            records,
            storage_dir: Some(storage.to_path_buf()),
            missing_files,
        },
    )
    .await
    .expect("generate");
    (db, client, generated)
}

fn inspect_json(args: &[&str]) -> Value {
    let mut full = vec!["inspect", "--json"];
    full.extend_from_slice(args);
    let (code, stdout, stderr) = run_cli(&full);
    assert_eq!(code, 0, "inspect failed: {stderr}");
    serde_json::from_str(&stdout).expect("inspect --json prints JSON")
}

fn object_counts(report: &Value) -> BTreeMap<String, (u64, u64)> {
    report["workspace"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            (
                o["name_singular"].as_str().unwrap().to_owned(),
                (o["live"].as_u64().unwrap(), o["deleted"].as_u64().unwrap()),
            )
        })
        .collect()
}

#[tokio::test]
async fn inspect_json_reports_exactly_the_counts_members_and_files_the_generator_wrote() {
    let storage = tempfile::tempdir().unwrap();
    let spec = WorkspaceSpec::sample(1);
    let (db, _client, generated) =
        loaded(std::slice::from_ref(&spec), 300, storage.path(), 2).await;
    let report = inspect_json(&[
        "--source",
        &db.url,
        "--storage-dir",
        storage.path().to_str().unwrap(),
    ]);

    // The workspace list names the layout C workspace and its version.
    let workspaces = report["workspaces"].as_array().unwrap();
    assert_eq!(workspaces.len(), 1);
    assert_eq!(workspaces[0]["id"], spec.id.to_string());
    assert_eq!(workspaces[0]["version"], spec.version.as_str());
    assert_eq!(workspaces[0]["layout"]["layout"], "C");
    assert_eq!(workspaces[0]["schema"], spec.schema());

    // Every object the generator wrote has exactly its live and soft-deleted counts; every
    // other object is empty.
    let counts = object_counts(&report);
    for (object, written) in &generated.objects {
        assert_eq!(
            counts.get(object),
            Some(&(written.live, written.deleted)),
            "counts of {object}"
        );
    }
    for (object, (live, deleted)) in &counts {
        if !generated.objects.contains_key(object) {
            assert_eq!((*live, *deleted), (0, 0), "{object} should be empty");
        }
    }
    assert!(
        generated.objects.values().any(|c| c.deleted > 0),
        "the generator writes soft-deleted rows"
    );

    // Members: same ids, names and stored emails.
    let mut members: Vec<(String, String, String, String)> = report["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["first_name"].as_str().unwrap_or("").to_owned(),
                m["last_name"].as_str().unwrap_or("").to_owned(),
                m["email"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String, String, String)> = generated
        .members
        .iter()
        .map(|m| {
            (
                m.id.to_string(),
                m.first_name.clone(),
                m.last_name.clone(),
                m.email.clone(),
            )
        })
        .collect();
    members.sort();
    expected.sort();
    assert_eq!(members, expected);

    // Attachments: rows, files found with their bytes, and exactly the missing keys.
    let a = &report["workspace"]["attachments"];
    assert_eq!(a["records"].as_u64(), Some(generated.attachments.records));
    assert_eq!(a["storage_checked"], true);
    assert_eq!(
        a["files_found"].as_u64(),
        Some(generated.attachments.files_present)
    );
    assert_eq!(
        a["bytes_found"].as_u64(),
        Some(generated.attachments.bytes_present)
    );
    let mut missing: Vec<String> = a["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap_or("").to_owned())
        .collect();
    let mut expected_missing = generated.attachments.missing.clone();
    missing.sort();
    expected_missing.sort();
    assert_eq!(missing, expected_missing);
    assert_eq!(missing.len(), 2);

    // The fixture's custom fields appear with their types.
    let objects = report["workspace"]["objects"].as_array().unwrap();
    for (object, field, ty) in fixture::custom_fields() {
        let o = objects
            .iter()
            .find(|o| o["name_singular"] == *object)
            .unwrap_or_else(|| panic!("object {object} listed"));
        let f = o["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == *field)
            .unwrap_or_else(|| panic!("field {object}.{field} listed"));
        assert_eq!(f["is_custom"], true, "{object}.{field} is custom");
        let listed = f["type"].as_str().unwrap();
        let declared = if *ty == "RICH_TEXT_V2" {
            "RICH_TEXT"
        } else {
            ty
        };
        assert_eq!(listed, declared, "{object}.{field}");
        if *ty != "RELATION" {
            assert!(
                !f["columns"].as_array().unwrap().is_empty(),
                "{object}.{field} has columns"
            );
        }
    }
    // And no table column is left without a field.
    for o in objects {
        assert_eq!(
            o["unmapped_columns"].as_array().map(Vec::len),
            Some(0),
            "unmapped columns on {}: {}",
            o["name_singular"],
            o["unmapped_columns"]
        );
    }
}

#[tokio::test]
async fn one_more_soft_deleted_row_changes_the_counts_by_exactly_one() {
    let storage = tempfile::tempdir().unwrap();
    let spec = WorkspaceSpec::sample(1);
    let (db, client, generated) = loaded(std::slice::from_ref(&spec), 120, storage.path(), 0).await;
    let before = object_counts(&inspect_json(&["--source", &db.url]));
    client
        .batch_execute(&format!(
            "UPDATE \"{}\".company SET \"deletedAt\" = now() \
             WHERE id = (SELECT id FROM \"{}\".company WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1)",
            spec.schema(),
            spec.schema()
        ))
        .await
        .unwrap();
    let after = object_counts(&inspect_json(&["--source", &db.url]));
    let (l0, d0) = before["company"];
    assert_eq!(after["company"], (l0 - 1, d0 + 1));
    assert_eq!(
        before["company"],
        (
            generated.objects["company"].live,
            generated.objects["company"].deleted
        )
    );
}

#[tokio::test]
async fn an_instance_with_two_workspaces_lists_both_and_details_the_one_chosen() {
    let storage = tempfile::tempdir().unwrap();
    let first = WorkspaceSpec::sample(1);
    let second = WorkspaceSpec::sample(2);
    let (db, _client, _) = loaded(&[first.clone(), second.clone()], 60, storage.path(), 0).await;

    let report = inspect_json(&["--source", &db.url]);
    assert_eq!(report["workspaces"].as_array().unwrap().len(), 2);
    assert!(report["workspace"].is_null());
    assert!(report["hint"].as_str().unwrap().contains("--workspace"));

    let chosen = inspect_json(&["--source", &db.url, "--workspace", &second.subdomain]);
    assert_eq!(chosen["workspace"]["id"], second.id.to_string());
    // The second workspace got no generated data.
    assert!(object_counts(&chosen).values().all(|c| *c == (0, 0)));

    let (code, _, stderr) = run_cli(&["plan", "--source", &db.url]);
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test]
async fn a_half_upgraded_workspace_is_reported_as_such() {
    let storage = tempfile::tempdir().unwrap();
    let spec = WorkspaceSpec::sample(1);
    let (db, client, _) = loaded(std::slice::from_ref(&spec), 30, storage.path(), 0).await;
    // Undo the 1.17 rename on taskTarget only, as an upgrade that stopped half-way leaves it.
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{s}\".\"taskTarget\" RENAME COLUMN \"targetPersonId\" TO \"personId\";
             ALTER TABLE \"{s}\".\"taskTarget\" RENAME COLUMN \"targetCompanyId\" TO \"companyId\";
             ALTER TABLE \"{s}\".\"taskTarget\" RENAME COLUMN \"targetOpportunityId\" TO \"opportunityId\";",
            s = spec.schema()
        ))
        .await
        .unwrap();
    let (code, stdout, stderr) = run_cli(&["inspect", "--source", &db.url]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("half-upgraded: taskTarget"), "{stdout}");
}
