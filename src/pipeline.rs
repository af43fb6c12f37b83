//! The migration pipeline, and the only module that wires source, plan, transform, target and
//! report together: discover → plan → per object (keyset stream → transform → batch → upsert
//! → count) → deferred links → report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::destination::{BatchBody, ReturnedId, Target, TargetError, TargetModel};
use crate::files::Attached;
use crate::model::quote_ident;
use crate::model::{Field, FieldType, Model, Object, Relation, RelationKind};
use crate::plan::{self, Member, ObjectPlan, Plan, PlanInput, UnmatchedMembers};
use crate::report::{ObjectReport, Progress, Reject, RejectsFile, RunReport};
use crate::schema_sync::{self, SchemaDiff, SchemaError, SchemaOptions};
use crate::source::records::{Cell, ReadColumn, RecordReader, RowFilter, SourceRow};
use crate::source::{Source, SourceError, WorkspaceInfo};
use crate::state::{Fingerprint, Ledger, Phase, StateError};
use crate::transform::{target_id, FieldMap, MemberMap, ObjectTransform, Reference};
use tokio_util::sync::CancellationToken;

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
    pub files: crate::files::FileOptions,
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
    Files(Box<crate::files::FilesError>),
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

/// What `plan` shows and `migrate` executes, with everything read to make it.
pub struct Prepared {
    /// The source session (read-only snapshot open).
    pub source: Source,
    /// The chosen workspace.
    pub workspace: WorkspaceInfo,
    /// The source model.
    pub model: Model,
    /// The target's model, as a [`Model`].
    pub target_model: Model,
    /// The target's model as read, for the data model sync to start from.
    pub target_read: TargetModel,
    /// The target's members.
    pub target_members: Vec<Member>,
    /// The plan.
    pub plan: Plan,
    /// What the data model sync creates before the records (empty with `--no-schema`).
    pub schema: SchemaDiff,
}

/// Reads source and target and builds the plan. Writes nothing anywhere.
pub async fn prepare(opts: &MigrateOptions, target: &Target) -> Result<Prepared, MigrateError> {
    prepare_with(opts, target, None).await
}

/// [`prepare`], with the target's members when they were already read in this run (a data
/// model sync does not change them).
async fn prepare_with(
    opts: &MigrateOptions,
    target: &Target,
    target_members: Option<Vec<Member>>,
) -> Result<Prepared, MigrateError> {
    let source = Source::connect(&opts.source_url)
        .await?
        .with_jobs(opts.source_jobs);
    source.begin_snapshot().await?;
    let workspace = source.choose_workspace(opts.workspace.as_deref()).await?;
    if workspace.layout.layout == crate::source::Layout::Unknown {
        return Err(MigrateError::Unsupported(format!(
            "workspace {} has a database layout this tool does not know: {} (recorded version {})",
            workspace.label(),
            workspace.layout.notes.join("; "),
            workspace.version.as_deref().unwrap_or("none")
        )));
    }
    let client = source.client();
    let model = crate::source::metadata::read_model(client, &workspace).await?;
    let pool = source.snapshot_pool().await?;
    let counts = crate::source::counts::count_all(pool, &workspace.schema, &model.objects).await?;
    let source_members: Vec<Member> =
        crate::source::members::read_members(client, &workspace.schema, &model)
            .await?
            .into_iter()
            .map(|m| Member {
                id: m.id,
                email: m.email,
                name: format!(
                    "{} {}",
                    m.first_name.unwrap_or_default(),
                    m.last_name.unwrap_or_default()
                )
                .trim()
                .to_owned(),
            })
            .collect();

    let target_read = target
        .model()
        .await
        .map_err(target_err("reading the target's data model"))?;
    let target_model = target_model_to_model(&target_read);
    // Data model sync: plan the records against the target as it will be once the diff is
    // applied; `migrate` applies it and prepares again against the real result.
    let schema = if opts.schema.sync {
        let details = schema_sync::read_details(client, &workspace).await?;
        schema_sync::diff(&model, &target_model, &details, &opts.schema)
    } else {
        SchemaDiff::default()
    };
    let planned_target = schema.plan_view(&target_model, &model);
    let target_members: Vec<Member> = match target_members {
        Some(members) => members,
        None => target
            .members()
            .await
            .map_err(target_err("reading the target's workspace members"))?
            .into_iter()
            .map(|m| Member {
                id: m.id,
                email: m.user_email,
                name: m.name.unwrap_or_default(),
            })
            .collect(),
    };

    let batch = match opts.batch_size {
        BatchSize::Auto => DEFAULT_MAX_BATCH,
        BatchSize::Fixed(n) => n,
    };
    let no_refs = HashMap::new();
    let planned_source = schema_sync::planned_source(&model, &opts.schema);
    let mut input = PlanInput {
        source: &planned_source,
        target: &planned_target,
        counts: &counts,
        source_members: &source_members,
        target_members: &target_members,
        member_references: &no_refs,
        unmatched: &opts.unmatched,
        keep_deleted: opts.deleted == DeletedPolicy::Keep,
        batch_size: batch,
        requests_per_minute: opts.requests_per_minute,
    };
    // First pass decides which objects move; their member references are then counted.
    let draft = plan::build(&input);
    let moved: Vec<&Object> = draft
        .objects
        .iter()
        .filter_map(|p| model.object(&p.object))
        .collect();
    let refs = crate::source::counts::member_references(
        client,
        &workspace.schema,
        &moved,
        opts.deleted == DeletedPolicy::Keep,
    )
    .await?;
    input.member_references = &refs;
    let mut plan = plan::build(&input);
    schema.rename_keys(&mut plan);
    plan.blockers.extend(schema.blockers());
    Ok(Prepared {
        source,
        workspace,
        model,
        target_model,
        target_read,
        target_members,
        plan,
        schema,
    })
}

/// Converts the target's metadata into the shared model (fields without columns).
pub fn target_model_to_model(t: &TargetModel) -> Model {
    let objects = t
        .objects
        .iter()
        .map(|o| Object {
            id: o.id,
            name_singular: o.name_singular.clone(),
            name_plural: o.name_plural.clone(),
            label_singular: o.label_singular.clone().unwrap_or_default(),
            label_plural: o.label_plural.clone().unwrap_or_default(),
            // The target's metadata does not say (no `isCustom` since 2.x) and nothing
            // decides on it: custom-ness is read from the source.
            is_custom: false,
            is_system: o.is_system,
            is_active: o.is_active,
            is_remote: false,
            table: String::new(),
            table_exists: true,
            fields: o
                .fields
                .iter()
                .map(|f| {
                    let field_type = FieldType::from_metadata(&f.field_type);
                    let relation = f.relation.as_ref().map(|r| {
                        let kind = if r.relation_type == "ONE_TO_MANY" {
                            RelationKind::OneToMany
                        } else {
                            RelationKind::ManyToOne
                        };
                        // Join column: settings.joinColumnName, else `<name>Id`
                        // (`compute-morph-or-relation-field-join-column-name.util.ts`).
                        let join_column = (kind == RelationKind::ManyToOne).then(|| {
                            f.settings
                                .as_ref()
                                .and_then(|s| s.get("joinColumnName"))
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                                .unwrap_or_else(|| format!("{}Id", f.name))
                        });
                        Relation {
                            kind,
                            target_object_id: Uuid::nil(),
                            target_object: r
                                .target_object_metadata
                                .as_ref()
                                .map(|t| t.name_singular.clone())
                                .unwrap_or_default(),
                            join_column,
                        }
                    });
                    Field {
                        id: f.id,
                        name: f.name.clone(),
                        label: f.label.clone().unwrap_or_default(),
                        field_type,
                        metadata_type: f.field_type.clone(),
                        is_custom: false,
                        is_system: f.is_system,
                        is_active: f.is_active,
                        is_nullable: f.is_nullable.unwrap_or(true),
                        is_unique: f.is_unique.unwrap_or(false),
                        default_value: f.default_value.clone(),
                        options: f.options.clone(),
                        settings: f.settings.clone(),
                        relation,
                        columns: Vec::new(),
                    }
                })
                .collect(),
            unmapped_columns: Vec::new(),
        })
        .collect();
    Model { objects }
}

/// Runs the whole migration, resuming from the ledger at `opts.state_path` when it holds an
/// unfinished run of the same source, workspace, target and options.
pub async fn migrate(opts: &MigrateOptions, target: &Target) -> Result<RunReport, MigrateError> {
    let started = Instant::now();
    let mut prepared = prepare(opts, target).await?;
    if !prepared.plan.blockers.is_empty() {
        return Err(MigrateError::Blocked(prepared.plan.blockers.clone()));
    }
    // Data model first, then a fresh plan against the target's real model.
    if prepared.schema.has_changes() {
        let read = std::mem::take(&mut prepared.target_read);
        let done = schema_sync::apply_to(&prepared.schema, target, read)
            .await
            .map_err(Box::new)?;
        if let Some(line) = done.summary() {
            eprintln!("{line}");
        }
        prepared.source.end_snapshot().await?;
        // The model changed (re-read); the members did not.
        let members = std::mem::take(&mut prepared.target_members);
        prepared = prepare_with(opts, target, Some(members)).await?;
        if !prepared.plan.blockers.is_empty() {
            return Err(MigrateError::Blocked(prepared.plan.blockers.clone()));
        }
    }
    let fingerprint = Fingerprint {
        source: prepared.source.target().to_owned(),
        workspace: prepared.workspace.id,
        target: target.base_url().to_owned(),
        options: BTreeMap::from([
            ("deleted".to_owned(), format!("{:?}", opts.deleted)),
            (
                "unmatched-members".to_owned(),
                format!("{:?}", opts.unmatched),
            ),
        ]),
    };
    let (ledger, resuming) = Ledger::open(&opts.state_path, &fingerprint, opts.restart)?;
    if resuming {
        eprintln!("resuming the run saved in {}", opts.state_path.display());
    }
    let members = prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members);
    let mut run = Run {
        target,
        cap: match opts.batch_size {
            BatchSize::Auto => DEFAULT_MAX_BATCH,
            BatchSize::Fixed(n) => n,
        },
        adaptive: opts.batch_size == BatchSize::Auto,
        rejects: RejectsFile::new(&opts.rejects_path, resuming),
        rejected: HashMap::new(),
        checked: HashSet::new(),
        not_kept: Vec::new(),
        ledger: &ledger,
        max_in_flight: opts.max_in_flight.max(1),
        inflight: futures_util::stream::FuturesOrdered::new(),
        cap_known: opts.batch_size != BatchSize::Auto,
    };
    for p in &prepared.plan.objects {
        run.rejected
            .insert(p.object.clone(), ledger.rejected(&p.object)?);
    }

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

    // Objects with rows that will not exist in the target (soft-deleted and skipped):
    // references to them are written as null, or the referring row skipped when it cascades
    // with its parent.
    let absent = absent_objects(&prepared, opts.deleted);
    let interrupted = || MigrateError::Interrupted {
        state: opts.state_path.clone(),
    };

    let client = prepared.source.client();
    let mut reports: BTreeMap<String, ObjectReport> = BTreeMap::new();
    let files_err = |e| match e {
        crate::files::FilesError::Interrupted => interrupted(),
        other => MigrateError::Files(Box::new(other)),
    };
    crate::files::Files::check_target(&prepared.plan, &prepared.target_model).map_err(files_err)?;
    let mut files = crate::files::Files::new(
        opts.files.clone(),
        client,
        &prepared.workspace,
        target,
        &ledger,
        opts.cancel.clone(),
    )
    .map_err(files_err)?;
    for object_plan in &prepared.plan.objects {
        let object = prepared
            .model
            .object(&object_plan.object)
            .expect("planned objects come from the model");
        let saved = ledger.object(&object.name_singular)?;
        let has_deferred = object_plan.fields.iter().any(|f| f.deferred);
        let mut object_report = match &saved {
            Some(state) => state.report.clone(),
            None => ObjectReport::new(&object.name_singular),
        };
        let phase = saved.as_ref().map(|s| s.phase).unwrap_or(Phase::Pending);
        if matches!(phase, Phase::Copied | Phase::Done) {
            reports.insert(object.name_singular.clone(), object_report);
            continue;
        }
        let filter = match opts.deleted {
            DeletedPolicy::Skip => {
                if phase == Phase::Pending {
                    object_report.skip("soft-deleted", object_plan.deleted);
                    object_report.read += object_plan.deleted;
                }
                RowFilter::Live
            }
            DeletedPolicy::Keep => RowFilter::All,
        };
        let mut nulled = NullRefs::new(&prepared.workspace.schema, object, object_plan, &absent);
        let mut reader = RecordReader::new(
            client,
            &prepared.workspace.schema,
            object,
            filter,
            opts.page_size,
        )
        .await?;
        nulled.locate(reader.columns());
        let mut cursor = saved.as_ref().and_then(|s| s.cursor);
        reader.resume_after(cursor);
        let transform = build_transform(object, object_plan, reader.columns(), false);
        let references = record_references(object, object_plan);
        let mut uniques = UniqueGuard::new(
            client,
            &prepared.workspace.schema,
            object,
            object_plan,
            filter,
        )
        .await?;
        let object_files = files
            .object(
                object,
                object_plan,
                &prepared.target_model,
                reader.columns(),
            )
            .map_err(files_err)?;
        let total = match opts.deleted {
            DeletedPolicy::Skip => object_plan.live,
            DeletedPolicy::Keep => object_plan.live + object_plan.deleted,
        };
        let progress = Progress::start(&object.name_singular, total);
        progress.inc(object_report.written + object_report.rejected);
        let mut batch: Vec<(Uuid, Value)> = Vec::with_capacity(run.cap);
        // Counts of the rows read since the last batch; they settle with the next one.
        let mut pending = ObjectReport::new(&object.name_singular);
        loop {
            let rows = reader.next_page(client).await?;
            if rows.is_empty() {
                break;
            }
            progress.inc(rows.len() as u64);
            nulled.load(client, &rows).await?;
            if !object_files.is_empty() {
                files
                    .prefetch(&object_files, &rows)
                    .await
                    .map_err(files_err)?;
            }
            for row in rows {
                pending.read += 1;
                match transform.apply(&row, &members) {
                    Ok(mut record) => {
                        if !nulled.apply(&row, &mut record, &mut report.not_kept) {
                            pending.skip(PARENT_NOT_MIGRATED, 1);
                        } else if let Some((field, message)) =
                            run.references_rejected(&record, &references)
                        {
                            // The target would refuse it for the missing parent anyway; say
                            // why in our words and save the requests of a bisection.
                            let record = Value::Object(record);
                            run.reject(
                                &object.name_singular,
                                row.id,
                                Some(field),
                                &message,
                                Some(&record),
                            )?;
                            pending.rejected += 1;
                        } else if let Some((field, first)) = uniques.check(row.id, &record) {
                            let record = Value::Object(record);
                            let message = format!(
                                "{field} repeats the value of {} {first} once normalised as the target stores it (emails lower-cased, link hosts lower-cased); the target would merge the two records",
                                object.name_singular
                            );
                            run.reject(
                                &object.name_singular,
                                row.id,
                                Some(&field),
                                &message,
                                Some(&record),
                            )?;
                            pending.rejected += 1;
                        } else if object_files.is_empty() {
                            batch.push((row.id, Value::Object(record)));
                        } else {
                            // Files phase: the bytes move (ledger first), then the record.
                            let attached = match files.attach(&object_files, &row, record).await {
                                Ok(a) => a,
                                Err(e) => {
                                    // Batches in flight settle; rows since the last saved
                                    // cursor are read again on resume, their files reused.
                                    run.drain(&mut object_report).await?;
                                    run.flush(&opts.rejects_path)?;
                                    return Err(files_err(e));
                                }
                            };
                            match attached {
                                Attached::Ready(record) => {
                                    batch.push((row.id, Value::Object(record)))
                                }
                                Attached::Skipped(rule) => pending.skip(rule, 1),
                                Attached::Rejected {
                                    field,
                                    message,
                                    record,
                                } => {
                                    run.reject(
                                        &object.name_singular,
                                        row.id,
                                        Some(&field),
                                        &message,
                                        Some(&record),
                                    )?;
                                    pending.rejected += 1;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        run.reject(
                            &object.name_singular,
                            row.id,
                            Some(&e.field),
                            &e.reason,
                            None,
                        )?;
                        pending.rejected += 1;
                    }
                }
                cursor = Some(row.id);
                if batch.len() >= run.cap {
                    let delta =
                        std::mem::replace(&mut pending, ObjectReport::new(&object.name_singular));
                    let settled = run
                        .submit(
                            object_plan,
                            std::mem::take(&mut batch),
                            cursor,
                            delta,
                            &mut object_report,
                        )
                        .await?;
                    // Confirmed, in order: every row up to the last settled cursor is handled.
                    if let Some(Some(settled)) = settled.last() {
                        ledger.save(
                            &object.name_singular,
                            Phase::Copying,
                            Some(*settled),
                            &object_report,
                        )?;
                    }
                    if opts.cancel.is_cancelled() {
                        run.drain(&mut object_report).await?;
                        ledger.save(
                            &object.name_singular,
                            Phase::Copying,
                            cursor,
                            &object_report,
                        )?;
                        run.flush(&opts.rejects_path)?;
                        return Err(interrupted());
                    }
                }
            }
        }
        if !batch.is_empty() {
            let delta = std::mem::replace(&mut pending, ObjectReport::new(&object.name_singular));
            run.submit(object_plan, batch, cursor, delta, &mut object_report)
                .await?;
        }
        run.drain(&mut object_report).await?;
        object_report.absorb(&pending);
        // Soft-deleted rows kept: created above, now soft-deleted in batches.
        if opts.deleted == DeletedPolicy::Keep && object_plan.deleted > 0 {
            // Page by page, so memory does not grow with the soft-deleted rows.
            let mut deleted = RecordReader::new(
                client,
                &prepared.workspace.schema,
                object,
                RowFilter::Deleted,
                10_000,
            )
            .await?;
            loop {
                let rows = deleted.next_page(client).await?;
                if rows.is_empty() {
                    break;
                }
                let ids: Vec<Uuid> = rows
                    .iter()
                    .map(|r| target_id(r.id))
                    .filter(|id| !run.rejected_contains(&object.name_singular, *id))
                    .collect();
                target
                    .soft_delete_many(&object_plan.target_plural, &ids)
                    .await
                    .map_err(target_err(format!(
                        "soft-deleting {} {}",
                        ids.len(),
                        object.name_singular
                    )))?;
                object_report.soft_deleted += ids.len() as u64;
            }
        }
        let done = if has_deferred {
            Phase::Copied
        } else {
            Phase::Done
        };
        ledger.save(&object.name_singular, done, cursor, &object_report)?;
        progress.finish(&object_report);
        reports.insert(object.name_singular.clone(), object_report);
        if opts.cancel.is_cancelled() {
            run.flush(&opts.rejects_path)?;
            return Err(interrupted());
        }
    }

    // Second pass: references deferred to break cycles, written as `{id, key}` upserts. An
    // upsert of the same values is idempotent, so a resumed pass simply runs again.
    for object_plan in prepared
        .plan
        .objects
        .iter()
        .filter(|p| p.fields.iter().any(|f| f.deferred))
    {
        let object = prepared
            .model
            .object(&object_plan.object)
            .expect("planned objects come from the model");
        if ledger
            .object(&object.name_singular)?
            .is_some_and(|s| s.phase == Phase::Done)
        {
            continue;
        }
        let filter = match opts.deleted {
            DeletedPolicy::Skip => RowFilter::Live,
            DeletedPolicy::Keep => RowFilter::All,
        };
        let mut nulled = NullRefs::new(&prepared.workspace.schema, object, object_plan, &absent);
        let mut reader = RecordReader::new(
            client,
            &prepared.workspace.schema,
            object,
            filter,
            opts.page_size,
        )
        .await?;
        nulled.locate(reader.columns());
        let transform = build_transform(object, object_plan, reader.columns(), true);
        let mut links = ObjectReport::new(&object.name_singular);
        let mut batch = Vec::with_capacity(run.cap);
        loop {
            let rows = reader.next_page(client).await?;
            if rows.is_empty() {
                break;
            }
            nulled.load(client, &rows).await?;
            for row in rows {
                if run.rejected_contains(&object.name_singular, target_id(row.id)) {
                    continue;
                }
                if let Some(record) = deferred_record(
                    &object.name_singular,
                    &transform,
                    &nulled,
                    &row,
                    &members,
                    &mut report.not_kept,
                ) {
                    batch.push((row.id, Value::Object(record)));
                }
                if batch.len() >= run.cap {
                    let delta = ObjectReport::new(&object.name_singular);
                    run.submit(
                        object_plan,
                        std::mem::take(&mut batch),
                        None,
                        delta,
                        &mut links,
                    )
                    .await?;
                }
            }
        }
        if !batch.is_empty() {
            let delta = ObjectReport::new(&object.name_singular);
            run.submit(object_plan, batch, None, delta, &mut links)
                .await?;
        }
        run.drain(&mut links).await?;
        let r = reports
            .get_mut(&object_plan.object)
            .expect("every planned object has a report");
        r.deferred_links = links.written;
        ledger.save(&object_plan.object, Phase::Done, None, r)?;
        if opts.cancel.is_cancelled() {
            run.flush(&opts.rejects_path)?;
            return Err(interrupted());
        }
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
    report.requests = target.stats().requests;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The deferred references of one row created by the first pass, or `None` when there is
/// nothing to write. A value that cannot be transformed leaves the row without those
/// references, so it is reported in `notes` instead of being dropped silently.
fn deferred_record(
    object: &str,
    transform: &ObjectTransform,
    nulled: &NullRefs<'_>,
    row: &SourceRow,
    members: &MemberMap,
    notes: &mut Vec<String>,
) -> Option<Map<String, Value>> {
    let mut record = match transform.apply(row, members) {
        Ok(record) => record,
        Err(e) => {
            notes.push(format!(
                "{object} {}: the deferred field {} was not written ({}); the record exists without it",
                row.id, e.field, e.reason
            ));
            return None;
        }
    };
    // A row whose cascading parent is not migrated was skipped by the first pass.
    if !nulled.apply(row, &mut record, notes) {
        return None;
    }
    record
        .iter()
        .any(|(k, v)| k != "id" && !v.is_null())
        .then_some(record)
}

/// The transform for one object: the first pass writes every non-deferred field, the second
/// only the deferred references.
pub(crate) fn build_transform(
    object: &Object,
    plan: &ObjectPlan,
    columns: &[crate::source::records::ReadColumn],
    deferred_pass: bool,
) -> ObjectTransform {
    let fields = plan
        .fields
        .iter()
        .filter(|d| d.deferred == deferred_pass)
        .filter_map(|d| {
            let field = object.field(&d.source)?;
            Some(FieldMap::new(field, &d.key, columns, d.reference).omitting_empty(d.omit_empty))
        })
        .collect();
    ObjectTransform { fields }
}

/// The objects whose soft-deleted rows are not migrated (`--deleted skip`), by name, with their
/// table: references to those rows must not reach the target.
pub(crate) fn absent_objects(p: &Prepared, deleted: DeletedPolicy) -> HashMap<String, String> {
    if deleted == DeletedPolicy::Keep {
        return HashMap::new();
    }
    p.plan
        .objects
        .iter()
        .filter(|o| o.deleted > 0)
        .filter_map(|o| Some((o.object.clone(), p.model.object(&o.object)?.table.clone())))
        .collect()
}

/// References to records that are not migrated (soft-deleted rows, skipped): a row whose
/// parent relation deletes with its parent (`onDelete: CASCADE`, e.g. a noteTarget of a
/// deleted note) is skipped, as Twenty would have removed it with the parent; any other such
/// reference (`SET_NULL`) is written as null.
///
/// Which referenced rows are soft-deleted is asked per page ([`NullRefs::load`]): one query
/// for every parent table at once, over the distinct ids the page names, so no set of deleted
/// ids is held in memory. (A correlated `EXISTS` column in the page query cost 3–5× the read
/// time: one index probe per row and reference instead of per distinct id.)
pub(crate) struct NullRefs<'a> {
    keys: Vec<AbsentRef<'a>>,
    /// The parent tables (`"schema"."table"`) with soft-deleted rows that the object references.
    parents: Vec<String>,
    /// The prepared union of `parents`, once needed.
    statement: Option<tokio_postgres::Statement>,
    /// Source ids of the soft-deleted rows the current page references.
    page: HashSet<Uuid>,
}

/// One reference that may point at a row that is not migrated.
struct AbsentRef<'a> {
    /// API key of the reference in the record.
    key: &'a str,
    /// The source column holding the reference.
    column: String,
    /// Its cell index in the reader's rows, once located.
    index: Option<usize>,
    /// Index of the parent table in [`NullRefs::parents`].
    parent: usize,
    /// The referring row is skipped rather than the reference nulled.
    cascade: bool,
    /// The report line when references are nulled.
    note: String,
    /// The line is in the report already: one line per reference, not one per row.
    noted: std::cell::Cell<bool>,
}

/// The rule that skips rows whose cascading parent is not migrated.
pub const PARENT_NOT_MIGRATED: &str = "parent-soft-deleted";

impl<'a> NullRefs<'a> {
    /// The rule for `object`'s record references to the `absent` objects (see
    /// [`absent_objects`]) in the source `schema`.
    pub(crate) fn new(
        schema: &str,
        object: &Object,
        plan: &'a ObjectPlan,
        absent: &HashMap<String, String>,
    ) -> Self {
        let mut parents: Vec<String> = Vec::new();
        let keys = plan
            .fields
            .iter()
            .filter(|d| d.reference == Reference::Record)
            .filter_map(|d| {
                let field = object.field(&d.source)?;
                let target = &field.relation.as_ref()?.target_object;
                let parent_table = absent.get(target)?;
                let column = field.columns.first()?;
                let cascade = field
                    .settings
                    .as_ref()
                    .and_then(|s| s.get("onDelete"))
                    .and_then(Value::as_str)
                    == Some("CASCADE");
                let table = format!("{}.{}", quote_ident(schema), quote_ident(parent_table));
                let parent = match parents.iter().position(|p| *p == table) {
                    Some(i) => i,
                    None => {
                        parents.push(table);
                        parents.len() - 1
                    }
                };
                Some(AbsentRef {
                    key: d.key.as_str(),
                    column: column.name.clone(),
                    index: None,
                    parent,
                    cascade,
                    noted: std::cell::Cell::new(false),
                    note: format!(
                        "{}.{} references to soft-deleted {} rows (not migrated) are written as null",
                        object.name_singular, d.key, target
                    ),
                })
            })
            .collect();
        Self {
            keys,
            parents,
            statement: None,
            page: HashSet::new(),
        }
    }

    /// Finds the reference columns among the reader's.
    pub(crate) fn locate(&mut self, columns: &[ReadColumn]) {
        for k in &mut self.keys {
            k.index = columns.iter().position(|c| c.name == k.column);
        }
    }

    /// Asks the source which rows referenced by `rows` are soft-deleted (one query, and none
    /// when the object references no object with soft-deleted rows).
    pub(crate) async fn load(
        &mut self,
        client: &tokio_postgres::Client,
        rows: &[SourceRow],
    ) -> Result<(), MigrateError> {
        self.page.clear();
        if self.keys.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Vec<Uuid>> = vec![Vec::new(); self.parents.len()];
        for k in &self.keys {
            let Some(i) = k.index else { continue };
            ids[k.parent].extend(rows.iter().filter_map(|r| match r.cells.get(i) {
                Some(Cell::Uuid(id)) => Some(*id),
                _ => None,
            }));
        }
        if ids.iter().all(Vec::is_empty) {
            return Ok(());
        }
        for list in &mut ids {
            list.sort_unstable();
            list.dedup();
        }
        if self.statement.is_none() {
            let sql = self
                .parents
                .iter()
                .enumerate()
                .map(|(i, table)| {
                    format!(
                        "SELECT id FROM {table} WHERE id = ANY(${}) AND \"deletedAt\" IS NOT NULL",
                        i + 1
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let types = vec![tokio_postgres::types::Type::UUID_ARRAY; self.parents.len()];
            let statement =
                client
                    .prepare_typed(&sql, &types)
                    .await
                    .map_err(crate::source::during(
                        "preparing the soft-deleted parent lookup",
                    ))?;
            self.statement = Some(statement);
        }
        let statement = self.statement.as_ref().expect("prepared above");
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = ids
            .iter()
            .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let found = client
            .query(statement, &params)
            .await
            .map_err(crate::source::during("looking up soft-deleted parents"))?;
        self.page.extend(found.iter().map(|r| r.get::<_, Uuid>(0)));
        Ok(())
    }

    /// Applies the rule to one record built from `row` (of the page last [`NullRefs::load`]ed);
    /// false means the row is skipped.
    pub(crate) fn apply(
        &self,
        row: &SourceRow,
        record: &mut Map<String, Value>,
        notes: &mut Vec<String>,
    ) -> bool {
        for k in &self.keys {
            let flagged = k
                .index
                .and_then(|i| row.cells.get(i))
                .is_some_and(|c| matches!(c, Cell::Uuid(id) if self.page.contains(id)));
            if !flagged {
                continue;
            }
            // A cascading parent removes the row whatever pass writes the reference, so both
            // passes skip it; a nulled reference is written only in the pass that carries it.
            if k.cascade {
                return false;
            }
            if record.get(k.key).is_some_and(|v| !v.is_null()) {
                record.insert(k.key.to_owned(), Value::Null);
                if !k.noted.replace(true) {
                    notes.push(k.note.clone());
                }
            }
        }
        true
    }
}

/// Values of the target's unique fields seen so far in this object, normalised as the target
/// stores them: two source rows that differ only in case (emails) or in a link's origin would
/// otherwise be merged into one record by the upsert, silently. Only the rows the source named
/// as candidates ([`crate::source::duplicates`]) are remembered, so memory follows the
/// duplicates, not the table.
struct UniqueGuard {
    keys: Vec<String>,
    /// Rows that share a coarse key with another row; every other row is unique.
    candidates: HashSet<Uuid>,
    seen: HashMap<u64, Uuid>,
}

impl UniqueGuard {
    /// The guard of one object, asking the source which rows may repeat a value.
    async fn new(
        client: &tokio_postgres::Client,
        schema: &str,
        object: &Object,
        plan: &ObjectPlan,
        filter: RowFilter,
    ) -> Result<Self, MigrateError> {
        let decisions: Vec<_> = plan
            .fields
            .iter()
            .filter(|d| d.unique && !d.deferred)
            .collect();
        let fields: Vec<&Field> = decisions
            .iter()
            .filter_map(|d| object.field(&d.source))
            .collect();
        let candidates = crate::source::duplicates::candidates(
            client,
            schema,
            object,
            &fields,
            filter == RowFilter::Live,
        )
        .await?;
        Ok(Self {
            keys: decisions.iter().map(|d| d.key.clone()).collect(),
            candidates,
            seen: HashMap::new(),
        })
    }

    /// The earlier row holding the same unique value, as (field, its id); else remembers it.
    fn check(&mut self, id: Uuid, record: &Map<String, Value>) -> Option<(String, Uuid)> {
        if !self.candidates.contains(&id) {
            return None;
        }
        let mut fresh = Vec::new();
        for key in &self.keys {
            let Some(value) = record.get(key).and_then(unique_value) else {
                continue;
            };
            // A 64-bit hash of the exact normalised value; a collision is ~1e-6 at 10M.
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (key, &value).hash(&mut h);
            let hash = h.finish();
            if let Some(first) = self.seen.get(&hash) {
                if *first != id {
                    return Some((key.clone(), *first));
                }
            }
            fresh.push(hash);
        }
        for hash in fresh {
            self.seen.insert(hash, id);
        }
        None
    }
}

/// The value a unique index compares: an email lower-cased, a link with its scheme and host
/// lower-cased and one trailing slash cut (contract C4, D4), plain values as they are.
fn unique_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            if let Some(Value::String(e)) = o.get("primaryEmail") {
                return (!e.is_empty()).then(|| e.to_lowercase());
            }
            if let Some(Value::String(u)) = o.get("primaryLinkUrl") {
                return (!u.is_empty()).then(|| crate::verify::normalize_url(u));
            }
            None
        }
        other => Some(other.to_string()),
    }
}

/// (API key, source field, target object) of the record references written in the first pass.
fn record_references<'a>(
    object: &'a Object,
    plan: &'a ObjectPlan,
) -> Vec<(&'a str, &'a str, &'a str)> {
    plan.fields
        .iter()
        .filter(|d| d.reference == Reference::Record && !d.deferred)
        .filter_map(|d| {
            let target = object
                .field(&d.source)?
                .relation
                .as_ref()?
                .target_object
                .as_str();
            Some((d.key.as_str(), d.source.as_str(), target))
        })
        .collect()
}

struct Run<'a> {
    ledger: &'a Ledger,
    /// Batches travelling at once.
    max_in_flight: usize,
    /// Deliveries in submission order.
    inflight: futures_util::stream::FuturesOrdered<InFlight>,
    /// A batch was confirmed (or the target stated its cap): the batch size is known.
    cap_known: bool,
    target: &'a Target,
    cap: usize,
    adaptive: bool,
    rejects: RejectsFile,
    /// Target ids of rejected records, per object, so that records pointing at them are
    /// rejected with a clear reason.
    rejected: HashMap<String, HashSet<Uuid>>,
    /// Objects whose first confirmed batch was compared with what the target returned.
    checked: HashSet<String>,
    /// System values the target did not keep.
    not_kept: Vec<String>,
}

impl Run<'_> {
    fn rejected_contains(&self, object: &str, id: Uuid) -> bool {
        self.rejected.get(object).is_some_and(|s| s.contains(&id))
    }

    fn flush(&mut self, path: &std::path::Path) -> Result<(), MigrateError> {
        self.rejects
            .flush()
            .map_err(|source| MigrateError::Rejects {
                path: path.to_owned(),
                source,
            })
    }

    /// The first reference of `record` to a record rejected earlier, as (field, message).
    fn references_rejected<'r>(
        &self,
        record: &Map<String, Value>,
        references: &[(&str, &'r str, &str)],
    ) -> Option<(&'r str, String)> {
        references.iter().find_map(|(key, field, target)| {
            let id: Uuid = record.get(*key)?.as_str()?.parse().ok()?;
            self.rejected
                .get(*target)?
                .contains(&id)
                .then(|| (*field, format!("{key} references {target} {id}, which was rejected (see its own line in this file)")))
        })
    }

    fn reject(
        &mut self,
        object: &str,
        id: Uuid,
        field: Option<&str>,
        message: &str,
        record: Option<&Value>,
    ) -> Result<(), MigrateError> {
        self.rejected
            .entry(object.to_owned())
            .or_default()
            .insert(target_id(id));
        self.ledger.add_rejected(object, target_id(id))?;
        let path = self.rejects.path().to_owned();
        self.rejects
            .write(&Reject {
                object,
                id,
                field,
                message,
                record,
            })
            .map_err(|source| MigrateError::Rejects { path, source })
    }

    /// Queues records for delivery; up to `max_in_flight` batches travel at once. Results are
    /// folded in submission order, so counts, rejects and the returned cursors are exactly
    /// those of every row up to the cursor. Returns the cursors of the batches folded now.
    async fn submit(
        &mut self,
        plan: &ObjectPlan,
        records: Vec<(Uuid, Value)>,
        cursor: Option<Uuid>,
        delta: ObjectReport,
        report: &mut ObjectReport,
    ) -> Result<Vec<Option<Uuid>>, MigrateError> {
        let check = self.checked.insert(plan.object.clone());
        let job = Delivery {
            target: self.target.clone(),
            object: plan.object.clone(),
            plural: plan.target_plural.clone(),
            cap: self.cap,
            adaptive: self.adaptive,
            check,
        };
        self.inflight.push_back(Box::pin(
            async move { (job.run(records).await, cursor, delta) },
        ));
        // Until one batch is confirmed the cap is a guess: send one at a time, so that a
        // target with a smaller cap refuses one batch, not one per request in flight.
        let limit = if self.cap_known {
            self.max_in_flight
        } else {
            1
        };
        let mut done = Vec::new();
        while self.inflight.len() >= limit {
            done.push(self.complete_one(report).await?);
        }
        Ok(done)
    }

    /// Waits for every batch in flight; returns their cursors in order.
    async fn drain(
        &mut self,
        report: &mut ObjectReport,
    ) -> Result<Vec<Option<Uuid>>, MigrateError> {
        let mut done = Vec::new();
        while !self.inflight.is_empty() {
            done.push(self.complete_one(report).await?);
        }
        Ok(done)
    }

    /// Folds the oldest batch's result into the counts, the rejects file and the ledger's
    /// rejected set.
    async fn complete_one(
        &mut self,
        report: &mut ObjectReport,
    ) -> Result<Option<Uuid>, MigrateError> {
        use futures_util::StreamExt as _;
        let Some((delivered, cursor, delta)) = self.inflight.next().await else {
            return Ok(None);
        };
        let delivered = delivered?;
        self.cap_known |= delivered.written > 0 || delivered.new_cap.is_some();
        // The rows read between the previous batch and this one are settled with it.
        report.absorb(&delta);
        if let Some(cap) = delivered.new_cap {
            if cap < self.cap {
                tracing::info!(old = self.cap, new = cap, "target batch cap adopted");
                self.cap = cap;
            }
        }
        report.written += delivered.written;
        for r in &delivered.rejects {
            self.reject(
                &delivered.object,
                r.id,
                r.field.as_deref(),
                &r.message,
                Some(&r.record),
            )?;
            report.rejected += 1;
        }
        self.not_kept.extend(delivered.not_kept);
        Ok(cursor)
    }
}

/// A boxed delivery in flight, with the cursor of its last row.
type InFlight = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = (Result<Delivered, MigrateError>, Option<Uuid>, ObjectReport),
            > + Send,
    >,
>;

/// One refused record of a delivery.
struct DeliveredReject {
    id: Uuid,
    field: Option<String>,
    message: String,
    record: Value,
}

/// What a delivery achieved.
struct Delivered {
    object: String,
    written: u64,
    rejects: Vec<DeliveredReject>,
    new_cap: Option<usize>,
    not_kept: Vec<String>,
}

/// One batch on its way: owns what it needs, so several can travel at once.
struct Delivery {
    target: Target,
    object: String,
    plural: String,
    cap: usize,
    adaptive: bool,
    /// Compare what the target stored with what was sent (first batch of an object).
    check: bool,
}

impl Delivery {
    /// Sends records as batch upserts. A batch over the target's cap is re-cut at the stated
    /// cap; one refused for its bytes (413) or its content (400) is split in halves until the
    /// bad records stand alone, and those are returned as rejects. Nothing is dropped.
    async fn run(mut self, records: Vec<(Uuid, Value)>) -> Result<Delivered, MigrateError> {
        let mut out = Delivered {
            object: self.object.clone(),
            written: 0,
            rejects: Vec::new(),
            new_cap: None,
            not_kept: Vec::new(),
        };
        let mut transient_in_a_row = 0;
        let mut work: Vec<Vec<(Uuid, Value)>> = vec![records];
        while let Some(mut chunk) = work.pop() {
            if chunk.len() > self.cap {
                let rest = chunk.split_off(self.cap);
                work.push(rest);
            }
            let values: Vec<&Value> = chunk.iter().map(|(_, v)| v).collect();
            let bytes = serde_json::to_vec(&values).map_err(|e| {
                MigrateError::Unsupported(format!("cannot encode a batch of {}: {e}", self.object))
            })?;
            let body = BatchBody::new(bytes, chunk.len());
            let reject = |out: &mut Delivered,
                          (id, record): (Uuid, Value),
                          field: Option<String>,
                          message: String| {
                out.rejects.push(DeliveredReject {
                    id,
                    field,
                    message,
                    record,
                });
            };
            // Only the first confirmed batch of an object is read in full (for `not_kept`);
            // the others only for their ids.
            let answer = if self.check {
                self.target
                    .upsert_batch(&self.plural, body)
                    .await
                    .map(|records| {
                        out.not_kept
                            .extend(not_kept(&self.object, &chunk, &records));
                        self.check = false;
                        records.iter().map(ReturnedId::of).collect()
                    })
            } else {
                self.target.upsert_batch_ids(&self.plural, body).await
            };
            match answer {
                Ok(returned) => {
                    transient_in_a_row = 0;
                    // An upsert that matched another record on a unique field updated that
                    // record instead of creating this one: the source id does not exist in the
                    // target, so it is reported, not counted as written.
                    let merged = merged_into(&chunk, &returned);
                    out.written += (chunk.len() - merged.len()) as u64;
                    let mut chunk: Vec<Option<(Uuid, Value)>> =
                        chunk.into_iter().map(Some).collect();
                    for (i, other) in merged {
                        if let Some(row) = chunk[i].take() {
                            let message = format!(
                                "the target already held a record with the same unique value ({} {other}); the upsert updated it instead of creating this one",
                                self.object
                            );
                            reject(&mut out, row, None, message);
                        }
                    }
                }
                Err(TargetError::BatchTooLarge { cap, message }) => {
                    if !self.adaptive {
                        return Err(MigrateError::Unsupported(format!(
                            "the target refused a batch of {} records ({message}); use --batch-size auto or a smaller number",
                            chunk.len()
                        )));
                    }
                    let new_cap = cap
                        .filter(|c| *c > 0 && *c < chunk.len())
                        .unwrap_or((chunk.len() / 2).max(1));
                    self.cap = new_cap;
                    out.new_cap = Some(new_cap);
                    work.push(chunk);
                }
                Err(TargetError::PayloadTooLarge) if chunk.len() > 1 => {
                    let half = chunk.split_off(chunk.len() / 2);
                    work.push(half);
                    work.push(chunk);
                }
                Err(TargetError::Rejected { messages, .. }) if chunk.len() > 1 => {
                    tracing::debug!(object = %self.object, records = chunk.len(), first = ?messages.first(), "batch refused; splitting");
                    let half = chunk.split_off(chunk.len() / 2);
                    work.push(half);
                    work.push(chunk);
                }
                Err(TargetError::Rejected { messages, .. }) => {
                    let row = chunk.remove(0);
                    let message = messages.join("; ");
                    let field =
                        field_in_message(&message).or_else(|| field_by_shape(&message, &row.1));
                    reject(&mut out, row, field, message);
                }
                Err(e @ (TargetError::Transient { .. } | TargetError::RateLimited { .. })) => {
                    // Retries are spent: split, and refuse single records with the last error;
                    // a few such records in a row mean the target is down, so stop instead.
                    if chunk.len() > 1 {
                        tracing::warn!(object = %self.object, records = chunk.len(), error = %e, "batch failed after retries; splitting");
                        let half = chunk.split_off(chunk.len() / 2);
                        work.push(half);
                        work.push(chunk);
                    } else {
                        transient_in_a_row += 1;
                        if transient_in_a_row >= TRANSIENT_REJECTS_BEFORE_STOP {
                            return Err(MigrateError::Target {
                                context: format!(
                                    "{transient_in_a_row} single {} records in a row failed after every retry; stopping (progress is saved: rerun to resume)",
                                    self.object
                                ),
                                source: e,
                            });
                        }
                        reject(&mut out, chunk.remove(0), None, e.to_string());
                    }
                }
                Err(TargetError::PayloadTooLarge) => {
                    reject(
                        &mut out,
                        chunk.remove(0),
                        None,
                        "the target refused the record as too large (HTTP 413)".to_owned(),
                    );
                }
                Err(other) => {
                    return Err(MigrateError::Target {
                        context: format!("sending a batch of {} {}", chunk.len(), self.object),
                        source: other,
                    })
                }
            }
        }
        Ok(out)
    }
}

/// Records of a confirmed batch that the target stored under another id, as (index, that id).
/// Twenty returns the records in input order (`fetchUpsertedRecords`, contract B1/E5); an
/// answer of another length is read by id.
fn merged_into(sent: &[(Uuid, Value)], returned: &[ReturnedId]) -> Vec<(usize, String)> {
    if returned.len() != sent.len() {
        let ids: HashSet<&str> = returned.iter().filter_map(|r| r.0.as_deref()).collect();
        if ids.is_empty() {
            return Vec::new();
        }
        return sent
            .iter()
            .enumerate()
            .filter_map(|(i, (_, v))| {
                let id = v.get("id")?.as_str()?;
                (!ids.contains(id)).then(|| (i, "of unknown id".to_owned()))
            })
            .collect();
    }
    sent.iter()
        .zip(returned)
        .enumerate()
        .filter_map(|(i, ((_, v), back))| {
            let want = v.get("id")?.as_str()?;
            let got = back.0.as_deref()?;
            (got != want).then(|| (i, got.to_owned()))
        })
        .collect()
}

/// The system values (creation and update times, author, position) that the target did not
/// keep as sent, judged on the first record of a confirmed batch: Twenty may stamp them
/// itself (`target-api.md` §3 leaves it unconfirmed), so the report says so instead of guessing.
fn not_kept(object: &str, sent: &[(Uuid, Value)], returned: &[Value]) -> Vec<String> {
    let Some((_, first)) = sent.first() else {
        return Vec::new();
    };
    let id = first.get("id");
    let Some(back) = returned.iter().find(|r| r.get("id") == id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["createdAt", "updatedAt", "position"] {
        if let Some(want) = first.get(key).filter(|v| !v.is_null()) {
            let got = back.get(key).unwrap_or(&Value::Null);
            if !crate::verify::equal(None, want, got) {
                out.push(format!(
                    "{object}.{key}: the target stores its own value (sent {want}, stored {got})"
                ));
            }
        }
    }
    for sub in ["name", "source"] {
        let want = first.get("createdBy").and_then(|c| c.get(sub));
        let got = back.get("createdBy").and_then(|c| c.get(sub));
        if let (Some(want), Some(got)) = (want, got) {
            if !want.is_null() && want != got {
                out.push(format!(
                    "{object}.createdBy.{sub}: the target stores {got} instead of {want}"
                ));
            }
        }
    }
    out
}

/// The field behind a message that names none. Twenty's link check says only "The URL of the
/// link is not valid" (`record-transformer.exception.ts`), so look for the links value whose
/// URL cannot be one: empty of dots, or holding spaces or commas.
fn field_by_shape(message: &str, record: &Value) -> Option<String> {
    if !message.contains("URL of the link") {
        return None;
    }
    let bad = |u: &str| {
        let u = u.trim();
        !u.is_empty() && (!u.contains('.') || u.contains(char::is_whitespace) || u.contains(','))
    };
    record.as_object()?.iter().find_map(|(key, value)| {
        let links = value.as_object()?;
        let primary = links.get("primaryLinkUrl").and_then(Value::as_str);
        let secondary = links
            .get("secondaryLinks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("url")?.as_str());
        primary
            .into_iter()
            .chain(secondary)
            .any(bad)
            .then(|| key.clone())
    })
}

/// Single records refused in a row for transient reasons before the run stops.
const TRANSIENT_REJECTS_BEFORE_STOP: u32 = 3;

/// The field a Twenty error message names, e.g. `Invalid value 'X' for field "stage"` or
/// `Object company doesn't have any "placeId" field.`: the first double-quoted word.
fn field_in_message(message: &str) -> Option<String> {
    // 2.21 names the value first (`Invalid value "X" for field "stage". Valid values are: …`):
    // the field is the quoted word after `field "`, when there is one.
    let start = match message.find("field \"") {
        Some(at) => at + "field \"".len(),
        None => message.find('"')? + 1,
    };
    let len = message[start..].find('"')?;
    let name = &message[start..start + len];
    let name = name.split('.').next().unwrap_or(name);
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_read_from_twentys_messages() {
        assert_eq!(
            field_in_message("Invalid value 'X' for field \"stage\"").as_deref(),
            Some("stage")
        );
        assert_eq!(
            field_in_message("Invalid string value 'a' for email field \"emails.primaryEmail\"")
                .as_deref(),
            Some("emails")
        );
        assert_eq!(field_in_message("A duplicate entry was detected"), None);
        // The wording of a real 2.21 (the value comes first, and may hold a dash).
        assert_eq!(
            field_in_message(
                "Invalid value \"mid-market\" for field \"tier\". Valid values are: STARTUP, SMB"
            )
            .as_deref(),
            Some("tier")
        );
    }

    #[test]
    fn a_bad_link_is_traced_to_its_field() {
        let record = serde_json::json!({
            "domainName": {"primaryLinkUrl": "https://acme.com"},
            "linkedinLink": {"primaryLinkUrl": "not a url", "secondaryLinks": null},
        });
        assert_eq!(
            field_by_shape("The URL of the link is not valid", &record).as_deref(),
            Some("linkedinLink")
        );
        assert_eq!(field_by_shape("something else", &record), None);
    }

    fn text_field(name: &str, field_type: FieldType, column: &str) -> Field {
        Field {
            id: Uuid::new_v4(),
            name: name.into(),
            label: name.into(),
            metadata_type: field_type.api_name().into(),
            field_type,
            is_custom: false,
            is_system: false,
            is_active: true,
            is_nullable: true,
            is_unique: true,
            default_value: None,
            options: None,
            settings: None,
            relation: None,
            columns: vec![crate::model::Column {
                name: column.into(),
                sub_field: None,
                udt_name: "text".into(),
                read_expr: None,
            }],
        }
    }

    /// Every pair of values the pipeline's exact rule finds equal is in one SQL group, so no
    /// duplicate escapes the candidates; rows alone in their group are never candidates.
    #[tokio::test]
    async fn the_sql_candidates_hold_every_pair_the_exact_rule_finds_equal() {
        let db = crate::local_pg::test_database().await.unwrap();
        let c = db.connect().await.unwrap();
        c.batch_execute(
            "CREATE TABLE t (id uuid PRIMARY KEY, \"emailsPrimaryEmail\" text, \
             \"domainNamePrimaryLinkUrl\" text, code text, \"deletedAt\" timestamptz)",
        )
        .await
        .unwrap();
        let emails = [
            "Ann@Example.com",
            "ann@example.com",
            "ANN@EXAMPLE.COM",
            " ann@example.com",
            "Élodie@Exemple.fr",
            "élodie@exemple.fr",
            "bob@example.com",
            "",
            "   ",
            "  ",
        ];
        let links = [
            "HTTPS://Example.COM/Path/",
            "https://example.com/Path",
            "https://example.com/path",
            "example.com",
            "Example.com",
            "  https://EXAMPLE.com/Path  ",
            "http://example.com",
            "",
            " ",
            "https://other.example/?q=A",
        ];
        let codes = ["A", "a", "A ", "x", "", "y", "A", "z", "é", "É"];
        let mut rows = Vec::new();
        for i in 0..emails.len() {
            let id = Uuid::from_u128(i as u128 + 1);
            c.execute(
                "INSERT INTO t VALUES ($1, $2, $3, $4, NULL)",
                &[&id, &emails[i], &links[i], &codes[i]],
            )
            .await
            .unwrap();
            rows.push(id);
        }
        // A null and a soft-deleted row are never candidates.
        c.batch_execute(
            "INSERT INTO t VALUES ('00000000-0000-0000-0000-0000000000aa', NULL, NULL, NULL, NULL), \
             ('00000000-0000-0000-0000-0000000000bb', 'ann@example.com', 'example.com', 'A', now())",
        )
        .await
        .unwrap();
        let object = Object {
            id: Uuid::new_v4(),
            name_singular: "thing".into(),
            name_plural: "things".into(),
            label_singular: String::new(),
            label_plural: String::new(),
            is_custom: false,
            is_system: false,
            is_active: true,
            is_remote: false,
            table: "t".into(),
            table_exists: true,
            fields: vec![text_field("deletedAt", FieldType::DateTime, "deletedAt")],
            unmapped_columns: Vec::new(),
        };
        type Case<'a> = (Field, &'a [&'a str], fn(&str) -> Value);
        let cases: [Case<'_>; 3] = [
            (
                text_field("emails", FieldType::Emails, "emailsPrimaryEmail"),
                &emails,
                |v| serde_json::json!({"primaryEmail": v}),
            ),
            (
                text_field("domainName", FieldType::Links, "domainNamePrimaryLinkUrl"),
                &links,
                |v| serde_json::json!({"primaryLinkUrl": v}),
            ),
            (text_field("code", FieldType::Text, "code"), &codes, |v| {
                Value::String(v.to_owned())
            }),
        ];
        for (field, values, as_api) in cases {
            let found =
                crate::source::duplicates::candidates(&c, "public", &object, &[&field], true)
                    .await
                    .unwrap();
            let exact: Vec<Option<String>> =
                values.iter().map(|v| unique_value(&as_api(v))).collect();
            let mut must = HashSet::new();
            for i in 0..values.len() {
                for j in 0..values.len() {
                    if i != j && exact[i].is_some() && exact[i] == exact[j] {
                        must.insert(rows[i]);
                    }
                }
            }
            assert!(
                must.len() >= 2,
                "{}: the values hold duplicates",
                field.name
            );
            let missed: Vec<_> = must.difference(&found).collect();
            assert!(missed.is_empty(), "{}: missed {missed:?}", field.name);
            for (i, v) in values.iter().enumerate() {
                if v.is_empty() {
                    assert!(!found.contains(&rows[i]), "{}: empty {i}", field.name);
                }
            }
            assert!(!found.contains(&Uuid::from_u128(0xaa)));
            assert!(!found.contains(&Uuid::from_u128(0xbb)), "soft-deleted row");
            // Only the coarse key's extra matches join: same letters up to case, space, '/'.
            let coarse = |v: &str| v.trim().to_lowercase().trim_end_matches('/').to_owned();
            for (i, v) in values.iter().enumerate() {
                let alone = !values
                    .iter()
                    .enumerate()
                    .any(|(j, w)| j != i && !w.is_empty() && coarse(w) == coarse(v));
                if alone {
                    assert!(!found.contains(&rows[i]), "{}: {v:?} is alone", field.name);
                }
            }
        }
    }

    /// A deferred reference the transform refuses leaves a report line naming the row, field
    /// and reason; a good one is written; an empty one sends nothing.
    #[test]
    fn a_deferred_reference_that_cannot_be_transformed_is_reported_not_dropped() {
        let field = Field {
            field_type: FieldType::Relation,
            relation: Some(Relation {
                kind: RelationKind::ManyToOne,
                target_object_id: Uuid::nil(),
                target_object: "company".into(),
                join_column: Some("parentId".into()),
            }),
            columns: vec![crate::model::Column {
                name: "parentId".into(),
                sub_field: None,
                udt_name: "uuid".into(),
                read_expr: None,
            }],
            ..text_field("parent", FieldType::Relation, "parentId")
        };
        let columns = vec![
            ReadColumn::new("id", "uuid"),
            ReadColumn::new("parentId", "uuid"),
        ];
        let transform = ObjectTransform {
            fields: vec![FieldMap::new(
                &field,
                "parentId",
                &columns,
                Reference::Record,
            )],
        };
        let nulled = NullRefs {
            keys: Vec::new(),
            parents: Vec::new(),
            statement: None,
            page: HashSet::new(),
        };
        let members = MemberMap::default();
        let id = Uuid::from_u128(7);
        let row = |cell: Cell| SourceRow {
            id,
            cells: vec![Cell::Uuid(id), cell],
        };
        let mut notes = Vec::new();

        let bad = row(Cell::Invalid("unreadable value in column parentId".into()));
        assert!(
            deferred_record("company", &transform, &nulled, &bad, &members, &mut notes).is_none()
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains(&id.to_string())
                && notes[0].contains("parent")
                && notes[0].contains("unreadable value"),
            "{}",
            notes[0]
        );

        let parent = Uuid::new_v4();
        let good = row(Cell::Uuid(parent));
        let record = deferred_record("company", &transform, &nulled, &good, &members, &mut notes)
            .expect("a good reference is written");
        assert_eq!(record["parentId"], parent.to_string());
        assert!(deferred_record(
            "company",
            &transform,
            &nulled,
            &row(Cell::Null),
            &members,
            &mut notes
        )
        .is_none());
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    /// Rows alternating between two nulled references leave two report lines, not one per
    /// row (the report is held in memory until the end of the run).
    #[test]
    fn nulled_references_are_reported_once_per_reference_not_per_row() {
        let absent = |key: &'static str, index: usize| AbsentRef {
            key,
            column: key.to_owned(),
            index: Some(index),
            parent: 0,
            cascade: false,
            note: format!("{key} nulled"),
            noted: std::cell::Cell::new(false),
        };
        // Both references point at soft-deleted rows of the page.
        let (gone_a, gone_b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
        let nulled = NullRefs {
            keys: vec![absent("aId", 1), absent("bId", 2)],
            parents: vec!["\"s\".\"parent\"".into()],
            statement: None,
            page: HashSet::from([gone_a, gone_b]),
        };
        let mut notes = Vec::new();
        for i in 0..100u128 {
            let a = i % 2 == 0;
            let row = SourceRow {
                id: Uuid::from_u128(i + 1),
                cells: if a {
                    vec![Cell::Null, Cell::Uuid(gone_a), Cell::Null]
                } else {
                    vec![Cell::Null, Cell::Null, Cell::Uuid(gone_b)]
                },
            };
            let mut record = Map::new();
            record.insert("aId".into(), Value::String("x".into()));
            record.insert("bId".into(), Value::String("y".into()));
            assert!(nulled.apply(&row, &mut record, &mut notes));
            let nulled_key = if a { "aId" } else { "bId" };
            assert_eq!(record[nulled_key], Value::Null);
        }
        assert_eq!(notes, ["aId nulled", "bId nulled"]);
    }

    #[test]
    fn batch_size_parses_auto_and_positive_numbers() {
        assert_eq!("auto".parse::<BatchSize>().unwrap(), BatchSize::Auto);
        assert_eq!("60".parse::<BatchSize>().unwrap(), BatchSize::Fixed(60));
        assert!("0".parse::<BatchSize>().is_err());
    }
}
