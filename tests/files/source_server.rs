//! Files read through the source server's own file endpoints, signed with its APP_SECRET.
//!
//! The server here is a stand-in for Twenty's file routes that checks each token the way
//! Twenty's guards do: `FilePathGuard` (`engine/core-modules/file/guards/file-path-guard.ts`)
//! for `/files/<folder>/<filename>` and `FileByIdGuard` (`file/guards/file-by-id.guard.ts`) for
//! `/file/files-field/<fileId>`, both through `JwtWrapperService.verifyJwtToken(token, 'FILE')`
//! (`engine/core-modules/jwt/services/jwt-wrapper.service.ts`): HS256, keyed by the hex SHA-256
//! of `APP_SECRET + workspaceId + "FILE"`, not expired.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use twenty_migrate::pipeline;
use twenty_migrate::storage_http::SourceServer;
use uuid::Uuid;

use super::{
    assert_landed_files_match, attachment_report, client_for, download, sha256, start_twin,
    target_attachments, uploads, world,
};

const APP_SECRET: &str = "source-app-secret-6f1c";

struct Served {
    secret: String,
    storage: PathBuf,
    /// `core.file` id → path under the storage folder.
    by_id: HashMap<Uuid, PathBuf>,
    refused: AtomicU64,
}

/// The claims of `token` when it verifies as Twenty's `verifyJwtToken(token, 'FILE')` would.
fn verify(secret: &str, token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    if header["alg"] != "HS256" {
        return None;
    }
    let workspace = claims["workspaceId"].as_str()?;
    let key: String = Sha256::digest(format!("{secret}{workspace}FILE"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(format!("{}.{}", token.split('.').next()?, payload).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?;
    let exp = claims["exp"].as_i64();
    if exp.is_some_and(|e| e < chrono::Utc::now().timestamp()) {
        return None;
    }
    Some(claims)
}

fn refuse(s: &Served) -> Response {
    s.refused.fetch_add(1, Ordering::Relaxed);
    StatusCode::FORBIDDEN.into_response()
}

fn serve_file(path: PathBuf) -> Response {
    match std::fs::read(path) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /files/<folder…>/<filename>?token=`: FilePathGuard, then
/// `workspace-<workspaceId>/<folder…>/<filename>`.
async fn by_path(
    State(s): State<Arc<Served>>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(claims) = q.get("token").and_then(|t| verify(&s.secret, t)) else {
        return refuse(&s);
    };
    let filename = path.rsplit('/').next().unwrap_or_default();
    if claims["filename"].as_str() != Some(filename) {
        return refuse(&s);
    }
    let ws = claims["workspaceId"].as_str().unwrap_or_default();
    serve_file(s.storage.join(format!("workspace-{ws}")).join(&path))
}

/// `GET /file/<folder>/<id>?token=`: FileByIdGuard (supported folders, `fileId` claim).
async fn by_id(
    State(s): State<Arc<Served>>,
    Path((folder, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !["core-picture", "files-field"].contains(&folder.as_str()) {
        return refuse(&s);
    }
    let Some(claims) = q.get("token").and_then(|t| verify(&s.secret, t)) else {
        return refuse(&s);
    };
    if claims["fileId"].as_str() != Some(id.as_str()) {
        return refuse(&s);
    }
    match id.parse().ok().and_then(|id: Uuid| s.by_id.get(&id)) {
        Some(path) => serve_file(path.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What the stand-in serves for `w`: its storage folder, and its 1.18+ files by id.
async fn served(w: &super::World) -> Served {
    let rows = w
        .client
        .query(
            "SELECT f.id, f.path, a.\"universalIdentifier\"::text FROM core.file f \
             JOIN core.application a ON a.id = f.\"applicationId\"",
            &[],
        )
        .await
        .unwrap();
    let by_id = rows
        .iter()
        .map(|r| {
            let (path, app): (String, String) = (r.get(1), r.get(2));
            (
                r.get(0),
                w.storage().join(format!("{}/{app}/{path}", w.spec.id)),
            )
        })
        .collect();
    Served {
        secret: APP_SECRET.to_owned(),
        storage: w.storage(),
        by_id,
        refused: AtomicU64::new(0),
    }
}

/// Starts the stand-in server; its base URL and state.
async fn start(served: Served) -> (String, Arc<Served>) {
    let state = Arc::new(served);
    let app = axum::Router::new()
        .route("/files/{*path}", get(by_path))
        .route("/file/{folder}/{id}", get(by_id))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_read_through_the_source_servers_endpoints_with_tokens_signed_by_its_app_secret()
{
    let w = world(400, 1).await;
    let schema = w.spec.schema();
    // One attachment of before 1.18, known only by `fullPath`.
    let legacy = w
        .attachments()
        .await
        .into_iter()
        .find(|a| !a.deleted && a.path.exists() && a.links.values().any(Option::is_some))
        .expect("a live attachment");
    let pdf = b"%PDF-1.4\nserved by the source server\n%%EOF\n".to_vec();
    let legacy_dir = w
        .storage()
        .join(format!("workspace-{}/attachment", w.spec.id));
    std::fs::create_dir_all(&legacy_dir).unwrap();
    std::fs::write(legacy_dir.join("served.pdf"), &pdf).unwrap();
    // A note or task body may embed this attachment's original file: that file then moves
    // with the body, one upload more than the attachments written.
    let embedded: i64 = w
        .client
        .query_one(
            &format!(
                "SELECT (SELECT count(*) FROM \"{schema}\".note n, \"{schema}\".attachment a \
                   WHERE a.id = $1 AND n.\"bodyV2Blocknote\" LIKE '%' || (a.file->0->>'fileId') || '%') \
                 + (SELECT count(*) FROM \"{schema}\".task t, \"{schema}\".attachment a \
                   WHERE a.id = $1 AND t.\"bodyV2Blocknote\" LIKE '%' || (a.file->0->>'fileId') || '%')"
            ),
            &[&legacy.id],
        )
        .await
        .unwrap()
        .get(0);
    w.client
        .execute(
            &format!("UPDATE \"{schema}\".attachment SET file = '[]'::jsonb, \"fullPath\" = 'attachment/served.pdf' WHERE id = $1"),
            &[&legacy.id],
        )
        .await
        .unwrap();
    let source = w.attachments().await;
    let (url, served) = start(served(&w).await).await;

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let mut opts = w.options();
    opts.files.storage_dir = None;
    opts.files.server = Some(SourceServer {
        url: url.clone(),
        app_secret: APP_SECRET.to_owned(),
    });
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert!(r.written > 0, "{r:?}");
    assert_eq!(
        served.refused.load(Ordering::Relaxed),
        0,
        "every token passed"
    );
    assert_eq!(uploads(&twin), r.written + u64::from(embedded > 0));
    // The withheld file is a reject naming its URL on the server, without the token.
    let rejects = std::fs::read_to_string(&opts.rejects_path).unwrap_or_default();
    let mut named = 0;
    for line in rejects.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["object"] == "attachment" {
            let message = v["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("{url}/file/files-field/")),
                "{message}"
            );
            assert!(!message.contains("token="), "{message}");
            named += 1;
        }
    }
    assert_eq!(named, r.rejected);
    assert!(!rejects.contains(APP_SECRET) && !report.render_text().contains(APP_SECRET));
    assert_landed_files_match(&twin, &source, &target).await;
    let landed = target_attachments(&target).await;
    let got = &landed[&legacy.id];
    let bytes = download(&twin, got["file"][0]["fileId"].as_str().unwrap()).await;
    assert_eq!(sha256(&bytes), sha256(&pdf), "the legacy file came by path");

    // With another secret every token is refused, and the run stops saying why.
    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    opts.files.server = Some(SourceServer {
        url,
        app_secret: "not-the-secret".to_owned(),
    });
    let err = pipeline::migrate(&opts, &target)
        .await
        .expect_err("a refused token stops the run");
    let message = format!("{err:#}");
    assert!(message.contains("403"), "{message}");
    assert!(
        !message.contains("not-the-secret") && !message.contains("token="),
        "{message}"
    );
    assert!(served.refused.load(Ordering::Relaxed) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_through_the_source_server_counts_its_files_and_never_prints_the_app_secret() {
    let w = world(400, 1).await;
    let (url, served) = start(served(&w).await).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args([
            "inspect",
            "--json",
            "--source",
            &w.db.url,
            "--source-server",
            &url,
        ])
        .env_remove("TWENTY_SOURCE_URL")
        .env_remove("TWENTY_STORAGE_DIR")
        .env("TWENTY_SOURCE_APP_SECRET", APP_SECRET)
        .output()
        .expect("run twenty-migrate");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(APP_SECRET) && !stderr.contains(APP_SECRET));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let a = &report["workspace"]["attachments"];
    let files = &w.generated.attachments;
    assert_eq!(a["storage"], url.as_str(), "{a}");
    assert_eq!(a["files_found"].as_u64(), Some(files.files_present), "{a}");
    assert_eq!(a["bytes_found"].as_u64(), Some(files.bytes_present), "{a}");
    assert_eq!(a["missing_count"], 1, "{a}");
    let location = a["missing"][0]["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("{url}/file/files-field/")),
        "{location}"
    );
    assert_eq!(served.refused.load(Ordering::Relaxed), 0);
}
