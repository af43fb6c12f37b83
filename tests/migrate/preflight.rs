//! Pre-flight: each failed check stops `migrate` with its sentence and exit code 2 before the
//! first write (the twin counts no record written and no object created), and a normal
//! migration passes it.

use serde_json::{json, Value};
use twenty_migrate::destination::BatchBody;
use twenty_migrate::error::EXIT_NOT_STARTED;
use twenty_migrate::pipeline::preflight::{self, Status};
use twenty_migrate::pipeline::{self, MigrateError};
use twenty_migrate::twin::{KeyRole, Twin, TwinConfig};
use uuid::Uuid;

use super::{cli, target, twin, world, World, KEY};

/// The sentences of a run stopped by its checks, after checking it stopped as `plan` and
/// `migrate` must: exit code 2, nothing written, no object created.
async fn stopped(w: &World, twin: &Twin) -> Vec<String> {
    stopped_with(&w.options(), twin).await
}

/// [`stopped`], with these options.
async fn stopped_with(opts: &pipeline::MigrateOptions, twin: &Twin) -> Vec<String> {
    let target = target(twin, 1_000_000);
    let before = twin.stats();
    let err = pipeline::migrate(opts, &target)
        .await
        .expect_err("the pre-flight stops the run");
    let code = twenty_migrate::Error::Migrate(MigrateError::Blocked(Vec::new())).exit_code();
    assert_eq!(code, EXIT_NOT_STARTED);
    let MigrateError::Blocked(lines) = err else {
        panic!("not a pre-flight stop: {err}");
    };
    let after = twin.stats();
    assert_eq!(
        (
            after.records_created,
            after.records_updated,
            after.records_deleted
        ),
        (
            before.records_created,
            before.records_updated,
            before.records_deleted
        ),
        "records written before the stop"
    );
    assert_eq!(
        after.by_route.get("create_many"),
        before.by_route.get("create_many"),
        "{:?}",
        after.by_route
    );
    // The data model sync creates the custom object `pet`: it must not have run.
    let model = target.model().await.expect("model");
    assert!(model.object("pet").is_none(), "the data model sync ran");
    lines
}

#[tokio::test]
async fn a_read_only_key_stops_the_migration_before_the_first_write() {
    let w = world(60).await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .api_key_role(KeyRole::ReadOnly)
        .start()
        .await
        .expect("twin");
    let lines = stopped(&w, &twin).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(
        line.starts_with("the API key's role Read-only cannot create or update records of "),
        "{line}"
    );
    for object in ["company", "person", "opportunity"] {
        assert!(line.contains(object), "{object} not named: {line}");
    }
}

#[tokio::test]
async fn a_read_only_keys_record_write_is_refused_as_twenty_refuses_it() {
    let twin = TwinConfig::new(KEY)
        .api_key_role(KeyRole::ReadOnly)
        .start()
        .await
        .expect("twin");
    let response = reqwest::Client::new()
        .post(format!("{}/rest/batch/companies", twin.base_url()))
        .bearer_auth(KEY)
        .json(&json!([{"name": "Acme"}]))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({
            "statusCode": 403,
            "error": "ForbiddenException",
            "messages": ["Entity performing the request does not have permission"],
            "code": "PERMISSION_DENIED"
        })
    );
    assert_eq!(twin.stats().records_created, 0);
}

#[tokio::test]
async fn a_field_type_the_target_lacks_stops_before_the_first_write() {
    let w = world(60).await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .lacking_field_type("RATING")
        .start()
        .await
        .expect("twin");
    let lines = stopped(&w, &twin).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("the target's version has no field type for pet.rating (RATING):"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn ids_already_taken_in_the_target_by_other_records_stop_the_migration() {
    let w = world(60).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    // Another record under the id of a live source company, in a target that no ledger of
    // this run wrote to.
    let row = w
        .client
        .query_one(
            &format!(
                "SELECT id FROM \"{}\".company WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1",
                w.schema()
            ),
            &[],
        )
        .await
        .expect("a source company");
    let id: Uuid = row.get(0);
    target
        .upsert_batch(
            "companies",
            BatchBody::from_values(&[json!({"id": id, "name": "Someone else's company"})]),
        )
        .await
        .expect("seed the target");

    let lines = stopped(&w, &twin).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "the target already holds 1 record(s) with ids of source records (company: 1, e.g. "
        ),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(&id.to_string()), "{}", lines[0]);
    let kept = target.find_by_ids("companies", &[id]).await.expect("read");
    assert_eq!(kept[0]["name"], "Someone else's company");
}

#[tokio::test]
async fn a_normal_migration_passes_the_pre_flight_and_a_rerun_owns_its_records() {
    let w = world(60).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let opts = w.options();

    let prepared = pipeline::prepare(&opts, &target).await.expect("prepare");
    let checks = preflight::run(&opts, &prepared, &target)
        .await
        .expect("pre-flight");
    prepared.source.end_snapshot().await.expect("end");
    assert!(checks.failures().is_empty(), "{}", checks.render_text());
    let status = |name: &str| {
        checks
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} check: {}", checks.render_text()))
            .status
    };
    assert_eq!(status("key"), Status::Passed, "{}", checks.render_text());
    assert_eq!(status("field-types"), Status::Passed);
    assert_eq!(status("ids"), Status::Passed);
    assert_eq!(status("limits"), Status::Info);
    assert_eq!(status("rate"), Status::Info);
    assert_eq!(twin.stats().records_created, 0, "the pre-flight wrote");

    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    assert_eq!(report.rejected(), 0, "{}", report.render_text());

    // Against the same ledger the records are the run's own: no collision.
    let prepared = pipeline::prepare(&opts, &target).await.expect("prepare");
    let again = preflight::run(&opts, &prepared, &target)
        .await
        .expect("pre-flight");
    prepared.source.end_snapshot().await.expect("end");
    assert!(again.failures().is_empty(), "{}", again.render_text());
    let ids = again.checks.iter().find(|c| c.name == "ids").unwrap();
    assert_eq!(ids.status, Status::Info, "{}", again.render_text());
}

#[tokio::test]
async fn plan_prints_the_pre_flight_and_a_failed_check_exits_with_code_2() {
    let w = world(40).await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .api_key_role(KeyRole::ReadOnly)
        .start()
        .await
        .expect("twin");
    let storage = w.dir.path().join("storage");
    let args = [
        "plan",
        "--json",
        "--source",
        w.db.url.as_str(),
        "--target",
        twin.base_url(),
        "--rate-limit",
        "100000/min",
        "--storage-dir",
        storage.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = cli(&args, KEY).await;
    assert_eq!(i32::from(EXIT_NOT_STARTED), code, "{stdout}\n{stderr}");
    let plan: Value = serde_json::from_str(&stdout).expect("plan --json");
    let checks = plan["preflight"]["checks"].as_array().expect("checks");
    let key = checks
        .iter()
        .find(|c| c["name"] == "key")
        .expect("key check");
    assert_eq!(key["status"], "failed", "{key}");
    assert!(
        stderr.contains("the API key's role Read-only cannot create or update records of "),
        "{stderr}"
    );
    assert_eq!(twin.stats().records_created, 0);
}

#[tokio::test]
async fn a_target_record_limit_below_the_source_count_stops_before_the_first_write() {
    // Twenty announces no record limit to an API key (2.21's client config and billing
    // entitlements hold none): the operator states the plan's.
    let w = world(60).await;
    let twin = twin(w.members(), 200).await;
    let target = target(&twin, 1_000_000);
    let prepared = pipeline::prepare(&w.options(), &target)
        .await
        .expect("plan");
    let records = prepared.plan.estimate.records;
    prepared.source.end_snapshot().await.unwrap();
    let opts = pipeline::MigrateOptions {
        target_record_limit: Some(records - 1),
        ..w.options()
    };
    let lines = stopped_with(&opts, &twin).await;
    assert_eq!(
        lines,
        vec![format!(
            "the run writes {records} records, more than the target's limit of {} (--target-record-limit): raise the target's plan, or leave objects out of the migration",
            records - 1
        )]
    );
    // At the limit, it passes.
    let opts = pipeline::MigrateOptions {
        target_record_limit: Some(records),
        ..w.options()
    };
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert_eq!(report.rejected(), 0);
}
