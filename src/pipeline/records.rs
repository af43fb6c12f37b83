//! The records stage: one object's rows, read page by page in keyset order, transformed,
//! guarded (references to rows not migrated, unique values), their files uploaded page by page
//! ([`super::files`]), and handed to [`super::delivery`] in batches; the ledger saves the
//! cursor of every confirmed batch.

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use super::delivery::{Outgoing, Run};
use super::delta::{self, Change, TargetEdits};
use super::files::{Attached, Files};
use super::guards::{
    open_guarded_ahead, record_references, NullRefs, UniqueGuard, PARENT_NOT_MIGRATED,
};
use super::{DeletedPolicy, MigrateError, Stage};
use crate::destination::Destination;
use crate::model::Object;
use crate::plan::{ObjectPlan, WritePass};
use crate::record::{content_hash, ApiRecord, Cell};
use crate::report::{Conflict, ObjectReport, PassReport, Progress};
use crate::source::records::{ReadColumn, RowFilter, SourceRow};
use crate::state::{Confirmed, Phase, RecordEntry};
use crate::transform::{FieldMap, ObjectTransform};

/// Copies one object (first pass: every field but the deferred references), then soft-deletes
/// its soft-deleted rows when they are kept. Returns the object's report; an object the ledger
/// holds as copied is not read again.
pub(super) async fn copy_object<D: Destination>(
    stage: &Stage<'_, D>,
    run: &mut Run<'_, D>,
    files: &mut Files<'_, D>,
    object_plan: &ObjectPlan,
    not_kept: &mut Vec<String>,
    pass_report: &mut PassReport,
) -> Result<ObjectReport, MigrateError> {
    let Stage {
        opts,
        prepared,
        ledger,
        members,
        absent,
        target,
        pass,
    } = *stage;
    let client = prepared.source.client();
    let files_err = |e| MigrateError::from_files(e, &opts.state_path);
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
        return Ok(object_report);
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
    let mut cursor = saved.as_ref().and_then(|s| s.cursor);
    // Read ahead by a job of the snapshot pool: the source works on the next pages while
    // this one is transformed and delivered.
    let (mut reader, mut nulled) = open_guarded_ahead(
        prepared.source.snapshot_pool().await?,
        &prepared.workspace.schema,
        object,
        object_plan,
        absent,
        filter,
        opts.page_size,
        cursor,
    )
    .await?;
    let transform = build_transform(object, object_plan, reader.columns(), WritePass::First);
    // The deferred references, and those written after the configuration stage, count in a
    // record's hash too: a delta sends a record whose only change is one of them.
    let deferred = has_deferred
        .then(|| build_transform(object, object_plan, reader.columns(), WritePass::Deferred));
    let late = object_plan.fields.iter().any(|f| f.after_config).then(|| {
        build_transform(
            object,
            object_plan,
            reader.columns(),
            WritePass::AfterConfig,
        )
    });
    let deleted_index = reader.columns().iter().position(|c| c.name == "deletedAt");
    let mut edits = TargetEdits::new(pass, opts.overwrite_target_changes);
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
    let mut batch: Vec<Outgoing> = Vec::with_capacity(run.cap);
    // Counts of the rows read since the last batch; they settle with the next one.
    let mut pending = ObjectReport::new(&object.name_singular);
    loop {
        let rows = reader.next_page().await?;
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
        // First the guards decide each row of the page, and the ledger whether the target
        // holds it already as it is; then the files of the rows to send move, several at
        // once; then, row by row in order, the counts settle and the records join their
        // batches (a file the page's uploads sent is found in the ledger).
        let judge = Judge {
            entries: delta::page_entries(ledger, &object.name_singular, &rows)?,
            refused: delta::page_refused(ledger, &object.name_singular, &rows)?,
            deferred: deferred.as_ref(),
            late: late.as_ref(),
            deleted_index,
        };
        let mut decided: Vec<Decided> = rows
            .iter()
            .map(|row| {
                decide(
                    row,
                    &transform,
                    &judge,
                    &mut nulled,
                    run,
                    &references,
                    &mut uniques,
                    members,
                    &object.name_singular,
                    not_kept,
                )
            })
            .collect();
        // Records sent over target ones: not over what someone changed in the target since.
        if edits.needs_loading()
            && decided
                .iter()
                .any(|d| matches!(d, Decided::Send { change, .. } if change.is_update()))
        {
            edits
                .load(target, &object_plan.target_plural)
                .await
                .map_err(super::target_err(format!(
                    "reading the {} records changed in the target since the last pass",
                    object.name_singular
                )))?;
        }
        for (row, d) in rows.iter().zip(decided.iter_mut()) {
            let Decided::Send { record, change, .. } = d else {
                continue;
            };
            let Some(entry) = judge.entries.get(&row.id).filter(|_| change.is_update()) else {
                continue;
            };
            if let Some(at) = edits.conflict(record.id(), entry) {
                pass_report.conflicts.push(Conflict {
                    object: object.name_singular.clone(),
                    id: record.id(),
                    target_updated_at: at.to_owned(),
                });
                *d = Decided::Skip(delta::CHANGED_IN_TARGET);
            }
        }
        if !object_files.is_empty() {
            let sending: Vec<(&SourceRow, &ApiRecord)> = rows
                .iter()
                .zip(&decided)
                .filter_map(|(row, d)| match d {
                    Decided::Send { record, .. } => Some((row, record)),
                    _ => None,
                })
                .collect();
            if let Err(e) = files.upload_page(&object_files, &sending).await {
                // Batches in flight settle; rows since the last saved cursor are read again
                // on resume, the files uploaded so far reused.
                run.drain(&mut object_report).await?;
                run.flush(&opts.rejects_path)?;
                return Err(files_err(e));
            }
        }
        for (row, decided) in rows.into_iter().zip(decided) {
            pending.read += 1;
            match decided {
                Decided::Send {
                    record,
                    confirmed,
                    change,
                } if object_files.is_empty() => {
                    batch.push(
                        Outgoing::new(row.id, record).confirming(confirmed, change.is_update()),
                    );
                }
                Decided::Send {
                    record,
                    confirmed,
                    change,
                } => {
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
                        Attached::Ready(record) => batch.push(
                            Outgoing::new(row.id, record).confirming(confirmed, change.is_update()),
                        ),
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
                Decided::Skip(rule) => pending.skip(rule, 1),
                Decided::Reject {
                    field,
                    message,
                    record,
                } => {
                    run.reject(
                        &object.name_singular,
                        row.id,
                        Some(&field),
                        &message,
                        record.as_ref(),
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
                    return Err(opts.interrupted());
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
    super::soft_deletes::soft_delete_kept(stage, run, object, object_plan, &mut object_report)
        .await?;
    let done = if has_deferred {
        Phase::Copied
    } else {
        Phase::Done
    };
    ledger.save(&object.name_singular, done, cursor, &object_report)?;
    progress.finish(&object_report);
    if opts.cancel.is_cancelled() {
        run.flush(&opts.rejects_path)?;
        return Err(opts.interrupted());
    }
    Ok(object_report)
}

/// What the guards decided for one row, before its files move and its counts settle.
enum Decided {
    /// To be sent (after its files, when it has any).
    Send {
        /// The record.
        record: ApiRecord,
        /// What the ledger keeps once the target confirms it.
        confirmed: Confirmed,
        /// New to the target, or sent over a record it holds.
        change: Change,
    },
    /// Skipped by this rule.
    Skip(&'static str),
    /// Rejected before it is sent.
    Reject {
        field: String,
        message: String,
        /// The record as it would have been sent, when the transform made one.
        record: Option<ApiRecord>,
    },
}

/// Transforms one row and runs the guards: references to rows not migrated, to rows
/// rejected earlier, and unique values the target would merge.
#[allow(clippy::too_many_arguments)]
fn decide<D: Destination>(
    row: &SourceRow,
    transform: &ObjectTransform,
    judge: &Judge<'_>,
    nulled: &mut NullRefs<'_>,
    run: &Run<'_, D>,
    references: &[(&str, &str, &str)],
    uniques: &mut UniqueGuard,
    members: &crate::transform::MemberMap,
    object: &str,
    not_kept: &mut Vec<String>,
) -> Decided {
    let mut record = match transform.apply(row, members) {
        Ok(record) => record,
        Err(e) => {
            return Decided::Reject {
                field: e.field.to_string(),
                message: e.reason.to_string(),
                record: None,
            }
        }
    };
    if !nulled.apply(row, &mut record, not_kept) {
        return Decided::Skip(PARENT_NOT_MIGRATED);
    }
    if let Some((field, message)) = run.references_rejected(&record, references) {
        // A record the target holds as it is still points at the target's copy of the parent,
        // which a rejection in this pass leaves in place: it stays unchanged.
        let unchanged = judge.verdict(row, &record, members).change == Change::Unchanged;
        if !unchanged {
            // The target would refuse it for the missing parent anyway; say why in our words
            // and save the requests of a bisection.
            return Decided::Reject {
                field: field.to_owned(),
                message,
                record: Some(record),
            };
        }
    }
    if let Some((field, first)) = uniques.check(row.id, &record) {
        let message = format!(
            "{field} repeats the value of {object} {first} once normalised as the target stores it (emails lower-cased, link hosts lower-cased); the target would merge the two records"
        );
        return Decided::Reject {
            field: field.to_string(),
            message,
            record: Some(record),
        };
    }
    judge.judge(row, record, members)
}

/// What the ledger knows of one page's rows, and what a row's hash is made of: the one
/// judgement of the records stage and of `plan --delta`.
pub(super) struct Judge<'a> {
    /// The ledger's entries for the page's rows.
    pub(super) entries: HashMap<Uuid, RecordEntry>,
    /// The hashes of the page's rows the target refused in an earlier pass.
    pub(super) refused: HashMap<Uuid, u64>,
    /// The transform of the deferred references, for objects that have some.
    pub(super) deferred: Option<&'a ObjectTransform>,
    /// The transform of the references written after the configuration stage, for objects
    /// that have some.
    pub(super) late: Option<&'a ObjectTransform>,
    /// The `deletedAt` column, when the object has one.
    pub(super) deleted_index: Option<usize>,
}

/// What [`Judge::verdict`] finds of one transformed row.
pub(super) struct Verdict {
    /// New, changed, restored or unchanged, by the hash.
    pub(super) change: Change,
    /// The hash of the record with its references.
    pub(super) hash: u64,
    /// The target refused this very content in an earlier pass: not sent again.
    pub(super) refused_unchanged: bool,
    /// The deferred references, when they transform.
    pub(super) links: Option<ApiRecord>,
    /// The references written after the configuration stage, when they transform.
    pub(super) late: Option<ApiRecord>,
}

impl Judge<'_> {
    /// How `record` (the row's first-pass record) stands against the ledger.
    pub(super) fn verdict(
        &self,
        row: &SourceRow,
        record: &ApiRecord,
        members: &crate::transform::MemberMap,
    ) -> Verdict {
        // A deferred value that does not transform is reported by the links stage.
        let links = self.deferred.and_then(|t| t.apply(row, members).ok());
        let late = self.late.and_then(|t| t.apply(row, members).ok());
        let hash = content_hash(
            std::iter::once(record)
                .chain(links.as_ref())
                .chain(late.as_ref()),
        );
        let live = self
            .deleted_index
            .is_none_or(|i| matches!(row.cells.get(i), Some(Cell::Null) | None));
        let change = delta::classify(self.entries.get(&row.id), hash, live);
        Verdict {
            change,
            hash,
            refused_unchanged: change == Change::New && self.refused.get(&row.id) == Some(&hash),
            links,
            late,
        }
    }

    /// Sends `record` unless the target holds it already as it is.
    fn judge(
        &self,
        row: &SourceRow,
        mut record: ApiRecord,
        members: &crate::transform::MemberMap,
    ) -> Decided {
        let Verdict {
            change,
            hash,
            refused_unchanged,
            links,
            late,
        } = self.verdict(row, &record, members);
        if change == Change::Unchanged {
            return Decided::Skip(delta::UNCHANGED);
        }
        if refused_unchanged {
            return Decided::Skip(delta::REFUSED_UNCHANGED);
        }
        if change.is_update() {
            // A reference emptied since the last pass is cleared with the record (a null
            // names no record, so it needs no wait); the later passes write only the non-null
            // ones.
            clear_emptied(&mut record, links.as_ref());
            clear_emptied(&mut record, late.as_ref());
        }
        let confirmed = Confirmed {
            id: row.id,
            hash,
            sent_updated_at: delta::sent_updated_at(&record),
            links_pending: pending(links.as_ref()),
            late_links_pending: pending(late.as_ref()),
        };
        Decided::Send {
            record,
            confirmed,
            change,
        }
    }
}

/// Puts each null reference of `refs` (the deferred or the late ones) into `record`, so the
/// first pass clears what the later passes, which skip nulls, would leave in the target.
fn clear_emptied(record: &mut ApiRecord, refs: Option<&ApiRecord>) {
    for (key, value) in refs.into_iter().flat_map(ApiRecord::iter) {
        if key != "updatedAt" && value.is_null() {
            record.insert(key, Value::Null);
        }
    }
}

/// Whether a record of references holds one to write (not only `updatedAt` and nulls).
pub(super) fn pending(links: Option<&ApiRecord>) -> bool {
    links.is_some_and(|l| l.iter().any(|(k, v)| k != "updatedAt" && !v.is_null()))
}

/// The transform for one object and `pass`: the first pass writes every field the later ones
/// do not; the deferred pass only the deferred references, the pass after the configuration
/// only the references to the records it creates (each with `updatedAt`).
pub(crate) fn build_transform(
    object: &Object,
    plan: &ObjectPlan,
    columns: &[ReadColumn],
    pass: WritePass,
) -> ObjectTransform {
    let fields = plan
        .fields
        .iter()
        // The later passes send `updatedAt` again: Twenty keeps the one a client sends and
        // stamps its own clock otherwise, which would read as an edit made in the target.
        .filter(|d| d.pass() == pass || (pass != WritePass::First && d.key == "updatedAt"))
        .filter_map(|d| {
            let field = object.field(&d.source)?;
            Some(FieldMap::new(field, &d.key, columns, d.reference).omitting_empty(d.omit_empty))
        })
        .collect();
    ObjectTransform { fields }
}
