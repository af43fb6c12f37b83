//! The migration pipeline: the only module that wires source, plan, transform, destination and
//! report together. One file per stage, in the order data flows:
//!
//! [`discover`] (read source and target, plan) → [`schema`] (data model) → [`members`] →
//! [`records`] (keyset stream → transform → batch → [`delivery`]) → [`soft_deletes`] →
//! [`links`] (deferred references) → report; [`verify`] reads both sides back afterwards.
//! Files move inside the records stage ([`files`]): the bytes first, then the record.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use crate::destination::{Target, TargetError};
use crate::plan::UnmatchedMembers;
use crate::report::{ObjectReport, RunReport};
use crate::schema_sync::{SchemaError, SchemaOptions};
use crate::source::SourceError;
use crate::state::{Ledger, StateError};
use crate::transform::MemberMap;
use tokio_util::sync::CancellationToken;

mod delivery;
pub mod discover;
pub mod files;
mod guards;
mod links;
mod members;
mod records;
mod schema;
mod soft_deletes;
pub mod verify;

pub use discover::{prepare, Prepared};
pub use guards::PARENT_NOT_MIGRATED;
pub(crate) use guards::{absent_objects, NullRefs};
pub(crate) use records::build_transform;

/// The largest batch current Twenty accepts (`QUERY_MAX_RECORDS`, 200 in the server code and
/// tests of 2026; `packages/twenty-shared/src/constants/QueryMaxRecords.ts`).
pub const DEFAULT_MAX_BATCH: usize = 200;

/// How many records go in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// Start at [`DEFAULT_MAX_BATCH`] and adapt to the cap the target states.
    Auto,
    /// Exactly this many.
    Fixed(usize),
}

impl std::str::FromStr for BatchSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Self::Fixed(n)),
            _ => Err(format!(
                "--batch-size takes `auto` or a positive number, not {s:?}"
            )),
        }
    }
}

/// Soft-deleted source rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedPolicy {
    /// Not migrated; counted as skipped by rule `soft-deleted`.
    Skip,
    /// Created, then soft-deleted in the target.
    Keep,
}

impl std::str::FromStr for DeletedPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "skip" => Ok(Self::Skip),
            "keep" => Ok(Self::Keep),
            other => Err(format!("--deleted takes skip or keep, not {other:?}")),
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Source Postgres URL.
    pub source_url: String,
    /// Workspace selector.
    pub workspace: Option<String>,
    /// Records per request.
    pub batch_size: BatchSize,
    /// Unmatched-member policy.
    pub unmatched: UnmatchedMembers,
    /// Soft-deleted rows.
    pub deleted: DeletedPolicy,
    /// Where refused records go.
    pub rejects_path: PathBuf,
    /// Source rows per keyset page.
    pub page_size: usize,
    /// Requests per minute (for the estimate; the client enforces it).
    pub requests_per_minute: u32,
    /// Data model sync (`--no-schema`, `--include-inactive`).
    pub schema: SchemaOptions,
    /// The ledger file that makes the run resumable.
    pub state_path: PathBuf,
    /// Forget the ledger's progress and start over.
    pub restart: bool,
    /// Cancelled on Ctrl-C / SIGTERM: the run stops after the batch in flight.
    pub cancel: CancellationToken,
    /// Where attachment bytes are read from, and the size cap.
    pub files: crate::pipeline::files::FileOptions,
    /// Batches in flight at once (the rate limiter still paces them).
    pub max_in_flight: usize,
    /// Source sessions reading the shared snapshot at once (`--source-jobs`).
    pub source_jobs: usize,
}

/// A fatal error of `plan` or `migrate`.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The source could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The target failed in a way the run cannot work around.
    #[error("{context}: {source}")]
    Target {
        /// What the run was doing.
        context: String,
        /// The client's error.
        #[source]
        source: TargetError,
    },
    /// The plan has blockers; nothing was written.
    #[error("the migration cannot start:\n  - {}", .0.join("\n  - "))]
    Blocked(Vec<String>),
    /// The rejects file could not be written.
    #[error("cannot write the rejects file {path}: {source}")]
    Rejects {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The workspace layout is not one this version reads.
    #[error("{0}")]
    Unsupported(String),
    /// The data model sync failed (boxed: it names object and field).
    #[error(transparent)]
    Schema(#[from] Box<SchemaError>),
    /// The ledger cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The files phase failed.
    #[error(transparent)]
    Files(Box<crate::pipeline::files::FilesError>),
    /// Stopped on request; progress is saved.
    #[error("interrupted; progress is saved in {}: run the same command again to resume", state.display())]
    Interrupted {
        /// The ledger file.
        state: PathBuf,
    },
}

fn target_err(context: impl Into<String>) -> impl FnOnce(TargetError) -> MigrateError {
    let context = context.into();
    move |source| MigrateError::Target { context, source }
}

impl MigrateError {
    /// The error of the files stage, or [`MigrateError::Interrupted`] when it stopped on request.
    fn from_files(e: files::FilesError, state: &std::path::Path) -> Self {
        match e {
            files::FilesError::Interrupted => Self::Interrupted {
                state: state.to_owned(),
            },
            other => Self::Files(Box::new(other)),
        }
    }
}

impl MigrateOptions {
    /// The options of a run from `source_url`, with every other choice at its default: one
    /// workspace (the only one), batches of the target's cap, members matched or the run
    /// stopped, soft-deleted rows skipped, data model synced, pages of 1,000 rows, 4 batches
    /// in flight, Twenty's default limit of 100 requests/min, and the rejects file and ledger
    /// in `work_dir`. Change a choice with struct update syntax:
    /// `MigrateOptions { page_size: 50, ..MigrateOptions::new(url, dir) }`.
    pub fn new(source_url: impl Into<String>, work_dir: &std::path::Path) -> Self {
        Self {
            source_url: source_url.into(),
            workspace: None,
            batch_size: BatchSize::Auto,
            unmatched: UnmatchedMembers::Stop,
            deleted: DeletedPolicy::Skip,
            rejects_path: work_dir.join("rejects.jsonl"),
            page_size: 1000,
            requests_per_minute: 100,
            schema: SchemaOptions::default(),
            state_path: work_dir.join("state.sqlite"),
            restart: false,
            cancel: CancellationToken::new(),
            files: files::FileOptions::default(),
            max_in_flight: 4,
            source_jobs: crate::source::snapshot::DEFAULT_JOBS,
        }
    }

    /// The error that ends a run stopped on request.
    fn interrupted(&self) -> MigrateError {
        MigrateError::Interrupted {
            state: self.state_path.clone(),
        }
    }
}

/// What every stage of one run reads.
pub(crate) struct Stage<'a> {
    /// The run's options.
    opts: &'a MigrateOptions,
    /// Source, target model and plan.
    prepared: &'a Prepared,
    /// The destination.
    target: &'a Target,
    /// The run's ledger.
    ledger: &'a Ledger,
    /// Source member id → target member id.
    members: &'a MemberMap,
    /// Objects whose soft-deleted rows are not migrated (see [`absent_objects`]).
    absent: &'a HashMap<String, String>,
}

/// Runs the whole migration, resuming from the ledger at `opts.state_path` when it holds an
/// unfinished run of the same source, workspace, target and options.
pub async fn migrate(opts: &MigrateOptions, target: &Target) -> Result<RunReport, MigrateError> {
    let started = Instant::now();
    let prepared = schema::prepare_and_sync(opts, target).await?;
    let (ledger, resuming) = Ledger::open(
        &opts.state_path,
        &discover::fingerprint(opts, &prepared, target),
        opts.restart,
    )?;
    if resuming {
        eprintln!("resuming the run saved in {}", opts.state_path.display());
    }
    let members = members::member_map(opts, &prepared);
    let mut run = delivery::Run::new(opts, target, &ledger, resuming);
    for p in &prepared.plan.objects {
        run.rejected
            .insert(p.object.clone(), ledger.rejected(&p.object)?);
    }
    let mut report = start_report(&prepared, opts);

    // Objects with rows that will not exist in the target (soft-deleted and skipped):
    // references to them are written as null, or the referring row skipped when it cascades
    // with its parent.
    let absent = absent_objects(&prepared, opts.deleted);
    let stage = Stage {
        opts,
        prepared: &prepared,
        target,
        ledger: &ledger,
        members: &members,
        absent: &absent,
    };
    let files_err = |e| MigrateError::from_files(e, &opts.state_path);
    files::Files::check_target(&prepared.plan, &prepared.target_model).map_err(files_err)?;
    let mut files = files::Files::new(
        opts.files.clone(),
        prepared.source.client(),
        &prepared.workspace,
        target,
        &ledger,
        opts.cancel.clone(),
    )
    .map_err(files_err)?
    .with_uploads_in_flight(opts.max_in_flight);

    let mut reports: BTreeMap<String, ObjectReport> = BTreeMap::new();
    for object_plan in &prepared.plan.objects {
        let object_report = records::copy_object(
            &stage,
            &mut run,
            &mut files,
            object_plan,
            &mut report.not_kept,
        )
        .await?;
        reports.insert(object_plan.object.clone(), object_report);
    }
    links::write_deferred(&stage, &mut run, &mut reports, &mut report.not_kept).await?;

    prepared.source.end_snapshot().await?;
    run.flush(&opts.rejects_path)?;
    report.objects = prepared
        .plan
        .objects
        .iter()
        .filter_map(|p| reports.remove(&p.object))
        .collect();
    report.not_kept.append(&mut run.not_kept);
    report.not_kept.sort();
    report.not_kept.dedup();
    report.files = files.counts();
    report.not_kept.extend(files.take_notes());
    report.requests = target.stats().requests;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The report line for member pictures, which this version leaves behind. Twenty 2.21 takes a
/// member's picture from an API key whose role has the Workspace Members permission
/// (`uploadWorkspaceMemberProfilePicture`, `file-core-picture.resolver.ts`, guarded by
/// `upload-profile-picture-permission.guard.ts`; then `updateWorkspaceMemberSettings`,
/// `user.resolver.ts`), but members are matched, not created, and their pictures not sent yet.
fn member_pictures_note(count: usize) -> String {
    format!(
        "workspaceMember.avatarUrl: {count} member pictures were not moved (members are matched by email, not copied); each member, or an admin, sets the picture again in the target"
    )
}

/// The report of a run before any record moves: what the plan skips and drops.
fn start_report(prepared: &Prepared, opts: &MigrateOptions) -> RunReport {
    let mut report = RunReport {
        skipped_objects: prepared.plan.skipped.clone(),
        rejects_file: Some(opts.rejects_path.clone()),
        state_file: Some(opts.state_path.clone()),
        ..RunReport::default()
    };
    if prepared.member_pictures > 0 {
        report
            .not_kept
            .push(member_pictures_note(prepared.member_pictures));
    }
    for p in &prepared.plan.objects {
        if !p.dropped.is_empty() {
            report
                .dropped_fields
                .insert(p.object.clone(), p.dropped.clone());
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_parses_auto_and_positive_numbers() {
        assert_eq!("auto".parse::<BatchSize>().unwrap(), BatchSize::Auto);
        assert_eq!("60".parse::<BatchSize>().unwrap(), BatchSize::Fixed(60));
        assert!("0".parse::<BatchSize>().is_err());
    }
}
