//! The files phase end to end: generated attachments move from a local storage folder into the
//! twin with their bytes, read back through the API and downloaded through the twin.

mod azure;
mod inspect_bucket;
mod source_server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use twenty_migrate::destination::{ApiKey, FindMany, Target, TargetConfig};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::pipeline::files::FileOptions;
use twenty_migrate::pipeline::{self, MigrateError, MigrateOptions};
use twenty_migrate::report::ObjectReport;
use twenty_migrate::twin::{FilesGeneration, Member, Twin, TwinConfig};
use uuid::Uuid;

mod direct_upload;
mod direct_upload_resume;

const KEY: &str = "files-key";

/// The links an attachment can have to objects the plan migrates.
const LINKS: &[(&str, &str)] = &[
    ("targetCompanyId", "company"),
    ("targetPersonId", "person"),
    ("targetNoteId", "note"),
    ("targetTaskId", "task"),
    ("targetOpportunityId", "opportunity"),
];

struct World {
    db: TestDatabase,
    client: tokio_postgres::Client,
    spec: WorkspaceSpec,
    generated: fixture::generate::Generated,
    dir: tempfile::TempDir,
}

async fn world(records: usize, missing_files: usize) -> World {
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
            seed: 17,
            records,
            storage_dir: Some(dir.path().join("storage")),
            missing_files,
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

/// One source attachment as the source database and storage hold it.
#[derive(Debug, Clone)]
struct SourceAttachment {
    id: Uuid,
    name: String,
    deleted: bool,
    /// The file's path in the storage folder.
    path: PathBuf,
    links: HashMap<&'static str, Option<Uuid>>,
}

impl World {
    fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    fn options(&self) -> MigrateOptions {
        MigrateOptions {
            page_size: 50,
            requests_per_minute: 1_000_000,
            restart: true,
            files: FileOptions {
                storage_dir: Some(self.storage()),
                ..FileOptions::default()
            },
            ..MigrateOptions::new(&self.db.url, self.dir.path())
        }
    }

    fn members(&self) -> Vec<Member> {
        self.generated.twin_members()
    }

    /// Every source attachment with its file's storage path, in id order.
    async fn attachments(&self) -> Vec<SourceAttachment> {
        let links: String = LINKS.iter().map(|(c, _)| format!(", a.\"{c}\"")).collect();
        let sql = format!(
            "SELECT a.id, a.name, a.\"deletedAt\" IS NOT NULL, f.path, app.\"universalIdentifier\"::text {links} \
             FROM \"{schema}\".attachment a \
             JOIN core.file f ON f.id = (a.file->0->>'fileId')::uuid \
             JOIN core.application app ON app.id = f.\"applicationId\" ORDER BY a.id",
            schema = self.spec.schema()
        );
        let rows = self.client.query(&sql, &[]).await.expect("attachments");
        rows.iter()
            .map(|r| {
                let path: String = r.get(3);
                let app: String = r.get(4);
                SourceAttachment {
                    id: r.get(0),
                    name: r.get(1),
                    deleted: r.get(2),
                    path: self
                        .storage()
                        .join(format!("{}/{app}/{path}", self.spec.id)),
                    links: LINKS
                        .iter()
                        .enumerate()
                        .map(|(i, (c, _))| (*c, r.get(5 + i)))
                        .collect(),
                }
            })
            .collect()
    }

    /// Whether a source row of `table` is soft-deleted (then links to it are written as null).
    async fn is_deleted(&self, table: &str, id: Uuid) -> bool {
        let sql = format!(
            "SELECT \"deletedAt\" IS NOT NULL FROM \"{}\".\"{table}\" WHERE id = $1",
            self.spec.schema()
        );
        self.client
            .query_opt(&sql, &[&id])
            .await
            .expect("parent")
            .is_none_or(|r| r.get::<_, bool>(0))
    }
}

async fn start_twin(members: Vec<Member>) -> Twin {
    TwinConfig::new(KEY)
        .members(members)
        .start()
        .await
        .expect("twin")
}

fn client_for(twin: &Twin, per_minute: u32) -> Target {
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(KEY));
    config.requests_per_minute = per_minute;
    Target::new(config).expect("target client")
}

fn uploads(twin: &Twin) -> u64 {
    twin.stats().by_route.get("upload").copied().unwrap_or(0)
}

/// Replaces a file's bytes with `size` pseudo-random bytes after its first 64 (which keep the
/// signature a real Twenty sniffs, `src/twin/sniff.rs`).
fn grow(path: &Path, size: usize) {
    let head: Vec<u8> = std::fs::read(path)
        .map(|b| b.into_iter().take(64).collect())
        .unwrap_or_default();
    let bytes: Vec<u8> = head
        .iter()
        .copied()
        .chain((head.len()..size).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8))
        .collect();
    std::fs::write(path, bytes).expect("write a large file");
}

/// The first bytes of a PNG as content sniffing finds it: signature and header chunk.
fn png_signature() -> Vec<u8> {
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    b.extend(b"IHDR");
    b.extend([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every attachment in the target, by id.
async fn target_attachments(target: &Target) -> HashMap<Uuid, Value> {
    target
        .find_all("attachments", &FindMany::default())
        .await
        .expect("read attachments back")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().parse().unwrap(), r))
        .collect()
}

/// The bytes of an uploaded file, downloaded through the twin.
async fn download(twin: &Twin, file_id: &str) -> Vec<u8> {
    let response = reqwest::Client::new()
        .get(format!("{}/files-field/{file_id}", twin.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("download");
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().await.expect("bytes").to_vec()
}

fn attachment_report(report: &twenty_migrate::report::RunReport) -> &ObjectReport {
    report
        .objects
        .iter()
        .find(|o| o.object == "attachment")
        .expect("attachments are migrated")
}

#[tokio::test]
async fn attachments_arrive_byte_identical_linked_to_the_same_records_with_the_same_names() {
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    let live: Vec<&SourceAttachment> = source.iter().filter(|a| !a.deleted).collect();
    assert!(live.len() >= 10, "{} live attachments", live.len());
    // One file of a few MB among the generated small ones.
    grow(&live[live.len() / 2].path, 3 * 1024 * 1024 + 17);

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.read, w.generated.attachments.records, "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    // Attachments of soft-deleted records are skipped with their parent, as Twenty cascades.
    let cascaded = r.skipped.get("parent-soft-deleted").copied().unwrap_or(0);
    assert_eq!(r.written, live.len() as u64 - cascaded, "{r:?}");
    assert_eq!(uploads(&twin), r.written, "one upload per file written");

    let landed = target_attachments(&target).await;
    assert_eq!(landed.len() as u64, r.written);
    let mut extensions = std::collections::BTreeSet::new();
    let mut largest = 0;
    let mut linked: HashMap<&str, usize> = HashMap::new();
    for a in &live {
        let Some(got) = landed.get(&a.id) else {
            continue;
        };
        assert_eq!(got["name"], Value::String(a.name.clone()), "{}", a.id);
        let files = got["file"].as_array().expect("a FILES value");
        assert_eq!(files.len(), 1, "{got}");
        assert_eq!(files[0]["label"], Value::String(a.name.clone()));
        let bytes = download(&twin, files[0]["fileId"].as_str().unwrap()).await;
        let want = std::fs::read(&a.path).expect("source bytes");
        assert_eq!(
            sha256(&bytes),
            sha256(&want),
            "{} ({}) differs",
            a.id,
            a.path.display()
        );
        largest = largest.max(bytes.len());
        if let Some(ext) = a.path.extension() {
            extensions.insert(ext.to_string_lossy().into_owned());
        }
        for (column, table) in LINKS {
            let want = a.links[column];
            let got = got[*column].as_str().map(|s| s.parse::<Uuid>().unwrap());
            match (want, got) {
                (Some(x), Some(y)) => {
                    assert_eq!(x, y, "{}.{column}", a.id);
                    *linked.entry(column).or_default() += 1;
                }
                // A link to a soft-deleted (not migrated) record is written as null.
                (Some(x), None) => assert!(
                    w.is_deleted(table, x).await,
                    "{}.{column} lost its link to {table} {x}",
                    a.id
                ),
                (None, Some(y)) => {
                    panic!("{}.{column} is {y} in the target, null in the source", a.id)
                }
                (None, None) => {}
            }
        }
    }
    assert!(largest > 3 * 1024 * 1024, "the large file landed whole");
    assert!(extensions.len() >= 5, "several types: {extensions:?}");
    assert!(
        linked.len() >= 4,
        "links of several kinds landed: {linked:?}"
    );
}

/// Checks that every landed attachment's file is the source's, byte for byte.
async fn assert_landed_files_match(twin: &Twin, source: &[SourceAttachment], target: &Target) {
    let landed = target_attachments(target).await;
    for a in source {
        let Some(got) = landed.get(&a.id) else {
            continue;
        };
        let file_id = got["file"][0]["fileId"].as_str().expect("a file id");
        let bytes = download(twin, file_id).await;
        let want = std::fs::read(&a.path).expect("source bytes");
        assert_eq!(sha256(&bytes), sha256(&want), "{} differs", a.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_an_interruption_in_the_files_phase_uploads_nothing_twice() {
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    let twin = start_twin(w.members()).await;
    // 20 requests a second: slow enough to stop the run while it uploads.
    let target = client_for(&twin, 1200);
    let mut opts = w.options();
    let cancel = opts.cancel.clone();
    let watcher = async {
        while uploads(&twin) < 4 {
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
    let first_uploads = uploads(&twin);
    let landed_first = target_attachments(&target).await.len();
    assert!(first_uploads >= 4, "{first_uploads}");

    // Resume: every file already uploaded is taken from the ledger.
    opts.restart = false;
    opts.cancel = tokio_util::sync::CancellationToken::new();
    let report = pipeline::migrate(&opts, &target).await.expect("resume");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert!(
        (landed_first as u64) < r.written,
        "the first run stopped before every attachment was written ({landed_first} of {})",
        r.written
    );
    assert_eq!(
        uploads(&twin),
        r.written,
        "each file uploaded exactly once across both runs ({first_uploads} in the first)"
    );
    assert_eq!(report.files.reused, first_uploads, "{:?}", report.files);
    assert_eq!(report.files.uploaded, r.written - first_uploads);
    assert_eq!(target_attachments(&target).await.len() as u64, r.written);
    assert_landed_files_match(&twin, &source, &target).await;
}

#[tokio::test]
async fn a_missing_file_and_a_too_large_file_are_rejects_with_reasons_and_every_other_file_lands() {
    let w = world(1000, 4).await;
    let source = w.attachments().await;
    let live: Vec<&SourceAttachment> = source.iter().filter(|a| !a.deleted).collect();
    let missing: Vec<&SourceAttachment> =
        live.iter().copied().filter(|a| !a.path.exists()).collect();
    assert!(
        !missing.is_empty(),
        "the seed leaves a live attachment without its file"
    );
    // A file over the cap, on an attachment whose parent is migrated.
    let mut large = None;
    for a in live.iter().filter(|a| a.path.exists()) {
        let mut parents_live = true;
        for (column, table) in LINKS {
            if let Some(p) = a.links[column] {
                parents_live &= !w.is_deleted(table, p).await;
            }
        }
        if parents_live && a.links.values().any(Option::is_some) {
            large = Some(*a);
            break;
        }
    }
    let large = large.expect("an attachment linked to a live record");
    grow(&large.path, 2 * 1024 * 1024);

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let mut opts = w.options();
    opts.files.max_file_size = 1024 * 1024;
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert_eq!(
        r.read,
        r.written + r.rejected + r.skipped.values().sum::<u64>(),
        "{r:?}"
    );

    // The rejects file names each file and why.
    let rejects: Vec<Value> = std::fs::read_to_string(&opts.rejects_path)
        .expect("rejects file")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["object"] == "attachment")
        .collect();
    assert_eq!(rejects.len() as u64, r.rejected, "{rejects:#?}");
    let reason = |id: Uuid| {
        rejects
            .iter()
            .find(|v| v["id"] == Value::String(id.to_string()))
            .map(|v| v["message"].as_str().unwrap().to_owned())
    };
    let too_large = reason(large.id).expect("the large file is a reject");
    assert!(too_large.contains("over the limit"), "{too_large}");
    assert!(
        too_large.contains(&large.path.display().to_string()),
        "{too_large}"
    );
    let mut missing_rejected = 0;
    for a in &missing {
        if let Some(message) = reason(a.id) {
            assert!(message.contains("missing"), "{message}");
            assert!(message.contains(&a.path.display().to_string()), "{message}");
            missing_rejected += 1;
        }
    }
    assert!(missing_rejected >= 1);
    assert_eq!(r.rejected, missing_rejected + 1, "{rejects:#?}");

    // Every other file landed, byte for byte.
    let cascaded = r.skipped.get("parent-soft-deleted").copied().unwrap_or(0);
    assert_eq!(
        r.written,
        live.len() as u64 - r.rejected - cascaded,
        "{r:?}"
    );
    assert_eq!(uploads(&twin), r.written);
    assert_landed_files_match(&twin, &source, &target).await;

    // With --skip-missing-files the missing ones are counted skips under a named rule.
    let twin2 = start_twin(w.members()).await;
    let target2 = client_for(&twin2, 1_000_000);
    opts.files.skip_missing_files = true;
    let report = pipeline::migrate(&opts, &target2).await.expect("migrate");
    let r2 = attachment_report(&report);
    assert!(r2.balances(), "{r2:?}");
    assert_eq!(
        r2.skipped.get("missing-file").copied(),
        Some(missing_rejected)
    );
    assert_eq!(r2.rejected, 1, "{r2:?}");
    assert_eq!(r2.written, r.written);
}

/// A moto S3 server started for one test, stopped when dropped.
struct Moto {
    _child: tokio::process::Child,
    endpoint: String,
}

impl Moto {
    /// Starts `moto_server` on a free port; `None` when it is not installed or does not answer.
    async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = tokio::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..150 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self {
                    _child: child,
                    endpoint,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    fn config(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "testing"),
            ("aws_secret_access_key", "testing"),
            ("aws_allow_http", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// Every file under `dir`, as (key relative to `root`, path).
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("read storage").flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((key, path));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_read_from_an_s3_compatible_bucket() {
    let Some(moto) = Moto::start().await else {
        eprintln!(
            "SKIPPED attachments_are_read_from_an_s3_compatible_bucket: moto_server is not installed \
             (pip install 'moto[server]'; .ci/run installs it)"
        );
        return;
    };
    let w = world(400, 1).await;
    let source = w.attachments().await;

    // The source's storage, copied into a bucket with the same keys.
    let bucket = "twenty-source";
    let status = reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .expect("create bucket")
        .status();
    assert!(status.is_success(), "{status}");
    let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
    for (k, v) in moto.config() {
        builder = builder.with_config(k.parse().unwrap(), v);
    }
    let store = builder.build().expect("s3 client");
    let mut files = Vec::new();
    walk(&w.storage(), &w.storage(), &mut files);
    assert!(!files.is_empty());
    for (key, path) in &files {
        let bytes = std::fs::read(path).unwrap();
        object_store::ObjectStore::put(&store, &key.as_str().into(), bytes.into())
            .await
            .expect("put");
    }

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let mut opts = w.options();
    opts.files.storage_dir = None;
    opts.files.bucket = Some(twenty_migrate::pipeline::files::Bucket {
        kind: twenty_migrate::pipeline::files::BucketKind::S3,
        name: bucket.to_owned(),
        config: moto.config(),
    });
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert!(r.written > 0, "{r:?}");
    assert_eq!(uploads(&twin), r.written);
    // The withheld file is missing from the bucket too: a reject naming its S3 URL.
    let rejects = std::fs::read_to_string(&opts.rejects_path).unwrap_or_default();
    let mut named = 0;
    for line in rejects.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["object"] == "attachment" {
            let message = v["message"].as_str().unwrap();
            assert!(message.contains("s3://twenty-source/"), "{message}");
            named += 1;
        }
    }
    assert_eq!(named, r.rejected);
    eprintln!(
        "s3: {} attachments written, {} rejected",
        r.written, r.rejected
    );
    assert_landed_files_match(&twin, &source, &target).await;
}

#[tokio::test]
async fn files_known_only_by_a_pre_1_18_path_move_too_an_attachments_full_path_and_a_persons_avatar_url(
) {
    let w = world(400, 0).await;
    let schema = w.spec.schema();
    let legacy_root = w.storage().join(format!("workspace-{}", w.spec.id));
    // An attachment uploaded before 1.18: no FILES value, only `fullPath`.
    let attachment = w
        .attachments()
        .await
        .into_iter()
        .find(|a| !a.deleted && a.links.values().any(Option::is_some))
        .expect("a live attachment");
    let pdf = b"%PDF-1.4\nlegacy attachment\n%%EOF\n".to_vec();
    std::fs::create_dir_all(legacy_root.join("attachment")).unwrap();
    std::fs::write(legacy_root.join("attachment/old-contract.pdf"), &pdf).unwrap();
    w.client
        .execute(
            &format!("UPDATE \"{schema}\".attachment SET file = '[]'::jsonb, \"fullPath\" = 'attachment/old-contract.pdf' WHERE id = $1"),
            &[&attachment.id],
        )
        .await
        .unwrap();
    // A person whose picture was uploaded before 1.18, and one hosted elsewhere.
    let ((pictured, hosted, lost), png) = legacy_pictures(&w, &legacy_root).await;

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());

    let landed = target_attachments(&target).await;
    let got = &landed[&attachment.id];
    assert_eq!(
        got["file"][0]["label"],
        Value::String(attachment.name.clone())
    );
    let bytes = download(&twin, got["file"][0]["fileId"].as_str().unwrap()).await;
    assert_eq!(sha256(&bytes), sha256(&pdf));

    let people = target
        .find_by_ids("people", &[pictured, hosted, lost])
        .await
        .expect("people");
    let person = |id: Uuid| {
        people
            .iter()
            .find(|p| p["id"] == Value::String(id.to_string()))
            .expect("person landed")
    };
    let avatar = &person(pictured)["avatarFile"];
    assert_eq!(avatar[0]["label"], "face.png", "{avatar}");
    let bytes = download(&twin, avatar[0]["fileId"].as_str().unwrap()).await;
    assert_eq!(sha256(&bytes), sha256(&png));
    // A person whose picture is gone is written without it, and the report says so.
    assert!(person(lost)["avatarFile"]
        .as_array()
        .is_none_or(Vec::is_empty));
    assert!(
        report
            .not_kept
            .iter()
            .any(|n| n.contains(&lost.to_string()) && n.contains("gone.png")),
        "{:?}",
        report.not_kept
    );
    let other = person(hosted);
    assert_eq!(
        other["avatarUrl"],
        "https://avatars.example.com/someone.png"
    );
    assert!(
        other["avatarFile"].as_array().is_none_or(Vec::is_empty),
        "{other}"
    );
}

// --- A target before Files v2 (uploadFile → fullPath) ---

async fn start_mid_twin(members: Vec<Member>) -> Twin {
    TwinConfig::new(KEY)
        .members(members)
        .files_generation(FilesGeneration::Mid)
        .start()
        .await
        .expect("twin")
}

/// The stored path behind a read attachment's `fullPath`, which the API answers signed as
/// `<server>/files/<path>?token=<token>` (one token: the path is stored without one).
fn stored_path(twin: &Twin, signed: &Value) -> String {
    let signed = signed.as_str().expect("a fullPath");
    let rest = signed
        .strip_prefix(&format!("{}/files/", twin.base_url()))
        .unwrap_or_else(|| panic!("an absolute files URL: {signed}"));
    let (path, token) = rest.split_once("?token=").expect("signed");
    assert!(!token.contains("token="), "stored with a token: {signed}");
    path.to_owned()
}

/// The bytes behind a mid-generation path, downloaded as the front does: `/files/<path>` with
/// the file token that the upload answered (the twin's token depends on the stored name only).
async fn download_path(twin: &Twin, path: &str) -> Vec<u8> {
    let name = path.rsplit('/').next().unwrap();
    let token = twenty_migrate::twin::file_token(name);
    let response = reqwest::Client::new()
        .get(format!("{}/files/{path}?token={token}", twin.base_url()))
        .send()
        .await
        .expect("download");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.bytes().await.expect("bytes").to_vec()
}

#[tokio::test]
async fn the_generated_workspace_migrated_into_a_mid_generation_twin_lands_every_attachment_byte_identical(
) {
    let w = world(1000, 0).await;
    let source = w.attachments().await;
    let live: Vec<&SourceAttachment> = source.iter().filter(|a| !a.deleted).collect();
    let twin = start_mid_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.read, w.generated.attachments.records, "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    let cascaded = r.skipped.get("parent-soft-deleted").copied().unwrap_or(0);
    assert_eq!(r.written, live.len() as u64 - cascaded, "{r:?}");
    assert_eq!(uploads(&twin), r.written, "one upload per file written");
    // Uploads went to the core endpoint, not to `/metadata`.
    assert!(twin.stats().by_route.get("graphql").is_none_or(|n| *n == 0));

    let landed = target_attachments(&target).await;
    assert_eq!(landed.len() as u64, r.written);
    let mut checked = 0;
    for a in &live {
        let Some(got) = landed.get(&a.id) else {
            continue;
        };
        assert_eq!(got["name"], Value::String(a.name.clone()), "{}", a.id);
        assert!(got.get("file").is_none(), "no FILES field: {got}");
        let path = stored_path(&twin, &got["fullPath"]);
        assert!(path.starts_with("attachment/"), "{path}");
        let want_category = twenty_migrate::pipeline::files::file_category(&a.name);
        assert!(
            got["fileCategory"].is_string(),
            "a category for {}: {got}",
            a.name
        );
        // The generator's categories are Twenty's for the extension.
        assert_eq!(got["fileCategory"], want_category, "{}", a.name);
        let bytes = download_path(&twin, &path).await;
        let want = std::fs::read(&a.path).expect("source bytes");
        assert_eq!(sha256(&bytes), sha256(&want), "{} differs", a.id);
        // The signed URL the API answers works as it is.
        let direct = reqwest::get(got["fullPath"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(sha256(&direct.bytes().await.unwrap()), sha256(&want));
        for (column, _) in LINKS {
            let want = a.links[column].map(|u| u.to_string());
            if let Some(want) = want {
                if got[*column].is_string() {
                    assert_eq!(got[*column].as_str(), Some(want.as_str()), "{}", a.id);
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked as u64, r.written);
    // Nothing was sent to the Files v2 route.
    let dump: Value = reqwest::get(format!("{}/__twin/dump", twin.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(dump["files"].as_array().unwrap().iter().all(|f| f["path"]
        .as_str()
        .unwrap()
        .starts_with("attachment/")
        || f["path"].as_str().unwrap().starts_with("person-picture/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_an_interruption_uploads_nothing_twice_on_the_mid_generation() {
    let w = world(1000, 0).await;
    let twin = start_mid_twin(w.members()).await;
    let target = client_for(&twin, 1200);
    let mut opts = w.options();
    let cancel = opts.cancel.clone();
    let watcher = async {
        while uploads(&twin) < 4 {
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
    let first_uploads = uploads(&twin);
    opts.restart = false;
    opts.cancel = tokio_util::sync::CancellationToken::new();
    let report = pipeline::migrate(&opts, &target).await.expect("resume");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert_eq!(
        uploads(&twin),
        r.written,
        "each file uploaded exactly once across both runs ({first_uploads} in the first)"
    );
    assert_eq!(report.files.reused, first_uploads, "{:?}", report.files);
    let landed = target_attachments(&target).await;
    assert_eq!(landed.len() as u64, r.written);
    let source = w.attachments().await;
    for a in &source {
        if let Some(got) = landed.get(&a.id) {
            let bytes = download_path(&twin, &stored_path(&twin, &got["fullPath"])).await;
            assert_eq!(sha256(&bytes), sha256(&std::fs::read(&a.path).unwrap()));
        }
    }
}

#[tokio::test]
async fn the_mid_generation_twin_refuses_an_upload_without_the_key_and_a_download_without_the_token(
) {
    let twin = start_mid_twin(Vec::new()).await;
    let operations = r#"{"query":"mutation($file: Upload!, $fileFolder: FileFolder) { uploadFile(file: $file, fileFolder: $fileFolder) { path token } }","variables":{"file":null,"fileFolder":"Attachment"}}"#;
    let form = || {
        reqwest::multipart::Form::new()
            .text("operations", operations)
            .text("map", r#"{"0":["variables.file"]}"#)
            .part(
                "0",
                reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"),
            )
    };
    let http = reqwest::Client::new();
    let refused: Value = http
        .post(format!("{}/graphql", twin.base_url()))
        .multipart(form())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(refused["errors"].is_array(), "{refused}");
    let ok: Value = http
        .post(format!("{}/graphql", twin.base_url()))
        .bearer_auth(KEY)
        .multipart(form())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = ok["data"]["uploadFile"]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("a path: {ok}"));
    assert!(
        path.starts_with("attachment/") && path.ends_with(".txt"),
        "{ok}"
    );
    let token = ok["data"]["uploadFile"]["token"].as_str().unwrap();
    let url = format!("{}/files/{path}", twin.base_url());
    assert_eq!(http.get(&url).send().await.unwrap().status(), 403);
    let got = http
        .get(format!("{url}?token={token}"))
        .send()
        .await
        .unwrap();
    assert!(got.status().is_success());
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"hello");
    // An unknown folder is not a FileFolder value.
    let bad: Value = http
        .post(format!("{}/graphql", twin.base_url()))
        .bearer_auth(KEY)
        .multipart(
            reqwest::multipart::Form::new()
                .text("operations", operations.replace("Attachment", "attachment"))
                .text("map", r#"{"0":["variables.file"]}"#)
                .part(
                    "0",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
                ),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(bad["errors"].is_array(), "{bad}");
}

// --- Files embedded in rich text ---

/// A note or task whose body shows one of its image attachments.
#[derive(Debug)]
struct Embedded {
    plural: &'static str,
    id: Uuid,
    source_url: String,
    attachment: Uuid,
}

impl World {
    /// The generated records whose body embeds an image, with the embedded attachment.
    async fn embedded(&self) -> Vec<Embedded> {
        let schema = self.spec.schema();
        let mut out = Vec::new();
        for (table, plural, column) in [
            ("note", "notes", "targetNoteId"),
            ("task", "tasks", "targetTaskId"),
        ] {
            let sql = format!(
                "SELECT r.id, r.\"bodyV2Blocknote\", a.id FROM \"{schema}\".\"{table}\" r \
                 JOIN \"{schema}\".attachment a ON a.\"{column}\" = r.id \
                   AND a.file->0->>'fileId' = (r.\"bodyV2Blocknote\"::jsonb -> -1 -> 'props' ->> 'attachmentFileId') \
                 WHERE r.\"deletedAt\" IS NULL AND r.\"bodyV2Blocknote\"::jsonb -> -1 -> 'props' ? 'attachmentFileId'"
            );
            for row in self.client.query(&sql, &[]).await.expect("embedded") {
                let blocks: Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
                let image = blocks.as_array().unwrap().last().unwrap();
                out.push(Embedded {
                    plural,
                    id: row.get(0),
                    source_url: image["props"]["url"].as_str().unwrap().to_owned(),
                    attachment: row.get(2),
                });
            }
        }
        out
    }
}

/// The last block of a body (where the generator puts the image) and the Markdown.
fn image_of(record: &Value) -> (Value, String) {
    let body = &record["bodyV2"];
    let blocks: Value =
        serde_json::from_str(body["blocknote"].as_str().expect("blocknote")).unwrap();
    let image = blocks.as_array().unwrap().last().unwrap().clone();
    (
        image,
        body["markdown"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_note_whose_body_embeds_an_attachment_image_points_at_the_targets_file_after_migration() {
    let w = world(1000, 0).await;
    let embedded = w.embedded().await;
    eprintln!("{} notes and tasks embed an attachment", embedded.len());
    assert!(
        embedded.len() >= 3,
        "the generator embeds images: {embedded:?}"
    );
    assert!(embedded
        .iter()
        .any(|e| e.source_url.contains("/files/attachment/")));
    assert!(embedded
        .iter()
        .any(|e| e.source_url.contains("/files-field/")));
    let source: HashMap<Uuid, SourceAttachment> = w
        .attachments()
        .await
        .into_iter()
        .map(|a| (a.id, a))
        .collect();

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let opts = w.options();
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    // The embedded files are the attachments' files: nothing is uploaded twice.
    assert_eq!(uploads(&twin), r.written, "{:?}", report.files);
    assert_eq!(report.files.reused, 0, "{:?}", report.files);
    assert!(
        report.not_kept.iter().all(|n| !n.contains("embedded file")),
        "{:?}",
        report.not_kept
    );

    let landed = target_attachments(&target).await;
    for e in &embedded {
        let record = &target.find_by_ids(e.plural, &[e.id]).await.expect("read")[0];
        let (image, markdown) = image_of(record);
        let url = image["props"]["url"].as_str().unwrap();
        let file_id = image["props"]["attachmentFileId"].as_str().unwrap();
        assert_eq!(
            url,
            format!("{}/files-field/{file_id}", twin.base_url()),
            "{e:?}"
        );
        assert_eq!(
            landed[&e.attachment]["file"][0]["fileId"].as_str(),
            Some(file_id),
            "the block and its attachment share the target's file"
        );
        assert!(
            markdown.contains(url) && !markdown.contains("localhost:3000"),
            "{markdown}"
        );
        let bytes = download(&twin, file_id).await;
        let want = std::fs::read(&source[&e.attachment].path).unwrap();
        assert_eq!(sha256(&bytes), sha256(&want), "{e:?}");
    }

    // Verify compares the bodies around the files and finds nothing to report.
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    let body_diffs: Vec<_> = check
        .differences
        .iter()
        .filter(|d| d.field == "bodyV2")
        .collect();
    assert!(body_diffs.is_empty(), "{body_diffs:#?}");
}

#[tokio::test]
async fn embedded_images_point_at_the_uploaded_path_on_the_mid_generation_and_verify_agrees() {
    let w = world(1000, 0).await;
    let embedded = w.embedded().await;
    assert!(!embedded.is_empty());
    let twin = start_mid_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let opts = w.options();
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert_eq!(r.rejected, 0, "{}", report.render_text());
    assert_eq!(uploads(&twin), r.written, "{:?}", report.files);
    let landed = target_attachments(&target).await;
    for e in &embedded {
        let record = &target.find_by_ids(e.plural, &[e.id]).await.expect("read")[0];
        let (image, markdown) = image_of(record);
        let url = image["props"]["url"].as_str().unwrap();
        // The block points where the attachment's signed URL does.
        let signed = landed[&e.attachment]["fullPath"].as_str().unwrap();
        assert_eq!(url, signed);
        assert!(image["props"].get("attachmentFileId").is_none(), "{image}");
        assert!(markdown.contains(url), "{markdown}");
        // The URL works as it is, token included.
        let got = reqwest::get(url).await.unwrap();
        assert!(got.status().is_success(), "{url}: {}", got.status());
    }
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    let file_diffs: Vec<_> = check
        .differences
        .iter()
        .filter(|d| {
            matches!(
                d.field.as_str(),
                "bodyV2" | "fullPath" | "fileCategory" | "avatarUrl"
            )
        })
        .collect();
    assert!(file_diffs.is_empty(), "{file_diffs:#?}");
}

#[tokio::test]
async fn an_embedded_image_known_only_by_its_url_moves_and_a_missing_one_keeps_its_url_with_a_note()
{
    let w = world(400, 0).await;
    let schema = w.spec.schema();
    let legacy_root = w.storage().join(format!("workspace-{}", w.spec.id));
    std::fs::create_dir_all(legacy_root.join("attachment")).unwrap();
    let png: Vec<u8> = png_signature().into_iter().chain(0..=255u8).collect();
    std::fs::write(legacy_root.join("attachment/inline.png"), &png).unwrap();
    let kept = "http://old.example:3000/files/attachment/gone.png?token=abc";
    let moved = "http://old.example:3000/files/attachment/inline.png?token=abc";
    let elsewhere = "https://images.example.com/cat.png";
    let blocks = serde_json::json!([
        {"id": "a", "type": "paragraph", "props": {}, "content": [], "children": []},
        {"id": "b", "type": "image", "props": {"url": moved, "name": "inline.png"}, "children": []},
        {"id": "c", "type": "image", "props": {"url": kept, "name": "gone.png"}, "children": []},
        {"id": "d", "type": "image", "props": {"url": elsewhere}, "children": []}
    ]);
    let markdown = format!("![inline]({moved})\n![gone]({kept})\n![cat]({elsewhere})\n");
    let note: Uuid = w
        .client
        .query_one(
            &format!(
                "SELECT id FROM \"{schema}\".note WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 1"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    w.client
        .execute(
            &format!("UPDATE \"{schema}\".note SET \"bodyV2Blocknote\" = $2, \"bodyV2Markdown\" = $3 WHERE id = $1"),
            &[&note, &blocks.to_string(), &markdown],
        )
        .await
        .unwrap();

    let twin = start_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    let r = attachment_report(&report);
    assert_eq!(
        uploads(&twin),
        r.written + 1,
        "the inline image is one more file"
    );
    let record = &target.find_by_ids("notes", &[note]).await.unwrap()[0];
    let body = &record["bodyV2"];
    let got: Value = serde_json::from_str(body["blocknote"].as_str().unwrap()).unwrap();
    let new_url = got[1]["props"]["url"].as_str().unwrap();
    assert!(
        new_url.starts_with(&format!("{}/files-field/", twin.base_url())),
        "{new_url}"
    );
    let bytes = download(&twin, got[1]["props"]["attachmentFileId"].as_str().unwrap()).await;
    assert_eq!(sha256(&bytes), sha256(&png));
    assert_eq!(got[2]["props"]["url"], kept, "a missing file keeps its URL");
    assert_eq!(
        got[3]["props"]["url"], elsewhere,
        "other hosts are left alone"
    );
    let md = body["markdown"].as_str().unwrap();
    assert!(
        md.contains(new_url) && md.contains(kept) && md.contains(elsewhere),
        "{md}"
    );
    assert!(
        report.not_kept.iter().any(|n| n.contains(&note.to_string())
            && n.contains("gone.png")
            && n.contains("keeps its source URL")),
        "{:?}",
        report.not_kept
    );
}

#[tokio::test]
async fn on_the_mid_generation_a_persons_picture_moves_into_avatar_url_and_a_lost_one_is_cleared_with_a_note(
) {
    let w = world(400, 0).await;
    let legacy_root = w.storage().join(format!("workspace-{}", w.spec.id));
    let ((pictured, hosted, lost), png) = legacy_pictures(&w, &legacy_root).await;
    let twin = start_mid_twin(w.members()).await;
    let target = client_for(&twin, 1_000_000);
    let report = pipeline::migrate(&w.options(), &target)
        .await
        .expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    let people = target
        .find_by_ids("people", &[pictured, hosted, lost])
        .await
        .expect("people");
    let person = |id: Uuid| {
        people
            .iter()
            .find(|p| p["id"] == Value::String(id.to_string()))
            .expect("person landed")
    };
    let path = person(pictured)["avatarUrl"]
        .as_str()
        .expect("a path")
        .to_owned();
    assert!(
        path.starts_with("person-picture/") && path.ends_with(".png"),
        "{path}"
    );
    assert_eq!(sha256(&download_path(&twin, &path).await), sha256(&png));
    assert!(person(pictured).get("avatarFile").is_none());
    assert_eq!(
        person(hosted)["avatarUrl"],
        "https://avatars.example.com/someone.png"
    );
    assert!(person(lost)["avatarUrl"].is_null(), "{}", person(lost));
    assert!(
        report
            .not_kept
            .iter()
            .any(|n| n.contains(&lost.to_string()) && n.contains("gone.png")),
        "{:?}",
        report.not_kept
    );
}

#[tokio::test]
async fn the_old_generation_answers_a_string_path_and_attachments_still_land_byte_identical() {
    let w = world(400, 0).await;
    let source = w.attachments().await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .files_generation(FilesGeneration::Old)
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
    assert!(r.written > 0);
    // The first file is sent with the mid-generation selection, which the String answer
    // refuses; every later one goes at once in the old form.
    assert_eq!(
        uploads(&twin),
        report.files.uploaded + 1,
        "{:?}",
        report.files
    );
    let landed = target_attachments(&target).await;
    assert_eq!(landed.len() as u64, r.written);
    for a in &source {
        let Some(got) = landed.get(&a.id) else {
            continue;
        };
        let path = stored_path(&twin, &got["fullPath"]);
        assert!(path.starts_with("attachment/"), "{path}");
        assert!(got.get("fileCategory").is_none(), "{got}");
        let bytes = download_path(&twin, &path).await;
        assert_eq!(
            sha256(&bytes),
            sha256(&std::fs::read(&a.path).unwrap()),
            "{}",
            a.id
        );
    }
}

#[tokio::test]
async fn only_a_files_v2_twin_has_files_fields_or_lets_one_be_created() {
    for (generation, allowed) in [(FilesGeneration::V2, true), (FilesGeneration::Mid, false)] {
        let twin = TwinConfig::new(KEY)
            .files_generation(generation)
            .start()
            .await
            .expect("twin");
        let target = client_for(&twin, 1_000_000);
        let model = target.model().await.expect("model");
        let person = model.object("person").expect("person");
        let attachment = model.object("attachment").expect("attachment");
        assert_eq!(
            attachment.field("file").is_some(),
            allowed,
            "{generation:?}"
        );
        assert_eq!(
            person.field("avatarFile").is_some(),
            allowed,
            "{generation:?}"
        );
        assert!(attachment.field("fullPath").is_some(), "{generation:?}");
        let created = target
            .create_field(serde_json::json!({
                "objectMetadataId": person.id.to_string(),
                "type": "FILES",
                "name": "contracts",
                "label": "Contracts",
            }))
            .await;
        assert_eq!(created.is_ok(), allowed, "{generation:?}: {created:?}");
    }
}

/// Three live people with pre-1.18 `avatarUrl`s: a picture in the legacy storage folder
/// (`legacy_root`), a picture hosted elsewhere, and one whose file is gone. Their ids and the
/// picture's bytes.
async fn legacy_pictures(w: &World, legacy_root: &Path) -> ((Uuid, Uuid, Uuid), Vec<u8>) {
    let schema = w.spec.schema();
    let people = w
        .client
        .query(
            &format!("SELECT id FROM \"{schema}\".person WHERE \"deletedAt\" IS NULL ORDER BY id LIMIT 3"),
            &[],
        )
        .await
        .unwrap();
    let (pictured, hosted, lost): (Uuid, Uuid, Uuid) =
        (people[0].get(0), people[1].get(0), people[2].get(0));
    let png: Vec<u8> = png_signature()
        .into_iter()
        .chain((0..900u32).map(|i| (i * 7) as u8))
        .collect();
    std::fs::create_dir_all(legacy_root.join("person-picture/original")).unwrap();
    std::fs::write(legacy_root.join("person-picture/original/face.png"), &png).unwrap();
    for (id, url) in [
        (pictured, "person-picture/original/face.png"),
        (hosted, "https://avatars.example.com/someone.png"),
        (lost, "person-picture/original/gone.png"),
    ] {
        w.client
            .execute(
                &format!("UPDATE \"{schema}\".person SET \"avatarUrl\" = $2 WHERE id = $1"),
                &[&id, &url],
            )
            .await
            .unwrap();
    }
    ((pictured, hosted, lost), png)
}
