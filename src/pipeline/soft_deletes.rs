//! The soft-deletes stage: with `--deleted keep`, soft-deleted source rows are created by the
//! records stage, then soft-deleted in the target here, page by page.

use uuid::Uuid;

use super::delivery::Run;
use super::{target_err, DeletedPolicy, MigrateError, Stage};
use crate::destination::Destination;
use crate::model::Object;
use crate::plan::ObjectPlan;
use crate::report::ObjectReport;
use crate::source::records::{RecordReader, RowFilter};
use crate::transform::target_id;

/// Soft-deletes in the target the object's soft-deleted rows (none unless they are kept).
pub(super) async fn soft_delete_kept<D: Destination>(
    stage: &Stage<'_, D>,
    run: &Run<'_, D>,
    object: &Object,
    object_plan: &ObjectPlan,
    object_report: &mut ObjectReport,
) -> Result<(), MigrateError> {
    let Stage {
        opts,
        prepared,
        target,
        ..
    } = *stage;
    let client = prepared.source.client();
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
            // Soft-deleting again is harmless: a target that is down is waited out.
            let mut outage = target.outage();
            loop {
                match target
                    .soft_delete_many(&object_plan.target_plural, &ids)
                    .await
                {
                    Ok(_) => break,
                    Err(e) => {
                        let wait = outage.next_wait(e).map_err(target_err(format!(
                            "soft-deleting {} {}",
                            ids.len(),
                            object.name_singular
                        )))?;
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = opts.cancel.cancelled() => return Err(opts.interrupted()),
                        }
                    }
                }
            }
            object_report.soft_deleted += ids.len() as u64;
        }
    }
    Ok(())
}
