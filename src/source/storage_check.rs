//! Whether the files a workspace references are in its storage (folder, S3 bucket or Azure
//! container): one `stat` or HEAD request per file, a bounded number at a time, never a
//! download. `inspect` reports the result.

use futures_util::StreamExt;
use serde::Serialize;

use super::file_store::{Storage, StorageError};
use super::storage::FileRef;

/// Lookups in flight at once: enough to hide a bucket's latency, few enough not to be
/// throttled by it.
pub const CONCURRENCY: usize = 16;

/// Missing files listed by name; past this only their count grows.
pub const MISSING_LISTED: usize = 100;

/// Files referenced and whether the storage has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// File references found in the rows.
    pub files_referenced: u64,
    /// Whether a storage was given and checked.
    pub storage_checked: bool,
    /// The storage checked: a folder, `s3://bucket` or `az://container`.
    pub storage: Option<String>,
    /// References whose bytes were found.
    pub files_found: u64,
    /// Total size of the files found.
    pub bytes_found: u64,
    /// References whose bytes are not in the storage, or that cannot be resolved.
    pub missing_count: u64,
    /// The first [`MISSING_LISTED`] of them, in record id order.
    pub missing: Vec<FileRef>,
}

/// The files of one field (`person.avatarFile`, a custom FILES field, pre-1.18
/// `person.avatarUrl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldFiles {
    /// The object.
    pub object: String,
    /// The field.
    pub field: String,
    /// Its files.
    #[serde(flatten)]
    pub files: FileCheck,
}

/// Looks every reference up in `storage`; without a storage, only counts them.
pub(crate) async fn check(
    storage: &Storage,
    refs: Vec<FileRef>,
) -> Result<FileCheck, StorageError> {
    let mut out = FileCheck {
        files_referenced: refs.len() as u64,
        storage: storage.describe(),
        ..FileCheck::default()
    };
    out.storage_checked = out.storage.is_some();
    if !out.storage_checked {
        return Ok(out);
    }
    // `buffered` keeps record order, so the listed missing files are the first ones.
    let mut probes = futures_util::stream::iter(refs)
        .map(|r| async move {
            let found = match &r.key {
                Some(key) => Some(storage.probe(key).await?),
                None => None,
            };
            Ok::<_, StorageError>((r, found))
        })
        .buffered(CONCURRENCY);
    while let Some(probe) = probes.next().await {
        // A storage that cannot be read at all (credentials, network) stops the check.
        let (mut r, found) = probe?;
        match found {
            Some(Ok(size)) => {
                out.files_found += 1;
                out.bytes_found += size;
                continue;
            }
            Some(Err((location, why))) => {
                r.location = Some(location);
                r.problem = Some(why);
            }
            None => {}
        }
        out.missing_count += 1;
        if out.missing.len() < MISSING_LISTED {
            out.missing.push(r);
        }
    }
    Ok(out)
}
