//! Reconciliation: source against target, object by object. Counts first (source live rows
//! against the target's `totalCount`), then every record (or a sample) read back through the
//! API and compared field by field after the mapping `migrate` applies.
//!
//! Values are compared the way the target stores them: Twenty lower-cases emails, stores empty
//! text, arrays and JSON objects as null, and normalises link origins (data-arg processor
//! transformers in `packages/twenty-server/src/engine/core-modules/record-transformer/utils/`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::destination::Destination;
use crate::model::FieldType;
use crate::pipeline::{self, DeletedPolicy, MigrateError, MigrateOptions};
use crate::plan::WritePass;
use crate::source::records::RowFilter;
use crate::transform::{target_id, Reference};

mod attachments;
pub mod checklist;
mod compare;
mod config;
mod lost;

pub use checklist::Checklist;
pub(crate) use compare::normalize_url;
pub use compare::{compare_record, equal};
use compare::{sampled, uploaded_paths};
use lost::{LostFields, ServerRules};

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// Object `nameSingular`.
    pub object: String,
    /// Record id (target id).
    pub id: Uuid,
    /// API key of the field (`missing record` when the target has no such record).
    pub field: String,
    /// The value the source maps to.
    pub source: Value,
    /// The value the target holds.
    pub target: Value,
}

/// A source field the plan did not write whose values the target does not hold: data the
/// migration lost, by a named rule (`plan`'s "not written" list).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotMigrated {
    /// Object `nameSingular`.
    pub object: String,
    /// Source field name.
    pub field: String,
    /// The plan's rule (`missing-in-target`, `type-mismatch`, `target-not-migrated`).
    pub rule: String,
    /// The plan's reason.
    pub reason: String,
    /// Compared records whose source value is not in the target.
    pub records: u64,
    /// The first few of them (target ids).
    pub first_ids: Vec<Uuid>,
    /// The named rule that keeps the pointed-at object out of the migration (`dashboards-by-configuration`,
    /// `workflows-manual`, …), when that is why: a loss `plan` announced, listed but not a
    /// failure. `None`: an unplanned loss, which makes the comparison fail.
    pub object_rule: Option<String>,
}

/// A field the target writes itself whatever the client sends: a rule of Twenty's, reported
/// once per object and field instead of as one difference per record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerRule {
    /// Object `nameSingular`.
    pub object: String,
    /// API key of the field.
    pub field: String,
    /// What the target does, and the Twenty source file behind it.
    pub rule: String,
    /// Compared records it applied to.
    pub records: u64,
}

/// `updatedBy` is the writer on every write; `createdBy` is the writer when the given one has
/// no name (`injectActorToRecord`, `packages/twenty-server/src/engine/core-modules/actor/services/actor-from-auth-context.service.ts`).
const UPDATED_BY_RULE: &str = "the target writes the API key as updatedBy on every write \
     (actor-from-auth-context.service.ts)";
const SOFT_DELETE_RULE: &str = "the target writes updatedAt when it soft-deletes a kept deleted \
     row (a soft delete is an update; seen on a real Twenty 2.21)";
const CREATED_BY_RULE: &str = "the target writes the API key as createdBy when the source's has \
     no name (actor-from-auth-context.service.ts)";

/// Per-object result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectCheck {
    /// Object `nameSingular`.
    pub object: String,
    /// Source rows that should be in the target (live rows the migration writes).
    pub source_count: u64,
    /// The target's `totalCount`.
    pub target_count: Option<u64>,
    /// Records compared field by field.
    pub compared: u64,
    /// Records with at least one difference (missing ones included).
    pub differing: u64,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Per migrated object.
    pub objects: Vec<ObjectCheck>,
    /// Every difference found (object, id, field, source value, target value).
    pub differences: Vec<Difference>,
    /// Source values the plan did not write and the target lacks, per object and field.
    pub not_migrated: Vec<NotMigrated>,
    /// Fields the target writes itself, per object and field (not differences).
    pub server_rules: Vec<ServerRule>,
    /// Configuration changes `migrate` would still make (views, roles, navigation, webhooks).
    pub config_pending: Vec<String>,
    /// Runbook steps the target does not show done yet.
    pub runbook_open: Vec<String>,
    /// Requests the comparison sent to the target.
    pub requests: u64,
}

impl VerifyReport {
    /// Whether source and target agree everywhere that was checked.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
            && self.config_pending.is_empty()
            && self.not_migrated.iter().all(|n| n.object_rule.is_some())
            && self
                .objects
                .iter()
                .all(|o| o.target_count.is_none_or(|t| t == o.source_count))
    }

    /// The report as text.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>9} {:>9} {:>9}",
            "object", "source", "target", "compared", "differing"
        );
        for o in &self.objects {
            let _ = writeln!(
                out,
                "{:<28} {:>9} {:>9} {:>9} {:>9}",
                o.object,
                o.source_count,
                o.target_count
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "?".into()),
                o.compared,
                o.differing
            );
        }
        for d in self.differences.iter().take(200) {
            let _ = writeln!(
                out,
                "  {} {} {}: source {} target {}",
                d.object, d.id, d.field, d.source, d.target
            );
        }
        if self.differences.len() > 200 {
            let _ = writeln!(out, "  … {} more differences", self.differences.len() - 200);
        }
        if !self.not_migrated.is_empty() {
            let _ = writeln!(
                out,
                "\nnot migrated (source values the target does not hold)"
            );
            for n in &self.not_migrated {
                let first: Vec<String> = n.first_ids.iter().map(Uuid::to_string).collect();
                let announced = n
                    .object_rule
                    .as_deref()
                    .map(|r| format!("; that object is not moved by rule {r}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {}.{}: {} records [{}] {}{announced} (e.g. {})",
                    n.object,
                    n.field,
                    n.records,
                    n.rule,
                    n.reason,
                    first.join(", ")
                );
            }
        }
        if !self.config_pending.is_empty() {
            let _ = writeln!(out, "\nconfiguration differing (migrate again to apply)");
            for p in &self.config_pending {
                let _ = writeln!(out, "  {p}");
            }
        }
        if !self.runbook_open.is_empty() {
            let _ = writeln!(
                out,
                "\nrunbook steps still open ({}; see runbook.md)",
                self.runbook_open.len()
            );
            for s in &self.runbook_open {
                let _ = writeln!(out, "  - [ ] {s}");
            }
        }
        if !self.server_rules.is_empty() {
            let _ = writeln!(
                out,
                "\nwritten by the target itself (known rules, not differences)"
            );
            for r in &self.server_rules {
                let _ = writeln!(
                    out,
                    "  {}.{}: {} records: {}",
                    r.object, r.field, r.records, r.rule
                );
            }
        }
        out
    }
}

/// Compares the source workspace with the target after `migrate`: counts per object, then
/// every live record (or `sample_percent` of them, chosen by id) read back through the API.
pub async fn verify<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
    sample_percent: u8,
) -> Result<VerifyReport, MigrateError> {
    Ok(run(opts, target, sample_percent, false).await?.0)
}

/// [`verify`], then the go-live checklist built from what it measured and from what the
/// source holds that no migration moves ([`checklist`]).
pub async fn verify_with_checklist<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
    sample_percent: u8,
) -> Result<(VerifyReport, Checklist), MigrateError> {
    let (report, checklist) = run(opts, target, sample_percent, true).await?;
    Ok((report, checklist.expect("built when asked for")))
}

/// The comparison, and the checklist when asked for: one snapshot of the source for both.
async fn run<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
    sample_percent: u8,
    with_checklist: bool,
) -> Result<(VerifyReport, Option<Checklist>), MigrateError> {
    let before = target.stats().requests;
    let prepared = pipeline::prepare(opts, target).await?;
    let members = prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members);
    let absent = pipeline::absent_objects(&prepared, opts.deleted);
    let filter = match opts.deleted {
        DeletedPolicy::Skip => RowFilter::Live,
        DeletedPolicy::Keep => RowFilter::All,
    };
    let client = prepared.source.client();
    let paths = crate::pipeline::files::FilesGeneration::detect(&prepared.target_model)
        == Some(crate::pipeline::files::FilesGeneration::Paths);
    let mut report = VerifyReport::default();
    let mut facts = checklist::Facts::default();
    for plan in &prepared.plan.objects {
        facts.relation_fields.extend(checklist::references(
            &plan.object,
            &plan.fields,
            Reference::Record,
        ));
        facts.member_fields.extend(checklist::references(
            &plan.object,
            &plan.fields,
            Reference::Member,
        ));
        let object = prepared
            .model
            .object(&plan.object)
            .expect("planned objects come from the model");
        let types: HashMap<String, FieldType> = plan
            .fields
            .iter()
            .filter_map(|d| Some((d.key.clone(), object.field(&d.source)?.field_type.clone())))
            .collect();
        let type_of = |key: &str| types.get(key).cloned();
        let page = target
            .find_many(
                &plan.target_plural,
                &crate::destination::FindMany {
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await
            .map_err(|source| MigrateError::Target {
                context: format!("counting {} in the target", plan.object),
                source,
            })?;
        // Kept soft-deleted rows are in the target too, where a plain count leaves them out.
        let deleted_count = if opts.deleted == DeletedPolicy::Keep {
            target
                .find_many(
                    &plan.target_plural,
                    &crate::destination::FindMany {
                        limit: Some(1),
                        filter: Some("deletedAt[is]:NOT_NULL".into()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|source| MigrateError::Target {
                    context: format!("counting soft-deleted {} in the target", plan.object),
                    source,
                })?
                .total_count
        } else {
            Some(0)
        };
        let mut check = ObjectCheck {
            object: plan.object.clone(),
            target_count: page.total_count.zip(deleted_count).map(|(a, b)| a + b),
            ..ObjectCheck::default()
        };
        let (mut reader, mut nulls) = pipeline::open_guarded(
            client,
            &prepared.workspace.schema,
            object,
            plan,
            &absent,
            filter,
            200,
        )
        .await?;
        let first = pipeline::build_transform(object, plan, reader.columns(), WritePass::First);
        let second = pipeline::build_transform(object, plan, reader.columns(), WritePass::Deferred);
        // References to dashboards, written after the configuration stage created them.
        let late =
            pipeline::build_transform(object, plan, reader.columns(), WritePass::AfterConfig);
        let mut lost = LostFields::new(object, plan, reader.columns());
        let mut rules = ServerRules::default();
        loop {
            let rows = reader.next_page(client).await?;
            if rows.is_empty() {
                break;
            }
            nulls.load(client, &rows).await?;
            let mut expected = Vec::new();
            let mut dropped_values = Vec::new();
            for row in &rows {
                // A row the transform refuses was rejected by migrate: it is absent by design.
                let (Ok(mut a), Ok(b), Ok(c)) = (
                    first.apply(row, &members),
                    second.apply(row, &members),
                    late.apply(row, &members),
                ) else {
                    continue;
                };
                a.extend(b.into_fields());
                a.extend(c.into_fields());
                // Rows skipped because their cascading parent is not migrated are absent too.
                if !nulls.apply(row, &mut a, &mut Vec::new()) {
                    continue;
                }
                if paths {
                    uploaded_paths(&plan.object, &mut a);
                }
                check.source_count += 1;
                if sampled(row.id, sample_percent) {
                    dropped_values.push(lost.values(row));
                    expected.push(a);
                }
            }
            if expected.is_empty() {
                continue;
            }
            let ids: Vec<Uuid> = rows.iter().map(|r| target_id(r.id)).collect();
            let mut found = target
                .find_by_ids(&plan.target_plural, &ids)
                .await
                .map_err(|source| MigrateError::Target {
                    context: format!("reading {} back", plan.object),
                    source,
                })?;
            if opts.deleted == DeletedPolicy::Keep && found.len() < ids.len() {
                let live: std::collections::HashSet<&str> =
                    found.iter().filter_map(|r| r.get("id")?.as_str()).collect();
                let rest: Vec<Uuid> = ids
                    .iter()
                    .filter(|id| !live.contains(id.to_string().as_str()))
                    .copied()
                    .collect();
                let deleted = target
                    .find_deleted_by_ids(&plan.target_plural, &rest)
                    .await
                    .map_err(|source| MigrateError::Target {
                        context: format!("reading soft-deleted {} back", plan.object),
                        source,
                    })?;
                found.extend(deleted);
            }
            let by_id: HashMap<Uuid, &Value> = found
                .iter()
                .filter_map(|r| Some((r.get("id")?.as_str()?.parse().ok()?, r)))
                .collect();
            for (want, dropped) in expected.iter_mut().zip(&dropped_values) {
                check.compared += 1;
                rules.take(want, &type_of);
                let id = want.id();
                match by_id.get(&id) {
                    Some(got) => {
                        lost.compare(id, dropped, got);
                        if got.get("deletedAt").is_some_and(|d| !d.is_null())
                            && want.remove("updatedAt").is_some()
                        {
                            rules.soft_deleted += 1;
                        }
                        if !compare_record(
                            &plan.object,
                            want,
                            got,
                            &type_of,
                            &mut report.differences,
                        ) {
                            check.differing += 1;
                        }
                    }
                    None => {
                        check.differing += 1;
                        report.differences.push(Difference {
                            object: plan.object.clone(),
                            id,
                            field: "missing record".into(),
                            source: want.to_value(),
                            target: Value::Null,
                        });
                    }
                }
            }
        }
        report.not_migrated.extend(lost.finish(&plan.object));
        report.server_rules.extend(rules.finish(&plan.object));
        report.objects.push(check);
    }
    if opts.config || with_checklist {
        let check = config::check(opts, &prepared, target).await?;
        if opts.config {
            (report.config_pending, report.runbook_open) = check.lines();
        }
        facts.config = Some(check);
    }
    let checklist = if with_checklist {
        checklist_facts(opts, &prepared, target, &mut facts).await?;
        Some(checklist::build(&report, &facts))
    } else {
        None
    };
    prepared.source.end_snapshot().await?;
    report.requests = target.stats().requests - before;
    Ok((report, checklist))
}

/// The rest of what the checklist reads, in the same snapshot: the source's members without
/// a target member, connected accounts and custom domain, and a sample of the target's
/// attachment files.
async fn checklist_facts<D: Destination>(
    opts: &MigrateOptions,
    prepared: &pipeline::Prepared,
    target: &D,
    facts: &mut checklist::Facts,
) -> Result<(), MigrateError> {
    let client = prepared.source.client();
    facts.unmatched_members = prepared
        .plan
        .members
        .iter()
        // Only members records point at: their references went to the fallback.
        .filter(|m| m.target.is_none() && m.references > 0)
        .map(|m| {
            let email = m.source.email.as_deref().unwrap_or(&m.source.name);
            format!("{email} ({} references)", m.references)
        })
        .collect();
    facts.accounts =
        crate::source::go_live::connected_accounts(client, &prepared.workspace).await?;
    facts.custom_domain =
        crate::source::go_live::custom_domain(client, &prepared.workspace).await?;
    facts.target_url = target.base_url().to_owned();
    facts.old_server = opts.files.server.as_ref().map(|s| s.url.clone());
    if let Some(plan) = prepared
        .plan
        .objects
        .iter()
        .find(|p| p.object == "attachment")
    {
        facts.attachments =
            Some(attachments::sample(target, &plan.target_plural, &opts.state_path).await?);
    }
    Ok(())
}
