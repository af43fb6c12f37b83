//! The links stage: references deferred to break cycles (a company's account owner pointing
//! at a person who points back at it), written once every record exists as `{id, key}`
//! upserts. An upsert of the same values is idempotent, so a resumed pass simply runs again.

use std::collections::BTreeMap;

use super::delivery::{Outgoing, Run};
use super::guards::{open_guarded, NullRefs};
use super::records::build_transform;
use super::{DeletedPolicy, MigrateError, Stage};
use crate::destination::Destination;
use crate::record::ApiRecord;
use crate::report::ObjectReport;
use crate::source::records::{RowFilter, SourceRow};
use crate::state::Phase;
use crate::transform::{target_id, MemberMap, ObjectTransform};

/// Writes the deferred references of every object that has them, and marks each done.
pub(super) async fn write_deferred<D: Destination>(
    stage: &Stage<'_, D>,
    run: &mut Run<'_, D>,
    reports: &mut BTreeMap<String, ObjectReport>,
    not_kept: &mut Vec<String>,
) -> Result<(), MigrateError> {
    let Stage {
        opts,
        prepared,
        ledger,
        members,
        absent,
        ..
    } = *stage;
    let client = prepared.source.client();
    let legacy = ledger.legacy_records()?;
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
        let (mut reader, mut nulled) = open_guarded(
            client,
            &prepared.workspace.schema,
            object,
            object_plan,
            absent,
            filter,
            opts.page_size,
        )
        .await?;
        let transform = build_transform(object, object_plan, reader.columns(), true);
        let mut links = ObjectReport::new(&object.name_singular);
        let mut batch = Vec::with_capacity(run.cap);
        loop {
            let rows = reader.next_page(client).await?;
            if rows.is_empty() {
                break;
            }
            nulled.load(client, &rows).await?;
            // Only the rows whose references the ledger holds as not written yet: those the
            // records stage sent in this pass, or an earlier one that stopped before this stage.
            let entries = super::delta::page_entries(ledger, &object.name_singular, &rows)?;
            for row in rows {
                if run.rejected_contains(&object.name_singular, target_id(row.id))
                    || !(legacy || entries.get(&row.id).is_some_and(|e| e.links_pending))
                {
                    continue;
                }
                if let Some(record) = deferred_record(
                    &object.name_singular,
                    &transform,
                    &nulled,
                    &row,
                    members,
                    not_kept,
                ) {
                    batch.push(Outgoing::new(row.id, record).writing_links());
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
            return Err(opts.interrupted());
        }
    }
    Ok(())
}

/// The deferred references of one row created by the first pass, or `None` when there is
/// nothing to write. A value that cannot be transformed leaves the row without those
/// references, so it is reported in `notes` instead of being dropped silently.
pub(super) fn deferred_record(
    object: &str,
    transform: &ObjectTransform,
    nulled: &NullRefs<'_>,
    row: &SourceRow,
    members: &MemberMap,
    notes: &mut Vec<String>,
) -> Option<ApiRecord> {
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
    // Only the id (all the deferred references empty): nothing to write.
    let any = record.iter().any(|(k, v)| k != "updatedAt" && !v.is_null());
    any.then_some(record)
}
