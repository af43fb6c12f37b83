//! Hostile source values: every planted row ends landed or rejected with a reason, never
//! dropped, and the counts add up.

use std::collections::HashMap;

use serde_json::Value;
use twenty_migrate::destination::{ApiKey, FindMany, Target, TargetConfig};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::pipeline::{self, BatchSize, DeletedPolicy, MigrateOptions};
use twenty_migrate::plan::UnmatchedMembers;
use twenty_migrate::transform::target_id;
use twenty_migrate::twin::{Member, TwinConfig};
use uuid::Uuid;

/// What a planted row must become.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Lands,
    Rejected(&'static str),
    Either,
}

/// A database with the layout C fixture and generated data.
async fn generated_source(
    seed: u64,
    records: usize,
) -> (
    TestDatabase,
    tokio_postgres::Client,
    WorkspaceSpec,
    fixture::generate::Generated,
) {
    let db = test_database().await.unwrap();
    let c = db.connect().await.unwrap();
    let spec = WorkspaceSpec::sample(1);
    fixture::load_instance(&c).await.unwrap();
    fixture::load_workspace(&c, &spec).await.unwrap();
    let generated = fixture::generate::generate(
        &c,
        &spec,
        &GenerateOptions {
            seed,
            records,
            storage_dir: None,
            missing_files: 0,
        },
    )
    .await
    .unwrap();
    (db, c, spec, generated)
}

/// The source's members as the target's (emails lower-cased, as Twenty stores them).
fn members_of(generated: &fixture::generate::Generated) -> Vec<Member> {
    generated.twin_members()
}

fn options(db: &TestDatabase, dir: &tempfile::TempDir) -> MigrateOptions {
    MigrateOptions {
        source_url: db.url.clone(),
        workspace: None,
        batch_size: BatchSize::Auto,
        unmatched: UnmatchedMembers::Stop,
        deleted: DeletedPolicy::Skip,
        rejects_path: dir.path().join("rejects.jsonl"),
        page_size: 100,
        requests_per_minute: 1_000_000,
        state_path: dir.path().join("state.sqlite"),
        restart: true,
        cancel: tokio_util::sync::CancellationToken::new(),
        max_in_flight: 4,
        source_jobs: 4,
        schema: twenty_migrate::schema_sync::SchemaOptions::default(),
        // These tests are about values; no file bytes were generated.
        files: twenty_migrate::files::FileOptions {
            skip_missing_files: true,
            ..Default::default()
        },
    }
}

fn fast_target(twin: &twenty_migrate::twin::Twin, key: &str) -> Target {
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(key));
    config.requests_per_minute = 1_000_000;
    Target::new(config).unwrap()
}

#[tokio::test]
async fn twenty_kinds_of_hostile_values_each_land_or_are_rejected_with_a_reason() {
    let (db, c, spec, generated) = generated_source(13, 400).await;
    let s = spec.schema();

    // Values the target's options lack need their enum values first (outside a transaction).
    c.batch_execute(&format!(
        "ALTER TYPE \"{s}\".\"opportunity_stage_enum\" ADD VALUE 'LOST_FOREVER'"
    ))
    .await
    .unwrap();
    c.batch_execute(&format!(
        "ALTER TYPE \"{s}\".\"task_status_enum\" ADD VALUE 'BLOCKED'"
    ))
    .await
    .unwrap();
    // Dangling references need the foreign keys gone.
    let fks = c
        .query(
            "SELECT conrelid::regclass::text, conname::text FROM pg_constraint c \
             JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 AND c.contype = 'f'",
            &[&s],
        )
        .await
        .unwrap();
    for fk in fks {
        let (table, name): (String, String) = (fk.get(0), fk.get(1));
        c.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))
            .await
            .unwrap();
    }

    // Each plant updates the n-th live row of a table and returns its id.
    let mut planted: Vec<(&'static str, &'static str, Uuid, Expect)> = Vec::new();
    let mut n: HashMap<&str, i64> = HashMap::new();
    let mut plant = |table: &'static str, set: String| {
        let offset = n.entry(table).or_insert(0);
        let sql = format!(
            "UPDATE \"{s}\".\"{table}\" SET {set} WHERE id = (SELECT id FROM \"{s}\".\"{table}\" \
             WHERE \"deletedAt\" IS NULL ORDER BY id OFFSET {offset} LIMIT 1) RETURNING id"
        );
        *offset += 1;
        sql
    };
    let mut run = Vec::new();
    let mut add = |kind: &'static str, table: &'static str, set: String, expect: Expect| {
        run.push((kind, table, plant(table, set), expect));
    };
    let mb = "x".repeat(1024 * 1024);
    add(
        "invalid email",
        "person",
        "\"emailsPrimaryEmail\" = 'not an email'".into(),
        Expect::Rejected("emails"),
    );
    add(
        "select value the target lacks",
        "opportunity",
        "stage = 'LOST_FOREVER'".into(),
        Expect::Rejected("stage"),
    );
    add(
        "another select value the target lacks",
        "task",
        "status = 'BLOCKED'".into(),
        Expect::Rejected("status"),
    );
    add(
        "secondary links not an array",
        "company",
        "\"domainNameSecondaryLinks\" = '\"not an array\"'::jsonb".into(),
        Expect::Either,
    );
    add(
        "invalid url",
        "company",
        "\"linkedinLinkPrimaryLinkUrl\" = 'not a url'".into(),
        Expect::Rejected("linkedinLink"),
    );
    add(
        "1 MB text",
        "note",
        format!("\"bodyV2Markdown\" = '{mb}'"),
        Expect::Lands,
    );
    add(
        "dangling reference",
        "opportunity",
        format!("\"pointOfContactId\" = '{}'", Uuid::new_v4()),
        Expect::Rejected(""),
    );
    add(
        "control characters",
        "person",
        "\"jobTitle\" = E'\\x01\\x02\\x1b[31mred\\x7f'".into(),
        Expect::Lands,
    );
    add(
        "timestamp infinity",
        "task",
        "\"dueAt\" = 'infinity'".into(),
        Expect::Rejected("dueAt"),
    );
    add(
        "timestamp minus infinity",
        "opportunity",
        "\"closeDate\" = '-infinity'".into(),
        Expect::Rejected("closeDate"),
    );
    add(
        "ten thousand emoji",
        "person",
        format!("\"nameFirstName\" = '{}'", "🦀".repeat(10_000)),
        Expect::Lands,
    );
    add("empty name", "company", "name = ''".into(), Expect::Lands);
    add(
        "currency beyond a double",
        "opportunity",
        "\"amountAmountMicros\" = 1000000000000000000000000000001".into(),
        Expect::Lands,
    );
    add(
        "unknown currency code",
        "opportunity",
        "\"amountCurrencyCode\" = 'NOT_A_CURRENCY'".into(),
        Expect::Either,
    );
    add(
        "additional phones not an array",
        "person",
        "\"phonesAdditionalPhones\" = '{\"not\": \"an array\"}'::jsonb".into(),
        Expect::Either,
    );
    add(
        "additional emails that are numbers",
        "person",
        "\"emailsAdditionalEmails\" = '[1, 2, 3]'::jsonb".into(),
        Expect::Rejected("emails"),
    );
    add(
        "position NaN",
        "company",
        "position = 'NaN'".into(),
        Expect::Rejected("position"),
    );
    add(
        "latitude NaN",
        "company",
        "\"addressAddressLat\" = 'NaN'".into(),
        Expect::Rejected("address"),
    );
    add(
        "whitespace-only name",
        "person",
        "\"nameFirstName\" = '   ', \"nameLastName\" = E'\\t'".into(),
        Expect::Lands,
    );
    add(
        "5000-character url",
        "person",
        format!(
            "\"linkedinLinkPrimaryLinkUrl\" = 'https://example.com/{}'",
            "a".repeat(5000)
        ),
        Expect::Either,
    );
    add(
        "note target without any target",
        "noteTarget",
        "\"targetPersonId\" = NULL, \"targetCompanyId\" = NULL, \"targetOpportunityId\" = NULL, \"targetPetId\" = NULL, \"targetVetVisitId\" = NULL"
            .into(),
        Expect::Lands,
    );
    add(
        "negative position",
        "task",
        "position = -12.5".into(),
        Expect::Lands,
    );
    for (kind, table, sql, expect) in run {
        let id: Uuid = c
            .query_one(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("plant {kind}: {e}"))
            .get(0);
        planted.push((kind, table, id, expect));
    }
    // Two emails equal once lower-cased, and two domains equal once normalised: unique in the
    // source, duplicates in the target.
    let dup_person: Uuid = c
        .query(
            &format!(
                "WITH two AS (SELECT id FROM \"{s}\".person WHERE \"deletedAt\" IS NULL ORDER BY id DESC LIMIT 2) \
                 UPDATE \"{s}\".person p SET \"emailsPrimaryEmail\" = CASE WHEN p.id = (SELECT id FROM two ORDER BY id DESC LIMIT 1) \
                 THEN 'Twin@Dup.example' ELSE 'twin@dup.example' END WHERE p.id IN (SELECT id FROM two) \
                 RETURNING (SELECT id FROM two ORDER BY id DESC LIMIT 1)"
            ),
            &[],
        )
        .await
        .unwrap()[0]
        .get(0);
    planted.push((
        "email duplicate once lower-cased",
        "person",
        dup_person,
        Expect::Either,
    ));
    let dup_company: Uuid = c
        .query(
            &format!(
                "WITH two AS (SELECT id FROM \"{s}\".company WHERE \"deletedAt\" IS NULL ORDER BY id DESC LIMIT 2) \
                 UPDATE \"{s}\".company x SET \"domainNamePrimaryLinkUrl\" = CASE WHEN x.id = (SELECT id FROM two ORDER BY id DESC LIMIT 1) \
                 THEN 'HTTPS://DUP.example/' ELSE 'https://dup.example' END WHERE x.id IN (SELECT id FROM two) \
                 RETURNING (SELECT id FROM two ORDER BY id DESC LIMIT 1)"
            ),
            &[],
        )
        .await
        .unwrap()[0]
        .get(0);
    planted.push((
        "domain duplicate once normalised",
        "company",
        dup_company,
        Expect::Either,
    ));
    assert!(planted.len() >= 20);

    let key = "hostile-key";
    let members = members_of(&generated);
    let twin = TwinConfig::new(key).members(members).start().await.unwrap();
    let target = fast_target(&twin, key);
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&db, &dir);
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());

    let rejects: HashMap<String, Value> = std::fs::read_to_string(&opts.rejects_path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    assert_eq!(rejects.len() as u64, report.rejected());
    let plural = |table: &str| match table {
        "person" => "people",
        "company" => "companies",
        "opportunity" => "opportunities",
        "note" => "notes",
        "task" => "tasks",
        "noteTarget" => "noteTargets",
        other => panic!("no plural for {other}"),
    };
    for (kind, table, id, expect) in &planted {
        let landed = !target
            .find_by_ids(plural(table), &[target_id(*id)])
            .await
            .unwrap()
            .is_empty();
        let reject = rejects.get(&id.to_string());
        assert!(
            landed != reject.is_some(),
            "{kind}: landed {landed}, rejected {reject:?}"
        );
        match (expect, reject) {
            (Expect::Lands, Some(r)) => panic!("{kind} should land but was rejected: {r}"),
            (Expect::Rejected(_), None) => panic!("{kind} should be rejected but landed"),
            (Expect::Rejected(field), Some(r)) => {
                assert!(
                    !r["message"].as_str().unwrap_or("").is_empty(),
                    "{kind}: no reason"
                );
                assert_eq!(r["object"], *table, "{kind}");
                if !field.is_empty() {
                    assert_eq!(r["field"], *field, "{kind}: {r}");
                }
            }
            (_, Some(r)) => {
                assert!(
                    !r["message"].as_str().unwrap_or("").is_empty(),
                    "{kind}: no reason"
                )
            }
            _ => {}
        }
    }
    // Everything not planted landed: the rejects are planted rows or rows pointing at them.
    let planted_ids: Vec<String> = planted.iter().map(|p| p.2.to_string()).collect();
    for (id, r) in &rejects {
        let message = r["message"].as_str().unwrap_or("");
        assert!(
            planted_ids.contains(id) || message.contains("which was rejected"),
            "unplanted reject {r}"
        );
    }
    let people = target
        .find_all("people", &FindMany::default())
        .await
        .unwrap();
    assert!(!people.is_empty());
}

#[tokio::test]
async fn a_record_whose_unique_value_already_exists_in_the_target_is_reported_not_merged() {
    let (db, c, spec, generated) = generated_source(17, 80).await;
    let s = spec.schema();
    let person: Uuid = c
        .query_one(
            &format!(
                "UPDATE \"{s}\".person SET \"emailsPrimaryEmail\" = 'already@there.example' \
                 WHERE id = (SELECT id FROM \"{s}\".person WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1) RETURNING id"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let key = "merge-key";
    let members = members_of(&generated);
    let twin = TwinConfig::new(key).members(members).start().await.unwrap();
    // Someone already created this person in the target by hand.
    let status = reqwest::Client::new()
        .post(format!("{}/rest/people", twin.base_url()))
        .bearer_auth(key)
        .json(&serde_json::json!({"name": {"firstName": "Hand", "lastName": "Made"}, "emails": {"primaryEmail": "ALREADY@there.example"}}))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let target = fast_target(&twin, key);
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&db, &dir);
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert!(report.unbalanced().is_empty());
    let rejects = std::fs::read_to_string(&opts.rejects_path).unwrap();
    let line = rejects
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["id"] == person.to_string())
        .expect("the merged person is reported");
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("already held a record"),
        "{line}"
    );
}

#[tokio::test]
async fn repeated_unique_values_pages_apart_reject_only_the_later_row_naming_the_first() {
    let (db, c, spec, generated) = generated_source(23, 400).await;
    let s = spec.schema();
    // The first and the last live row of a table (pages apart at 100 rows a page) get values
    // equal once normalised as Twenty stores them.
    let plant = |table: &'static str,
                 column: &'static str,
                 first: &'static str,
                 last: &'static str| {
        format!(
            "WITH ends AS (SELECT min(id::text)::uuid AS lo, max(id::text)::uuid AS hi FROM \"{s}\".{table} WHERE \"deletedAt\" IS NULL) \
             UPDATE \"{s}\".{table} t SET \"{column}\" = CASE WHEN t.id = ends.lo THEN '{first}' ELSE '{last}' END \
             FROM ends WHERE t.id IN (ends.lo, ends.hi) RETURNING ends.lo, ends.hi"
        )
    };
    let mut pairs = Vec::new();
    for (table, plural, column, first, last) in [
        (
            "person",
            "people",
            "emailsPrimaryEmail",
            "Far@Apart.example",
            "far@apart.EXAMPLE",
        ),
        (
            "company",
            "companies",
            "domainNamePrimaryLinkUrl",
            "HTTPS://Far.Apart.example/",
            "https://far.apart.example",
        ),
    ] {
        let rows = c
            .query(&plant(table, column, first, last), &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let (lo, hi): (Uuid, Uuid) = (rows[0].get(0), rows[0].get(1));
        assert_ne!(lo, hi);
        pairs.push((table, plural, lo, hi));
    }
    let key = "far-key";
    let twin = TwinConfig::new(key)
        .members(members_of(&generated))
        .start()
        .await
        .unwrap();
    let target = fast_target(&twin, key);
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&db, &dir);
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    let rejects: Vec<Value> = std::fs::read_to_string(&opts.rejects_path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two repeats; any other line is a row pointing at a rejected company.
    let repeats = rejects
        .iter()
        .filter(|r| r["message"].as_str().unwrap().contains("repeats the value"))
        .count();
    assert_eq!(repeats, 2, "{rejects:?}");
    assert!(rejects.iter().all(|r| {
        let m = r["message"].as_str().unwrap();
        m.contains("repeats the value") || m.contains("which was rejected")
    }));
    for (table, plural, first, later) in pairs {
        let line = rejects
            .iter()
            .find(|r| r["id"] == later.to_string())
            .unwrap_or_else(|| panic!("the later {table} is rejected: {rejects:?}"));
        let message = line["message"].as_str().unwrap();
        assert!(
            message.contains("repeats the value") && message.contains(&first.to_string()),
            "{line}"
        );
        let landed = target
            .find_by_ids(plural, &[target_id(first)])
            .await
            .unwrap();
        assert_eq!(landed.len(), 1, "the first {table} lands");
    }
}
