//! The soft-deletes stage: soft-deleted source rows the target holds live are soft-deleted in
//! the target, page by page: with `--deleted keep` those the records stage created, and in a
//! delta pass those deleted in the source since the last pass.

use uuid::Uuid;

use super::delivery::Run;
use super::{target_err, MigrateError, Stage};
use crate::destination::Destination;
use crate::model::Object;
use crate::plan::ObjectPlan;
use crate::report::ObjectReport;
use crate::state::Ledger;
use crate::transform::target_id;

/// Soft-deletes in the target the object's soft-deleted rows that it holds live: with
/// `--deleted keep`, those the records stage just created; in a delta pass, also those
/// soft-deleted in the source since the last pass (whatever `--deleted` says, a record the
/// target holds is not left live once its source row is deleted).
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
        ledger,
        ..
    } = *stage;
    let client = prepared.source.client();
    if object_plan.deleted == 0 || !ledger.has_records(&object.name_singular)? {
        return Ok(());
    }
    let mut deleted = DeletedHeldLive::new(&prepared.workspace.schema, object);
    while let Some(held) = deleted.next(client, ledger).await? {
        let (source_ids, ids): (Vec<Uuid>, Vec<Uuid>) = held
            .into_iter()
            .map(|id| (id, target_id(id)))
            .filter(|(_, id)| !run.rejected_contains(&object.name_singular, *id))
            .unzip();
        if ids.is_empty() {
            continue;
        }
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
        ledger.mark_soft_deleted(&object.name_singular, &source_ids)?;
        object_report.soft_deleted += ids.len() as u64;
    }
    Ok(())
}

/// The soft-deleted source rows of one object that the target holds live (by the ledger), a
/// page of source ids at a time: ids only, page by page, so memory does not grow with them.
pub(super) struct DeletedHeldLive {
    schema: String,
    table: String,
    object: String,
    after: Option<Uuid>,
    done: bool,
}

/// Soft-deleted ids read per page.
const DELETED_PAGE: usize = 10_000;

impl DeletedHeldLive {
    /// Prepares the read of `object`'s soft-deleted rows.
    pub(super) fn new(schema: &str, object: &Object) -> Self {
        Self {
            schema: schema.to_owned(),
            table: object.table.clone(),
            object: object.name_singular.clone(),
            after: None,
            done: false,
        }
    }

    /// The next page's rows held live (possibly none), or `None` past the last page.
    pub(super) async fn next(
        &mut self,
        client: &tokio_postgres::Client,
        ledger: &Ledger,
    ) -> Result<Option<Vec<Uuid>>, MigrateError> {
        if self.done {
            return Ok(None);
        }
        let ids = crate::source::records::ids_after(
            client,
            &self.schema,
            &self.table,
            true,
            self.after,
            DELETED_PAGE,
        )
        .await?;
        let Some(&last) = ids.last() else {
            self.done = true;
            return Ok(None);
        };
        self.after = Some(last);
        // Soft-deleted ids are spread over the whole id range: looked up one by one, not by
        // range, which would bring every live row's entry along.
        let held: std::collections::HashSet<Uuid> = ledger
            .records_among(&self.object, &ids)?
            .into_iter()
            .filter(|(_, e)| !e.deleted)
            .map(|(id, _)| id)
            .collect();
        Ok(Some(
            ids.into_iter().filter(|id| held.contains(id)).collect(),
        ))
    }
}
