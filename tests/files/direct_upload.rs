//! The newest file generation, direct upload (`createFileUpload` → `PUT` → `completeFileUpload`):
//! the twin's contract, the tool's choice of generation, and whole migrations through it.

use std::time::Duration;

use serde_json::{json, Value};
use twenty_migrate::destination::{ApiKey, Target, TargetConfig, UploadGeneration};
use twenty_migrate::pipeline::{self, MigrateError};
use twenty_migrate::twin::{FaultSpec, Member, Twin, TwinConfig, UploadOffer};
use uuid::Uuid;

use super::{
    assert_landed_files_match, attachment_report, client_for, download, sha256, target_attachments,
    uploads, world, KEY,
};

async fn start_twin(members: Vec<Member>, offer: UploadOffer) -> Twin {
    TwinConfig::new(KEY)
        .members(members)
        .upload_offer(offer)
        .start()
        .await
        .expect("twin")
}

/// Requests of one kind the twin received (`create_file_upload`, `file_upload_put`,
/// `complete_file_upload`).
pub(super) fn count(twin: &Twin, kind: &str) -> u64 {
    twin.stats().by_route.get(kind).copied().unwrap_or(0)
}

/// A GraphQL request on `/metadata`, built here rather than by the client under test.
pub(super) async fn metadata(twin: &Twin, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}/metadata", twin.base_url()))
        .bearer_auth(KEY)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("metadata request")
        .json()
        .await
        .expect("a JSON answer")
}

/// The id of `attachment.file`, the FILES field uploads go to.
pub(super) async fn attachment_file_field(twin: &Twin) -> Uuid {
    let target = client_for(twin, 1_000_000);
    let model = target.model().await.expect("model");
    model
        .objects
        .iter()
        .find(|o| o.name_singular == "attachment")
        .and_then(|o| o.fields.iter().find(|f| f.name == "file"))
        .map(|f| f.id)
        .expect("attachment.file")
}

pub(super) const CREATE: &str = "mutation($filename: String!, $size: Float!, $field: String!) { createFileUpload(filename: $filename, size: $size, fileFolder: FilesField, fieldMetadataId: $field) { fileId uploadUrl contentType expiresAt } }";
pub(super) const COMPLETE: &str =
    "mutation($id: String!) { completeFileUpload(fileId: $id) { id path size } }";

async fn put(url: &str, content_type: &str, body: &'static [u8]) -> u16 {
    reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("put")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_put_of_more_bytes_than_declared_is_refused_and_only_the_declared_size_completes() {
    let twin = start_twin(Vec::new(), UploadOffer::DirectOnly).await;
    let field = attachment_file_field(&twin).await;
    let created = metadata(
        &twin,
        CREATE,
        json!({"filename": "notes.txt", "size": 10, "field": field.to_string()}),
    )
    .await;
    let target = &created["data"]["createFileUpload"];
    assert!(target.is_object(), "{created}");
    let id = target["fileId"].as_str().unwrap().to_owned();
    let url = target["uploadUrl"].as_str().unwrap().to_owned();
    assert_eq!(target["contentType"], "application/octet-stream");
    assert!(url.contains(&format!("/file-upload/{id}?token=")), "{url}");

    // Nothing uploaded yet: completion is refused and the file cannot be downloaded.
    let early = metadata(&twin, COMPLETE, json!({"id": id})).await;
    assert!(
        early["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("has not been uploaded"),
        "{early}"
    );
    let pending = reqwest::get(format!("{}/files-field/{id}", twin.base_url()))
        .await
        .unwrap();
    assert_eq!(pending.status().as_u16(), 404);

    // The token is the credential: without it, or with another, the PUT is refused.
    let bare = url.split('?').next().unwrap();
    assert_eq!(
        put(bare, "application/octet-stream", b"0123456789").await,
        403
    );
    assert_eq!(
        put(
            &format!("{bare}?token=forged"),
            "application/octet-stream",
            b"0123456789"
        )
        .await,
        403
    );
    // One byte more than declared: 413; one less: 400.
    assert_eq!(
        put(&url, "application/octet-stream", b"0123456789A").await,
        413
    );
    assert_eq!(
        put(&url, "application/octet-stream", b"012345678").await,
        400
    );
    let refused = metadata(&twin, COMPLETE, json!({"id": id})).await;
    assert!(refused["errors"].is_array(), "{refused}");

    // The declared size: 204, then completion, and the bytes are served.
    assert_eq!(
        put(&url, "application/octet-stream", b"0123456789").await,
        204
    );
    let done = metadata(&twin, COMPLETE, json!({"id": id})).await;
    assert_eq!(
        done["data"]["completeFileUpload"]["id"],
        id.as_str(),
        "{done}"
    );
    assert_eq!(done["data"]["completeFileUpload"]["size"], 10.0);
    assert_eq!(sha256(&download(&twin, &id).await), sha256(b"0123456789"));
    // Completing again answers the same file; a PUT after completion is refused.
    let again = metadata(&twin, COMPLETE, json!({"id": id})).await;
    assert_eq!(
        again["data"]["completeFileUpload"]["id"],
        id.as_str(),
        "{again}"
    );
    assert_eq!(
        put(&url, "application/octet-stream", b"9876543210").await,
        400
    );
    assert_eq!(sha256(&download(&twin, &id).await), sha256(b"0123456789"));
}

#[tokio::test]
async fn the_newest_generation_has_no_multipart_upload_by_field_id_and_v2_has_no_direct_upload() {
    let newest = start_twin(Vec::new(), UploadOffer::DirectOnly).await;
    let names = |answer: Value| -> Vec<String> {
        answer["data"]["__schema"]["mutationType"]["fields"]
            .as_array()
            .expect("mutation names")
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let introspect = "{ __schema { mutationType { fields { name } } } }";
    let listed = names(metadata(&newest, introspect, json!({})).await);
    assert!(listed.iter().any(|n| n == "createFileUpload"), "{listed:?}");
    assert!(
        !listed.iter().any(|n| n == "uploadFilesFieldFile"),
        "{listed:?}"
    );
    // Hidden is not enough: running it fails as an unknown field does.
    let field = attachment_file_field(&newest).await;
    let operations = json!({
        "query": "mutation($file: Upload!, $field: String!) { uploadFilesFieldFile(file: $file, fieldMetadataId: $field) { id } }",
        "variables": {"file": null, "field": field.to_string()},
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", r#"{"0":["variables.file"]}"#)
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"bytes".to_vec()).file_name("a.txt"),
        );
    let refused: Value = reqwest::Client::new()
        .post(format!("{}/metadata", newest.base_url()))
        .bearer_auth(KEY)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .expect("multipart upload")
        .json()
        .await
        .expect("a JSON answer");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Cannot query field \"uploadFilesFieldFile\""),
        "{refused}"
    );
    assert_eq!(uploads(&newest), 1, "counted as an upload request");
    assert!(
        !newest.stats().by_route.contains_key("create_file_upload"),
        "nothing created"
    );

    let v2 = start_twin(Vec::new(), UploadOffer::MultipartOnly).await;
    let listed = names(metadata(&v2, introspect, json!({})).await);
    assert!(
        listed.iter().any(|n| n == "uploadFilesFieldFile"),
        "{listed:?}"
    );
    assert!(
        !listed.iter().any(|n| n == "createFileUpload"),
        "{listed:?}"
    );
}

#[tokio::test]
async fn the_tool_picks_direct_upload_when_the_twin_offers_both_and_multipart_when_only_multipart_exists(
) {
    for (offer, want) in [
        (UploadOffer::Both, UploadGeneration::Direct),
        (UploadOffer::DirectOnly, UploadGeneration::Direct),
        (UploadOffer::MultipartOnly, UploadGeneration::Multipart),
    ] {
        let twin = start_twin(Vec::new(), offer).await;
        let target: Target = client_for(&twin, 1_000_000);
        assert_eq!(
            target.upload_generation().await.expect("detect"),
            want,
            "{offer:?}"
        );
        assert_eq!(
            twin.stats().by_route.get("metadata"),
            Some(&1),
            "one request"
        );
    }

    // A whole migration against a twin offering both uploads only by direct upload.
    let w = world(1000, 0).await;
    let twin = start_twin(w.members(), UploadOffer::Both).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert!(r.written > 0, "{r:?}");
    assert_eq!(uploads(&twin), 0, "no multipart upload");
    assert_eq!(count(&twin, "complete_file_upload"), r.written);
}

#[tokio::test]
async fn attachments_land_byte_identical_in_a_newest_generation_twin() {
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    let twin = start_twin(w.members(), UploadOffer::DirectOnly).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(r.written >= 10, "{r:?}");
    // One create, one PUT and one completion per file written; nothing by multipart.
    assert_eq!(count(&twin, "create_file_upload"), r.written);
    assert_eq!(count(&twin, "file_upload_put"), r.written);
    assert_eq!(count(&twin, "complete_file_upload"), r.written);
    assert_eq!(uploads(&twin), 0);
    assert_eq!(
        count(&twin, "file_upload_put_with_api_key"),
        0,
        "the key stays home"
    );
    assert_eq!(report.files.uploaded, r.written);
    assert_eq!(target_attachments(&target).await.len() as u64, r.written);
    assert_landed_files_match(&twin, &source, &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rerun_after_an_interruption_in_the_files_phase_uploads_nothing_twice_by_direct_upload()
{
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    let twin = start_twin(w.members(), UploadOffer::DirectOnly).await;
    // 20 requests a second (three per file): slow enough to stop the run while it uploads.
    let target = client_for(&twin, 1200);
    let mut opts = w.options();
    let cancel = opts.cancel.clone();
    let watcher = async {
        while count(&twin, "complete_file_upload") < 4 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        cancel.cancel();
    };
    let (first, ()) = tokio::join!(pipeline::migrate(&opts, &target), watcher);
    assert!(
        matches!(first, Err(MigrateError::Interrupted { .. })),
        "the run should stop in the files phase: {:?}",
        first.map(|r| r.render_text())
    );
    let first_completed = count(&twin, "complete_file_upload");
    assert!(first_completed >= 4, "{first_completed}");

    opts.restart = false;
    opts.cancel = tokio_util::sync::CancellationToken::new();
    let report = pipeline::migrate(&opts, &target).await.expect("resume");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(
        first_completed < r.written,
        "{first_completed} of {}",
        r.written
    );
    // Across both runs: each file created, sent and completed exactly once.
    for kind in [
        "create_file_upload",
        "file_upload_put",
        "complete_file_upload",
    ] {
        assert_eq!(count(&twin, kind), r.written, "{kind}");
    }
    assert_eq!(report.files.reused, first_completed, "{:?}", report.files);
    assert_eq!(report.files.uploaded, r.written - first_completed);
    assert_eq!(target_attachments(&target).await.len() as u64, r.written);
    assert_landed_files_match(&twin, &source, &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_during_direct_uploads_leave_orphans_at_most_and_complete_each_file_once() {
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    // Lost answers after the write (`reset_after`) on createFileUpload, the PUT and
    // completeFileUpload, among errors before it.
    let faults = FaultSpec::parse("seed=5,503=0.05,reset=0.03,reset_after=0.1").unwrap();
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .upload_offer(UploadOffer::DirectOnly)
        .faults(faults)
        .start()
        .await
        .expect("twin");
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(twin.stats().faults >= 5, "{:?}", twin.stats());
    // A lost createFileUpload answer leaves a pending file nothing uses; a lost PUT or
    // completion answer is retried on the same file. So: perhaps more creates than files,
    // but exactly one completed file per attachment written.
    assert!(count(&twin, "create_file_upload") >= r.written);
    let dump: Value = reqwest::get(format!("{}/__twin/dump", twin.base_url()))
        .await
        .expect("dump")
        .json()
        .await
        .expect("json");
    let completed = dump["files"].as_array().expect("files").len() as u64;
    assert_eq!(completed, r.written, "one completed file per attachment");
    assert_eq!(target_attachments(&target).await.len() as u64, r.written);
    assert_landed_files_match(&twin, &source, &target).await;
}

/// Twenty Cloud's limit, in requests per minute.
const CLOUD_PER_MINUTE: u32 = 50;

/// How much faster than real time the rate-limited run below goes. At 50 requests a minute its
/// ~650 requests (200 files at three requests each) would take 13 minutes; ten times faster,
/// about 80 seconds. Both sides are scaled alike: the twin refills its bucket of 50 tokens over
/// 6 s instead of 60, and the client paces itself at 500 a minute instead of 50. What the test
/// shows depends only on the client's pace against the bucket's refill and on the bucket's
/// size, which keep their ratio and value, so it is still the test of a run at 50 a minute.
const TIME_SCALE: u32 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_fifty_requests_a_minute_two_hundred_attachments_move_with_no_retry_and_only_the_planned_requests(
) {
    // 7500 records make 225 attachments: 210 live, 200 of them with parents that move too.
    let w = world(7500, 0).await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .upload_offer(UploadOffer::DirectOnly)
        .rate_short(CLOUD_PER_MINUTE, 60_000 / u64::from(TIME_SCALE))
        .start()
        .await
        .expect("twin");
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(KEY));
    config.requests_per_minute = CLOUD_PER_MINUTE * TIME_SCALE;
    config.max_in_flight = 4;
    let target = Target::new(config).expect("target client");
    let mut opts = w.options();
    opts.requests_per_minute = CLOUD_PER_MINUTE * TIME_SCALE;
    opts.max_in_flight = 4;
    // The records' and files' requests are counted here; the configuration's in
    // tests/migrate/config.rs.
    opts.config = false;
    // The plan, read by a client of its own so that its requests are not counted below.
    let prepared = pipeline::prepare(&opts, &client_for(&twin, 1_000_000))
        .await
        .expect("plan");
    let (plan, diff) = (&prepared.plan, &prepared.schema);

    let started = std::time::Instant::now();
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let elapsed = started.elapsed();
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert!(report.files.uploaded >= 200, "{:?}", report.files);
    assert_eq!(report.files.uploaded, r.written, "one file per attachment");

    // Every request went through the first time: no 429, no 5xx, no timeout, no retry.
    let stats = target.stats();
    assert_eq!(stats.retries, 0, "{stats:?}");
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert_eq!(stats.network_errors, 0, "no timeouts: {stats:?}");
    assert_eq!(stats.ok, stats.requests, "{stats:?}");
    assert_eq!(twin.stats().rate_limited, 0);

    // The planned minimum. The plan counts batches at the cap over the live rows and
    // REQUESTS_PER_FILE for each live attachment; rows whose parent is soft-deleted are
    // skipped with it, so the minimum for what moves is one batch per cap of rows written and
    // three requests per file written, and the plan's figures bound it from above.
    let e = &plan.estimate;
    let skipped_with_parent = r
        .skipped
        .get(twenty_migrate::pipeline::PARENT_NOT_MIGRATED)
        .copied()
        .unwrap_or(0);
    assert_eq!(e.files - skipped_with_parent, r.written, "{e:?}");
    let by_route = twin.stats().by_route;
    let route = |kind: &str| by_route.get(kind).copied().unwrap_or(0);
    let batches = route("create_many");
    let minimum_batches: u64 = report
        .objects
        .iter()
        .map(|o| {
            o.written
                .div_ceil(twenty_migrate::pipeline::DEFAULT_MAX_BATCH as u64)
        })
        .sum();
    let file_requests =
        route("create_file_upload") + route("file_upload_put") + route("complete_file_upload");
    let others = stats.requests - batches - file_requests;
    eprintln!(
        "{} requests in {elapsed:.1?}: {batches} batches (plan {}), {file_requests} for files (plan {}), {others} others ({by_route:?}; diff {} objects {} fields {} options)",
        stats.requests,
        e.record_requests,
        e.file_requests,
        diff.objects.len(),
        diff.fields.len(),
        diff.options.len(),
    );
    assert_eq!(batches, minimum_batches, "{by_route:?}");
    assert!(batches <= e.record_requests + e.deferred_requests, "{e:?}");
    assert_eq!(
        file_requests,
        twenty_migrate::plan::REQUESTS_PER_FILE * r.written
    );
    assert!(file_requests <= e.file_requests, "{e:?}");
    // Besides those, the run's fixed costs (`migrate::the_model_and_members_are_read_once_...`):
    // three model reads around the data model sync, one request per object and field it
    // creates, the upload generation asked once, one members page, and the pre-flight's two
    // metadata reads and one page of ids per planned object the target already has (it is
    // empty). Nothing else.
    let preflight = 2 + (report.objects.len() - diff.objects.len()) as u64;
    assert_eq!(
        others,
        3 + (diff.objects.len() + diff.fields.len()) as u64 + 1 + 1 + preflight,
        "{by_route:?}"
    );
    // The pace held: a minute's worth of requests took at least a (scaled) minute.
    let scaled_minutes = elapsed.as_secs_f64() * f64::from(TIME_SCALE) / 60.0;
    assert!(
        stats.requests as f64 <= f64::from(CLOUD_PER_MINUTE) * (scaled_minutes + 1.0),
        "{} requests in {elapsed:?}",
        stats.requests
    );
}

/// An empty file: direct upload refuses a size of 0 (`file-upload.service.ts`), so the record
/// is rejected with a reason the user can act on, before any request for it; the multipart
/// upload of "Files v2" stores it, so there the record is delivered.
#[tokio::test]
async fn an_empty_file_is_rejected_with_its_reason_by_direct_upload_and_delivered_by_multipart() {
    let w = world(200, 0).await;
    let source = w.attachments().await;
    let empty = source
        .iter()
        .find(|a| !a.deleted)
        .expect("a live attachment");
    // Several attachments may share one stored file: empty exactly the ones that do.
    let sharing = source
        .iter()
        .filter(|a| !a.deleted && a.path == empty.path)
        .count() as u64;
    std::fs::write(&empty.path, b"").expect("empty the file");

    let twin = start_twin(w.members(), UploadOffer::DirectOnly).await;
    let target = client_for(&twin, 1_000_000);
    let opts = w.options();
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, sharing, "{}", report.render_text());
    let rejects = std::fs::read_to_string(&opts.rejects_path).expect("rejects file");
    let line: Value = rejects
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == json!(empty.id.to_string()))
        .expect("the empty file's record is in the rejects file");
    let message = line["message"].as_str().unwrap();
    assert!(
        message.contains("is empty (0 bytes)") && message.contains("attach the real file"),
        "{message}"
    );
    // No upload was asked for it: every create was completed.
    assert_eq!(
        count(&twin, "create_file_upload"),
        count(&twin, "complete_file_upload")
    );

    let twin = start_twin(w.members(), UploadOffer::MultipartOnly).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(r.balances(), "{r:?}");
}
