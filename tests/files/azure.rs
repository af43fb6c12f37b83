//! Attachments read from an Azure Blob Storage container, served by Azurite (Microsoft's
//! storage emulator, from the npm registry; `.ci/run` installs it).

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use twenty_migrate::pipeline;
use twenty_migrate::pipeline::files::{Bucket, BucketKind};

use super::{
    assert_landed_files_match, attachment_report, client_for, start_twin, uploads, walk, world,
};

/// Azurite's well-known development account.
const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key (public, documented by Microsoft; not a secret).
pub(super) const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azurite blob server started for one test, stopped when dropped.
pub(super) struct Azurite {
    _child: tokio::process::Child,
    /// The account's blob endpoint, path style: `http://127.0.0.1:<port>/devstoreaccount1`.
    endpoint: String,
    _dir: tempfile::TempDir,
}

/// Where `azurite-blob` is: on the PATH, or where `.ci/run` installs it.
fn azurite_binary() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("azurite-blob"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = std::path::PathBuf::from("/opt/azurite/node_modules/.bin/azurite-blob");
        p.is_file().then_some(p)
    })
}

impl Azurite {
    /// Starts `azurite-blob` on a free port; `None` when it is not installed or does not answer.
    pub(super) async fn start() -> Option<Self> {
        let binary = azurite_binary()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = tempfile::tempdir().ok()?;
        let child = tokio::process::Command::new(binary)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--location".as_ref(), dir.path().as_os_str()])
            .args([
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self {
                    _child: child,
                    endpoint: format!("http://127.0.0.1:{port}/{ACCOUNT}"),
                    _dir: dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// The account's blob endpoint (`AZURE_STORAGE_ENDPOINT`).
    pub(super) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `object_store` settings the tool is given (the same keys as `AZURE_STORAGE_*`).
    pub(super) fn config(&self) -> Vec<(String, String)> {
        [
            ("azure_storage_account_name", ACCOUNT),
            ("azure_storage_account_key", ACCOUNT_KEY),
            ("azure_storage_endpoint", self.endpoint.as_str()),
            ("azure_allow_http", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Creates a container (object_store cannot), signed with the account's shared key.
    pub(super) async fn create_container(&self, name: &str) {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let version = "2021-08-06";
        // Shared Key string-to-sign: verb, eleven standard headers (all empty here), the
        // x-ms- headers, then `/<account><path>` and the query parameters.
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{ACCOUNT}/{ACCOUNT}/{name}\nrestype:container"
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(ACCOUNT_KEY)
            .unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(to_sign.as_bytes());
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let status = reqwest::Client::new()
            .put(format!("{}/{name}?restype=container", self.endpoint))
            .header("x-ms-date", date)
            .header("x-ms-version", version)
            .header("Content-Length", "0")
            .header("Authorization", format!("SharedKey {ACCOUNT}:{signature}"))
            .send()
            .await
            .expect("create container")
            .status();
        assert!(status.is_success(), "create container: {status}");
    }

    /// A client of the container, to fill it.
    pub(super) fn store(&self, container: &str) -> object_store::azure::MicrosoftAzure {
        let mut b =
            object_store::azure::MicrosoftAzureBuilder::new().with_container_name(container);
        for (k, v) in self.config() {
            b = b.with_config(k.parse().unwrap(), v);
        }
        b.build().expect("azure client")
    }
}

/// Prints the loud skip line of a test that needs Azurite.
pub(super) fn skipped(test: &str) {
    eprintln!(
        "SKIPPED {test}: azurite is not installed \
         (npm install --prefix /opt/azurite azurite@3; .ci/run installs it)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_read_from_an_azure_blob_container_byte_identical() {
    let Some(azurite) = Azurite::start().await else {
        skipped("attachments_are_read_from_an_azure_blob_container_byte_identical");
        return;
    };
    let w = world(400, 1).await;
    let source = w.attachments().await;

    // The source's storage, copied into a container with the same keys.
    let container = "twenty-source";
    azurite.create_container(container).await;
    let store = azurite.store(container);
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
    opts.files.bucket = Some(Bucket {
        kind: BucketKind::Azure,
        name: container.to_owned(),
        config: azurite.config(),
    });
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    let r = attachment_report(&report);
    assert!(r.balances(), "{r:?}");
    assert!(r.written > 0, "{r:?}");
    assert_eq!(uploads(&twin), r.written);
    // The withheld file is missing from the container too: a reject naming its az:// URL.
    let rejects = std::fs::read_to_string(&opts.rejects_path).unwrap_or_default();
    let mut named = 0;
    for line in rejects.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["object"] == "attachment" {
            let message = v["message"].as_str().unwrap();
            assert!(message.contains("az://twenty-source/"), "{message}");
            named += 1;
        }
    }
    assert!(named >= 1, "the withheld file is a reject: {rejects}");
    assert_eq!(named, r.rejected);
    // The account key appears in nothing the run wrote.
    assert!(!rejects.contains(ACCOUNT_KEY));
    assert!(!report.render_text().contains(ACCOUNT_KEY));
    eprintln!(
        "azure: {} attachments written, {} rejected",
        r.written, r.rejected
    );
    assert_landed_files_match(&twin, &source, &target).await;
}
