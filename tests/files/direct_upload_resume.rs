//! Direct uploads that do not go through in one piece: upload URLs that expire before their
//! `PUT`, and a run killed between `createFileUpload` and `completeFileUpload` then run again.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use twenty_migrate::destination::{Target, RESUME_MARGIN_SECONDS};
use twenty_migrate::pipeline;
use twenty_migrate::twin::{Twin, TwinConfig, UploadOffer, UploadStep};

use super::direct_upload::{attachment_file_field, count, metadata, COMPLETE, CREATE};
use super::{
    assert_landed_files_match, attachment_report, client_for, target_attachments, world, World, KEY,
};

/// Files the twin completed (its dump lists completed files only).
async fn completed_files(twin: &Twin) -> u64 {
    let dump: Value = reqwest::get(format!("{}/__twin/dump", twin.base_url()))
        .await
        .expect("dump")
        .json()
        .await
        .expect("json");
    dump["files"].as_array().expect("files").len() as u64
}

/// An answer's status and JSON body.
async fn put(url: &str, body: &'static [u8]) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .put(url)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("put");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// The answers below were seen on a real Twenty 2.21 (2026-12-07, `/opt/real-twenty`): a `PUT`
/// with a bad token, `403 {"message":"Forbidden resource","error":"Forbidden","statusCode":403}`;
/// a `PUT` after completion, `400 {"statusCode":400,"error":"Error","messages":["File <id> is
/// not awaiting an upload"],"code":"BAD_REQUEST"}`; `completeFileUpload` twice answers the
/// same `{id, path}` both times; `expiresAt` is 15 minutes after the create.
#[tokio::test]
async fn the_twin_refuses_an_expired_upload_url_and_a_second_put_as_twenty_does() {
    let twin = TwinConfig::new(KEY)
        .upload_offer(UploadOffer::DirectOnly)
        .expire_upload_urls(2)
        .start()
        .await
        .expect("twin");
    let field = attachment_file_field(&twin).await.to_string();
    let create = || async {
        let created = metadata(
            &twin,
            CREATE,
            json!({"filename": "a.txt", "size": 4, "field": field}),
        )
        .await;
        let target = created["data"]["createFileUpload"].clone();
        assert!(target.is_object(), "{created}");
        target
    };
    // The first URL has expired already: the guard refuses it, as Nest refuses for any guard.
    let expired = create().await;
    let at: chrono::DateTime<chrono::Utc> = expired["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(at <= chrono::Utc::now(), "{expired}");
    assert_eq!(
        put(expired["uploadUrl"].as_str().unwrap(), b"abcd").await,
        (
            403,
            json!({"message": "Forbidden resource", "error": "Forbidden", "statusCode": 403})
        )
    );
    // The second is good for Twenty's 900 s; once completed, its file takes no other PUT.
    let good = create().await;
    let at: chrono::DateTime<chrono::Utc> = good["expiresAt"].as_str().unwrap().parse().unwrap();
    let left = (at - chrono::Utc::now()).num_seconds();
    assert!((890..=900).contains(&left), "{left}");
    let url = good["uploadUrl"].as_str().unwrap();
    assert_eq!(put(url, b"abcd").await.0, 204);
    let done = metadata(&twin, COMPLETE, json!({"id": good["fileId"]})).await;
    assert_eq!(done["data"]["completeFileUpload"]["id"], good["fileId"]);
    let (status, body) = put(url, b"abcd").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "BAD_REQUEST", "{body}");
    assert_eq!(body["error"], "Error", "{body}");
}

#[tokio::test]
async fn upload_urls_that_expire_before_their_put_are_asked_again_and_every_file_lands_once() {
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    // Every other URL has expired when its PUT arrives; one upload at a time, so that each
    // file's first URL is an expired one and its second a good one.
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .upload_offer(UploadOffer::DirectOnly)
        .expire_upload_urls(2)
        .start()
        .await
        .expect("twin");
    let target = client_for(&twin, 1_000_000);
    let mut opts = w.options();
    opts.max_in_flight = 1;
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(r.written >= 10, "{r:?}");
    // Two creates and two PUTs per file, one refused for its URL; one completion per file.
    assert_eq!(count(&twin, "create_file_upload"), 2 * r.written);
    assert_eq!(count(&twin, "file_upload_put"), 2 * r.written);
    assert_eq!(count(&twin, "complete_file_upload"), r.written);
    assert_eq!(completed_files(&twin).await, r.written);
    assert_eq!(report.files.uploaded, r.written);
    assert_eq!(target_attachments(&target).await.len() as u64, r.written);
    assert_landed_files_match(&twin, &source, &target).await;
}

/// Pending uploads in the ledger.
fn pending_rows(state: &Path) -> i64 {
    let conn = rusqlite::Connection::open(state).expect("open the ledger");
    conn.query_row("SELECT count(*) FROM pending_upload", [], |r| r.get(0))
        .expect("count pending uploads")
}

/// Runs `migrate` in a child process while `twin` holds every request of `step`, kills it
/// (SIGKILL) once both uploads in flight are held there, then runs it again to the end.
/// Returns the pending uploads the ledger held after the kill.
async fn kill_while_held_then_rerun(w: &World, twin: &Twin, step: UploadStep) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite");
    let run = || {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"));
        cmd.args([
            "migrate",
            "--source",
            &w.db.url,
            "--target",
            twin.base_url(),
        ])
        .arg("--state")
        .arg(&state)
        .arg("--rejects")
        .arg(dir.path().join("rejects.jsonl"))
        .arg("--storage-dir")
        .arg(w.storage())
        .args(["--in-flight", "2", "--rate-limit", "100000/min"])
        .env("TWENTY_API_KEY", KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
        cmd
    };
    twin.hold(step);
    let mut child = run().spawn().expect("spawn migrate");
    let started = std::time::Instant::now();
    while twin.held() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the uploads never reached the held step"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended ({status}) before its uploads were held");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().await.expect("SIGKILL");
    let pending = pending_rows(&state);
    twin.release();
    let status = run().status().await.expect("rerun");
    assert!(status.success(), "the rerun failed: {status}");
    assert_eq!(pending_rows(&state), 0, "no pending upload is left");
    pending
}

/// The run's result checked against the source: exact records, each attachment's bytes.
async fn assert_exact(w: &World, twin: &Twin, target: &Target) {
    let check = pipeline::verify::verify(&w.options(), target, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
    assert_landed_files_match(twin, &w.attachments().await, target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_between_the_put_and_the_completion_resumes_without_a_second_upload() {
    let w = world(1000, 0).await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .upload_offer(UploadOffer::DirectOnly)
        .start()
        .await
        .expect("twin");
    let pending = kill_while_held_then_rerun(&w, &twin, UploadStep::Complete).await;
    // The two uploads in flight were created, recorded and sent, and never completed.
    assert_eq!(pending, 2);
    let target = client_for(&twin, 1_000_000);
    let attachments = target_attachments(&target).await.len() as u64;
    assert!(attachments >= 10, "{attachments}");
    // Each file created once: the rerun sent the two pending files' bytes again and completed
    // them, with no new createFileUpload.
    let created = count(&twin, "create_file_upload");
    assert_eq!(created, attachments);
    assert_eq!(count(&twin, "file_upload_put"), created + 2);
    assert_eq!(count(&twin, "complete_file_upload"), created);
    assert_eq!(completed_files(&twin).await, created);
    assert_exact(&w, &twin, &target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_creating_uploads_whose_urls_then_ran_short_starts_those_over() {
    let w = world(1000, 0).await;
    // URLs good for less than the margin a resumed PUT needs: the rerun gives them up.
    let ttl = Duration::from_secs(RESUME_MARGIN_SECONDS as u64 / 2);
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .upload_offer(UploadOffer::DirectOnly)
        .upload_url_ttl(ttl)
        .start()
        .await
        .expect("twin");
    let pending = kill_while_held_then_rerun(&w, &twin, UploadStep::Put).await;
    assert_eq!(pending, 2);
    let target = client_for(&twin, 1_000_000);
    let attachments = target_attachments(&target).await.len() as u64;
    assert!(attachments >= 10, "{attachments}");
    // The two created before the kill stay pending, unused (Twenty's cron removes them); every
    // attachment's file was created, sent and completed once by the rerun.
    assert_eq!(count(&twin, "create_file_upload"), attachments + 2);
    assert_eq!(count(&twin, "file_upload_put"), attachments);
    assert_eq!(count(&twin, "complete_file_upload"), attachments);
    assert_eq!(completed_files(&twin).await, attachments);
    assert_exact(&w, &twin, &target).await;
}
