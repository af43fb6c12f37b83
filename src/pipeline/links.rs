//! The links stage: references deferred to break cycles (a company's account owner pointing
//! at a person who points back at it), written once every record exists as `{id, key}`
//! upserts. An upsert of the same values is idempotent, so a resumed pass simply runs again.
//!
//! The same way, after the configuration stage, the references to the records that stage
//! creates ([`write_after_config`]: an attachment's dashboard), which the target refuses
//! before they exist.

use std::collections::{BTreeMap, HashMap, HashSet};

use uuid::Uuid;

use super::delivery::{Outgoing, Run};
use super::guards::{open_guarded, NullRefs};
use super::records::build_transform;
use super::{target_err, DeletedPolicy, MigrateError, Stage};
use crate::destination::Destination;
use crate::plan::{ObjectPlan, WritePass};
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
        let transform = build_transform(object, object_plan, reader.columns(), WritePass::Deferred);
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
                send_links(run, object_plan, &mut batch, &mut links, false).await?;
            }
        }
        send_links(run, object_plan, &mut batch, &mut links, true).await?;
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

/// Writes the references to the records the configuration stage creates (an attachment's
/// dashboard), once it has: the rows whose references the ledger holds as not written yet,
/// as `{id, key, updatedAt}` upserts. A reference to a record the target does not hold (the
/// stage did not create it) is not sent: it is counted in `not_kept` and stays pending, so the
/// next run writes it once the record exists.
pub(super) async fn write_after_config<D: Destination>(
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
        target,
        ..
    } = *stage;
    let client = prepared.source.client();
    let legacy = ledger.legacy_records()?;
    let mut held = Held::default();
    for object_plan in prepared
        .plan
        .objects
        .iter()
        .filter(|p| p.fields.iter().any(|f| f.after_config))
    {
        let object = prepared
            .model
            .object(&object_plan.object)
            .expect("planned objects come from the model");
        // Nothing pending (a rerun, a delta with no such change): the object is not read.
        if !(legacy || ledger.has_late_links(&object.name_singular)?) {
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
        let transform = build_transform(
            object,
            object_plan,
            reader.columns(),
            WritePass::AfterConfig,
        );
        // API key → the object it points at.
        let parents: Vec<(String, String)> = object_plan
            .fields
            .iter()
            .filter(|d| d.after_config)
            .filter_map(|d| {
                let relation = object.field(&d.source)?.relation.as_ref()?;
                Some((d.key.clone(), relation.target_object.clone()))
            })
            .collect();
        let mut links = ObjectReport::new(&object.name_singular);
        let mut missing: BTreeMap<(String, Uuid), u64> = BTreeMap::new();
        let mut batch = Vec::with_capacity(run.cap);
        loop {
            let rows = reader.next_page(client).await?;
            if rows.is_empty() {
                break;
            }
            nulled.load(client, &rows).await?;
            let entries = super::delta::page_entries(ledger, &object.name_singular, &rows)?;
            let mut records = Vec::new();
            let mut nothing = Vec::new();
            for row in rows {
                if run.rejected_contains(&object.name_singular, target_id(row.id))
                    || !(legacy || entries.get(&row.id).is_some_and(|e| e.late_links_pending))
                {
                    continue;
                }
                match deferred_record(
                    &object.name_singular,
                    &transform,
                    &nulled,
                    &row,
                    members,
                    not_kept,
                ) {
                    Some(record) => records.push((row.id, record)),
                    // Empty, or emptied (a soft-deleted dashboard): nothing left to write.
                    None => nothing.push(row.id),
                }
            }
            ledger.late_links_written(&object.name_singular, &nothing)?;
            held.learn(target, &prepared.target_model, &parents, &records)
                .await?;
            for (id, mut record) in records {
                // A reference to a record the target lacks is left out, and stays pending.
                let mut complete = true;
                for (key, parent) in &parents {
                    let Some(named) = record.get(key).and_then(|v| v.as_str()?.parse().ok()) else {
                        continue;
                    };
                    if !held.holds(parent, named) {
                        *missing.entry((parent.clone(), named)).or_default() += 1;
                        record.remove(key);
                        complete = false;
                    }
                }
                if !super::records::pending(Some(&record)) {
                    continue;
                }
                let outgoing = Outgoing::new(id, record);
                batch.push(match complete {
                    true => outgoing.writing_late_links(),
                    false => outgoing.writing_some_late_links(),
                });
                send_links(run, object_plan, &mut batch, &mut links, false).await?;
            }
        }
        send_links(run, object_plan, &mut batch, &mut links, true).await?;
        run.drain(&mut links).await?;
        note_missing(object_plan, &parents, &missing, not_kept);
        let r = reports
            .get_mut(&object_plan.object)
            .expect("every planned object has a report");
        r.deferred_links += links.written;
        ledger.save(&object_plan.object, Phase::Done, None, r)?;
        if opts.cancel.is_cancelled() {
            run.flush(&opts.rejects_path)?;
            return Err(opts.interrupted());
        }
    }
    Ok(())
}

/// Sends `batch` as one batch of links once it is full, or, when `last`, whatever it holds.
async fn send_links<D: Destination>(
    run: &mut Run<'_, D>,
    plan: &ObjectPlan,
    batch: &mut Vec<Outgoing>,
    links: &mut ObjectReport,
    last: bool,
) -> Result<(), MigrateError> {
    if batch.is_empty() || (!last && batch.len() < run.cap) {
        return Ok(());
    }
    let delta = ObjectReport::new(&plan.object);
    run.submit(plan, std::mem::take(batch), None, delta, links)
        .await?;
    Ok(())
}

/// One report line per record the target lacks, with the number of references to it.
fn note_missing(
    plan: &ObjectPlan,
    parents: &[(String, String)],
    missing: &BTreeMap<(String, Uuid), u64>,
    not_kept: &mut Vec<String>,
) {
    for ((parent, id), n) in missing {
        let keys: Vec<&str> = parents
            .iter()
            .filter(|(_, p)| p == parent)
            .map(|(k, _)| k.as_str())
            .collect();
        not_kept.push(format!(
            "{}.{}: {n} references to {parent} {id} not written: the target does not hold that {parent} (the configuration stage did not create it; see its notes); the next run writes them once it exists",
            plan.object,
            keys.join("/")
        ));
    }
}

/// Which of the records the references name the target holds, asked once per id.
#[derive(Default)]
struct Held(HashMap<String, HashMap<Uuid, bool>>);

impl Held {
    /// Asks the target for the records `records` name that were not asked about yet.
    async fn learn<D: Destination>(
        &mut self,
        target: &D,
        model: &crate::model::Model,
        parents: &[(String, String)],
        records: &[(Uuid, ApiRecord)],
    ) -> Result<(), MigrateError> {
        for (key, parent) in parents {
            let known = self.0.entry(parent.clone()).or_default();
            let ask: HashSet<Uuid> = records
                .iter()
                .filter_map(|(_, r)| r.get(key)?.as_str()?.parse().ok())
                .filter(|id| !known.contains_key(id))
                .collect();
            if ask.is_empty() {
                continue;
            }
            let ask: Vec<Uuid> = ask.into_iter().collect();
            let found: HashSet<Uuid> = match model.object(parent) {
                Some(o) => target
                    .find_by_ids(&o.name_plural, &ask)
                    .await
                    .map_err(target_err(format!(
                        "reading the {parent} records referenced"
                    )))?
                    .iter()
                    .filter_map(|r| r.get("id")?.as_str()?.parse().ok())
                    .collect(),
                None => HashSet::new(),
            };
            for id in ask {
                known.insert(id, found.contains(&id));
            }
        }
        Ok(())
    }

    /// Whether the target holds `parent` record `id` (as last asked).
    fn holds(&self, parent: &str, id: Uuid) -> bool {
        self.0
            .get(parent)
            .and_then(|k| k.get(&id))
            .copied()
            .unwrap_or(false)
    }
}
