//! Uploads as tasks. A page's files are found first by a dry pass of [`Files::attach`] over the
//! records that will be written (nothing is sent, nothing counted), then uploaded together, up
//! to `--in-flight` at once, each upload a spawned task that takes a rate-limit permit per
//! attempt. Each is recorded in the ledger as it finishes; the records then go through
//! [`Files::attach`] as before and find their files there. A file the dry pass did not find
//! (or whose staged upload the target refused) is handled by `attach` itself, one at a time.
//!
//! Like a batch, an upload the target cannot take now is waited out ([`Outage`]) and sent
//! again; only a refusal of the file itself makes its record a reject. A direct upload the
//! target created is recorded in the ledger before its bytes go (`files/pending.rs`), and
//! finished rather than created again by a later attempt or run.

use std::collections::HashMap;
use std::path::PathBuf;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::pending::{self, Notes};
use super::{Dest, Files, FilesError, ObjectFiles, Refused};
use crate::destination::{
    Destination, Disposition, LegacyAnswer, PendingDirectUpload, TargetError, UploadGeneration,
};
use crate::record::ApiRecord;
use crate::source::file_store::TempFile;
use crate::source::records::SourceRow;

/// One upload the dry pass found, ready to send.
pub(super) struct Staged {
    /// The ledger's key of the file.
    pub(super) ledger_key: String,
    pub(super) dest: Dest,
    /// The bytes on disk.
    pub(super) local: PathBuf,
    /// The temporary copy of a bucket's or server's file, removed once sent.
    pub(super) temp: Option<TempFile>,
    pub(super) name: String,
    pub(super) mime: String,
    pub(super) size: u64,
    /// The first record that needs it, and how messages name the file.
    pub(super) object: String,
    pub(super) id: Uuid,
    pub(super) path: String,
}

/// What one upload task came back with.
enum Sent {
    /// The file id (Files v2) or `path?token=…`, and the answer shape of a legacy upload.
    Done(String, Option<LegacyAnswer>),
    /// The target's refusal, or an outage past the limit.
    Failed(TargetError),
    /// Stopped on request while waiting out an outage.
    Interrupted,
}

impl<D: Destination> Files<'_, D> {
    /// Sets how many uploads travel at once (`--in-flight`; the rate limiter still paces them).
    pub fn with_uploads_in_flight(mut self, n: usize) -> Self {
        self.in_flight = n.max(1);
        self
    }

    /// Uploads, several at once, the files that `records` (rows of one page, each with the
    /// record it will be written as) need and the ledger does not hold yet. The records then
    /// go through [`Files::attach`] as usual, in order, and find their files in the ledger.
    pub async fn upload_page(
        &mut self,
        of: &ObjectFiles,
        records: &[(&SourceRow, &ApiRecord)],
    ) -> Result<(), FilesError> {
        if records.is_empty() {
            return Ok(());
        }
        self.staging = Some(Vec::new());
        let mut found = Ok(());
        for (row, record) in records {
            if let Err(e) = self.attach(of, row, (*record).clone()).await {
                found = Err(e);
                break;
            }
        }
        let staged = self.staging.take().unwrap_or_default();
        found?;
        self.send_staged(staged).await
    }

    /// Sends the staged uploads, up to `in_flight` at once, and records each in the ledger as
    /// it finishes. A refusal of a file is kept for its record; an outage past the limit, or
    /// an error no file explains, stops the phase once the uploads in flight have finished.
    async fn send_staged(&mut self, staged: Vec<Staged>) -> Result<(), FilesError> {
        let Some(first) = staged.first() else {
            return Ok(());
        };
        if self.cancel.is_cancelled() {
            return Err(FilesError::Interrupted);
        }
        let generation = if staged.iter().any(|s| matches!(s.dest, Dest::Field(_))) {
            let (object, id, path) = (first.object.clone(), first.id, first.path.clone());
            Some(
                self.generation_waiting()
                    .await?
                    .map_err(|source| FilesError::Upload {
                        object,
                        id,
                        path,
                        source,
                    })?,
            )
        } else {
            None
        };
        let mut queue = staged.into_iter();
        // An older target's answer shape is learnt from its first upload, sent alone, so that
        // the others do not each try the newer shape first.
        let mut sole = None;
        if self.legacy_answer.is_none() {
            let (legacy, rest): (Vec<Staged>, Vec<Staged>) =
                queue.partition(|s| matches!(s.dest, Dest::Folder(_)));
            let mut legacy = legacy.into_iter();
            sole = legacy.next();
            queue = legacy.chain(rest).collect::<Vec<_>>().into_iter();
        }
        if let Some(job) = sole {
            self.send_and_wait(vec![job], generation).await?;
        }
        self.send_and_wait(queue.collect(), generation).await
    }

    /// Sends `jobs` as tasks, `in_flight` at once, and settles each as it finishes.
    async fn send_and_wait(
        &mut self,
        jobs: Vec<Staged>,
        generation: Option<UploadGeneration>,
    ) -> Result<(), FilesError> {
        let mut tasks: JoinSet<(usize, Sent)> = JoinSet::new();
        let (notes, mut created) = pending::channel();
        let mut meta = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter().enumerate();
        let mut stop: Option<FilesError> = None;
        loop {
            while stop.is_none() && tasks.len() < self.in_flight {
                if self.cancel.is_cancelled() {
                    stop = Some(FilesError::Interrupted);
                    break;
                }
                let Some((i, job)) = jobs.next() else {
                    break;
                };
                let task = Task {
                    target: self.target.clone(),
                    earlier: self.pending_upload(job.dest, generation, &job.ledger_key)?,
                    ledger_key: job.ledger_key.clone(),
                    notes: Some(notes.clone()),
                    dest: job.dest,
                    local: job.local,
                    temp: job.temp,
                    name: job.name,
                    mime: job.mime,
                    generation,
                    legacy_answer: self.legacy_answer,
                    cancel: self.cancel.clone(),
                };
                meta.push((job.ledger_key, job.size, job.object, job.id, job.path));
                tasks.spawn(async move { (i, task.run().await) });
            }
            let joined = tokio::select! {
                joined = tasks.join_next() => joined,
                Some(c) = created.recv() => {
                    // Unanswered, its task must not send the bytes: the phase stops now.
                    if let Err(e) = self.record_created(c) {
                        stop.get_or_insert(e.into());
                        tasks.abort_all();
                    }
                    continue;
                }
            };
            let Some(joined) = joined else {
                break;
            };
            let (i, sent) = match joined {
                Ok(done) => done,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => continue,
            };
            let (key, size, object, id, path) = &meta[i];
            match sent {
                Sent::Done(uploaded, answer) => {
                    // Recorded before the record that uses it is sent: a rerun reuses it.
                    self.ledger.record_upload(key, &uploaded, *size)?;
                    self.fresh.insert(key.clone(), *size);
                    if answer.is_some() {
                        self.legacy_answer = answer;
                    }
                    tracing::debug!(object = %object, size, "file uploaded");
                }
                Sent::Failed(err) => match err.disposition() {
                    Disposition::RejectRecords | Disposition::Shrink => {
                        self.refused
                            .insert(key.clone(), refusal(err, path.clone(), *size));
                    }
                    Disposition::RetryLater | Disposition::Stop => {
                        stop.get_or_insert(FilesError::Upload {
                            object: object.clone(),
                            id: *id,
                            path: path.clone(),
                            source: err,
                        });
                    }
                },
                Sent::Interrupted => {
                    stop.get_or_insert(FilesError::Interrupted);
                }
            }
        }
        match stop {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The target's upload generation, an outage waited out; the outer error is a stop on
    /// request, the inner one the target's.
    pub(super) async fn generation_waiting(
        &mut self,
    ) -> Result<Result<UploadGeneration, TargetError>, FilesError> {
        let mut outage = self.target.outage();
        loop {
            let err = match self.generation().await {
                Ok(g) => return Ok(Ok(g)),
                Err(err) => err,
            };
            let wait = match outage.next_wait(err) {
                Ok(wait) => wait,
                Err(err) => return Ok(Err(err)),
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.cancel.cancelled() => return Err(FilesError::Interrupted),
            }
        }
    }

    /// Uploads one file now, an outage waited out: what `attach` does for a file the page's
    /// uploads did not send. The file id (Files v2) or `path?token=…`.
    pub(super) async fn send_one(
        &mut self,
        ledger_key: &str,
        dest: Dest,
        local: PathBuf,
        name: String,
        mime: String,
    ) -> Result<Result<String, TargetError>, FilesError> {
        let generation = match dest {
            Dest::Field(_) => match self.generation_waiting().await? {
                Ok(g) => Some(g),
                Err(err) => return Ok(Err(err)),
            },
            Dest::Folder(_) => None,
        };
        let (notes, created) = pending::channel();
        let task = Task {
            target: self.target.clone(),
            earlier: self.pending_upload(dest, generation, ledger_key)?,
            ledger_key: ledger_key.to_owned(),
            notes: Some(notes),
            dest,
            local,
            temp: None,
            name,
            mime,
            generation,
            legacy_answer: self.legacy_answer,
            cancel: self.cancel.clone(),
        };
        match self.recording(created, task.run()).await? {
            Sent::Done(uploaded, answer) => {
                if answer.is_some() {
                    self.legacy_answer = answer;
                }
                Ok(Ok(uploaded))
            }
            Sent::Failed(err) => Ok(Err(err)),
            Sent::Interrupted => Err(FilesError::Interrupted),
        }
    }
}

/// The reason a record gives for a file the target refused.
pub(super) fn refusal(err: TargetError, path: String, size: u64) -> Refused {
    match err {
        TargetError::LocalFile { source, .. } => Refused::Missing {
            path,
            why: source.to_string(),
        },
        TargetError::PayloadTooLarge => Refused::Other(format!(
            "the target refused the file {path} ({size} bytes) as too large (HTTP 413)"
        )),
        TargetError::Rejected { messages, .. } => Refused::Other(format!(
            "the target refused the file {path}: {}",
            messages.join("; ")
        )),
        other => Refused::Other(format!("the target refused the file {path}: {other}")),
    }
}

/// One upload, owning what it needs so that it can run as its own task.
struct Task<D> {
    target: D,
    /// The ledger's key of the file.
    ledger_key: String,
    /// A direct upload created and not completed by an earlier attempt or run: finished
    /// rather than created again while the target takes it.
    earlier: Option<PendingDirectUpload>,
    /// Where created direct uploads are recorded before their bytes go.
    notes: Option<Notes>,
    dest: Dest,
    local: PathBuf,
    /// Removed when the task ends, sent or not.
    temp: Option<TempFile>,
    name: String,
    mime: String,
    /// The target's generation, for a FILES field.
    generation: Option<UploadGeneration>,
    legacy_answer: Option<LegacyAnswer>,
    cancel: CancellationToken,
}

impl<D: Destination> Task<D> {
    /// Sends the file; a target that is down or busy is waited out and the file sent again,
    /// anything else is returned for the disposition to decide.
    async fn run(mut self) -> Sent {
        let mut outage = self.target.outage();
        let sent = loop {
            let err = match self.send().await {
                Ok(done) => break Sent::Done(done.0, done.1),
                Err(err) => err,
            };
            let wait = match outage.next_wait(err) {
                Ok(wait) => wait,
                Err(err) => break Sent::Failed(err),
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.cancel.cancelled() => break Sent::Interrupted,
            }
        };
        drop(self.temp);
        sent
    }

    /// One upload (its attempts retried by the client), by the target's generation.
    async fn send(&mut self) -> Result<(String, Option<LegacyAnswer>), TargetError> {
        let (local, name, mime) = (&self.local, &self.name, &self.mime);
        match self.dest {
            Dest::Field(field_id) => match self.generation {
                Some(UploadGeneration::Direct) => {
                    // The latest upload created is the one a next attempt finishes.
                    let (notes, key, latest) =
                        (self.notes.as_ref(), &self.ledger_key, &mut self.earlier);
                    let earlier = latest.clone();
                    self.target
                        .upload_file_direct(field_id, local, name, earlier, |created| {
                            *latest = Some(created.clone());
                            pending::record(notes, key, created.clone())
                        })
                        .await
                        .map(|u| (u.id, None))
                }
                Some(UploadGeneration::Multipart) | None => self
                    .target
                    .upload_file_from_path(field_id, local, name, mime)
                    .await
                    .map(|u| (u.id, None)),
            },
            Dest::Folder(folder) => self
                .target
                .upload_legacy_file(local, name, mime, folder, self.legacy_answer)
                .await
                .map(|u| {
                    let path = match u.token {
                        Some(token) => format!("{}?token={token}", u.path),
                        None => u.path,
                    };
                    (path, Some(u.answer))
                }),
        }
    }
}

/// Ledger keys of uploads sent for a page and not yet met by their record.
pub(super) type Fresh = HashMap<String, u64>;
