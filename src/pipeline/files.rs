//! The files phase: moves the bytes behind FILES values (attachments' `file`, person
//! `avatarFile`, custom FILES fields) from the source's storage to the target, just before the
//! record goes into its batch. A page's files are uploaded together, several at once, each
//! upload a task (`files/uploads.rs`); each record then finds its files in the ledger.
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

use serde_json::Value;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::destination::{Destination, Disposition, LegacyFolder, TargetError, UploadGeneration};
use crate::model::{FieldType, Model, Object};
use crate::plan::ObjectPlan;
use crate::record::ApiRecord;
use crate::source::file_store::{file_name, Location, Missing, Storage};
pub use crate::source::file_store::{Bucket, BucketKind, StorageError};
use crate::source::records::{Cell, ReadColumn, SourceRow};
use crate::source::storage::{self, CoreFile};
use crate::source::{SourceError, WorkspaceInfo};
use crate::state::{Ledger, StateError};

mod generation;
mod members;
mod object;
mod options;
mod pending;
mod rich_text;
mod uploads;

pub use crate::report::FileCounts;
pub use generation::{file_category, FilesGeneration};
pub use members::SourcePicture;
pub use options::{parse_size, FileOptions, DEFAULT_MAX_FILE_SIZE, MISSING_FILE_RULE};
pub(crate) use rich_text::mask_file_urls;

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
    /// The source's storage cannot be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Stopped on request between two uploads; progress is saved.
    #[error("interrupted during the files phase")]
    Interrupted,
}

/// What became of one record's files.
#[derive(Debug, Clone, PartialEq)]
pub enum Attached {
    /// Every file is in the target; the record references them.
    Ready(ApiRecord),
    /// A file cannot move: the record is a reject with this reason.
    Rejected {
        /// The FILES field.
        field: String,
        /// Why, naming the file's path.
        message: String,
        /// The record as it would have been sent.
        record: ApiRecord,
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

/// The files phase of one run.
pub struct Files<'a, D> {
    options: FileOptions,
    target: &'a D,
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
    /// Uploads at once ([`Files::upload_page`]).
    in_flight: usize,
    /// During [`Files::upload_page`]'s dry pass, the uploads found: `move_file` lists them
    /// instead of sending them.
    staging: Option<Vec<uploads::Staged>>,
    /// Files the page's uploads sent and no record has met yet: ledger key → size. Counted as
    /// uploaded when their record meets them, as a file uploaded by `move_file` would be.
    fresh: uploads::Fresh,
    /// Files the target refused during the page's uploads: ledger key → why.
    refused: HashMap<String, Refused>,
}

impl<'a, D: Destination> Files<'a, D> {
    /// The files phase of a run; `core.file` is read page by page ([`Files::prefetch`]).
    pub fn new(
        options: FileOptions,
        client: &'a Client,
        workspace: &WorkspaceInfo,
        target: &'a D,
        ledger: &'a Ledger,
        cancel: CancellationToken,
    ) -> Result<Self, FilesError> {
        let mut storage = Storage::open(
            options.storage_dir.as_deref(),
            options.bucket.as_ref(),
            options.server.as_ref(),
        )?;
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
            in_flight: 1,
            staging: None,
            fresh: HashMap::new(),
            refused: HashMap::new(),
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
        // The dry pass of `upload_page` notes nothing: the real pass will.
        if self.staging.is_some() {
            return;
        }
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

    /// Moves the files of one record and rewrites its FILES values to the target's file ids.
    /// The page's files must have been looked up with [`Files::prefetch`].
    pub async fn attach(
        &mut self,
        of: &ObjectFiles,
        row: &SourceRow,
        mut record: ApiRecord,
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
        record: ApiRecord,
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
            record,
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
            if let Some(size) = self.fresh.remove(&ledger_key) {
                // Sent by this page's uploads: counted now, as an upload.
                self.count_upload(of, key, ledger_key, size);
                return Ok(Ok(done));
            }
            if self.staging.is_some() {
                return Ok(Ok(done));
            }
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
        if let Some(staged) = &self.staging {
            if staged.iter().any(|s| s.ledger_key == ledger_key) {
                return Ok(Ok(String::new()));
            }
        } else if let Some(refused) = self.refused.remove(&ledger_key) {
            return Ok(Err(refused));
        }
        let (location, size) = match self.storage.locate(storage_key).await? {
            Ok(found) => found,
            Err(Missing { path, why }) => return Ok(Err(Refused::Missing { path, why })),
        };
        let path = location.display(&self.storage);
        let limit = self.options.max_file_size;
        let too_large = |size: u64| {
            Refused::Other(format!(
                "the file {path} is {size} bytes, over the limit of {limit} bytes (--max-file-size)"
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
        if let Some(staged) = &mut self.staging {
            // The dry pass: sent with the page's other files, the record finds it then.
            staged.push(uploads::Staged {
                ledger_key,
                dest,
                local,
                temp,
                name,
                mime: mime.to_owned(),
                size,
                object: of.object.clone(),
                id,
                path,
            });
            return Ok(Ok(String::new()));
        }
        // A target that is down or busy is waited out and the same file sent again; what else
        // to do is the disposition's call, as for records.
        let result = self
            .send_one(&ledger_key, dest, local, name, mime.to_owned())
            .await?;
        drop(temp);
        let uploaded = match result {
            Ok(u) => u,
            Err(err) => {
                return match err.disposition() {
                    // The file, not the target, is at fault: the record is a reject.
                    Disposition::RejectRecords | Disposition::Shrink => {
                        Ok(Err(uploads::refusal(err, path, size)))
                    }
                    Disposition::RetryLater | Disposition::Stop => Err(FilesError::Upload {
                        object: of.object.clone(),
                        id,
                        path,
                        source: err,
                    }),
                };
            }
        };
        // Recorded before the record that uses it is sent: a rerun reuses it.
        self.ledger.record_upload(&ledger_key, &uploaded, size)?;
        self.count_upload(of, key, ledger_key, size);
        Ok(Ok(uploaded))
    }

    /// Counts an upload of this run as the record that uses it meets it.
    fn count_upload(&mut self, of: &ObjectFiles, key: &str, ledger_key: String, size: u64) {
        if of.rich_text.is_some() {
            self.touched.insert(ledger_key);
        }
        self.counts.uploaded += 1;
        self.counts.bytes += size;
        tracing::debug!(object = %of.object, field = key, size, "file uploaded");
    }
}

impl<D: Destination> Files<'_, D> {
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

impl Refused {
    fn into_attached<D: Destination>(
        self,
        files: &Files<'_, D>,
        of: &ObjectFiles,
        key: &str,
        record: ApiRecord,
    ) -> Attached {
        match self {
            Refused::Missing { path, why } => files.missing(of, key, Some(&path), &why, record),
            Refused::Other(message) => Attached::Rejected {
                field: key.to_owned(),
                message,
                record,
            },
        }
    }
}
