//! The files phase: moves the bytes behind FILES values (attachments' `file`, person
//! `avatarFile`, custom FILES fields) from the source's storage to the target, one record at
//! a time, just before the record goes into its batch.
//!
//! For each file of a record: resolve its storage key (`core.file` for 1.18+ values, the
//! legacy `attachment.fullPath` otherwise, `source-schema.md` §7), look it up in the ledger
//! (an upload is not idempotent, so a file uploaded by an earlier run is reused), else check
//! its size and upload it from disk (direct upload where the target offers it, else the
//! multipart Files v2 mutation), record the upload in
//! the ledger, and rewrite the value to `[{fileId: <target id>, label}]`. The record then goes
//! through the pipeline's batch path like any other (bisection, rejects, checkpoints).
//!
//! A target older than Files v2 ([`FilesGeneration::Paths`]) takes the file through
//! `uploadFile` and keeps its path in `fullPath`/`avatarUrl` instead (`files/generation.rs`);
//! files embedded in note and task bodies move with their record (`files/rich_text.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use tokio::io::AsyncWriteExt;

use serde_json::{Map, Value};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::destination::{LegacyFolder, Target, TargetError, UploadGeneration};
use crate::model::{FieldType, Model, Object};
use crate::plan::ObjectPlan;
use crate::source::records::{Cell, ReadColumn, SourceRow};
use crate::source::storage::{self, CoreFile};
use crate::source::{SourceError, WorkspaceInfo};
use crate::state::{Ledger, StateError};

mod generation;
mod rich_text;

pub use generation::{file_category, FilesGeneration};
pub(crate) use rich_text::mask_file_urls;

/// Twenty's upload cap: `settings.storage.maxFileSize = '100MB'`
/// (`packages/twenty-server/src/engine/constants/settings/index.ts`), read here as 100 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;

/// The rule that skips records whose file is missing, with `--skip-missing-files`.
pub const MISSING_FILE_RULE: &str = "missing-file";

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

/// Where the source's file bytes are and what to do with the ones that cannot move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOptions {
    /// The source's local storage folder (`STORAGE_LOCAL_PATH`).
    pub storage_dir: Option<PathBuf>,
    /// The source's bucket, instead of a local folder.
    pub bucket: Option<Bucket>,
    /// The source server's own file endpoints, when neither folder nor bucket is at hand.
    pub server: Option<crate::storage_http::SourceServer>,
    /// Count records whose file is missing as skipped (rule [`MISSING_FILE_RULE`]) instead
    /// of rejecting them.
    pub skip_missing_files: bool,
    /// Files larger than this are rejects.
    pub max_file_size: u64,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self {
            storage_dir: None,
            bucket: None,
            server: None,
            skip_missing_files: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// A size such as `100MB`, `512KiB`, `2G` or a number of bytes (units are powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("--max-file-size takes a size such as 100MB, not {s:?}"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("--max-file-size: unknown unit {other:?}")),
    };
    Ok((number * factor as f64) as u64)
}

/// A fatal error of the files phase (a file that cannot move is a reject, not this).
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The source's file index could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The ledger failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The target failed in a way no single record explains.
    #[error("uploading {object} {id}'s file {path}: {source}")]
    Upload {
        /// The object.
        object: String,
        /// The source record id.
        id: Uuid,
        /// The file in the source storage.
        path: String,
        /// The client's error.
        #[source]
        source: TargetError,
    },
    /// The target's attachment has neither a FILES `file` (Files v2) nor a `fullPath` (before).
    #[error("the target's attachment has neither a FILES field `file` (Files v2) nor a `fullPath` (older generations): its files cannot be written")]
    OldGeneration,
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
    /// Stopped on request between two uploads; progress is saved.
    #[error("interrupted during the files phase")]
    Interrupted,
}

/// What became of one record's files.
#[derive(Debug, Clone, PartialEq)]
pub enum Attached {
    /// Every file is in the target; the record references them.
    Ready(Map<String, Value>),
    /// A file cannot move: the record is a reject with this reason.
    Rejected {
        /// The FILES field.
        field: String,
        /// Why, naming the file's path.
        message: String,
        /// The record as it would have been sent.
        record: Value,
    },
    /// A file is missing and `--skip-missing-files` is on: counted under this rule.
    Skipped(&'static str),
}

/// The files of one object: which record keys are FILES values and where they upload to.
#[derive(Debug, Clone, Default)]
pub struct ObjectFiles {
    object: String,
    /// (record key, target field metadata id).
    fields: Vec<(String, Uuid)>,
    /// Pre-1.18 file paths that fill an empty FILES value.
    legacy: Vec<Legacy>,
    /// Files written as paths, for a target older than Files v2.
    as_paths: Vec<generation::AsPath>,
    /// Rich-text keys whose embedded files move, and where they upload to.
    rich_text: Option<rich_text::RichText>,
}

/// A pre-1.18 path column (`attachment.fullPath`, `person.avatarUrl`) whose file moves into a
/// FILES field when the record has no FILES value of its own.
#[derive(Debug, Clone)]
struct Legacy {
    /// The path's cell.
    cell: usize,
    /// The FILES key to fill.
    key: String,
    /// The target's field id for that key.
    field_id: Uuid,
    /// The cell whose text labels the file (`attachment.name`); else the file's name.
    label_cell: Option<usize>,
    /// Whether an absolute URL without `/files/` is a picture hosted elsewhere (avatars),
    /// left as it is, rather than a file to look for.
    external_urls_stay: bool,
}

impl ObjectFiles {
    /// Whether the object has anything to upload.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.legacy.is_empty()
            && self.as_paths.is_empty()
            && self.rich_text.is_none()
    }
}

/// Counters of the files phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileCounts {
    /// Files uploaded by this run.
    pub uploaded: u64,
    /// Bytes uploaded by this run.
    pub bytes: u64,
    /// Files an earlier run had uploaded (read from the ledger).
    pub reused: u64,
}

/// The files phase of one run.
pub struct Files<'a> {
    options: FileOptions,
    target: &'a Target,
    ledger: &'a Ledger,
    cancel: CancellationToken,
    workspace_id: Uuid,
    storage: Storage,
    /// `core.file` id → storage key and MIME type, for the files of the current page.
    core: HashMap<Uuid, CoreFile>,
    /// The source session and workspace, to look the files of each page up.
    client: &'a Client,
    workspace: WorkspaceInfo,
    counts: FileCounts,
    notes: Vec<String>,
    /// How the target takes files, asked once before the first upload.
    generation: Option<UploadGeneration>,
    /// Ledger keys of files embedded in rich text by this run and not yet met again by their
    /// attachment, so that a shared file counts once (memory follows the pending embeds, not
    /// the workspace's files).
    touched: std::collections::HashSet<String>,
    /// The answer shape of an older target's `uploadFile`, once seen.
    legacy_answer: Option<crate::destination::LegacyAnswer>,
}

impl<'a> Files<'a> {
    /// The files phase of a run; `core.file` is read page by page ([`Files::prefetch`]).
    pub fn new(
        options: FileOptions,
        client: &'a Client,
        workspace: &WorkspaceInfo,
        target: &'a Target,
        ledger: &'a Ledger,
        cancel: CancellationToken,
    ) -> Result<Self, FilesError> {
        let mut storage = Storage::open(&options)?;
        storage.for_workspace(workspace.id, &HashMap::new());
        Ok(Self {
            options,
            target,
            ledger,
            cancel,
            workspace_id: workspace.id,
            storage,
            core: HashMap::new(),
            client,
            workspace: workspace.clone(),
            counts: FileCounts::default(),
            notes: Vec::new(),
            generation: None,
            touched: std::collections::HashSet::new(),
            legacy_answer: None,
        })
    }

    /// Refuses, before anything is written, a target whose attachments have nowhere to keep a
    /// file (see [`FilesGeneration::detect`]).
    pub fn check_target(plan: &crate::plan::Plan, target_model: &Model) -> Result<(), FilesError> {
        let moves_attachments = plan.objects.iter().any(|p| p.object == "attachment");
        if moves_attachments && FilesGeneration::detect(target_model).is_none() {
            return Err(FilesError::OldGeneration);
        }
        Ok(())
    }

    /// Notes on files that could not move with a record written without them.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// An attachment is its file: without it the record is a reject (or a counted skip). Any
    /// other record (a person without its picture) is written without the file, and said so.
    fn essential(&self, of: &ObjectFiles) -> bool {
        of.object == "attachment"
    }

    fn note_dropped(&mut self, of: &ObjectFiles, id: Uuid, key: &str, refused: Refused) {
        let why = match refused {
            Refused::Missing { path, why } => format!("{path} is missing ({why})"),
            Refused::Other(message) => message,
        };
        self.notes.push(format!(
            "{} {id}: {key}: written without this file: {why}",
            of.object
        ));
    }

    /// What the run uploaded so far.
    pub fn counts(&self) -> FileCounts {
        self.counts
    }

    /// The FILES keys of `object` as the plan writes them, with the target's field ids, and
    /// the legacy `fullPath` fallback of attachments.
    pub fn object(
        &self,
        object: &Object,
        plan: &ObjectPlan,
        target_model: &Model,
        columns: &[ReadColumn],
    ) -> Result<ObjectFiles, FilesError> {
        let target = target_model.object(&object.name_singular);
        let target_files = |name: &str| {
            target
                .and_then(|t| t.field(name))
                .filter(|f| f.field_type == FieldType::Files)
                .map(|f| f.id)
        };
        let fields = plan
            .fields
            .iter()
            .filter(|d| {
                object
                    .field(&d.source)
                    .is_some_and(|f| f.field_type == FieldType::Files)
            })
            .filter_map(|d| Some((d.key.clone(), target_files(&d.key)?)))
            .collect();
        let cell = |name: &str| columns.iter().position(|c| c.name == name);
        let rich_text = rich_text::RichText::plan(object, plan, target_model);
        if FilesGeneration::detect(target_model) == Some(FilesGeneration::Paths) {
            return Ok(ObjectFiles {
                object: object.name_singular.clone(),
                fields: Vec::new(),
                legacy: Vec::new(),
                as_paths: generation::as_paths(&object.name_singular, target_model, cell),
                rich_text,
            });
        }
        let mut legacy = Vec::new();
        if object.name_singular == "attachment" {
            // Files v2 is detected by the target's `attachment.file` FILES field (I2).
            let file_field = target_files("file").ok_or(FilesError::OldGeneration)?;
            if let Some(full_path) = cell("fullPath") {
                legacy.push(Legacy {
                    cell: full_path,
                    key: "file".to_owned(),
                    field_id: file_field,
                    label_cell: cell("name"),
                    external_urls_stay: false,
                });
            }
        }
        // Person pictures: `person-picture/...` paths before 1.18, `avatarFile` after
        // (source-schema.md §7); moved only where the target has the FILES field.
        if object.name_singular == "person" {
            if let (Some(url), Some(field_id)) = (cell("avatarUrl"), target_files("avatarFile")) {
                legacy.push(Legacy {
                    cell: url,
                    key: "avatarFile".to_owned(),
                    field_id,
                    label_cell: None,
                    external_urls_stay: true,
                });
            }
        }
        Ok(ObjectFiles {
            object: object.name_singular.clone(),
            fields,
            legacy,
            as_paths: Vec::new(),
            rich_text,
        })
    }

    /// Looks up the `core.file` rows that a page of `of`'s rows names (any `fileId` in a JSON
    /// cell), replacing those of the previous page: one query per page, and memory that
    /// follows the page, not the workspace's files.
    pub async fn prefetch(
        &mut self,
        of: &ObjectFiles,
        rows: &[SourceRow],
    ) -> Result<(), FilesError> {
        self.core.clear();
        self.storage.read_signing_key(self.client).await?;
        // FILES values name their `core.file` rows whether they upload into FILES fields or,
        // on an older target, into paths.
        if of.fields.is_empty() && of.as_paths.is_empty() && of.rich_text.is_none() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = rows
            .iter()
            .flat_map(|r| r.cells.iter())
            .filter_map(|c| match c {
                Cell::Json(Value::Array(items)) => Some(items),
                _ => None,
            })
            .flatten()
            .filter_map(|item| item.get("fileId")?.as_str()?.parse().ok())
            .collect();
        // Files embedded in rich text are named by `attachmentFileId` or a files-field URL.
        if of.rich_text.is_some() {
            for cell in rows.iter().flat_map(|r| r.cells.iter()) {
                if let Cell::Text(text) = cell {
                    rich_text::file_ids_in(text, &mut ids);
                }
            }
        }
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            self.core = storage::core_files_among(self.client, &self.workspace, Some(&ids)).await?;
        }
        // The source server serves 1.18+ files by id: the page's ids are the ones it needs.
        self.storage.for_workspace(self.workspace_id, &self.core);
        Ok(())
    }

    /// Moves the files of one record and rewrites its FILES values to the target's file ids.
    /// The page's files must have been looked up with [`Files::prefetch`].
    pub async fn attach(
        &mut self,
        of: &ObjectFiles,
        row: &SourceRow,
        mut record: Map<String, Value>,
    ) -> Result<Attached, FilesError> {
        if let Some(rt) = &of.rich_text {
            self.rewrite_rich_text(of, rt, row.id, &mut record).await?;
        }
        for (key, field_id) in &of.fields {
            let Some(Value::Array(items)) = record.get(key) else {
                continue;
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items.clone() {
                let label = item
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let source_id = item
                    .get("fileId")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<Uuid>().ok());
                let found = source_id.and_then(|id| self.core.get(&id)).cloned();
                let Some(file) = found else {
                    let why = match source_id {
                        Some(id) => format!("core.file has no row {id}"),
                        None => format!("{item} has no fileId"),
                    };
                    let refused = Refused::Missing {
                        path: format!("file {}", label),
                        why,
                    };
                    if self.essential(of) {
                        return Ok(refused.into_attached(self, of, key, record));
                    }
                    self.note_dropped(of, row.id, key, refused);
                    continue;
                };
                match self
                    .move_file(
                        of,
                        row.id,
                        key,
                        Dest::Field(*field_id),
                        &file.key,
                        &label,
                        &file.mime,
                    )
                    .await?
                {
                    // Exactly `{fileId, label}`: Twenty's schema is strict, so the source's
                    // `extension` must go (`data-arg-processor/validator-utils/
                    // validate-files-field-or-throw.util.ts`).
                    Ok(id) => out.push(serde_json::json!({ "fileId": id, "label": label })),
                    Err(refused) if self.essential(of) => {
                        return Ok(refused.into_attached(self, of, key, record))
                    }
                    Err(refused) => self.note_dropped(of, row.id, key, refused),
                }
            }
            record.insert(key.clone(), Value::Array(out));
        }
        // A pre-1.18 record (no FILES value) keeps its file through its path column.
        for l in &of.legacy {
            let empty = record
                .get(&l.key)
                .is_none_or(|v| v.as_array().is_none_or(Vec::is_empty));
            let Some(Cell::Text(raw)) = row.cells.get(l.cell) else {
                continue;
            };
            let hosted_elsewhere = raw.contains("://") && !raw.contains("/files/");
            if !empty || (l.external_urls_stay && hosted_elsewhere) {
                continue;
            }
            let Some(relative) = storage::legacy_relative_path(raw) else {
                continue;
            };
            let storage_key = format!("workspace-{}/{relative}", self.workspace_id);
            let label = l
                .label_cell
                .and_then(|c| match row.cells.get(c) {
                    Some(Cell::Text(n)) if !n.trim().is_empty() => Some(n.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| file_name(&relative));
            let mime = mime_guess::from_path(&relative)
                .first_or_octet_stream()
                .to_string();
            match self
                .move_file(
                    of,
                    row.id,
                    &l.key,
                    Dest::Field(l.field_id),
                    &storage_key,
                    &label,
                    &mime,
                )
                .await?
            {
                Ok(id) => {
                    record.insert(
                        l.key.clone(),
                        serde_json::json!([{ "fileId": id, "label": label }]),
                    );
                }
                Err(refused) if self.essential(of) => {
                    return Ok(refused.into_attached(self, of, &l.key, record))
                }
                Err(refused) => self.note_dropped(of, row.id, &l.key, refused),
            }
        }
        if !of.as_paths.is_empty() {
            return self.attach_as_paths(of, row, record).await;
        }
        Ok(Attached::Ready(record))
    }

    /// The rejection (or skip) of a record whose file is not in the storage.
    fn missing(
        &self,
        of: &ObjectFiles,
        key: &str,
        path: Option<&str>,
        why: &str,
        record: Map<String, Value>,
    ) -> Attached {
        if self.options.skip_missing_files {
            tracing::debug!(object = %of.object, field = key, "missing file skipped");
            return Attached::Skipped(MISSING_FILE_RULE);
        }
        let message = match path {
            Some(p) => format!("the file {p} is missing from the source storage ({why}); pass --skip-missing-files to count such records as skipped"),
            None => format!("the file cannot be found ({why}); pass --skip-missing-files to count such records as skipped"),
        };
        Attached::Rejected {
            field: key.to_owned(),
            message,
            record: Value::Object(record),
        }
    }

    /// Uploads one file unless the ledger has it; the target's file id (Files v2) or
    /// `path?token=…` (older generations), or why it cannot move.
    #[allow(clippy::too_many_arguments)]
    async fn move_file(
        &mut self,
        of: &ObjectFiles,
        id: Uuid,
        key: &str,
        dest: Dest,
        storage_key: &str,
        label: &str,
        mime: &str,
    ) -> Result<Result<String, Refused>, FilesError> {
        // Ledger keys differ per generation, so an answer of one is never used as the other.
        let ledger_key = match dest {
            Dest::Field(_) => storage_key.to_owned(),
            Dest::Folder(folder) => format!("{}:{storage_key}", folder.as_graphql()),
        };
        if let Some(done) = self.ledger.uploaded_file(&ledger_key)? {
            // A file a rich text and its attachment share is one reuse, or none when this
            // run uploaded it: embeds leave their key for the attachment, which takes it away.
            let counted = if of.rich_text.is_some() {
                self.touched.insert(ledger_key)
            } else {
                !self.touched.remove(&ledger_key)
            };
            if counted {
                self.counts.reused += 1;
            }
            return Ok(Ok(done));
        }
        let (location, size) = match self.storage.locate(storage_key).await? {
            Ok(found) => found,
            Err(refused) => return Ok(Err(refused)),
        };
        let path = location.display(&self.storage);
        let limit = self.options.max_file_size;
        let too_large = |size: u64| {
            Refused::Other(format!(
                "the file {path} is {size} bytes, over the limit of {limit} bytes (--max-file-size; Twenty's own limit is 100MB)"
            ))
        };
        if size > limit {
            return Ok(Err(too_large(size)));
        }
        // Stop between two uploads on Ctrl-C: uploads done so far are in the ledger.
        if self.cancel.is_cancelled() {
            return Err(FilesError::Interrupted);
        }
        let name = if label.trim().is_empty() {
            file_name(storage_key)
        } else {
            label.to_owned()
        };
        // A bucket's object is copied to a temporary file first, so that the upload streams
        // from disk and can be retried.
        let (local, temp, size) = match &location {
            Location::Local(p) => (p.clone(), None, size),
            Location::Object(key) => {
                let temp = self.storage.download(key).await?;
                // Twenty 2.21 answers a file HEAD without Content-Length (`file.controller.ts`
                // pipes a stream, `set-file-response-headers.utils.ts` sets no length), so
                // the copy tells the size.
                let copied = tokio::fs::metadata(&temp.0).await.map_or(size, |m| m.len());
                if copied > limit {
                    return Ok(Err(too_large(copied)));
                }
                (temp.0.clone(), Some(temp), copied)
            }
        };
        let result = match dest {
            Dest::Field(field_id) => match self.generation().await {
                Ok(UploadGeneration::Direct) => self
                    .target
                    .upload_file_direct(field_id, &local, &name)
                    .await
                    .map(|u| u.id),
                Ok(UploadGeneration::Multipart) => self
                    .target
                    .upload_file_from_path(field_id, &local, &name, mime)
                    .await
                    .map(|u| u.id),
                Err(e) => Err(e),
            },
            Dest::Folder(folder) => self
                .target
                .upload_legacy_file(&local, &name, mime, folder, self.legacy_answer)
                .await
                .map(|u| {
                    self.legacy_answer = Some(u.answer);
                    match u.token {
                        Some(token) => format!("{}?token={token}", u.path),
                        None => u.path,
                    }
                }),
        };
        drop(temp);
        let uploaded = match result {
            Ok(u) => u,
            Err(TargetError::LocalFile { source, .. }) => {
                return Ok(Err(Refused::Missing {
                    path,
                    why: source.to_string(),
                }))
            }
            Err(TargetError::Rejected { messages, .. }) => {
                return Ok(Err(Refused::Other(format!(
                    "the target refused the file {path}: {}",
                    messages.join("; ")
                ))))
            }
            Err(TargetError::PayloadTooLarge) => {
                return Ok(Err(Refused::Other(format!(
                    "the target refused the file {path} ({size} bytes) as too large (HTTP 413)"
                ))))
            }
            Err(source) => {
                return Err(FilesError::Upload {
                    object: of.object.clone(),
                    id,
                    path,
                    source,
                })
            }
        };
        // Recorded before the record that uses it is sent: a rerun reuses it.
        self.ledger.record_upload(&ledger_key, &uploaded, size)?;
        if of.rich_text.is_some() {
            self.touched.insert(ledger_key);
        }
        self.counts.uploaded += 1;
        self.counts.bytes += size;
        tracing::debug!(object = %of.object, field = key, size, "file uploaded");
        Ok(Ok(uploaded))
    }
}

impl Files<'_> {
    /// The target's upload generation, asked on first use: direct upload where offered.
    async fn generation(&mut self) -> Result<UploadGeneration, TargetError> {
        if let Some(g) = self.generation {
            return Ok(g);
        }
        let g = self.target.upload_generation().await?;
        tracing::info!(generation = ?g, "target file upload generation");
        self.generation = Some(g);
        Ok(g)
    }
}

/// Where an upload goes: a FILES field (Files v2) or a storage folder (older generations).
#[derive(Debug, Clone, Copy)]
enum Dest {
    Field(Uuid),
    Folder(LegacyFolder),
}

/// Why one file cannot move.
enum Refused {
    Missing { path: String, why: String },
    Other(String),
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
    /// The source server's file endpoints (`crate::storage_http`).
    Server {
        server: crate::storage_http::SourceServer,
        /// HS256 until [`Storage::read_signing_key`] finds the source's signing key.
        signer: crate::storage_http::FileSigner,
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
enum Location {
    Local(PathBuf),
    Object(ObjectPath),
}

impl Location {
    /// How messages name the file: a local path or `s3://bucket/key`.
    fn display(&self, storage: &Storage) -> String {
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
struct TempFile(PathBuf);

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
    pub(crate) fn open(options: &FileOptions) -> Result<Self, FilesError> {
        let temp_dir =
            std::env::temp_dir().join(format!("twenty-migrate-files-{}", std::process::id()));
        let Some(bucket) = &options.bucket else {
            return Ok(match (&options.storage_dir, &options.server) {
                (Some(root), _) => Storage::Local(root.clone()),
                (None, Some(server)) => Storage::Server {
                    server: server.clone(),
                    signer: crate::storage_http::FileSigner::Hs256 {
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
                    let key = key.parse().map_err(|source| FilesError::Bucket {
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
                    let key = key.parse().map_err(|source| FilesError::Bucket {
                        bucket: url.clone(),
                        source,
                    })?;
                    b = b.with_config(key, value);
                }
                (url, b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>))
            }
        };
        let store = built.map_err(|source| FilesError::Bucket {
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
    async fn locate(&self, key: &str) -> Result<Result<(Location, u64), Refused>, FilesError> {
        match self {
            Storage::Nothing => Ok(Err(Refused::Missing {
                path: key.to_owned(),
                why: "no storage was given (--storage-dir, --s3-bucket or --azure-container)"
                    .into(),
            })),
            Storage::Local(root) => {
                let path = resolve(root, key);
                let shown = path.display().to_string();
                Ok(match tokio::fs::metadata(&path).await {
                    Ok(m) if m.is_file() => Ok((Location::Local(path), m.len())),
                    Ok(_) => Err(Refused::Missing {
                        path: shown,
                        why: "not a regular file".into(),
                    }),
                    Err(e) => Err(Refused::Missing {
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
                    return Ok(Err(Refused::Missing {
                        path: key.to_owned(),
                        why: "core.file knows no id for it, and the server names files by id"
                            .into(),
                    }));
                };
                let server_err = |message: String| FilesError::Server {
                    url: shown.clone(),
                    message,
                };
                // A HEAD answers like the GET it stands for (Express and axum alike).
                let response = client
                    .head(url)
                    .send()
                    .await
                    .map_err(|e| server_err(e.without_url().to_string()))?;
                let status = response.status();
                if status == reqwest::StatusCode::NOT_FOUND {
                    return Ok(Err(Refused::Missing {
                        path: shown,
                        why: "the source server has no such file (404)".into(),
                    }));
                }
                if status == reqwest::StatusCode::FORBIDDEN {
                    // The file guard answers 403 to any token it does not verify.
                    let hint = match signer {
                        crate::storage_http::FileSigner::Hs256 { .. } => {
                            "check that TWENTY_SOURCE_APP_SECRET is the server's APP_SECRET"
                        }
                        crate::storage_http::FileSigner::Es256 { .. } => {
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
                    Err(object_store::Error::NotFound { .. }) => Ok(Err(Refused::Missing {
                        path: format!("{url}/{object}"),
                        why: "not in the bucket".into(),
                    })),
                    Err(source) => Err(FilesError::Read {
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
        if let Some(stored) = crate::source::signing_key::current(client).await? {
            match crate::storage_http::FileSigner::choose(server, Some(&stored)) {
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
    ) -> Result<Result<u64, (String, String)>, FilesError> {
        Ok(match self.locate(key).await? {
            Ok((_, size)) => Ok(size),
            Err(Refused::Missing { path, why }) => Err((path, why)),
            Err(Refused::Other(why)) => Err((key.to_owned(), why)),
        })
    }

    /// Copies a bucket's object (or a server's file) to a temporary file, chunk by chunk.
    async fn download(&self, key: &ObjectPath) -> Result<TempFile, FilesError> {
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
        let read_err = |source| FilesError::Read {
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
    read_err: impl Fn(E) -> FilesError,
) -> Result<TempFile, FilesError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    let temp_err = |path: &Path| {
        let path = path.to_owned();
        move |source| FilesError::Temp { path, source }
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
    async fn fetch(&self, key: &ObjectPath) -> Result<TempFile, FilesError> {
        let Storage::Server {
            client, temp_dir, ..
        } = self
        else {
            unreachable!("only server files are fetched");
        };
        let (shown, url) = self
            .server_url(key.as_ref())
            .ok_or_else(|| FilesError::Server {
                url: key.to_string(),
                message: "no URL for this key".into(),
            })?;
        let server_err = |message: String| FilesError::Server {
            url: shown.clone(),
            message,
        };
        let response = client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| server_err(e.without_url().to_string()))?;
        spool(temp_dir, response.bytes_stream(), |e: reqwest::Error| {
            server_err(e.without_url().to_string())
        })
        .await
    }
}

impl Refused {
    fn into_attached(
        self,
        files: &Files<'_>,
        of: &ObjectFiles,
        key: &str,
        record: Map<String, Value>,
    ) -> Attached {
        match self {
            Refused::Missing { path, why } => files.missing(of, key, Some(&path), &why, record),
            Refused::Other(message) => Attached::Rejected {
                field: key.to_owned(),
                message,
                record: Value::Object(record),
            },
        }
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
fn file_name(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("100MB").unwrap(), 100 * 1024 * 1024);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn a_buckets_debug_form_names_its_settings_but_never_shows_their_values() {
        let bucket = Bucket {
            kind: BucketKind::Azure,
            name: "files".into(),
            config: vec![("azure_storage_account_key".into(), "s3cr3t-key==".into())],
        };
        let shown = format!(
            "{bucket:?} {:?}",
            FileOptions {
                bucket: Some(bucket.clone()),
                ..FileOptions::default()
            }
        );
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
