//! The records stage: one object's rows, read page by page in keyset order, transformed,
//! guarded (references to rows not migrated, unique values) and handed to [`super::delivery`]
//! in batches; the ledger saves the cursor of every confirmed batch.

use serde_json::Value;
use uuid::Uuid;

use super::delivery::Run;
use super::files::{Attached, Files};
use super::guards::{record_references, NullRefs, UniqueGuard, PARENT_NOT_MIGRATED};
use super::{DeletedPolicy, MigrateError, Stage};
use crate::model::Object;
use crate::plan::ObjectPlan;
use crate::report::{ObjectReport, Progress};
use crate::source::records::{ReadColumn, RecordReader, RowFilter};
use crate::state::Phase;
use crate::transform::{FieldMap, ObjectTransform};

/// Copies one object (first pass: every field but the deferred references), then soft-deletes
/// its soft-deleted rows when they are kept. Returns the object's report; an object the ledger
/// holds as copied is not read again.
pub(super) async fn copy_object(
    stage: &Stage<'_>,
    run: &mut Run<'_>,
    files: &mut Files<'_>,
    object_plan: &ObjectPlan,
    not_kept: &mut Vec<String>,
) -> Result<ObjectReport, MigrateError> {
    let Stage {
        opts,
        prepared,
        ledger,
        members,
        absent,
        ..
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
    let mut nulled = NullRefs::new(&prepared.workspace.schema, object, object_plan, absent);
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
            match transform.apply(&row, members) {
                Ok(mut record) => {
                    if !nulled.apply(&row, &mut record, not_kept) {
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
                            Attached::Ready(record) => batch.push((row.id, Value::Object(record))),
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

/// The transform for one object: the first pass writes every non-deferred field, the second
/// only the deferred references.
pub(crate) fn build_transform(
    object: &Object,
    plan: &ObjectPlan,
    columns: &[ReadColumn],
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
