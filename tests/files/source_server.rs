//! Files read through the source server's own file endpoints, with tokens signed as the server
//! signs its own.
//!
//! The server here is a stand-in for Twenty's file routes that checks each token the way
//! Twenty's guards do: `FilePathGuard` (`engine/core-modules/file/guards/file-path-guard.ts`)
//! for `/files/<folder>/<filename>` and `FileByIdGuard` (`file/guards/file-by-id.guard.ts`) for
//! `/file/files-field/<fileId>`, both through `JwtWrapperService.verifyJwtToken`
//! (`engine/core-modules/jwt/services/jwt-wrapper.service.ts`), in one of two eras ([`Guard`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use ring::rand::SecureRandom as _;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::Value;
use sha2::{Digest, Sha256};
use twenty_migrate::pipeline;
use twenty_migrate::source::server_files::SourceServer;
use uuid::Uuid;

use super::{
    assert_landed_files_match, attachment_report, client_for, download, sha256, start_twin,
    target_attachments, uploads, world,
};

const APP_SECRET: &str = "source-app-secret-6f1c";

/// Which `JwtWrapperService.verifyJwtToken` the stand-in plays.
enum Guard {
    /// Before 2.x: `verifyJwtToken(token, 'FILE')`, HS256 keyed by the hex SHA-256 of
    /// `APP_SECRET + workspaceId + "FILE"`, the type named by the guard.
    Before2,
    /// 2.21 (`resolveVerificationKey`): a header with `alg: ES256` and a `kid` is verified with
    /// that key's public key among the non-revoked rows of `core."signingKey"`
    /// (`signing-key-entity-cache-provider.service.ts`); any other token as HS256 keyed by
    /// `generateAppSecret(payload.type, workspaceId)`, the type read from the token.
    V2 {
        /// `kid` → the key's uncompressed P-256 point.
        public_keys: HashMap<String, Vec<u8>>,
    },
}

struct Served {
    secret: String,
    guard: Guard,
    storage: PathBuf,
    /// `core.file` id → path under the storage folder.
    by_id: HashMap<Uuid, PathBuf>,
    refused: AtomicU64,
    /// Tokens accepted, by algorithm.
    es256: AtomicU64,
    hs256: AtomicU64,
    /// Bytes of the files answered to GET requests.
    bytes_served: AtomicU64,
    /// Every this many requests is answered 503 (0: never), as a busy server would.
    flaky_every: u64,
    /// Requests seen, and those answered 503 on purpose.
    requests: AtomicU64,
    unavailable: AtomicU64,
}

/// A 503 for every `flaky_every`-th request of a flaky stand-in.
fn flaky(s: &Served) -> Option<Response> {
    let n = s.requests.fetch_add(1, Ordering::Relaxed) + 1;
    (s.flaky_every > 0 && n % s.flaky_every == 0).then(|| {
        s.unavailable.fetch_add(1, Ordering::Relaxed);
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    })
}

/// The claims of `token` when it verifies as the stand-in's era of Twenty would verify it.
fn verify(s: &Served, token: &str) -> Option<Value> {
    let (signed, signature) = token.rsplit_once('.')?;
    let (header, payload) = signed.split_once('.')?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let kid = header["kid"].as_str().filter(|k| !k.is_empty());
    let counter = match (&s.guard, header["alg"].as_str(), kid) {
        (Guard::V2 { public_keys }, Some("ES256"), Some(kid)) => {
            let point = public_keys.get(kid)?;
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(signed.as_bytes(), &signature)
            .ok()?;
            &s.es256
        }
        (_, Some("HS256"), _) => {
            let workspace = claims["workspaceId"].as_str()?;
            // A missing claim is "undefined" in the server's template string.
            let kind = match s.guard {
                Guard::Before2 => "FILE",
                Guard::V2 { .. } => claims["type"].as_str().unwrap_or("undefined"),
            };
            let key: String = Sha256::digest(format!("{}{workspace}{kind}", s.secret))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
            mac.update(signed.as_bytes());
            mac.verify_slice(&signature).ok()?;
            &s.hs256
        }
        _ => return None,
    };
    let exp = claims["exp"].as_i64();
    if exp.is_some_and(|e| e < chrono::Utc::now().timestamp()) {
        return None;
    }
    counter.fetch_add(1, Ordering::Relaxed);
    Some(claims)
}

fn refuse(s: &Served) -> Response {
    s.refused.fetch_add(1, Ordering::Relaxed);
    StatusCode::FORBIDDEN.into_response()
}

/// The file's bytes; a 2.x stand-in streams them, as 2.21 pipes its storage stream
/// (`file/controllers/file.controller.ts`): no Content-Length, not even to a HEAD.
fn serve_file(s: &Served, method: &Method, path: PathBuf) -> Response {
    let Ok(bytes) = std::fs::read(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if method == Method::GET {
        s.bytes_served
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    match s.guard {
        Guard::V2 { .. } => Body::from_stream(futures_util::stream::once(async move {
            Ok::<_, std::io::Error>(bytes)
        }))
        .into_response(),
        Guard::Before2 => bytes.into_response(),
    }
}

/// `GET /files/<folder…>/<filename>?token=`: FilePathGuard, then
/// `workspace-<workspaceId>/<folder…>/<filename>`.
async fn by_path(
    method: Method,
    State(s): State<Arc<Served>>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(busy) = flaky(&s) {
        return busy;
    }
    let Some(claims) = q.get("token").and_then(|t| verify(&s, t)) else {
        return refuse(&s);
    };
    let filename = path.rsplit('/').next().unwrap_or_default();
    if claims["filename"].as_str() != Some(filename) {
        return refuse(&s);
    }
    let ws = claims["workspaceId"].as_str().unwrap_or_default();
    serve_file(
        &s,
        &method,
        s.storage.join(format!("workspace-{ws}")).join(&path),
    )
}

/// `GET /file/<folder>/<id>?token=`: FileByIdGuard (supported folders, `fileId` claim).
async fn by_id(
    method: Method,
    State(s): State<Arc<Served>>,
    Path((folder, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(busy) = flaky(&s) {
        return busy;
    }
    if !["core-picture", "files-field"].contains(&folder.as_str()) {
        return refuse(&s);
    }
    let Some(claims) = q.get("token").and_then(|t| verify(&s, t)) else {
        return refuse(&s);
    };
    if claims["fileId"].as_str() != Some(id.as_str()) {
        return refuse(&s);
    }
    match id.parse().ok().and_then(|id: Uuid| s.by_id.get(&id)) {
        Some(path) => serve_file(&s, &method, path.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What the stand-in serves for `w`: its storage folder, and its 1.18+ files by id; a 2.x
/// guard knows the public keys of the source's non-revoked signing keys, as the server does.
async fn served(w: &super::World, v2: bool) -> Served {
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
    let guard = if v2 {
        let keys = w
            .client
            .query(
                "SELECT id::text, \"publicKey\" FROM core.\"signingKey\" WHERE \"revokedAt\" IS NULL",
                &[],
            )
            .await
            .unwrap();
        let public_keys = keys
            .iter()
            .map(|r| {
                let spki = pem_body(r.get(1));
                // A P-256 SPKI ends with the 65-byte uncompressed point.
                (r.get(0), spki[spki.len() - 65..].to_vec())
            })
            .collect();
        Guard::V2 { public_keys }
    } else {
        Guard::Before2
    };
    Served {
        secret: APP_SECRET.to_owned(),
        guard,
        storage: w.storage(),
        by_id,
        refused: AtomicU64::new(0),
        es256: AtomicU64::new(0),
        hs256: AtomicU64::new(0),
        bytes_served: AtomicU64::new(0),
        flaky_every: 0,
        requests: AtomicU64::new(0),
        unavailable: AtomicU64::new(0),
    }
}

/// The DER bytes of a PEM text.
fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// A PEM text of `label` around `der`, 64 characters a line as Node writes it.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// `value` encrypted as `SecretEncryptionService.encryptVersioned` stores instance secrets
/// (`engine/core-modules/secret-encryption/`): AES-256-GCM under HKDF-SHA256(`secret`, 32 zero
/// bytes, "twenty:enc:v2:instance"), `enc:v2:<sha256(secret)[..8]>:<base64(iv ‖ ct ‖ tag)>`.
fn encrypt_versioned(secret: &str, value: &str) -> String {
    let rng = ring::rand::SystemRandom::new();
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[0; 32]).extract(secret.as_bytes());
    let okm = prk
        .expand(&[b"twenty:enc:v2:instance"], &ring::aead::AES_256_GCM)
        .unwrap();
    let key = ring::aead::LessSafeKey::new(okm.into());
    let mut iv = [0u8; 12];
    rng.fill(&mut iv).unwrap();
    let mut sealed = value.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        ring::aead::Nonce::assume_unique_for_key(iv),
        ring::aead::Aad::empty(),
        &mut sealed,
    )
    .unwrap();
    let key_id: String = Sha256::digest(secret)
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "enc:v2:{key_id}:{}",
        STANDARD.encode([iv.as_slice(), &sealed].concat())
    )
}

/// Creates `core."signingKey"` as 2.21 has it (`jwt/entities/signing-key.entity.ts`) with one
/// revoked key; with `current`, also a current P-256 key made and stored as
/// `JwtKeyManagerService.generateAndPersistCurrent` does, whose id is returned.
async fn signing_keys(w: &super::World, current: bool) -> Option<Uuid> {
    w.client
        .batch_execute(
            "CREATE TABLE core.\"signingKey\" ( \
               id uuid PRIMARY KEY DEFAULT gen_random_uuid(), \
               \"publicKey\" varchar NOT NULL, \
               \"privateKey\" varchar, \
               \"isCurrent\" boolean NOT NULL DEFAULT false, \
               \"revokedAt\" timestamptz, \
               \"createdAt\" timestamptz NOT NULL DEFAULT now(), \
               \"updatedAt\" timestamptz NOT NULL DEFAULT now(), \
               CONSTRAINT \"CHK_signingKey_privateKey_encrypted\" \
                 CHECK (\"privateKey\" IS NULL OR \"privateKey\" LIKE 'enc:v2:%')); \
             CREATE UNIQUE INDEX \"IDX_SIGNING_KEY_IS_CURRENT_UNIQUE\" \
               ON core.\"signingKey\" (\"isCurrent\") WHERE \"isCurrent\" = true;",
        )
        .await
        .unwrap();
    let rng = ring::rand::SystemRandom::new();
    let mut stored = None;
    let rows: &[bool] = if current { &[false, true] } else { &[false] };
    for &is_current in rows {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // The SPKI header of a P-256 public key, then its uncompressed point.
        let mut spki = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        spki.extend_from_slice(pair.public_key().as_ref());
        let id = Uuid::new_v4();
        // A rotated or revoked key keeps its public key and loses its private one.
        let private =
            is_current.then(|| encrypt_versioned(APP_SECRET, &pem("PRIVATE KEY", pkcs8.as_ref())));
        let revoked = (!is_current).then(chrono::Utc::now);
        w.client
            .execute(
                "INSERT INTO core.\"signingKey\" (id, \"publicKey\", \"privateKey\", \"isCurrent\", \"revokedAt\") \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id, &pem("PUBLIC KEY", &spki), &private, &is_current, &revoked],
            )
            .await
            .unwrap();
        if is_current {
            stored = Some(id);
        }
    }
    stored
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
    let (url, served) = start(served(&w, false).await).await;

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
    // A source without signing keys (before 2.x) gets HS256 tokens.
    assert!(served.hs256.load(Ordering::Relaxed) > 0);
    assert_eq!(served.es256.load(Ordering::Relaxed), 0);
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
    let (url, served) = start(served(&w, false).await).await;
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

/// Runs `inspect --json` through the stand-in at `url`; its report.
fn inspect_through(w: &super::World, url: &str) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args([
            "inspect",
            "--json",
            "--source",
            &w.db.url,
            "--source-server",
            url,
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
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2x_source_is_read_through_its_server_with_es256_tokens_signed_by_its_signing_key() {
    let w = world(400, 1).await;
    let kid = signing_keys(&w, true).await.expect("a current key");
    let source = w.attachments().await;
    let (url, stand_in) = start(served(&w, true).await).await;

    // inspect finds every file with ES256 tokens.
    let report = inspect_through(&w, &url);
    let a = &report["workspace"]["attachments"];
    assert_eq!(
        a["files_found"].as_u64(),
        Some(w.generated.attachments.files_present),
        "{a}"
    );
    // Its HEAD tells no size (as 2.21's): `core.file.size` does.
    assert_eq!(
        a["bytes_found"].as_u64(),
        Some(w.generated.attachments.bytes_present),
        "{a}"
    );
    assert_eq!(stand_in.refused.load(Ordering::Relaxed), 0);
    assert!(stand_in.es256.load(Ordering::Relaxed) > 0);

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
        stand_in.refused.load(Ordering::Relaxed),
        0,
        "every token passed"
    );
    assert_eq!(stand_in.hs256.load(Ordering::Relaxed), 0, "no HS256 token");
    // Its HEAD tells no size (as 2.21's), so the bytes counted are those downloaded.
    assert_eq!(
        report.files.bytes,
        stand_in.bytes_served.load(Ordering::Relaxed),
        "{:?}",
        report.files
    );
    assert!(report.files.bytes > 0);
    assert_landed_files_match(&twin, &source, &target).await;

    // A server that no longer knows the key (revoked or rotated) refuses every token, and the
    // run stops naming the kind of token and the key.
    let mut forgetful = served(&w, true).await;
    forgetful.guard = Guard::V2 {
        public_keys: HashMap::new(),
    };
    let (url, forgetful) = start(forgetful).await;
    opts.files.server = Some(SourceServer {
        url,
        app_secret: APP_SECRET.to_owned(),
    });
    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let err = pipeline::migrate(&opts, &target)
        .await
        .expect_err("a refused token stops the run");
    let message = format!("{err:#}");
    assert!(
        message.contains("403") && message.contains("ES256") && message.contains(&kid.to_string()),
        "{message}"
    );
    assert!(
        !message.contains(APP_SECRET) && !message.contains("token="),
        "{message}"
    );
    assert!(forgetful.refused.load(Ordering::Relaxed) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_a_current_signing_key_gets_hs256_tokens_that_2x_verifies_by_their_type() {
    // 2.x makes its key on the first signature: before that the table has no current row.
    let w = world(400, 1).await;
    assert_eq!(signing_keys(&w, false).await, None);
    let (url, served) = start(served(&w, true).await).await;
    let report = inspect_through(&w, &url);
    let a = &report["workspace"]["attachments"];
    assert_eq!(
        a["files_found"].as_u64(),
        Some(w.generated.attachments.files_present),
        "{a}"
    );
    // Its HEAD tells no size (as 2.21's): `core.file.size` does.
    assert_eq!(
        a["bytes_found"].as_u64(),
        Some(w.generated.attachments.bytes_present),
        "{a}"
    );
    assert_eq!(
        served.refused.load(Ordering::Relaxed),
        0,
        "every token passed"
    );
    assert!(served.hs256.load(Ordering::Relaxed) > 0);
    assert_eq!(served.es256.load(Ordering::Relaxed), 0);
}

/// A source server that answers 503 to every third request: each file request is tried again
/// as the API client's requests are, and every file lands with nothing rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_source_server_is_asked_again_and_every_file_lands() {
    let w = world(200, 0).await;
    let source = w.attachments().await;
    let (url, served) = start(Served {
        flaky_every: 3,
        ..served(&w, false).await
    })
    .await;
    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let mut opts = w.options();
    opts.files.storage_dir = None;
    opts.files.server = Some(SourceServer {
        url,
        app_secret: APP_SECRET.to_owned(),
    });
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(r.written > 0, "{r:?}");
    assert!(
        served.unavailable.load(Ordering::Relaxed) > 0,
        "the stand-in answered 503s"
    );
    assert_landed_files_match(&twin, &source, &target).await;
}
