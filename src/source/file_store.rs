//! The source's file bytes: a local storage folder, an S3 or Azure bucket, or the source
//! server's own file endpoints ([`super::server_files`]). Read-only: files are found, measured
//! and copied to temporary files, never changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use tokio::io::AsyncWriteExt;
use tokio_postgres::Client;
use uuid::Uuid;

use super::server_files::SourceServer;
use super::storage::CoreFile;
use super::SourceError;

/// Why the source's storage cannot be read (a file that is not there is [`Missing`], not this).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The bucket cannot be used.
    #[error("the source bucket {bucket} cannot be used: {source}")]
    Bucket {
        /// The bucket's URL.
        bucket: String,
        /// The storage client's error.
        #[source]
        source: object_store::Error,
    },
    /// The source server refused or failed a file request (other than not having the file).
    #[error("reading {url} from the source server: {message}")]
    Server {
        /// The file's URL, without its token.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A file could not be read from the bucket (other than not being there).
    #[error("reading {key} from the source bucket {bucket}: {source}")]
    Read {
        /// The bucket's URL.
        bucket: String,
        /// The storage key.
        key: String,
        /// The storage client's error.
        #[source]
        source: object_store::Error,
    },
    /// A local temporary file failed.
    #[error("the temporary file {path}: {source}")]
    Temp {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A file that is not where the source says: where it was looked for, and why it is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The path or URL looked at.
    pub path: String,
    /// Why it is not there.
    pub why: String,
}

/// The kind of bucket a self-hosted Twenty keeps its files in (`STORAGE_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketKind {
    /// An S3-compatible bucket (`STORAGE_TYPE=s3`, `STORAGE_S3_NAME`).
    S3,
    /// An Azure Blob Storage container (`STORAGE_TYPE=azure`).
    Azure,
}

/// A bucket to read the source's files from, with the same keys as the local folder.
#[derive(Clone, PartialEq, Eq)]
pub struct Bucket {
    /// S3 or Azure.
    pub kind: BucketKind,
    /// The bucket (S3) or container (Azure) name.
    pub name: String,
    /// Settings by `object_store` config key (`aws_endpoint`, `aws_region`, …), over those read
    /// from the standard environment variables (`AWS_*`, `AZURE_*`).
    pub config: Vec<(String, String)>,
}

/// Shows the settings' names only: their values may be an account key or a secret.
impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.config.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Bucket")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("config", &keys)
            .finish()
    }
}

/// Where the source's bytes are read from.
pub(crate) enum Storage {
    /// Neither a folder nor a bucket was given: every file is missing.
    Nothing,
    /// A local storage folder.
    Local(PathBuf),
    /// An S3 or Azure bucket.
    Bucket {
        store: Arc<dyn ObjectStore>,
        url: String,
        temp_dir: PathBuf,
    },
    /// The source server's file endpoints (`crate::source::server_files`).
    Server {
        server: super::server_files::SourceServer,
        /// HS256 until [`Storage::read_signing_key`] finds the source's signing key.
        signer: super::server_files::FileSigner,
        /// Whether the source's signing key was looked for.
        key_read: bool,
        client: reqwest::Client,
        workspace_id: Uuid,
        /// 1.18+ storage key → `core.file` id, which the server's URL names, and size.
        ids: HashMap<String, (Uuid, Option<u64>)>,
        temp_dir: PathBuf,
    },
}

/// One file found in the storage.
pub(crate) enum Location {
    Local(PathBuf),
    Object(ObjectPath),
}

impl Location {
    /// How messages name the file: a local path or `s3://bucket/key`.
    pub(crate) fn display(&self, storage: &Storage) -> String {
        match (self, storage) {
            (Location::Local(p), _) => p.display().to_string(),
            (Location::Object(key), Storage::Bucket { url, .. }) => format!("{url}/{key}"),
            (Location::Object(key), Storage::Server { .. }) => storage
                .server_url(key.as_ref())
                .map(|(shown, _)| shown)
                .unwrap_or_else(|| key.to_string()),
            (Location::Object(key), _) => key.to_string(),
        }
    }
}

/// A temporary copy of a bucket's object, removed when dropped.
pub(crate) struct TempFile(pub(crate) PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Bucket { temp_dir, .. } | Storage::Server { temp_dir, .. } = self {
            // Empty by now: each temporary copy is removed after its upload.
            let _ = std::fs::remove_dir(temp_dir);
        }
    }
}

impl Storage {
    /// The folder or bucket that `options` name (no request is made yet).
    pub(crate) fn open(
        storage_dir: Option<&Path>,
        bucket: Option<&Bucket>,
        server: Option<&SourceServer>,
    ) -> Result<Self, StorageError> {
        let temp_dir =
            std::env::temp_dir().join(format!("twenty-migrate-files-{}", std::process::id()));
        let Some(bucket) = bucket else {
            return Ok(match (storage_dir, server) {
                (Some(root), _) => Storage::Local(root.to_owned()),
                (None, Some(server)) => Storage::Server {
                    server: server.clone(),
                    signer: super::server_files::FileSigner::Hs256 {
                        app_secret: server.app_secret.clone(),
                    },
                    key_read: false,
                    client: reqwest::Client::new(),
                    workspace_id: Uuid::nil(),
                    ids: HashMap::new(),
                    temp_dir,
                },
                (None, None) => Storage::Nothing,
            });
        };
        let (url, built) = match bucket.kind {
            BucketKind::S3 => {
                let url = format!("s3://{}", bucket.name);
                let mut b =
                    object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&bucket.name);
                for (key, value) in &bucket.config {
                    let key = key.parse().map_err(|source| StorageError::Bucket {
                        bucket: url.clone(),
                        source,
                    })?;
                    b = b.with_config(key, value);
                }
                (url, b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>))
            }
            BucketKind::Azure => {
                let url = format!("az://{}", bucket.name);
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(&bucket.name);
                for (key, value) in &bucket.config {
                    let key = key.parse().map_err(|source| StorageError::Bucket {
                        bucket: url.clone(),
                        source,
                    })?;
                    b = b.with_config(key, value);
                }
                (url, b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>))
            }
        };
        let store = built.map_err(|source| StorageError::Bucket {
            bucket: url.clone(),
            source,
        })?;
        Ok(Storage::Bucket {
            store,
            url,
            temp_dir,
        })
    }

    /// Finds a file and its size, or says why it is missing.
    pub(crate) async fn locate(
        &self,
        key: &str,
    ) -> Result<Result<(Location, u64), Missing>, StorageError> {
        match self {
            Storage::Nothing => Ok(Err(Missing {
                path: key.to_owned(),
                why: "no storage was given (--storage-dir, --s3-bucket or --azure-container)"
                    .into(),
            })),
            Storage::Local(root) => {
                let path = resolve(root, key);
                let shown = path.display().to_string();
                Ok(match tokio::fs::metadata(&path).await {
                    Ok(m) if m.is_file() => Ok((Location::Local(path), m.len())),
                    Ok(_) => Err(Missing {
                        path: shown,
                        why: "not a regular file".into(),
                    }),
                    Err(e) => Err(Missing {
                        path: shown,
                        why: e.to_string(),
                    }),
                })
            }
            Storage::Server {
                client,
                signer,
                ids,
                ..
            } => {
                let Some((shown, url)) = self.server_url(key) else {
                    return Ok(Err(Missing {
                        path: key.to_owned(),
                        why: "core.file knows no id for it, and the server names files by id"
                            .into(),
                    }));
                };
                let server_err = |message: String| StorageError::Server {
                    url: shown.clone(),
                    message,
                };
                // A HEAD answers like the GET it stands for (Express and axum alike).
                let response = send_retrying(client, reqwest::Method::HEAD, &url)
                    .await
                    .map_err(server_err)?;
                let status = response.status();
                if status == reqwest::StatusCode::NOT_FOUND {
                    return Ok(Err(Missing {
                        path: shown,
                        why: "the source server has no such file (404)".into(),
                    }));
                }
                if status == reqwest::StatusCode::FORBIDDEN {
                    // The file guard answers 403 to any token it does not verify.
                    let hint = match signer {
                        super::server_files::FileSigner::Hs256 { .. } => {
                            "check that TWENTY_SOURCE_APP_SECRET is the server's APP_SECRET"
                        }
                        super::server_files::FileSigner::Es256 { .. } => {
                            "check that --source is this server's database and that the key \
                             was not rotated or revoked since"
                        }
                    };
                    return Err(server_err(format!(
                        "HTTP {status}: the server refused {}; {hint}",
                        signer.describe()
                    )));
                }
                if !status.is_success() {
                    return Err(server_err(format!("HTTP {status}")));
                }
                // 2.21 streams its files and tells no length: `core.file` then knows it.
                let size = response
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .or_else(|| ids.get(key).and_then(|(_, size)| *size))
                    .unwrap_or(0);
                Ok(Ok((Location::Object(ObjectPath::from(key)), size)))
            }
            Storage::Bucket { store, url, .. } => {
                let object = ObjectPath::from(key);
                match store.head(&object).await {
                    Ok(meta) => Ok(Ok((Location::Object(object), meta.size))),
                    Err(object_store::Error::NotFound { .. }) => Ok(Err(Missing {
                        path: format!("{url}/{object}"),
                        why: "not in the bucket".into(),
                    })),
                    Err(source) => Err(StorageError::Read {
                        bucket: url.clone(),
                        key: key.to_owned(),
                        source,
                    }),
                }
            }
        }
    }

    /// Tells a source-server storage which workspace it reads and the ids of its 1.18+ files
    /// (the server names those by id, not by key).
    pub(crate) fn for_workspace(&mut self, id: Uuid, core: &HashMap<Uuid, CoreFile>) {
        if let Storage::Server {
            workspace_id, ids, ..
        } = self
        {
            *workspace_id = id;
            *ids = core
                .iter()
                .map(|(id, f)| (f.key.clone(), (*id, f.size)))
                .collect();
        }
    }

    /// Chooses how a source-server storage signs its tokens, once: ES256 with the source's
    /// signing key (2.x), else HS256. A key that cannot be used is logged and HS256 is signed,
    /// which 2.21 still verifies.
    pub(crate) async fn read_signing_key(&mut self, client: &Client) -> Result<(), SourceError> {
        let Storage::Server {
            server,
            signer,
            key_read,
            ..
        } = self
        else {
            return Ok(());
        };
        if std::mem::replace(key_read, true) {
            return Ok(());
        }
        if let Some(stored) = super::signing_key::current(client).await? {
            match super::server_files::FileSigner::choose(server, Some(&stored)) {
                Ok(chosen) => *signer = chosen,
                Err(why) => tracing::warn!(
                    kid = %stored.id,
                    reason = %why,
                    "the source's signing key cannot sign file tokens; signing hs256 tokens instead"
                ),
            }
        }
        tracing::info!(tokens = ?signer, "source server file tokens");
        Ok(())
    }

    /// A key's URL on the source server, without and with its token.
    fn server_url(&self, key: &str) -> Option<(String, reqwest::Url)> {
        let Storage::Server {
            server,
            signer,
            workspace_id,
            ids,
            ..
        } = self
        else {
            return None;
        };
        server.file_url(signer, *workspace_id, key, ids.get(key).map(|(id, _)| *id))
    }

    /// How reports name the storage: the folder, or `s3://bucket` / `az://container`.
    pub(crate) fn describe(&self) -> Option<String> {
        match self {
            Storage::Nothing => None,
            Storage::Local(root) => Some(root.display().to_string()),
            Storage::Bucket { url, .. } => Some(url.clone()),
            Storage::Server { server, .. } => Some(server.url.clone()),
        }
    }

    /// A file's size, or where it was looked for and why it is not there: a `stat` or a HEAD
    /// request, never a download.
    pub(crate) async fn probe(
        &self,
        key: &str,
    ) -> Result<Result<u64, (String, String)>, StorageError> {
        Ok(match self.locate(key).await? {
            Ok((_, size)) => Ok(size),
            Err(Missing { path, why }) => Err((path, why)),
        })
    }

    /// Copies a bucket's object (or a server's file) to a temporary file, chunk by chunk.
    pub(crate) async fn download(&self, key: &ObjectPath) -> Result<TempFile, StorageError> {
        if let Storage::Server { .. } = self {
            return self.fetch(key).await;
        }
        let Storage::Bucket {
            store,
            url,
            temp_dir,
        } = self
        else {
            unreachable!("only bucket objects are downloaded");
        };
        let read_err = |source| StorageError::Read {
            bucket: url.clone(),
            key: key.to_string(),
            source,
        };
        let stream = store.get(key).await.map_err(read_err)?.into_stream();
        spool(temp_dir, stream, read_err).await
    }
}

/// Writes a stream of chunks to a new temporary file under `temp_dir`, chunk by chunk.
async fn spool<S, E>(
    temp_dir: &Path,
    mut stream: S,
    read_err: impl Fn(E) -> StorageError,
) -> Result<TempFile, StorageError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    let temp_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StorageError::Temp { path, source }
    };
    tokio::fs::create_dir_all(temp_dir)
        .await
        .map_err(temp_err(temp_dir))?;
    let temp = TempFile(temp_dir.join(Uuid::new_v4().to_string()));
    let mut file = tokio::fs::File::create(&temp.0)
        .await
        .map_err(temp_err(&temp.0))?;
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk.map_err(&read_err)?)
            .await
            .map_err(temp_err(&temp.0))?;
    }
    file.flush().await.map_err(temp_err(&temp.0))?;
    Ok(temp)
}

impl Storage {
    /// Downloads a file from the source server to a temporary file, chunk by chunk.
    async fn fetch(&self, key: &ObjectPath) -> Result<TempFile, StorageError> {
        let Storage::Server {
            client, temp_dir, ..
        } = self
        else {
            unreachable!("only server files are fetched");
        };
        let (shown, url) = self
            .server_url(key.as_ref())
            .ok_or_else(|| StorageError::Server {
                url: key.to_string(),
                message: "no URL for this key".into(),
            })?;
        let server_err = |message: String| StorageError::Server {
            url: shown.clone(),
            message,
        };
        let response = send_retrying(client, reqwest::Method::GET, &url)
            .await
            .map_err(&server_err)?
            .error_for_status()
            .map_err(|e| server_err(e.without_url().to_string()))?;
        spool(temp_dir, response.bytes_stream(), |e: reqwest::Error| {
            server_err(e.without_url().to_string())
        })
        .await
    }
}

/// Attempts of one source-server request before its error is kept.
const SERVER_ATTEMPTS: u32 = 6;

/// Sends one request to the source server under the rule the API client follows
/// (`src/destination/retry.rs`): a network error, 408, 429 or a 5xx other than 501 is tried
/// again after a capped exponential wait (or the server's `Retry-After`), up to
/// [`SERVER_ATTEMPTS`]. The answer is returned as is otherwise, the last one when all fail; a
/// network error that outlasts the attempts comes back as its message, without the URL (whose
/// token is a credential).
async fn send_retrying(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &reqwest::Url,
) -> Result<reqwest::Response, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= SERVER_ATTEMPTS;
        let wait = match client.request(method.clone(), url.clone()).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retryable =
                    matches!(status, 408 | 429) || ((500..=599).contains(&status) && status != 501);
                if !retryable || last {
                    return Ok(response);
                }
                response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(|s| std::time::Duration::from_secs(s.min(60)))
            }
            Err(e) if !last && (e.is_connect() || e.is_timeout() || e.is_request()) => None,
            Err(e) => return Err(e.without_url().to_string()),
        };
        let backoff = std::time::Duration::from_millis(200 << attempt.min(5))
            .min(std::time::Duration::from_secs(5));
        tracing::debug!(attempt, retry_after = ?wait, "source server request failed; trying again");
        tokio::time::sleep(wait.unwrap_or(backoff)).await;
    }
}

/// The storage key as a path under `root`, refusing keys that climb out of it.
fn resolve(root: &Path, key: &str) -> PathBuf {
    let clean: PathBuf = Path::new(key)
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    root.join(clean)
}

/// The last segment of a storage key.
pub(crate) fn file_name(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buckets_debug_form_names_its_settings_but_never_shows_their_values() {
        let bucket = Bucket {
            kind: BucketKind::Azure,
            name: "files".into(),
            config: vec![("azure_storage_account_key".into(), "s3cr3t-key==".into())],
        };
        let shown = format!("{bucket:?} {:?}", Some(bucket.clone()));
        assert!(shown.contains("azure_storage_account_key"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn keys_cannot_climb_out_of_the_storage_folder() {
        let root = Path::new("/srv/storage");
        assert_eq!(
            resolve(root, "../../etc/passwd"),
            PathBuf::from("/srv/storage/etc/passwd")
        );
        assert_eq!(
            resolve(root, "ws/app/files-field/f/x.pdf"),
            PathBuf::from("/srv/storage/ws/app/files-field/f/x.pdf")
        );
    }
}
