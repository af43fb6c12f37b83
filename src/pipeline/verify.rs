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

use crate::destination::Target;
use crate::model::FieldType;
use crate::pipeline::{self, DeletedPolicy, MigrateError, MigrateOptions};
use crate::source::records::{RecordReader, RowFilter};
use crate::transform::target_id;

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
    /// The named rule that keeps the pointed-at object out of the migration (`dashboards-manual`,
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
    /// Requests the comparison sent to the target.
    pub requests: u64,
}

impl VerifyReport {
    /// Whether source and target agree everywhere that was checked.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
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
pub async fn verify(
    opts: &MigrateOptions,
    target: &Target,
    sample_percent: u8,
) -> Result<VerifyReport, MigrateError> {
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
    for plan in &prepared.plan.objects {
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
        let mut nulls = pipeline::NullRefs::new(&prepared.workspace.schema, object, plan, &absent);
        let mut reader =
            RecordReader::new(client, &prepared.workspace.schema, object, filter, 200).await?;
        nulls.locate(reader.columns());
        let first = pipeline::build_transform(object, plan, reader.columns(), false);
        let second = pipeline::build_transform(object, plan, reader.columns(), true);
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
                let (Ok(mut a), Ok(b)) = (first.apply(row, &members), second.apply(row, &members))
                else {
                    continue;
                };
                a.extend(b);
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
            let by_id: HashMap<&str, &Value> = found
                .iter()
                .filter_map(|r| Some((r.get("id")?.as_str()?, r)))
                .collect();
            for (want, dropped) in expected.iter_mut().zip(&dropped_values) {
                check.compared += 1;
                rules.take(want, &type_of);
                let id = want.get("id").and_then(Value::as_str).unwrap_or_default();
                match by_id.get(id) {
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
                            id: id.parse().unwrap_or_default(),
                            field: "missing record".into(),
                            source: Value::Object(want.clone()),
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
    prepared.source.end_snapshot().await?;
    report.requests = target.stats().requests - before;
    Ok(report)
}

/// The source fields the plan did not write (by a rule that loses their values), read from
/// the same rows, and what the comparison found of them.
struct LostFields(Vec<LostField>);

/// One dropped field and the records whose value the target lacks.
struct LostField {
    /// That field alone; its API key is where the target would hold it.
    transform: crate::transform::ObjectTransform,
    rule: &'static str,
    reason: String,
    /// The rule of the skipped object the field points at, if that is why.
    object_rule: Option<&'static str>,
    records: u64,
    first_ids: Vec<Uuid>,
}

impl LostFields {
    fn new(
        object: &crate::model::Object,
        plan: &crate::plan::ObjectPlan,
        columns: &[crate::source::records::ReadColumn],
    ) -> Self {
        let fields = plan
            .dropped
            .iter()
            .filter(|d| d.rule.loses_values())
            .filter_map(|d| {
                let field = object.field(&d.field)?;
                // A relation is held under its join column (`targetCompanyId`), a value under
                // its name.
                let key = field
                    .relation
                    .as_ref()
                    .and_then(|r| r.join_column.clone())
                    .unwrap_or_else(|| field.name.clone());
                let map = crate::transform::FieldMap::new(
                    field,
                    &key,
                    columns,
                    crate::transform::Reference::None,
                );
                // Only the objects the tool never moves, by design (`plan::skip_rule`): an object
                // missing in the target or inactive is a loss like any other.
                let object_rule = field
                    .relation
                    .as_ref()
                    .filter(|_| d.rule == crate::plan::DropRule::TargetNotMigrated)
                    .and_then(|r| crate::plan::skip_rule(&r.target_object));
                Some(LostField {
                    transform: crate::transform::ObjectTransform { fields: vec![map] },
                    rule: d.rule.name(),
                    reason: d.reason.clone(),
                    object_rule,
                    records: 0,
                    first_ids: Vec::new(),
                })
            })
            .collect();
        Self(fields)
    }

    /// The row's values of the dropped fields (null where unreadable).
    fn values(&self, row: &crate::source::records::SourceRow) -> Vec<Value> {
        let members = crate::transform::MemberMap::default();
        self.0
            .iter()
            .map(|f| {
                let key = &f.transform.fields[0].key;
                f.transform
                    .apply(row, &members)
                    .ok()
                    .and_then(|mut r| r.remove(key))
                    .unwrap_or(Value::Null)
            })
            .collect()
    }

    /// Counts each non-empty source value that the target's record does not hold.
    fn compare(&mut self, id: &str, values: &[Value], got: &Value) {
        for (f, want) in self.0.iter_mut().zip(values) {
            let map = &f.transform.fields[0];
            if equal(Some(&map.field_type), want, &Value::Null) {
                continue;
            }
            let held = got.get(&map.key).unwrap_or(&Value::Null);
            if !equal(Some(&map.field_type), want, held) {
                f.records += 1;
                if f.first_ids.len() < 3 {
                    f.first_ids.extend(id.parse::<Uuid>().ok());
                }
            }
        }
    }

    fn finish(self, object: &str) -> Vec<NotMigrated> {
        self.0
            .into_iter()
            .filter(|f| f.records > 0)
            .map(|mut f| NotMigrated {
                object: object.to_owned(),
                field: f.transform.fields.swap_remove(0).source,
                rule: f.rule.to_owned(),
                reason: f.reason,
                records: f.records,
                first_ids: f.first_ids,
                object_rule: f.object_rule.map(str::to_owned),
            })
            .collect()
    }
}

/// Counts of the fields the target writes itself, taken out of the comparison.
#[derive(Default)]
struct ServerRules {
    updated_by: u64,
    created_by: u64,
    /// Kept soft-deleted rows, whose `updatedAt` the soft delete wrote.
    soft_deleted: u64,
}

impl ServerRules {
    /// Removes from `want` the actor values the target replaces, counting them.
    fn take(
        &mut self,
        want: &mut serde_json::Map<String, Value>,
        type_of: &dyn Fn(&str) -> Option<FieldType>,
    ) {
        if type_of("updatedBy") == Some(FieldType::Actor) && want.remove("updatedBy").is_some() {
            self.updated_by += 1;
        }
        let unnamed = want.get("createdBy").is_some_and(|c| {
            c.get("name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        });
        if type_of("createdBy") == Some(FieldType::Actor) && unnamed {
            want.remove("createdBy");
            self.created_by += 1;
        }
    }

    fn finish(self, object: &str) -> Vec<ServerRule> {
        [
            ("updatedBy", UPDATED_BY_RULE, self.updated_by),
            ("createdBy", CREATED_BY_RULE, self.created_by),
            ("updatedAt", SOFT_DELETE_RULE, self.soft_deleted),
        ]
        .into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(field, rule, records)| ServerRule {
            object: object.to_owned(),
            field: field.to_owned(),
            rule: rule.to_owned(),
            records,
        })
        .collect()
    }
}

/// On a target before Files v2 a file's path is the target's own after the upload (a new
/// name under `attachment/` or `person-picture/`), and migrate fills a missing
/// `fileCategory` from the name: those values are not the source's to compare.
fn uploaded_paths(object: &str, expected: &mut serde_json::Map<String, Value>) {
    match object {
        "attachment" => {
            expected.remove("fullPath");
            if expected.get("fileCategory").is_none_or(Value::is_null) {
                expected.remove("fileCategory");
            }
        }
        "person" => {
            let stored = expected
                .get("avatarUrl")
                .and_then(Value::as_str)
                .is_some_and(|u| !u.contains("://") || u.contains("/files/"));
            if stored {
                expected.remove("avatarUrl");
            }
        }
        _ => {}
    }
}

/// Deterministic sampling by id: the same records are checked on every run.
fn sampled(id: Uuid, percent: u8) -> bool {
    percent >= 100 || (id.as_u128() % 100) < u128::from(percent)
}

/// Compares one expected record (as `migrate` sends it) with the target's copy and appends
/// the differences. `types` gives each key's field type.
pub fn compare_record(
    object: &str,
    expected: &serde_json::Map<String, Value>,
    actual: &Value,
    types: &dyn Fn(&str) -> Option<FieldType>,
    out: &mut Vec<Difference>,
) -> bool {
    let id = expected
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let mut same = true;
    for (key, want) in expected {
        if key == "id" {
            continue;
        }
        let ty = types(key);
        let got = actual.get(key).unwrap_or(&Value::Null);
        if !equal(ty.as_ref(), want, got) {
            same = false;
            out.push(Difference {
                object: object.to_owned(),
                id,
                field: key.clone(),
                source: want.clone(),
                target: got.clone(),
            });
        }
    }
    same
}

/// Whether a value the source maps to and the target's value are the same datum.
pub fn equal(ty: Option<&FieldType>, want: &Value, got: &Value) -> bool {
    let want = normalize(ty, want);
    let mut got = normalize(ty, got);
    // The target derives the half of a rich text the source lacks, blocknote from markdown and
    // markdown from blocknote (`transformRichTextValue`,
    // `core-modules/record-transformer/utils/transform-rich-text.util.ts`).
    if let (Some(FieldType::RichText), Value::Object(w), Value::Object(g)) = (ty, &want, &mut got) {
        for half in ["blocknote", "markdown"] {
            if w.get(half).is_none_or(Value::is_null) {
                g.remove(half);
            }
        }
    }
    loose_equal(&want, &got)
}

fn normalize(ty: Option<&FieldType>, v: &Value) -> Value {
    match (ty, v) {
        (_, Value::String(s)) if s.is_empty() => Value::Null,
        (_, Value::Array(a)) if a.is_empty() => Value::Null,
        // File ids are the target's own after an upload; the labels must match.
        (Some(FieldType::Files), Value::Array(a)) => Value::Array(
            a.iter()
                .map(|f| f.get("label").cloned().unwrap_or(Value::Null))
                .collect(),
        ),
        (Some(FieldType::RawJson), Value::Object(o)) if o.is_empty() => Value::Null,
        // Embedded files are re-pointed at the target's copies (`files/rich_text.rs`): their
        // URLs and file ids are compared as markers, the text around them as it is.
        (Some(FieldType::RichText), Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("blocknote", Value::String(s)) => {
                            let text = match serde_json::from_str::<Value>(s) {
                                Ok(mut blocks) => {
                                    drop_file_ids(&mut blocks);
                                    blocks.to_string()
                                }
                                Err(_) => s.clone(),
                            };
                            Value::String(crate::pipeline::files::mask_file_urls(&text))
                        }
                        ("markdown", Value::String(s)) => {
                            Value::String(crate::pipeline::files::mask_file_urls(s))
                        }
                        _ => normalize(None, v),
                    };
                    (k.clone(), normalize(None, &v))
                })
                .collect(),
        ),
        (Some(FieldType::Emails), Value::Object(o)) => {
            let mut o = o.clone();
            if let Some(Value::String(p)) = o.get("primaryEmail") {
                let lower = p.to_lowercase();
                o.insert("primaryEmail".into(), Value::String(lower));
            }
            if let Some(Value::Array(items)) = o.get("additionalEmails") {
                let lower = items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => Value::String(s.to_lowercase()),
                        other => other.clone(),
                    })
                    .collect();
                o.insert("additionalEmails".into(), Value::Array(lower));
            }
            Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, normalize(None, &v)))
                    .collect(),
            )
        }
        (Some(FieldType::Links), Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        // An empty link is stored as "" by a real 2.21 (a null sent reads back
                        // as ""), and equals null.
                        ("primaryLinkUrl", Value::String(u)) if !u.is_empty() => {
                            Value::String(normalize_url(u))
                        }
                        _ => normalize(None, v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        (_, Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), normalize(None, v)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Removes every block's `props.attachmentFileId` (the source's and the target's ids differ).
fn drop_file_ids(blocks: &mut Value) {
    let Value::Array(items) = blocks else {
        return;
    };
    for block in items {
        if let Some(props) = block.get_mut("props").and_then(Value::as_object_mut) {
            props.remove("attachmentFileId");
        }
        if let Some(children) = block.get_mut("children") {
            drop_file_ids(children);
        }
    }
}

/// Twenty keeps a link's path and query but lower-cases the scheme and host and drops one
/// trailing slash (`packages/twenty-shared/src/utils/url/normalizeUrlOrigin.ts`).
pub(crate) fn normalize_url(url: &str) -> String {
    let trimmed = url.trim();
    match trimmed.find("://") {
        Some(i) => {
            let rest = &trimmed[i + 3..];
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let mut out = format!(
                "{}://{}{}",
                trimmed[..i].to_lowercase(),
                rest[..host_end].to_lowercase(),
                &rest[host_end..]
            );
            if out.ends_with('/') {
                out.pop();
            }
            out
        }
        None => trimmed.to_owned(),
    }
}

/// Structural equality where numbers compare by value, timestamps by instant, and a key
/// missing on one side equals null on the other.
fn loose_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x.as_f64(), y.as_f64()),
        (Value::Number(x), Value::String(s)) | (Value::String(s), Value::Number(x)) => {
            num_eq(x.as_f64(), s.parse().ok())
        }
        (Value::String(x), Value::String(y)) => x == y || same_instant(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loose_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| {
                loose_equal(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Object(x), Value::Null) | (Value::Null, Value::Object(x)) => {
            x.values().all(|v| loose_equal(v, &Value::Null))
        }
        _ => a == b,
    }
}

fn num_eq(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
        _ => false,
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_targets_normalisations_are_not_differences() {
        assert!(equal(
            Some(&FieldType::Emails),
            &json!({"primaryEmail": "Ada@Example.COM", "additionalEmails": []}),
            &json!({"primaryEmail": "ada@example.com", "additionalEmails": null})
        ));
        assert!(equal(
            Some(&FieldType::Links),
            &json!({"primaryLinkUrl": "HTTPS://Acme.com/", "primaryLinkLabel": ""}),
            &json!({"primaryLinkUrl": "https://acme.com", "primaryLinkLabel": null})
        ));
        // A real 2.21 derives the blocknote of a body sent as markdown only.
        assert!(equal(
            Some(&FieldType::RichText),
            &json!({"blocknote": null, "markdown": "## Hi"}),
            &json!({"blocknote": "[{\"type\":\"heading\"}]", "markdown": "## Hi"})
        ));
        assert!(!equal(
            Some(&FieldType::RichText),
            &json!({"blocknote": null, "markdown": "## Hi"}),
            &json!({"blocknote": "[]", "markdown": "## Bye"})
        ));
        // A real 2.21 reads an empty link back as "" and [] (company.introVideo of its seed).
        assert!(equal(
            Some(&FieldType::Links),
            &json!({"primaryLinkUrl": null, "primaryLinkLabel": null, "secondaryLinks": null}),
            &json!({"primaryLinkUrl": "", "primaryLinkLabel": "", "secondaryLinks": []})
        ));
        assert!(equal(
            Some(&FieldType::DateTime),
            &json!("2025-01-13T10:30:00.000Z"),
            &json!("2025-01-13T10:30:00Z")
        ));
        assert!(equal(
            Some(&FieldType::Currency),
            &json!({"amountMicros": 1500000, "currencyCode": "EUR"}),
            &json!({"amountMicros": "1500000", "currencyCode": "EUR"})
        ));
    }

    #[test]
    fn real_differences_are_reported_with_both_values() {
        let expected = json!({"id": Uuid::nil().to_string(), "name": "Acme", "employees": 10});
        let actual = json!({"id": Uuid::nil().to_string(), "name": "Acme Inc", "employees": 10});
        let mut out = Vec::new();
        let same = compare_record(
            "company",
            expected.as_object().unwrap(),
            &actual,
            &|_| None,
            &mut out,
        );
        assert!(!same);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].field, "name");
        assert_eq!(out[0].target, json!("Acme Inc"));
    }
}
