//! Direct upload against a scripted server: a `PUT` refused for its expired URL gets a fresh
//! one, and a pending upload of an earlier run is finished without a second upload.

use chrono::{TimeDelta, Utc};

use super::*;

/// Twenty's answer when `FileUploadTokenGuard` refuses a token (expired, or not this file's):
/// Nest's `ForbiddenException` as `UnhandledExceptionFilter` sends it.
fn guard_refusal() -> Response {
    answer(
        403,
        json!({"message": "Forbidden resource", "error": "Forbidden", "statusCode": 403}),
    )
}

/// A server for direct uploads: `createFileUpload` number k makes file `f<k>` with a URL good
/// for 15 minutes, `completeFileUpload` completes any file, and `put(file_id)` answers the `PUT`s.
fn direct(
    put: impl Fn(&str) -> Response + Send + Sync + 'static,
) -> impl Fn(usize, &Seen) -> Response + Send + Sync + 'static {
    let created = AtomicUsize::new(0);
    move |_, seen| {
        if seen.method == "PUT" {
            let id = seen.path.rsplit('/').next().unwrap_or_default();
            return put(id);
        }
        let body: Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        let query = body["query"].as_str().unwrap_or_default();
        if query.contains("createFileUpload") {
            let k = created.fetch_add(1, Ordering::SeqCst);
            let host = seen.headers["host"].to_str().unwrap();
            return answer(
                200,
                json!({"data": {"createFileUpload": {
                    "fileId": format!("f{k}"),
                    "uploadUrl": format!("http://{host}/file-upload/f{k}?token=SECRET-UPLOAD-{k}"),
                    "contentType": "application/octet-stream",
                    "expiresAt": (Utc::now() + TimeDelta::minutes(15)).to_rfc3339(),
                }}}),
            );
        }
        if query.contains("completeFileUpload") {
            let id = body["variables"]["fileId"].as_str().unwrap_or_default();
            return answer(
                200,
                json!({"data": {"completeFileUpload": {"id": id, "path": format!("files-field/{id}.txt")}}}),
            );
        }
        answer(404, json!({"message": "unexpected"}))
    }
}

/// What each request was: `create`, `put <file>` or `complete <file>`.
fn steps(server: &TestServer) -> Vec<String> {
    server
        .seen()
        .iter()
        .map(|s| {
            if s.method == "PUT" {
                return format!("put {}", s.path.rsplit('/').next().unwrap_or_default());
            }
            let body: Value = serde_json::from_slice(&s.body).unwrap_or_default();
            let query = body["query"].as_str().unwrap_or_default();
            if query.contains("createFileUpload") {
                "create".to_owned()
            } else {
                let id = body["variables"]["fileId"].as_str().unwrap_or_default();
                format!("complete {id}")
            }
        })
        .collect()
}

fn ten_bytes() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"0123456789").unwrap();
    file
}

/// A pending upload of an earlier run, made for `server`, whose URL expires in `expires_in`.
fn earlier(server: &TestServer, field: Uuid, expires_in: TimeDelta) -> PendingDirectUpload {
    PendingDirectUpload {
        file_id: "p0".into(),
        upload_url: format!("{}/file-upload/p0?token=SECRET-UPLOAD-P", server.url),
        content_type: "application/octet-stream".into(),
        expires_at: Some(Utc::now() + expires_in),
        field_metadata_id: field,
        size: 10,
    }
}

#[tokio::test]
async fn a_put_refused_for_its_expired_url_gets_a_fresh_url_recorded_before_its_put() {
    let server = serve(direct(|id| match id {
        "f0" => guard_refusal(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }))
    .await;
    let file = ten_bytes();
    let seen = server.seen.clone();
    let mut recorded = Vec::new();
    let uploaded = target(&server.url)
        .upload_file_direct(Uuid::new_v4(), file.path(), "a.txt", None, |p| {
            // How many requests the server had when the upload was handed over for recording.
            recorded.push((p.file_id.clone(), seen.lock().unwrap().len()));
            async {}
        })
        .await
        .unwrap();
    assert_eq!(uploaded.id, "f1");
    assert_eq!(
        steps(&server),
        ["create", "put f0", "create", "put f1", "complete f1"]
    );
    // Each created upload was handed over after its creation and before its PUT.
    assert_eq!(recorded, [("f0".to_owned(), 1), ("f1".to_owned(), 3)]);
    for put in server.seen().iter().filter(|s| s.method == "PUT") {
        assert_eq!(put.auth(), None, "the key stays home");
    }
}

#[tokio::test]
async fn an_upload_url_refused_every_time_stops_after_two_fresh_ones() {
    let server = serve(direct(|_| guard_refusal())).await;
    let file = ten_bytes();
    let err = target(&server.url)
        .upload_file_direct(Uuid::new_v4(), file.path(), "a.txt", None, |_| async {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TargetError::UploadUrlRefused { status: 403, file_id } if file_id == "f2"),
        "{err:?}"
    );
    assert_eq!(err.disposition(), Disposition::Stop);
    assert_eq!(URL_RENEWALS, 2);
    assert_eq!(
        steps(&server),
        ["create", "put f0", "create", "put f1", "create", "put f2"]
    );
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("SECRET"), "the upload token leaked: {text}");
    }
}

#[tokio::test]
async fn a_pending_upload_with_a_good_url_is_finished_without_a_new_upload() {
    let server = serve(direct(|_| StatusCode::NO_CONTENT.into_response())).await;
    let file = ten_bytes();
    let field = Uuid::new_v4();
    let pending = earlier(&server, field, TimeDelta::minutes(10));
    assert!(!format!("{pending:?}").contains("SECRET"));
    let uploaded = target(&server.url)
        .upload_file_direct(
            field,
            file.path(),
            "a.txt",
            Some(pending),
            |_| -> std::future::Ready<()> { panic!("nothing is created") },
        )
        .await
        .unwrap();
    assert_eq!(uploaded.id, "p0");
    assert_eq!(steps(&server), ["put p0", "complete p0"]);
}

#[tokio::test]
async fn a_pending_upload_completed_before_a_crash_is_completed_again_not_uploaded_again() {
    // 2.21's answer to a PUT for a file no longer pending (`receiveFileStream`).
    let server = serve(direct(|id| {
        answer(
            400,
            json!({"statusCode": 400, "error": "Error", "code": "BAD_REQUEST",
                   "messages": [format!("File {id} is not awaiting an upload")]}),
        )
    }))
    .await;
    let file = ten_bytes();
    let field = Uuid::new_v4();
    let pending = earlier(&server, field, TimeDelta::minutes(10));
    let uploaded = target(&server.url)
        .upload_file_direct(field, file.path(), "a.txt", Some(pending), |_| async {})
        .await
        .unwrap();
    assert_eq!(uploaded.id, "p0");
    assert_eq!(steps(&server), ["put p0", "complete p0"]);
}

#[tokio::test]
async fn a_pending_upload_near_its_expiry_or_of_another_size_or_refused_is_started_over() {
    let server = serve(direct(|id| match id {
        "p0" => guard_refusal(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }))
    .await;
    let file = ten_bytes();
    let field = Uuid::new_v4();
    let t = target(&server.url);
    let upload = |pending: PendingDirectUpload| {
        t.upload_file_direct(field, file.path(), "a.txt", Some(pending), |_| async {})
    };
    // Less than the margin left: not even tried.
    let soon = earlier(
        &server,
        field,
        TimeDelta::seconds(RESUME_MARGIN_SECONDS - 5),
    );
    assert_eq!(upload(soon).await.unwrap().id, "f0");
    // Declared for another size (the source file changed): not tried either.
    let other_size = PendingDirectUpload {
        size: 11,
        ..earlier(&server, field, TimeDelta::minutes(10))
    };
    assert_eq!(upload(other_size).await.unwrap().id, "f1");
    // Good on paper, refused by the target: replaced by a new upload.
    let refused = earlier(&server, field, TimeDelta::minutes(10));
    assert_eq!(upload(refused).await.unwrap().id, "f2");
    assert_eq!(
        steps(&server),
        [
            "create",
            "put f0",
            "complete f0",
            "create",
            "put f1",
            "complete f1",
            "put p0",
            "create",
            "put f2",
            "complete f2"
        ]
    );
}
