//! End-to-end migrations of generated layout C workspaces into the twin, read back through the
//! API only.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use twenty_migrate::destination::{ApiKey, FindMany, Target, TargetConfig};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::pipeline::{self, BatchSize, DeletedPolicy, MigrateOptions};
use twenty_migrate::plan::UnmatchedMembers;
use twenty_migrate::twin::{Member, Twin, TwinConfig};
use uuid::Uuid;

mod agents;
mod checklist;
mod config;
mod dashboard_links;
mod delta;
mod destination;
mod preflight;
mod record_pages;
mod row_level;

const KEY: &str = "e2e-key";

/// A generated source and a twin whose members are the source's (lower-cased emails).
struct World {
    db: TestDatabase,
    client: tokio_postgres::Client,
    spec: WorkspaceSpec,
    generated: fixture::generate::Generated,
    dir: tempfile::TempDir,
}

async fn world(records: usize) -> World {
    let db = test_database().await.expect("database");
    let client = db.connect().await.expect("connect");
    let spec = WorkspaceSpec::sample(1);
    fixture::load_instance(&client).await.expect("instance");
    fixture::load_workspace(&client, &spec)
        .await
        .expect("workspace");
    let dir = tempfile::tempdir().unwrap();
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: 11,
            records,
            storage_dir: Some(dir.path().join("storage")),
            missing_files: 0,
        },
    )
    .await
    .expect("generate");
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
            page_size: 50,
            requests_per_minute: 1_000_000,
            restart: true,
            files: twenty_migrate::pipeline::files::FileOptions {
                storage_dir: Some(self.dir.path().join("storage")),
                ..Default::default()
            },
            ..MigrateOptions::new(&self.db.url, self.dir.path())
        }
    }

    fn rejects_path(&self) -> PathBuf {
        self.dir.path().join("rejects.jsonl")
    }

    fn schema(&self) -> String {
        self.spec.schema()
    }
}

async fn twin(members: Vec<Member>, max_batch: usize) -> Twin {
    TwinConfig::new(KEY)
        .members(members)
        .max_batch(max_batch)
        .start()
        .await
        .expect("twin")
}

fn target(twin: &Twin, per_minute: u32) -> Target {
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(KEY));
    config.requests_per_minute = per_minute;
    Target::new(config).expect("target client")
}

/// Every record of `plural` in the target, by id.
async fn read_back(target: &Target, plural: &str) -> HashMap<String, Value> {
    target
        .find_all(plural, &FindMany::default())
        .await
        .expect("read back")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect()
}

#[tokio::test]
async fn every_live_record_reads_back_through_the_api_with_the_same_id_and_values() {
    let w = world(400).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");

    // Nothing lost, nothing doubled: every object balances, nothing was rejected.
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    for o in &report.objects {
        let generated = &w.generated.objects[&o.object];
        assert_eq!(o.read, generated.live + generated.deleted, "{}", o.object);
    }

    // Field by field through the API, after the same mapping.
    let check = twenty_migrate::pipeline::verify::verify(&w.options(), &target, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
    let compared: u64 = check.objects.iter().map(|o| o.compared).sum();
    assert!(compared > 200, "compared only {compared}");

    // Independent checks straight from SQL, not through the transform.
    let s = w.schema();
    let companies = read_back(&target, "companies").await;
    let rows = w
        .client
        .query(
            &format!(
                "SELECT c.id, c.name, c.\"addressAddressCity\", m.\"userEmail\", c.\"createdByName\" \
                 FROM \"{s}\".company c LEFT JOIN \"{s}\".\"workspaceMember\" m ON m.id = c.\"accountOwnerId\" \
                 WHERE c.\"deletedAt\" IS NULL"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), companies.len());
    let mut owners = 0;
    for r in &rows {
        let id: Uuid = r.get(0);
        let got = &companies[&id.to_string()];
        let name: Option<String> = r.get(1);
        assert_eq!(
            got["name"].as_str(),
            name.as_deref().filter(|n| !n.is_empty()),
            "name of {id}"
        );
        let city: Option<String> = r.get(2);
        assert_eq!(
            got["address"]["addressCity"].as_str(),
            city.as_deref().filter(|c| !c.is_empty()),
            "city of {id}"
        );
        // The owner is the twin's member with the same email, not the source member id.
        let owner_email: Option<String> = r.get(3);
        match owner_email {
            Some(email) => {
                owners += 1;
                assert_eq!(
                    got["accountOwnerId"].as_str(),
                    Some(twin.member_id(&email.to_lowercase()).to_string().as_str()),
                    "owner of {id}"
                );
            }
            None => assert!(got["accountOwnerId"].is_null()),
        }
        // The original author's name is kept.
        let author: Option<String> = r.get(4);
        assert_eq!(
            got["createdBy"]["name"].as_str(),
            author.as_deref(),
            "author of {id}"
        );
    }
    assert!(owners > 0, "the generator sets account owners");

    // Currency micros, exact.
    let opportunities = read_back(&target, "opportunities").await;
    let rows = w
        .client
        .query(
            &format!(
                "SELECT id, \"amountAmountMicros\"::text, \"amountCurrencyCode\" FROM \"{s}\".opportunity \
                 WHERE \"deletedAt\" IS NULL AND \"amountAmountMicros\" IS NOT NULL"
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        let id: Uuid = r.get(0);
        let micros: String = r.get(1);
        let got = &opportunities[&id.to_string()]["amount"];
        let want: f64 = micros.parse().unwrap();
        assert_eq!(got["amountMicros"].as_f64(), Some(want), "amount of {id}");
        assert_eq!(got["currencyCode"].as_str(), r.get::<_, Option<&str>>(2));
    }

    // Note targets of every kind keep their links.
    let links = read_back(&target, "noteTargets").await;
    let rows = w
        .client
        .query(
            &format!(
                "SELECT t.id, t.\"noteId\", t.\"targetPersonId\", t.\"targetCompanyId\", t.\"targetOpportunityId\" \
                 FROM \"{s}\".\"noteTarget\" t JOIN \"{s}\".note n ON n.id = t.\"noteId\" \
                 WHERE t.\"deletedAt\" IS NULL AND n.\"deletedAt\" IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM \"{s}\".company c WHERE c.id = t.\"targetCompanyId\" AND c.\"deletedAt\" IS NOT NULL) \
                 AND NOT EXISTS (SELECT 1 FROM \"{s}\".person p WHERE p.id = t.\"targetPersonId\" AND p.\"deletedAt\" IS NOT NULL) \
                 AND NOT EXISTS (SELECT 1 FROM \"{s}\".opportunity o WHERE o.id = t.\"targetOpportunityId\" AND o.\"deletedAt\" IS NOT NULL) \
                 AND NOT EXISTS (SELECT 1 FROM \"{s}\".\"_pet\" p WHERE p.id = t.\"targetPetId\" AND p.\"deletedAt\" IS NOT NULL) \
                 AND NOT EXISTS (SELECT 1 FROM \"{s}\".\"_vetVisit\" v WHERE v.id = t.\"targetVetVisitId\" AND v.\"deletedAt\" IS NOT NULL)"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), links.len());
    let mut kinds = [0; 3];
    for r in &rows {
        let id: Uuid = r.get(0);
        let got = &links[&id.to_string()];
        assert_eq!(
            got["noteId"].as_str(),
            Some(r.get::<_, Uuid>(1).to_string().as_str())
        );
        for (i, key) in ["targetPersonId", "targetCompanyId", "targetOpportunityId"]
            .iter()
            .enumerate()
        {
            let want: Option<Uuid> = r.get(i + 2);
            if want.is_some() {
                kinds[i] += 1;
            }
            assert_eq!(
                got[*key].as_str().map(str::to_owned),
                want.map(|u| u.to_string()),
                "{key} of note target {id}"
            );
        }
    }
    assert!(
        kinds.iter().all(|k| *k > 0),
        "links of every kind: {kinds:?}"
    );
}

#[tokio::test]
async fn a_second_run_creates_nothing_and_changes_nothing() {
    let w = world(200).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    pipeline::migrate(&w.options(), &target)
        .await
        .expect("first run");
    let created = twin.stats().records_created;
    let before = read_back(&target, "people").await;

    let second = pipeline::migrate(&w.options(), &target)
        .await
        .expect("second run");
    assert_eq!(
        twin.stats().records_created,
        created,
        "the rerun created records"
    );
    assert_eq!(second.rejected(), 0);
    let after = read_back(&target, "people").await;
    assert_eq!(before.len(), after.len());
    for (id, record) in &before {
        let mut a = record.clone();
        let mut b = after[id].clone();
        // The server stamps updatedAt on every write; everything else must be identical.
        a.as_object_mut().unwrap().remove("updatedAt");
        b.as_object_mut().unwrap().remove("updatedAt");
        assert_eq!(a, b, "person {id} changed on rerun");
    }
}

#[tokio::test]
async fn unmatched_members_stop_the_run_at_plan_time_and_name_the_member() {
    let w = world(120).await;
    // The twin knows every member but the first.
    let mut members = w.members();
    let missing = members.remove(0);
    let twin = twin(members, 200).await;
    let target = target(&twin, 1_000_000);
    let err = pipeline::migrate(&w.options(), &target)
        .await
        .expect_err("unmatched members must stop the run");
    let text = err.to_string();
    assert!(text.contains(&missing.email), "{text}");
    assert!(text.contains("--unmatched-members"), "{text}");
    assert_eq!(twin.stats().records_created, 0, "nothing may be written");

    // With a policy, the run goes through and the references become null.
    let mut opts = w.options();
    opts.unmatched = UnmatchedMembers::Null;
    let report = pipeline::migrate(&opts, &target)
        .await
        .expect("migrate with null policy");
    assert_eq!(report.rejected(), 0);
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    assert!(check.is_clean(), "{}", check.render_text());
}

#[tokio::test]
async fn hostile_rows_are_rejected_with_a_reason_and_every_other_record_lands() {
    let w = world(150).await;
    let s = w.schema();
    // A value the target refuses, and a reference to a record that does not exist.
    let bad_email: Uuid = w
        .client
        .query_one(
            &format!(
                "UPDATE \"{s}\".person SET \"emailsPrimaryEmail\" = 'not an email' \
                 WHERE id = (SELECT id FROM \"{s}\".person WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1) RETURNING id"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // Drop whatever foreign key guards pointOfContactId, then point one row at nothing.
    let fks = w
        .client
        .query(
            "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE n.nspname = $1 AND c.contype = 'f' AND c.conrelid = ($2::text)::regclass",
            &[&s, &format!("\"{s}\".opportunity")],
        )
        .await
        .unwrap();
    for fk in fks {
        let name: String = fk.get(0);
        w.client
            .batch_execute(&format!(
                "ALTER TABLE \"{s}\".opportunity DROP CONSTRAINT \"{name}\""
            ))
            .await
            .unwrap();
    }
    let ghost = Uuid::new_v4();
    let dangling: Uuid = w
        .client
        .query_one(
            &format!(
                "UPDATE \"{s}\".opportunity SET \"pointOfContactId\" = $1 \
                 WHERE id = (SELECT id FROM \"{s}\".opportunity WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1) RETURNING id"
            ),
            &[&ghost],
        )
        .await
        .unwrap()
        .get(0);

    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert!(report.unbalanced().is_empty());

    let lines: Vec<Value> = std::fs::read_to_string(w.rejects_path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, report.rejected());
    // Besides the two bad rows, only records that point at them are refused, and they say so.
    for l in &lines {
        let id = l["id"].as_str().unwrap();
        if id != bad_email.to_string() && id != dangling.to_string() {
            let message = l["message"].as_str().unwrap();
            assert!(
                message.contains(&bad_email.to_string()) || message.contains(&dangling.to_string()),
                "unexpected reject {l}"
            );
            assert!(message.contains("which was rejected"), "{message}");
        }
    }
    let by_id: HashMap<String, &Value> = lines
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_owned(), l))
        .collect();
    let email_reject = by_id[&bad_email.to_string()];
    assert_eq!(email_reject["object"], "person");
    assert_eq!(email_reject["field"], "emails");
    assert!(email_reject["message"].as_str().unwrap().contains("email"));
    assert_eq!(
        email_reject["record"]["emails"]["primaryEmail"],
        "not an email"
    );
    let fk_reject = by_id[&dangling.to_string()];
    assert_eq!(fk_reject["object"], "opportunity");
    assert!(!fk_reject["message"].as_str().unwrap().is_empty());

    // Every other live record landed: the only differences are the two rejected records.
    let check = twenty_migrate::pipeline::verify::verify(&w.options(), &target, 100)
        .await
        .unwrap();
    let missing: std::collections::BTreeSet<String> =
        check.differences.iter().map(|d| d.id.to_string()).collect();
    let rejected: std::collections::BTreeSet<String> = by_id.keys().cloned().collect();
    assert_eq!(missing, rejected, "{}", check.render_text());
    assert!(check
        .differences
        .iter()
        .all(|d| d.field == "missing record"));
}

#[tokio::test]
async fn the_batch_cap_is_learnt_from_the_target_and_every_request_after_is_full() {
    let w = world(300).await;
    let twin = twin(w.members(), 25).await;
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.rejected(), 0);
    let batches = twin
        .stats()
        .by_route
        .get("create_many")
        .copied()
        .unwrap_or(0);
    // The minimum: ceil(records / 25) per object and as many for the references written after
    // the records (to dashboards, once the configuration stage created them), plus the one
    // 200-record probe that taught the cap, plus the configuration stage's batch of dashboard
    // records.
    let minimum: u64 = report
        .objects
        .iter()
        .map(|o| o.written.div_ceil(25) + o.deferred_links.div_ceil(25))
        .sum();
    assert_eq!(batches, minimum + 2, "{:?}", twin.stats().by_route);
}

#[tokio::test]
async fn against_a_rate_limited_twin_the_run_meets_few_429s_and_sends_the_minimum() {
    let w = world(160).await;
    // 20 requests per second; the client paces itself at the same rate.
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .max_batch(20)
        .rate_short(20, 1000)
        .start()
        .await
        .unwrap();
    let target = target(&twin, 20 * 60);
    let mut opts = w.options();
    opts.batch_size = BatchSize::Fixed(20);
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert_eq!(report.rejected(), 0);
    let stats = twin.stats();
    assert!(stats.rate_limited <= 2, "429s: {}", stats.rate_limited);
    let batches = stats.by_route.get("create_many").copied().unwrap_or(0);
    // Records, then the references written after them (to dashboards).
    let minimum: u64 = report
        .objects
        .iter()
        .map(|o| o.written.div_ceil(20) + o.deferred_links.div_ceil(20))
        .sum();
    // The configuration stage writes the dashboard records in one batch of its own.
    let minimum = minimum + 1;
    // Retries after a 429 resend the same batch; anything more would be waste.
    assert!(
        batches <= minimum + stats.rate_limited,
        "{batches} batch requests for a minimum of {minimum}"
    );
}

#[tokio::test]
async fn kept_soft_deleted_rows_are_created_then_soft_deleted_in_the_target() {
    let w = world(120).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let mut opts = w.options();
    opts.deleted = DeletedPolicy::Keep;
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    let companies = &report
        .objects
        .iter()
        .find(|o| o.object == "company")
        .unwrap();
    let generated = &w.generated.objects["company"];
    assert_eq!(companies.written, generated.live + generated.deleted);
    assert_eq!(companies.soft_deleted, generated.deleted);
    // Hidden from the default listing, found when the filter names deletedAt.
    let live = target
        .find_all("companies", &FindMany::default())
        .await
        .unwrap();
    assert_eq!(live.len() as u64, generated.live);
    let deleted = target
        .find_all(
            "companies",
            &FindMany {
                filter: Some("deletedAt[is]:NOT_NULL".into()),
                ..FindMany::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.len() as u64, generated.deleted);

    // `verify` reads the kept soft-deleted rows back too (a plain find leaves them out), and
    // counts them: the comparison is clean, every source row compared.
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
    let company = check
        .objects
        .iter()
        .find(|o| o.object == "company")
        .unwrap();
    assert_eq!(company.compared, generated.live + generated.deleted);
    assert_eq!(
        company.target_count,
        Some(generated.live + generated.deleted)
    );
}

/// Runs the real binary with the key in the environment; returns (exit code, stdout, stderr).
/// Async, so that a twin served by this test's runtime keeps answering meanwhile.
async fn cli(args: &[&str], key: &str) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args(args)
        .env("TWENTY_API_KEY", key)
        .env_remove("TWENTY_SOURCE_URL")
        .output()
        .await
        .expect("run twenty-migrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_plans_migrates_and_verifies_without_ever_printing_the_api_key() {
    let w = world(150).await;
    let secret = "tm-secret-key-3f9a1c";
    let twin = TwinConfig::new(secret)
        .members(w.members())
        .start()
        .await
        .unwrap();
    let rejects = w.dir.path().join("cli-rejects.jsonl");
    let report_file = w.dir.path().join("report.json");
    let state_file = w.dir.path().join("cli.state.sqlite");
    let storage = w.dir.path().join("storage");
    let base = [
        "--source",
        w.db.url.as_str(),
        "--target",
        twin.base_url(),
        "--rate-limit",
        "100000/min",
        "--storage-dir",
        storage.to_str().unwrap(),
    ];

    let (code, stdout, stderr) = cli(&[&["plan", "--json"][..], &base[..]].concat(), secret).await;
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).expect("plan --json");
    let order: Vec<&str> = plan["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["object"].as_str().unwrap())
        .collect();
    let pos = |o: &str| order.iter().position(|x| *x == o).unwrap();
    assert!(pos("company") < pos("person") && pos("person") < pos("opportunity"));
    assert!(pos("note") < pos("noteTarget"));
    assert!(plan["estimate"]["record_requests"].as_u64().unwrap() > 0);

    let (code, stdout, stderr) = cli(
        &[
            &["migrate"][..],
            &base[..],
            &[
                "--rejects",
                rejects.to_str().unwrap(),
                "--report",
                report_file.to_str().unwrap(),
                "--state",
                state_file.to_str().unwrap(),
            ][..],
        ]
        .concat(),
        secret,
    )
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("requests in"), "{stdout}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert!(report["objects"].as_array().unwrap().len() >= 7);

    let (code, stdout, stderr) = cli(&[&["verify"][..], &base[..]].concat(), secret).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for text in [
        &stdout,
        &stderr,
        &std::fs::read_to_string(&report_file).unwrap(),
    ] {
        assert!(!text.contains(secret), "the API key leaked: {text}");
    }

    // A wrong key is one clear sentence and exit code 2, before anything is written.
    let (code, _, stderr) = cli(
        &[
            &["migrate"][..],
            &base[..],
            &["--state", state_file.to_str().unwrap()][..],
        ]
        .concat(),
        "wrong-key",
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("refused the API key"), "{stderr}");
    assert!(!stderr.contains("wrong-key"), "{stderr}");
}

#[tokio::test]
async fn rehearse_runs_against_an_in_process_twin_with_the_given_members() {
    let w = world(100).await;
    let members = w.dir.path().join("members.txt");
    let lines: Vec<String> = w.members().iter().map(|m| m.email.clone()).collect();
    std::fs::write(&members, lines.join("\n")).unwrap();
    let (code, stdout, stderr) = cli(
        &[
            "rehearse",
            "--source",
            &w.db.url,
            "--members",
            members.to_str().unwrap(),
            "--rejects",
            w.dir.path().join("r.jsonl").to_str().unwrap(),
            "--storage-dir",
            w.dir.path().join("storage").to_str().unwrap(),
        ],
        "unused",
    )
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("0 rejected"), "{stdout}");

    // Without the first member, the rehearsal stops where the real run would.
    std::fs::write(&members, lines[1..].join("\n")).unwrap();
    let (code, _, stderr) = cli(
        &[
            "rehearse",
            "--source",
            &w.db.url,
            "--members",
            members.to_str().unwrap(),
        ],
        "unused",
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains(&lines[0]), "{stderr}");
}

#[test]
fn demo_migrates_a_sample_workspace_and_verifies_it() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args(["demo", "--records", "150"])
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verification (read back through the API)"));
    assert!(stdout.contains("noteTarget"));
}

#[tokio::test]
async fn a_source_id_the_target_refuses_is_replaced_deterministically_and_references_follow() {
    let w = world(80).await;
    let s = w.schema();
    // A company with a version 7 id (Twenty accepts versions 1-5 only) and a person at it.
    let v7 = Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
    let person = Uuid::new_v4();
    w.client
        .batch_execute(&format!(
            "INSERT INTO \"{s}\".company (id, name, \"createdBySource\", \"createdByName\") \
             VALUES ('{v7}', 'Version Seven Ltd', 'MANUAL', 'Ada');
             INSERT INTO \"{s}\".person (id, \"nameFirstName\", \"companyId\", \"createdBySource\", \"createdByName\") \
             VALUES ('{person}', 'Vera', '{v7}', 'MANUAL', 'Ada');"
        ))
        .await
        .unwrap();
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());

    let derived = twenty_migrate::transform::target_id(v7);
    assert_ne!(derived, v7);
    let companies = read_back(&target, "companies").await;
    assert!(!companies.contains_key(&v7.to_string()));
    assert_eq!(companies[&derived.to_string()]["name"], "Version Seven Ltd");
    let people = read_back(&target, "people").await;
    assert_eq!(
        people[&person.to_string()]["companyId"],
        Value::String(derived.to_string())
    );
    // And the rerun finds the same record instead of creating another.
    let created = twin.stats().records_created;
    pipeline::migrate(&w.options(), &target)
        .await
        .expect("rerun");
    assert_eq!(twin.stats().records_created, created);
}

/// Requests of a twin per route since `before`, batches excluded.
fn non_batch_requests(
    before: &twenty_migrate::twin::TwinStats,
    after: &twenty_migrate::twin::TwinStats,
) -> std::collections::BTreeMap<String, u64> {
    after
        .by_route
        .iter()
        .filter(|(route, _)| route.as_str() != "create_many")
        .map(|(route, n)| {
            let was = before.by_route.get(route).copied().unwrap_or(0);
            (route.clone(), n - was)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test]
async fn the_model_and_members_are_read_once_per_run_and_the_model_again_only_after_a_sync() {
    let w = world(200).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    // The first run creates the custom objects and fields; the model then matches.
    // The configuration's own requests are counted in `config.rs`.
    let options = MigrateOptions {
        config: false,
        ..w.options()
    };
    let start = twin.stats();
    let first_report = pipeline::migrate(&options, &target)
        .await
        .expect("first run");
    // Three model reads (before the sync; after creating the objects, for their ids; after the
    // fields, for what Twenty added with them), 24 creations (objects pet and vetVisit, 16
    // custom fields, 6 standard fields the twin's 2.x model lacks), one question about the
    // upload generation before the first file, and one members page. Before this was counted
    // the sync read the model once more and the members were read twice.
    let first: std::collections::BTreeMap<String, u64> = non_batch_requests(&start, &twin.stats())
        .into_iter()
        .filter(|(route, _)| route != "upload")
        .collect();
    // The pre-flight adds two metadata reads (the key's role, the field types) and one page
    // of ids per planned object the target already has (all but the custom pet and vetVisit,
    // which the sync creates): the target is empty, so one page each.
    let existing = first_report.objects.len() as u64 - 2;
    let expected: std::collections::BTreeMap<String, u64> = [
        ("metadata".to_owned(), 3 + 24 + 1 + 2),
        ("find_many".to_owned(), 1 + existing),
    ]
    .into();
    assert_eq!(first, expected, "first run");

    let before = twin.stats();
    let report = pipeline::migrate(&options, &target)
        .await
        .expect("second run");
    assert!(report.unbalanced().is_empty());
    // Uploads are the attachments' files, sent again by a run with a fresh ledger.
    let requests: std::collections::BTreeMap<String, u64> =
        non_batch_requests(&before, &twin.stats())
            .into_iter()
            .filter(|(route, _)| route != "upload")
            .collect();
    // One model read (one `objects` page on the twin), the upload generation asked once, and
    // one members page: a re-read of the model after a sync that created nothing, or a second
    // members read, would add to these.
    // The pre-flight's two metadata reads; no id pages, the ledger holds this run.
    let expected: std::collections::BTreeMap<String, u64> = [
        ("metadata".to_owned(), 1 + 1 + 2),
        ("find_many".to_owned(), 1),
    ]
    .into();
    assert_eq!(requests, expected);
}

#[tokio::test]
async fn the_keyset_page_query_walks_the_primary_key_index() {
    let w = world(10_000).await;
    // Statistics as autovacuum keeps them on a live database; a freshly loaded table has none
    // and the planner then guesses two rows.
    w.client.batch_execute("ANALYZE").await.expect("analyze");
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let prepared = pipeline::prepare(&w.options(), &target)
        .await
        .expect("prepare");
    let person = prepared.model.object("person").expect("person");
    let client = prepared.source.client();
    let reader = twenty_migrate::source::records::RecordReader::new(
        client,
        &prepared.workspace.schema,
        person,
        twenty_migrate::source::records::RowFilter::Live,
        1000,
    )
    .await
    .expect("reader");
    let plan = reader
        .explain_next_page(client, Uuid::nil())
        .await
        .expect("explain");
    eprintln!("{plan}");
    // A sequential scan would read the whole table for every page, and a sort would hold it.
    assert!(plan.contains("Index Scan using"), "{plan}");
    assert!(
        !plan.contains("Seq Scan") && !plan.contains("Sort"),
        "{plan}"
    );
}

/// Members are matched, not copied, so each matched target member gets its source member's
/// picture after the records: a stored picture is uploaded and set, a picture hosted elsewhere
/// keeps its URL, a missing one is a note naming the member; a rerun sends none again, and a
/// picture the target member set of its own is kept.
#[tokio::test]
async fn member_pictures_move_to_the_matched_target_members() {
    let w = world(50).await;
    let s = w.schema();
    let live: Vec<(Uuid, String)> = w
        .client
        .query(
            &format!(
                "SELECT id, \"userEmail\" FROM {s}.\"workspaceMember\" \
                 WHERE \"deletedAt\" IS NULL ORDER BY id"
            ),
            &[],
        )
        .await
        .expect("members")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(live.len() >= 3, "{live:?}");
    let stored = "profile-picture/original/stored.png";
    let elsewhere = "https://lh3.googleusercontent.com/a/picture";
    let gone = "profile-picture/original/gone.png";
    w.client
        .batch_execute(&format!(
            "UPDATE {s}.\"workspaceMember\" SET \"avatarUrl\" = NULL"
        ))
        .await
        .expect("clear pictures");
    for ((id, _), url) in live.iter().zip([stored, elsewhere, gone]) {
        w.client
            .execute(
                &format!("UPDATE {s}.\"workspaceMember\" SET \"avatarUrl\" = $2 WHERE id = $1"),
                &[id, &url],
            )
            .await
            .expect("set picture");
    }
    let folder = w
        .dir
        .path()
        .join("storage")
        .join(format!("workspace-{}/profile-picture/original", w.spec.id));
    std::fs::create_dir_all(&folder).unwrap();
    let png = b"\x89PNG\r\n\x1a\nnot much of a picture";
    std::fs::write(folder.join("stored.png"), png).unwrap();

    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.files.member_pictures, 2, "{report:?}");
    let notes: Vec<&String> = report
        .not_kept
        .iter()
        .filter(|n| n.starts_with("workspaceMember"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", report.not_kept);
    assert!(
        notes[0].starts_with(&format!(
            "workspaceMember {}: picture not moved: ",
            live[2].1
        )) && notes[0].contains("gone.png is missing")
            && notes[0].contains("sets it again in Settings > Members"),
        "{}",
        notes[0]
    );

    let by_email: HashMap<String, Value> = read_back(&target, "workspaceMembers")
        .await
        .into_values()
        .map(|m| (m["userEmail"].as_str().unwrap().to_lowercase(), m))
        .collect();
    let avatar = |email: &str| by_email[&email.to_lowercase()]["avatarUrl"].clone();
    let uploaded = avatar(&live[0].1);
    let uploaded = uploaded.as_str().expect("stored picture set");
    let prefix = format!("{}/file/core-picture/", twin.base_url());
    assert!(uploaded.starts_with(&prefix), "{uploaded}");
    assert!(!uploaded.contains("token"), "{uploaded}");
    assert_eq!(avatar(&live[1].1), Value::from(elsewhere));
    assert!(
        avatar(&live[2].1).as_str().is_none_or(str::is_empty),
        "{}",
        avatar(&live[2].1)
    );

    // A rerun of the same run finds both pictures in the ledger and sends neither.
    let before = target.stats().requests;
    let mut again = w.options();
    again.restart = false;
    let report = pipeline::migrate(&again, &target).await.expect("rerun");
    assert_eq!(report.files.member_pictures, 0, "{report:?}");
    assert_eq!(report.files.member_pictures_reused, 2, "{report:?}");
    assert!(target.stats().requests > before);

    // A member who set a picture of their own in the target meanwhile keeps it, even once the
    // source's file is back.
    std::fs::write(folder.join("gone.png"), png).unwrap();
    let own = "https://pictures.example/own.png";
    let third = target
        .members()
        .await
        .expect("target members")
        .into_iter()
        .find(|m| m.user_email.as_deref().map(str::to_lowercase) == Some(live[2].1.to_lowercase()))
        .expect("third member in the target");
    target
        .update_member_settings(third.id, serde_json::json!({ "avatarUrl": own }))
        .await
        .expect("own picture");
    let report = pipeline::migrate(&again, &target).await.expect("rerun");
    assert_eq!(report.files.member_pictures, 0, "{report:?}");
    assert_eq!(report.files.member_pictures_reused, 2, "{report:?}");
    let kept = format!(
        "workspaceMember {}: picture not moved: the target member has a picture of its own, which is kept",
        live[2].1
    );
    assert!(report.not_kept.contains(&kept), "{:?}", report.not_kept);
    let third = read_back(&target, "workspaceMembers").await[&third.id.to_string()].clone();
    assert_eq!(third["avatarUrl"], Value::from(own));
}

/// An API key whose role lacks the Workspace Members permission is refused the upload
/// (`upload-profile-picture-permission.guard.ts`): the run goes on, and one report line names
/// every member left, the permission, and what to do.
#[tokio::test]
async fn member_pictures_refused_for_the_api_key_are_named_in_the_report() {
    let w = world(50).await;
    let s = w.schema();
    let emails: Vec<String> = w
        .client
        .query(
            &format!(
                "SELECT \"userEmail\" FROM {s}.\"workspaceMember\" \
                 WHERE \"deletedAt\" IS NULL AND coalesce(\"avatarUrl\", '') <> '' ORDER BY id"
            ),
            &[],
        )
        .await
        .expect("members")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(emails.len() >= 2, "{emails:?}");
    // The generated pictures are not in the storage: put them there.
    for r in w
        .client
        .query(
            &format!(
                "SELECT \"avatarUrl\" FROM {s}.\"workspaceMember\" \
                 WHERE \"deletedAt\" IS NULL AND coalesce(\"avatarUrl\", '') <> ''"
            ),
            &[],
        )
        .await
        .expect("pictures")
    {
        let url: String = r.get(0);
        let path = w
            .dir
            .path()
            .join("storage")
            .join(format!("workspace-{}", w.spec.id))
            .join(url);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"\x89PNG\r\n\x1a\n").unwrap();
    }
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .members_permission(false)
        .start()
        .await
        .expect("twin");
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.files.member_pictures, 0);
    let notes: Vec<&String> = report
        .not_kept
        .iter()
        .filter(|n| n.starts_with("workspaceMember"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", report.not_kept);
    let note = notes[0];
    assert!(
        note.starts_with(&format!(
            "workspaceMember.avatarUrl: {} member pictures not moved (",
            emails.len()
        )),
        "{note}"
    );
    for e in &emails {
        assert!(note.contains(e.as_str()), "{e}: {note}");
    }
    assert!(
        note.contains("Workspace Members permission (upload-profile-picture-permission.guard.ts)")
            && note.contains("You do not have permission to upload profile pictures")
                | note.contains("does not have permission"),
        "{note}"
    );
}

/// A 2.x member's picture is a `core.file` row in `core-picture/`, named by its id in the
/// `avatarUrl` the source's front stored (`<server>/file/core-picture/<id>`): its bytes are read
/// from `<workspaceId>/<application>/core-picture/<id>.png` and moved like a path's.
#[tokio::test]
async fn a_core_picture_member_avatar_is_read_through_core_file() {
    let w = world(50).await;
    let s = w.schema();
    let member: (Uuid, String) = w
        .client
        .query_one(
            &format!(
                "SELECT id, \"userEmail\" FROM {s}.\"workspaceMember\" \
                 WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1"
            ),
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .expect("member");
    w.client
        .batch_execute(&format!(
            "UPDATE {s}.\"workspaceMember\" SET \"avatarUrl\" = NULL"
        ))
        .await
        .expect("clear pictures");
    let picture = Uuid::new_v4();
    let path = format!("core-picture/{picture}.png");
    w.client
        .execute(
            "INSERT INTO core.file (id, \"workspaceId\", \"applicationId\", path, size, \
             \"createdAt\", \"updatedAt\", \"isStaticAsset\", settings, \"mimeType\") \
             SELECT $1, \"workspaceId\", \"applicationId\", $2, 12, now(), now(), false, settings, \
             'image/png' FROM core.file WHERE \"workspaceId\" = $3 LIMIT 1",
            &[&picture, &path, &w.spec.id],
        )
        .await
        .expect("core.file row");
    let app: String = w
        .client
        .query_one(
            "SELECT a.\"universalIdentifier\"::text FROM core.file f \
             JOIN core.application a ON a.id = f.\"applicationId\" WHERE f.id = $1",
            &[&picture],
        )
        .await
        .expect("application")
        .get(0);
    let file = w
        .dir
        .path()
        .join("storage")
        .join(format!("{}/{app}", w.spec.id))
        .join(&path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"\x89PNG\r\n\x1a\ncore").unwrap();
    w.client
        .execute(
            &format!("UPDATE {s}.\"workspaceMember\" SET \"avatarUrl\" = $2 WHERE id = $1"),
            &[
                &member.0,
                &format!("https://crm.old.example/file/core-picture/{picture}"),
            ],
        )
        .await
        .expect("set picture");

    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.files.member_pictures, 1, "{:?}", report.not_kept);
    let set = read_back(&target, "workspaceMembers")
        .await
        .into_values()
        .find(|m| m["userEmail"].as_str().map(str::to_lowercase) == Some(member.1.to_lowercase()))
        .expect("member in the target");
    let url = set["avatarUrl"].as_str().unwrap_or_default();
    assert!(
        url.starts_with(&format!("{}/file/core-picture/", twin.base_url())),
        "{set}"
    );
    assert!(!url.contains(&picture.to_string()), "{url}");
}
