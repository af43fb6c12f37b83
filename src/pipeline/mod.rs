//! The migration pipeline: the only module that wires source, plan, transform, destination and
//! report together. One file per stage, in the order data flows:
//!
//! [`discover`] (read source and target, plan) → [`preflight`] (checks, nothing written) →
//! [`schema`] (data model) → [`members`] →
//! [`records`] (keyset stream → transform → batch → [`delivery`]) → [`soft_deletes`] →
//! [`links`] (deferred references) → member pictures → [`config`] (workspace configuration,
//! dashboards) → [`links::write_after_config`] (references to dashboards) → webhooks → report;
//! [`verify`] reads both sides back afterwards.
//! Files move inside the records stage ([`files`]): the bytes first, then the record.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use crate::destination::{Destination, TargetError};
use crate::report::{ObjectReport, RunReport};
use crate::schema_sync::SchemaError;
use crate::source::SourceError;
use crate::state::{Ledger, Pass, StateError};
use crate::transform::MemberMap;

pub mod config;
mod delivery;
mod delta;
pub mod delta_plan;
pub mod discover;
pub mod files;
mod guards;
mod links;
mod members;
mod options;
pub mod preflight;
mod records;
mod schema;
mod soft_deletes;
pub mod verify;

pub use discover::{prepare, Prepared};
pub use guards::PARENT_NOT_MIGRATED;
pub(crate) use guards::{absent_objects, open_guarded};
pub use options::{BatchSize, DeletedPolicy, MigrateOptions, DEFAULT_MAX_BATCH};
pub(crate) use records::build_transform;

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
    /// The runbook could not be written.
    #[error("cannot write the runbook in {path}: {source}")]
    Runbook {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
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

/// What every stage of one run reads.
pub(crate) struct Stage<'a, D> {
    /// The run's options.
    opts: &'a MigrateOptions,
    /// Source, target model and plan.
    prepared: &'a Prepared,
    /// The destination.
    target: &'a D,
    /// The run's ledger.
    ledger: &'a Ledger,
    /// Source member id → target member id.
    members: &'a MemberMap,
    /// Objects whose soft-deleted rows are not migrated (see [`absent_objects`]).
    absent: &'a HashMap<String, String>,
    /// The pass: the first, or a delta from a complete one.
    pass: &'a Pass,
}

/// Runs the whole migration, resuming from the ledger at `opts.state_path` when it holds an
/// unfinished run of the same source, workspace, target and options.
pub async fn migrate<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
) -> Result<RunReport, MigrateError> {
    let started = Instant::now();
    let prepared = schema::prepare_and_sync(opts, target).await?;
    let (ledger, resuming) = Ledger::open(
        &opts.state_path,
        &discover::fingerprint(opts, &prepared, target),
        opts.restart,
    )?;
    let pass = ledger.begin_pass()?;
    match &pass.previous {
        Some(previous) => eprintln!(
            "delta pass {}: sending what changed in the source since {} (ledger {})",
            pass.number,
            previous.watermark.to_rfc3339(),
            opts.state_path.display()
        ),
        None if resuming => {
            eprintln!("resuming the run saved in {}", opts.state_path.display())
        }
        None => {}
    }
    let members = members::member_map(opts, &prepared);
    let mut run = delivery::Run::new(opts, target, &ledger, resuming);
    for p in &prepared.plan.objects {
        run.rejected
            .insert(p.object.clone(), ledger.rejected(&p.object)?);
    }
    let mut report = start_report(&prepared, opts);
    report.pass.number = pass.number;
    report.pass.since = pass.previous.as_ref().map(|p| p.watermark);
    report.pass.watermark = Some(prepared.watermark);
    report.pass.deletes_propagated = opts.propagate_deletes;

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
        pass: &pass,
    };
    let files_err = |e| MigrateError::from_files(e, &opts.state_path);
    files::Files::<D>::check_target(&prepared.plan, &prepared.target_model).map_err(files_err)?;
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
            &mut report.pass,
        )
        .await?;
        reports.insert(object_plan.object.clone(), object_report);
    }
    links::write_deferred(&stage, &mut run, &mut reports, &mut report.not_kept).await?;
    if pass.is_delta() {
        for object_plan in &prepared.plan.objects {
            let table = &prepared
                .model
                .object(&object_plan.object)
                .expect("planned objects come from the model")
                .table;
            let object_report = reports
                .get_mut(&object_plan.object)
                .expect("every planned object has a report");
            delta::hard_deletes(&stage, object_plan, table, object_report, &mut report.pass)
                .await?;
        }
    }
    // Member pictures: members are matched, not copied, so each target member gets its
    // source member's picture now (the bytes read in the same snapshot as the records).
    files
        .move_member_pictures(
            &prepared.member_pictures,
            &members,
            &prepared.target_avatars,
        )
        .await
        .map_err(files_err)?;
    // Read in the same snapshot as the records; sent after them (webhooks last of all).
    let source_config = match opts.config {
        true => Some(config::read(&prepared).await?),
        false => None,
    };
    if let Some(source_config) = &source_config {
        let before_webhooks = config::run(
            target,
            &prepared.target_read,
            source_config,
            &members,
            &ledger,
        )
        .await?;
        // The dashboards exist now: the references to them, read in the same snapshot, and
        // before the webhooks, which would fire for each.
        links::write_after_config(&stage, &mut run, &mut reports, &mut report.not_kept).await?;
        report.config = Some(
            config::finish(
                opts,
                target,
                &prepared.target_read,
                source_config,
                &members,
                &ledger,
                before_webhooks,
            )
            .await?,
        );
    }

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
    ledger.complete_pass(&pass, prepared.watermark)?;
    report.requests = target.stats().requests;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The report of a run before any record moves: what the plan skips and drops.
fn start_report(prepared: &Prepared, opts: &MigrateOptions) -> RunReport {
    let mut report = RunReport {
        skipped_objects: prepared.plan.skipped.clone(),
        rejects_file: Some(opts.rejects_path.clone()),
        state_file: Some(opts.state_path.clone()),
        ..RunReport::default()
    };
    for p in &prepared.plan.objects {
        if !p.dropped.is_empty() {
            report
                .dropped_fields
                .insert(p.object.clone(), p.dropped.clone());
        }
    }
    report
}
